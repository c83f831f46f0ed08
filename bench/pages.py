"""Page benchmark: every page of the app opened in Chromium on the demo registry.

Goal (issue 16): on the demo registry on the 2-core reference machine, every page's first
complete render <= 2 s (<= 3 s in a cold process) and every rerun <= 0.3 s.

Method. ``streamlit run app/main.py`` serves a private copy of a demo registry (built here, or
copied from ``--registry DIR`` holding steward.db and artifacts/); Playwright drives Debian's
Chromium (/usr/bin/chromium, the launch options of tests/e2e/conftest.py). A page is rendered
completely when its script run has finished, the app is connected and idle and nothing is still
loading (``tests/e2e/app_driver.wait_for_app``: the same wait as the browser tests). Times are
wall time from ``page.goto`` (or the key press) to that moment, as a person would see them.

For every page, in the order of the sidebar:

- ``cold``: a new server process whose first page this is (imports, engine, empty caches);
  the server is started and healthy before the clock starts. ``--no-cold`` skips it (15 server
  starts take a few minutes).
- ``first``: a new browser session on a running server that has served the pages before this
  one (in sidebar order) but not this one: its own reads are not cached yet.
- ``warm``: another new session opening the page again (caches filled by ``first``).
- ``rerun``: the median of ``--reruns`` reruns of the warm session (Streamlit's "r" key: the
  whole script runs again, as after any click).

The load average is printed before and after: the machine is shared, so read the figures with it.

    .venv/bin/python bench/pages.py [--registry DIR] [--pages inventory,model] [--no-cold]
        [--reruns 3] [--as EMAIL] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.app_driver import (  # noqa: E402
    _IDLE_AFTER,
    RUN_COUNTER,
    runs_finished,
)
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_command  # noqa: E402

GOALS = {"cold": 3.0, "first": 2.0, "warm": 2.0, "rerun": 0.3}
SERVER_START_TIMEOUT_S = 120
EXCEPTION = "[data-testid='stException']"
PAGE_TIMEOUT_MS = 300_000  # a page slower than this is recorded as failed, and the run goes on


@dataclass
class PageTimes:
    path: str
    title: str
    cold: float | None = None
    first: float | None = None
    warm: float | None = None
    reruns: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rerun(self) -> float | None:
        return statistics.median(self.reruns) if self.reruns else None


# --- the registry and the server ------------------------------------------------------------------


def prepare_registry(source: Path | None, into: Path) -> dict[str, str]:
    """A private copy of ``source`` (steward.db, artifacts/, logs/), or a demo built into ``into``."""
    env = {
        **os.environ,
        "STEWARD_DATABASE_URL": f"sqlite:///{into / 'steward.db'}",
        "STEWARD_ARTIFACT_DIR": str(into / "artifacts"),
        "STEWARD_REPORT_DIR": str(into / "reports"),
        "STEWARD_AUTH_MODE": "local",
    }
    if source is not None:
        shutil.copyfile(source / "steward.db", into / "steward.db")
        if (source / "artifacts").is_dir():
            shutil.copytree(source / "artifacts", into / "artifacts")
        for folder in ("reports", "logs"):  # logs: the log store beside the artifacts (STEWARD_LOG_STORE)
            if (source / folder).is_dir():
                shutil.copytree(source / folder, into / folder)
        return env
    steward = str(Path(sys.executable).with_name("steward"))
    started = time.perf_counter()
    print("Building the demo registry (steward init && steward demo)…", flush=True)
    for command in ([steward, "init"], [steward, "demo"]):
        subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"Demo built in {time.perf_counter() - started:.1f} s.", flush=True)
    return env


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(env: dict[str, str], log: Path) -> Iterator[str]:
    """`streamlit run app/main.py` as the browser tests start it; yields its URL once healthy."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log.open("a") as out:
        server = subprocess.Popen(
            streamlit_command(port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not _healthy(base_url):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"streamlit did not come up on {base_url}; see {log}")
                time.sleep(0.2)  # polling the health endpoint before any timing starts
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=15)


# --- the browser ----------------------------------------------------------------------------------


class Browser:
    def __init__(self, playwright: Any, person: str) -> None:
        self.chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        self.person = person

    def session(self) -> Any:
        """A new tab in its own context: a new Streamlit session (no shared cookies or state)."""
        context = self.chromium.new_context(
            viewport={"width": 1440, "height": 1000}, locale="en-GB", timezone_id="UTC"
        )
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.add_init_script(RUN_COUNTER)
        return context.new_page()

    def open(self, base_url: str, path: str) -> tuple[Any, float, list[str]]:
        """Open ``path`` in a new session; (tab, seconds to the complete render, error texts)."""
        page = self.session()
        query = f"?as={self.person}" if self.person else ""
        started = time.perf_counter()
        page.goto(f"{base_url}/{path}{query}")
        wait_for_app(page)
        seconds = time.perf_counter() - started
        return page, seconds, errors_on(page)

    def close(self) -> None:
        self.chromium.close()


