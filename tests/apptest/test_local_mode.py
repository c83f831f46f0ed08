"""Local mode stays local (issue 11, finding 5): on any address but a loopback one the app shows
why and serves no data, unless STEWARD_ALLOW_NETWORK_LOCAL_MODE=1, and then every page says
"Local mode: no sign-in". Sign-in (OIDC) mode is not held back. The real server started on
0.0.0.0 is tests/e2e/test_local_mode.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from streamlit import config

from app.bootstrap import is_loopback
from app.components.text import unescape

REFUSED = "Local mode is served on the network, so Steward shows no data."
BANNER = "Local mode: no sign-in."


@pytest.fixture
def address() -> Iterator[Callable[[str | None], None]]:
    """Set Streamlit's server.address for the test (AppTest reads the process's config)."""
    before = config.get_option("server.address")

    def set_to(value: str | None) -> None:
        config.set_option("server.address", value)

    yield set_to
    config.set_option("server.address", before)


def _open(app, url: str, page: str | None = None):
    at = app(url)
    at.query_params["as"] = "admin@example.com"
    at.run()
    if page:
        at.switch_page(f"../pages/{page}.py").run()
    return at


@pytest.mark.parametrize("bound", ["0.0.0.0", "", "192.168.1.20", "::"])
def test_local_mode_on_the_network_serves_no_data(app, portfolio_url, address, bound) -> None:
    address(bound)
    at = _open(app, portfolio_url)
    assert not at.exception
    assert len(at.error) == 1 and unescape(at.error[0].value).startswith(f"**{REFUSED}**")
    assert "STEWARD_ALLOW_NETWORK_LOCAL_MODE=1" in at.error[0].value
    assert not at.dataframe and not at.title and not at.selectbox  # no data, not even the person picker
    assert "steward.actor" not in at.session_state


@pytest.mark.parametrize("bound", ["127.0.0.1", "localhost", "::1"])
def test_local_mode_on_this_machine_serves_without_a_banner(app, portfolio_url, address, bound) -> None:
    address(bound)
    at = _open(app, portfolio_url)
    assert not at.exception and not at.error
    assert at.title[0].value == "Model inventory" and at.dataframe
    assert not [w for w in at.warning if BANNER in w.value]


@pytest.mark.parametrize("page", ["inventory", "model", "admin", "costs"])
def test_allowed_on_the_network_every_page_carries_the_banner(
    app, portfolio_url, address, monkeypatch, page
) -> None:
    address("0.0.0.0")
    monkeypatch.setenv("STEWARD_ALLOW_NETWORK_LOCAL_MODE", "1")
    at = _open(app, portfolio_url, page)
    assert not at.exception
    assert at.title  # the page is served
    banners = [w for w in at.warning if BANNER in w.value]
    assert len(banners) == 1 and "pick any person, admins included" in banners[0].value


def test_the_flag_alone_shows_the_banner_on_this_machine_too(
    app, portfolio_url, address, monkeypatch
) -> None:
    address("127.0.0.1")
    monkeypatch.setenv("STEWARD_ALLOW_NETWORK_LOCAL_MODE", "1")
    at = _open(app, portfolio_url)
    assert [w for w in at.warning if BANNER in w.value]


def test_sign_in_mode_is_not_held_back_by_the_address(app, portfolio_url, address) -> None:
    address("0.0.0.0")
    at = app(portfolio_url, auth_mode="oidc")
    at.run()
    assert not at.exception
    assert not [e for e in at.error if REFUSED in e.value]
    assert "Sign-in is switched on but not configured" in at.error[0].value  # the OIDC path, as before


@pytest.mark.parametrize(
    ("value", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("", False),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("steward.example.com", False),
    ],
)
def test_loopback_addresses(value: str, loopback: bool) -> None:
    assert is_loopback(value) is loopback
