"""Browser tests: the real app (`streamlit run app/main.py`) on a demo registry, driven by
Playwright in Debian's Chromium.

One app server per test session (``app_url``), on a free port, serving a private copy of the
demo portfolio (built once per run by the ``demo_template`` fixture of tests/conftest.py), for
tests that only read. Journeys that write get their own copy and their own server
(``fresh_app``), so each starts from the demo as built and none depends on another. Without
/usr/bin/chromium the tests skip with the reason (in CI, STEWARD_TEST_REQUIRE_BROWSER=1 turns
that into a failure).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from core.db.engine import make_engine, read_session
from core.registry import reads
from tests.e2e.app_driver import RUN_COUNTER, TIMEOUT_MS

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_TIMEOUT_S = 90


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium); browser tests need Debian's Chromium"
    if os.environ.get("STEWARD_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class DemoRegistry:
    """Where the demo registry of this test session lives, and the environment that selects it."""

    url: str
    artifact_dir: Path
    env: dict[str, str]


@pytest.fixture(scope="session")
def demo_registry(demo_template, tmp_path_factory: pytest.TempPathFactory) -> DemoRegistry:
    """A private copy of the session's demo portfolio (tests/conftest.py ``demo_template``), artifacts
    included, so that browser journeys may write to it."""
    _require_browser()
    return _copy_demo(demo_template, tmp_path_factory.mktemp("e2e"))


def _copy_demo(demo_template, root: Path) -> DemoRegistry:
    """Copy the demo registry and its artifact store into ``root`` (a few tens of MB: well under a second)."""
    shutil.copyfile(demo_template.db, root / "steward.db")
    shutil.copytree(demo_template.artifact_dir, root / "artifacts")
    shutil.copytree(demo_template.artifact_dir.parent / "logs", root / "logs")  # the log store beside it
    url = f"sqlite:///{root / 'steward.db'}"
    env = {
        **os.environ,
        "STEWARD_DATABASE_URL": url,
        "STEWARD_ARTIFACT_DIR": str(root / "artifacts"),
        "STEWARD_LOG_STORE": str(root / "logs"),
        "STEWARD_REPORT_DIR": str(root / "reports"),
        "STEWARD_AUTH_MODE": "local",
    }
    return DemoRegistry(url=url, artifact_dir=root / "artifacts", env=env)


@pytest.fixture(scope="session")
def demo_inventory(demo_registry: DemoRegistry) -> pd.DataFrame:
    """The demo registry's inventory, as the Inventory page reads it (to know what to expect on screen)."""
    return registry_inventory(demo_registry)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def streamlit_command(port: int, *extra: str) -> list[str]:
    """`streamlit run app/main.py` headless on 127.0.0.1:``port``, plus ``extra`` options."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app/main.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        *extra,
    ]


@contextmanager
def _serve(registry: DemoRegistry, log_dir: Path) -> Iterator[str]:
    """Run `streamlit run app/main.py` on ``registry``; yield its base URL once healthy, stop it after."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = log_dir / "streamlit.log"
    command = streamlit_command(port)
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=REPO, env=registry.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not _healthy(base_url):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not come up on {base_url}:\n{log_path.read_text()[-4000:]}")
                time.sleep(0.25)  # polling the health endpoint, not waiting on the app's state
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=15)


@pytest.fixture(scope="session")
def app_url(demo_registry: DemoRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of `streamlit run app/main.py` serving the session's demo registry (for tests that only read)."""
    with _serve(demo_registry, tmp_path_factory.mktemp("streamlit")) as base_url:
        yield base_url


@dataclass(frozen=True)
class FreshApp:
    """An app server of one test, over that test's own copy of the demo registry."""

    url: str
    registry: DemoRegistry


@pytest.fixture
def fresh_app(demo_template, tmp_path: Path) -> Iterator[FreshApp]:
    """A private copy of the demo registry served by its own `streamlit run` (stopped after the test),
    for a journey that writes: it starts from the demo as built, whatever ran before it."""
    _require_browser()
    registry = _copy_demo(demo_template, tmp_path)
    with _serve(registry, tmp_path) as base_url:
        yield FreshApp(url=base_url, registry=registry)


def registry_inventory(registry: DemoRegistry) -> pd.DataFrame:
    """The registry's inventory as the Inventory page reads it (to know what to expect on screen)."""
    engine = make_engine(registry.url)
    try:
        with read_session(engine) as session:
            return reads.inventory(session)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright's sync API."""
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # assertions wait as long as the app may take

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser) -> Iterator[Callable[[], object]]:
    """Opens a tab in a browser context of its own (no shared cookies or session: another person at
    another desk), wide enough for the tables, accepting downloads; all closed after the test."""
    contexts = []

    def open_tab() -> object:
        context = browser.new_context(
            viewport={"width": 1440, "height": 1000}, locale="en-GB", timezone_id="UTC", accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(RUN_COUNTER)
        contexts.append(context)
        return context.new_page()

    yield open_tab
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> object:
    """A fresh browser context per test (no shared cookies or session), wide enough for the tables."""
    return new_page()