def wait_for_app(page: Any, *, after: int = 0) -> None:
    """tests/e2e/app_driver.wait_for_app with the bench's longer ceiling."""
    from playwright.sync_api import expect

    page.wait_for_function(_IDLE_AFTER, arg=after, timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=PAGE_TIMEOUT_MS)


def errors_on(page: Any) -> list[str]:
    """Exceptions on the page (an error message can be content, e.g. a budget projected to overrun)."""
    return [text.strip()[:300] for text in page.locator(EXCEPTION).all_inner_texts()]


def rerun(page: Any) -> float:
    """Press "r" (Streamlit reruns the whole script) and time the run until the page is idle."""
    page.mouse.click(720, 8)  # the header strip: focus outside any input
    before = runs_finished(page)
    started = time.perf_counter()
    page.keyboard.press("r")
    wait_for_app(page, after=before)
    return time.perf_counter() - started


# --- the run --------------------------------------------------------------------------------------


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def run(args: argparse.Namespace) -> list[PageTimes]:
    from playwright.sync_api import sync_playwright

    from app.navigation import every_page

    specs = [p for p in every_page() if not args.pages or p.url_path in args.pages]
    results = [PageTimes(p.url_path, p.title) for p in specs]
    scratch = Path(tempfile.mkdtemp(prefix="steward-pages-bench-"))
    log = scratch / "streamlit.log"
    try:
        env = prepare_registry(args.registry, scratch)
        with sync_playwright() as playwright:
            browser = Browser(playwright, args.person)
            try:
                if args.cold:
                    for result in results:
                        with serve(env, log) as base_url:
                            try:
                                page, result.cold, errors = browser.open(base_url, result.path)
                                result.errors += [f"cold: {e}" for e in errors]
                                page.context.close()
                            except Exception as exc:  # noqa: BLE001 - a timeout is a figure too
                                result.errors.append(f"cold: {type(exc).__name__}: {str(exc)[:200]}")
                        print(f"  cold  {result.title:<18} {_s(result.cold)}", flush=True)
                with serve(env, log) as base_url:
                    page, _, _ = browser.open(base_url, "inventory")  # the process imports the app
                    page.context.close()
                    for result in results:
                        try:
                            measure_warm(browser, base_url, result, args.reruns)
                        except Exception as exc:  # noqa: BLE001 - a timeout is a figure too
                            result.errors.append(f"warm: {type(exc).__name__}: {str(exc)[:200]}")
                        print(
                            f"  warm  {result.title:<18} first {_s(result.first)}  warm {_s(result.warm)}"
                            f"  rerun {_s(result.rerun)}",
                            flush=True,
                        )
            finally:
                browser.close()
    finally:
        if args.keep_log:
            print(f"Server log: {log}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return results


def measure_warm(browser: Browser, base_url: str, result: PageTimes, reruns: int) -> None:
    page, result.first, errors = browser.open(base_url, result.path)
    page.context.close()
    page, result.warm, more = browser.open(base_url, result.path)
    result.errors += [f"first: {e}" for e in errors] + [f"warm: {e}" for e in more]
    try:
        for _ in range(reruns):
            result.reruns.append(rerun(page))
    finally:
        page.context.close()


def _s(value: float | None) -> str:
    return "     —  " if value is None else f"{value:6.2f} s"


def table(results: list[PageTimes]) -> str:
    def cell(value: float | None, goal: float) -> str:
        if value is None:
            return "—"
        return f"{value:.2f}{'' if value <= goal else ' !'}"

    rows = [
        "| Page | cold process (s) | first (s) | warm (s) | rerun (s) | exceptions |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rows.append(
            f"| {r.title} | {cell(r.cold, GOALS['cold'])} | {cell(r.first, GOALS['first'])} | "
            f"{cell(r.warm, GOALS['warm'])} | {cell(r.rerun, GOALS['rerun'])} | {len(r.errors)} |"
        )
    over = [
        r.title
        for r in results
        if any(
            v is not None and v > GOALS[k]
            for k, v in (("cold", r.cold), ("first", r.first), ("warm", r.warm), ("rerun", r.rerun))
        )
    ]
    rows.append("")
    rows.append(
        "Goals: cold <= 3 s, first and warm <= 2 s, rerun <= 0.3 s (! marks a miss). "
        + (f"Over a goal: {', '.join(over)}." if over else "Every page meets every goal.")
    )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, help="directory with steward.db and artifacts/ (copied)")
    parser.add_argument("--pages", type=lambda s: [p.strip() for p in s.split(",") if p.strip()], default=[])
    parser.add_argument("--no-cold", dest="cold", action="store_false", help="skip the cold-process column")
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("--as", dest="person", default="", help="local-mode person (default: the app's)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep-log", action="store_true", help="keep the server log")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")
    print(f"Load average before: {load_average()}", flush=True)
    started = time.perf_counter()
    results = run(args)
    print(f"Load average after: {load_average()} ({time.perf_counter() - started:.0f} s in all)")
    print()
    print(table(results))
    for r in results:
        for error in r.errors:
            print(f"{r.title}: {error}")
    if args.json:
        args.json.write_text(json.dumps([{**asdict(r), "rerun": r.rerun} for r in results], indent=2))


if __name__ == "__main__":
    main()
