"""Driving the Streamlit app in a browser: wait on the app's own run state (never on a sleep),
fail on any error box, keep screenshots.

Streamlit marks its root element with its state:
``<div data-testid="stApp" data-test-connection-state="CONNECTED" data-test-script-state="notRunning">``.
The script state reads "notRunning" also *before* the first run starts, so waiting for it
alone can return too early. ``RUN_COUNTER`` (installed in every page by the ``page`` fixture)
counts finished runs, i.e. changes from a running state to "notRunning", and the waits below
wait for the count to grow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Locator, Page, expect

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
APP = "[data-testid='stApp']"
ERROR_SELECTORS = ("[data-testid='stException']", "[data-testid='stAlertContentError']")
# A ceiling, not a pause: a first run on a busy 2-core machine can take a while.
TIMEOUT_MS = 90_000
MAX_SHOT_HEIGHT = 8000
_CONTENT_HEIGHT = """() => {
  const main = document.querySelector("[data-testid='stMain']") || document.body;
  return Math.ceil(main.scrollHeight + main.getBoundingClientRect().top);
}"""

RUN_COUNTER = """(() => {
  window.__stewardRunsFinished = 0;
  const idle = ["initial", "notRunning"];
  const observer = new MutationObserver((records) => {
    const changes = records.filter((r) => r.attributeName === "data-test-script-state");
    changes.forEach((change, i) => {
      const next = i + 1 < changes.length ? changes[i + 1].oldValue
                                          : change.target.getAttribute("data-test-script-state");
      if (next === "notRunning" && !idle.includes(change.oldValue)) window.__stewardRunsFinished += 1;
    });
  });
  observer.observe(document, {
    subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ["data-test-script-state"],
  });
})();"""
_RUNS_FINISHED = "() => window.__stewardRunsFinished"
_IDLE_AFTER = """(before) => {
  const app = document.querySelector("[data-testid='stApp']");
  return window.__stewardRunsFinished > before && app !== null
    && app.getAttribute("data-test-script-state") === "notRunning"
    && app.getAttribute("data-test-connection-state") === "CONNECTED";
}"""


def runs_finished(page: Page) -> int:
    """How many script runs this page has seen finish since it was loaded."""
    return int(page.evaluate(_RUNS_FINISHED))


def wait_for_app(page: Page, *, after: int = 0) -> None:
    """Wait until more than ``after`` runs have finished, the app is idle and connected, and
    nothing is still loading."""
    page.wait_for_function(_IDLE_AFTER, arg=after, timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=TIMEOUT_MS)


def open_app(page: Page, base_url: str, path: str = "", **params: str) -> None:
    """Load ``path`` (e.g. "model") with query ``params`` and wait for its first run to finish."""
    query = f"?{urlencode(params)}" if params else ""
    page.goto(f"{base_url}/{path}{query}")
    wait_for_app(page)


def rerun(page: Page, action: Callable[[], object]) -> None:
    """Do ``action`` (a click, a choice) that makes the script run again; wait for that run to end."""
    before = runs_finished(page)
    action()
    wait_for_app(page, after=before)


def settle(page: Page) -> None:
    """Wait until the app is idle and connected now. For after an outcome was seen on screen: a click
    whose run ends in st.rerun or st.switch_page finishes more than one run, so counting runs alone
    can return between them."""
    wait_for_app(page, after=-1)


def go_to_page(page: Page, title: str) -> None:
    """Open a page from the sidebar navigation by its title (showing the whole list first when
    Streamlit folded it under "View N more")."""
    nav = page.get_by_test_id("stSidebarNav")
    link = nav.get_by_role("link", name=re.compile(rf"^\W*{re.escape(title)}$"))
    more = nav.get_by_test_id("stSidebarNavViewButton").filter(has_text=re.compile(r"^View \d+ more$"))
    if not link.is_visible() and more.is_visible():
        more.click()  # unfolds in the browser; no script run
    rerun(page, link.click)


def choose(
    page: Page, combobox: Locator, option: str | re.Pattern[str], *, typed: str = "", in_form: bool = False
) -> None:
    """Pick ``option`` in a selectbox or multiselect (``combobox``: its input), typing ``typed`` first
    to filter long lists (they only render the options in view), and wait for the run it starts
    (none ``in_form``: a form sends its values with its submit button)."""
    if typed:
        combobox.fill(typed)
    else:
        combobox.click()
        combobox.press("ArrowDown")  # a click alone does not always render the list in a busy browser
    choice = page.get_by_role("option", name=option, exact=isinstance(option, str)).first
    if in_form:
        choice.click()
    else:
        rerun(page, choice.click)


def check(page: Page, name: str) -> Path:
    """A key step of a journey: no error box on the page, and a screenshot of it."""
    assert_no_errors(page)
    return shot(page, name)


def assert_no_errors(page: Page) -> None:
    """Fail with the text of any exception box or error message on the page."""
    found = [text for selector in ERROR_SELECTORS for text in page.locator(selector).all_inner_texts()]
    assert not found, "the page shows an error:\n" + "\n---\n".join(t.strip()[:2000] for t in found)


def shot(page: Page, name: str) -> Path:
    """Save the whole page (not just the window) as tests/e2e/screenshots/<name>.png; return its path.

    Streamlit scrolls inside its main container, so the window is stretched to the content's
    height for the picture and then put back.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = page.viewport_size or {"width": 1440, "height": 1000}
    content = page.evaluate(_CONTENT_HEIGHT)
    page.set_viewport_size(
        {"width": size["width"], "height": max(size["height"], min(content, MAX_SHOT_HEIGHT))}
    )
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path
