"""Local mode stays local (issue 11, finding 5), with the real server: `streamlit run` on 0.0.0.0
in local mode shows why it serves nothing, and says so in its log; with
STEWARD_ALLOW_NETWORK_LOCAL_MODE=1 it serves, with the banner on the page."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.app_driver import open_app, shot
from tests.e2e.conftest import REPO, SERVER_START_TIMEOUT_S, _free_port, _healthy, streamlit_command

pytestmark = pytest.mark.e2e


@contextmanager
def _serve_on_every_interface(env: dict[str, str], log_path: Path) -> Iterator[str]:
    port = _free_port()
    command = streamlit_command(port)
    command[command.index("--server.address") + 1] = "0.0.0.0"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not _healthy(f"http://127.0.0.1:{port}"):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not come up:\n{log_path.read_text()[-4000:]}")
                time.sleep(0.25)  # polling the health endpoint, not waiting on the app's state
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=15)


def test_local_mode_on_every_interface_serves_no_data(page: Page, demo_registry, tmp_path: Path) -> None:
    env = {**demo_registry.env, "STEWARD_ALLOW_NETWORK_LOCAL_MODE": "0"}
    log = tmp_path / "streamlit.log"
    with _serve_on_every_interface(env, log) as url:
        open_app(page, url)
        refusal = page.get_by_test_id("stAlertContentError")
        expect(refusal).to_contain_text("Local mode is served on the network, so Steward shows no data.")
        expect(refusal).to_contain_text("--server.address 127.0.0.1")
        expect(page.get_by_role("heading", name="Model inventory")).to_have_count(0)
        expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
        expect(page.get_by_test_id("stSidebar").get_by_role("combobox")).to_have_count(0)  # no person picker
        shot(page, "local_mode_refused")
    assert "refuses to serve data on 0.0.0.0" in log.read_text()


def test_allowed_on_every_interface_every_page_says_so(page: Page, demo_registry, tmp_path: Path) -> None:
    env = {**demo_registry.env, "STEWARD_ALLOW_NETWORK_LOCAL_MODE": "1"}
    log = tmp_path / "streamlit.log"
    with _serve_on_every_interface(env, log) as url:
        for path in ("", "owners"):
            open_app(page, url, path)
            banner = page.get_by_test_id("stAlertContentWarning").filter(has_text="Local mode: no sign-in.")
            expect(banner).to_be_visible()
        expect(page.get_by_role("heading", name="Owners", exact=True)).to_be_visible()
        shot(page, "local_mode_allowed_banner")
    assert "served on 0.0.0.0 because STEWARD_ALLOW_NETWORK_LOCAL_MODE=1" in log.read_text()
