"""Signing in for real: Steward in OIDC mode (`streamlit run`, ``st.login``) against a real OpenID
Connect issuer on 127.0.0.1 (npm's oidc-provider, tests/e2e/oidc/provider.mjs), driven in Chromium
through the provider's login form.

One issuer and one app server for this module, over a private copy of the demo registry. The
issuer knows a few test accounts; the login form is oidc-provider's development form (the login
is the account's subject, any password is accepted). Steward's [auth] secrets are written to a temporary
file given to Streamlit with ``--secrets.files``, so the checkout's .streamlit/secrets.toml is
neither read nor written.

a. Signed out, the app shows only its sign-in page, no data.
b. A person of the registry signs in through the provider's form and lands on the inventory as
   herself; that first sign-in links her issuer + subject to her, in the audit log.
c. An identity the registry does not know, or whose email the provider has not verified, gets
   the "ask an admin" page and no data.
d. Sign out goes through the provider's sign-out page back to the sign-in page; signing in again
   asks for the password again and matches by subject.

The provider needs Node.js and npm: its packages are installed with `npm ci` (`make oidc`, or by
this module when they are missing). Without npm the tests skip with the reason, like the other
browser tests without Chromium; with STEWARD_TEST_REQUIRE_BROWSER=1 (CI) that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from sqlmodel import select

from core import audit
from core.db.engine import make_engine, read_session
from core.db.models import AuditEvent, Person
from tests.e2e.app_driver import TIMEOUT_MS, assert_no_errors, check, shot, wait_for_app
from tests.e2e.conftest import (
    REPO,
    SERVER_START_TIMEOUT_S,
    DemoRegistry,
    _copy_demo,
    _free_port,
    _healthy,
    _require_browser,
    registry_inventory,
    streamlit_command,
)

pytestmark = pytest.mark.e2e

OIDC_DIR = REPO / "tests" / "e2e" / "oidc"
NPM_CI = ["npm", "ci", "--prefix", "tests/e2e/oidc", "--no-audit", "--no-fund"]
NPM_TIMEOUT_S = 300
CLIENT_ID = "steward-e2e"
PASSWORD = "any password"  # the development login form does not check it

ANNA = "anna.dekker@demo.steward"  # model owner (Credit risk) and viewer
PRIYA = "priya.shah@demo.steward"  # approver
NOAH = "noah.berg@demo.steward"  # viewer; signs in below with an email the provider has not verified
# The provider's accounts: subject (also the login typed in its form) -> the identity's claims.
ANNA_SUB, PRIYA_SUB, STRANGER_SUB, UNVERIFIED_SUB = "e2e-anna", "e2e-priya", "e2e-stranger", "e2e-unverified"
ACCOUNTS = {
    ANNA_SUB: {"email": ANNA, "email_verified": True, "name": "Anna Dekker"},
    PRIYA_SUB: {"email": PRIYA, "email_verified": True, "name": "Priya Shah"},
    STRANGER_SUB: {"email": "pat.stranger@example.com", "email_verified": True, "name": "Pat Stranger"},
    UNVERIFIED_SUB: {"email": NOAH, "email_verified": False, "name": "Noah Berg"},
}


# --- the identity provider and the app in OIDC mode ------------------------------------------------


def _as_shown(text: str) -> re.Pattern[str]:
    """``text`` as the app shows registry text: an invisible word joiner before an "@" stops the
    e-mail address from becoming a mailto link (app/components/text.py)."""
    return re.compile(re.escape(text).replace("@", "\u2060?@"))


def _unavailable(reason: str) -> None:
    if os.environ.get("STEWARD_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _require_provider() -> None:
    """Node.js and the provider's npm packages (installed with `npm ci` when missing or stale)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _unavailable(
            "node and npm are needed for the sign-in browser test's identity provider "
            "(apt-get install nodejs npm, then `make oidc`)"
        )
    installed = OIDC_DIR / "node_modules" / ".package-lock.json"
    lock = OIDC_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    try:
        done = subprocess.run(NPM_CI, cwd=REPO, capture_output=True, text=True, timeout=NPM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _unavailable(f"`{' '.join(NPM_CI)}` did not finish in {NPM_TIMEOUT_S} s")
    if done.returncode != 0:
        _unavailable(
            f"`{' '.join(NPM_CI)}` failed (exit {done.returncode}); the identity provider is not installed:\n"
            + (done.stdout + done.stderr)[-3000:]
        )


@dataclass(frozen=True)
class OidcApp:
    """Steward in OIDC mode and its identity provider."""

    url: str  # the app as the browser opens it (http://localhost:PORT, the redirect URI's origin)
    issuer: str
    registry: DemoRegistry
    logs: tuple[Path, ...]


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def _wait_until(ready, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not come up:\n{log.read_text()[-4000:]}")
        time.sleep(0.25)  # polling a server that is starting, not waiting on the app's state


def _discovery_ready(issuer: str) -> bool:
    try:
        with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2) as response:
            return response.status == 200 and json.load(response).get("issuer") == issuer
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return False


def _secrets(root: Path, *, redirect_uri: str, issuer: str, client_secret: str) -> Path:
    path = root / "secrets.toml"
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "{redirect_uri}"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{client_secret}"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        'client_kwargs = { prompt = "login" }\n'
    )
    return path


@pytest.fixture(scope="module")
def oidc_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcApp]:
    """The identity provider, then `streamlit run app/main.py` with STEWARD_AUTH_MODE=oidc signing in
    through it, over this module's own copy of the demo registry; both stopped after the module."""
    _require_browser()
    _require_provider()
    demo_template = request.getfixturevalue("demo_template")  # built only once the tools are there
    root = tmp_path_factory.mktemp("oidc")
    registry = _copy_demo(demo_template, root)
    app_port = _free_port()
    idp_port = _free_port()
    while idp_port == app_port:
        idp_port = _free_port()
    issuer = f"http://127.0.0.1:{idp_port}"
    app_url = f"http://localhost:{app_port}"
    redirect_uri = f"{app_url}/oauth2callback"
    client_secret = secrets.token_urlsafe(24)
    idp_log, app_log = root / "provider.log", root / "streamlit.log"

    idp_env = {
        **os.environ,
        "OIDC_PORT": str(idp_port),
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_REDIRECT_URIS": redirect_uri,
        "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
    }
    secrets_file = _secrets(root, redirect_uri=redirect_uri, issuer=issuer, client_secret=client_secret)
    app_env = {**registry.env, "STEWARD_AUTH_MODE": "oidc"}
    # Only this secrets file: never the checkout's .streamlit/secrets.toml.
    app_command = streamlit_command(app_port, "--secrets.files", str(secrets_file))
    with idp_log.open("w") as idp_out, app_log.open("w") as app_out:
        provider = subprocess.Popen(
            ["node", "provider.mjs"], cwd=OIDC_DIR, env=idp_env, stdout=idp_out, stderr=subprocess.STDOUT
        )
        try:
            _wait_until(
                lambda: _discovery_ready(issuer), provider, f"the identity provider ({issuer})", idp_log
            )
            assert "oidc-provider ready on" in idp_log.read_text()
            server = subprocess.Popen(
                app_command, cwd=REPO, env=app_env, stdout=app_out, stderr=subprocess.STDOUT
            )
            try:
                health = f"http://127.0.0.1:{app_port}"
                _wait_until(lambda: _healthy(health), server, f"streamlit on {health}", app_log)
                yield OidcApp(url=app_url, issuer=issuer, registry=registry, logs=(app_log, idp_log))
            finally:
                _stop(server)
        finally:
            _stop(provider)


@contextmanager
def server_logs(app: OidcApp) -> Iterator[None]:
    """On a failed step, add the end of the app's and the provider's logs to the failure."""
    try:
        yield
    except (AssertionError, PlaywrightError) as failure:
        tails = "\n".join(f"--- {log.name} ---\n{log.read_text()[-3000:]}" for log in app.logs)
        raise AssertionError(f"{failure}\n\n{tails}") from failure


# --- reading the registry ------------------------------------------------------------------------


def _person(app: OidcApp, email: str) -> Person:
    engine = make_engine(app.registry.url)
    try:
        with read_session(engine) as session:
            person = session.exec(select(Person).where(Person.email == email)).one()
            session.expunge(person)
            return person
    finally:
        engine.dispose()


def _link_events(app: OidcApp, person_id: int) -> list[AuditEvent]:
    engine = make_engine(app.registry.url)
    try:
        with read_session(engine) as session:
            events = session.exec(
                select(AuditEvent)
                .where(AuditEvent.action == "person.identity_linked")
                .where(AuditEvent.object_type == "person")
                .where(AuditEvent.object_id == str(person_id))
            ).all()
            for event in events:
                session.expunge(event)
            return list(events)
    finally:
        engine.dispose()


def _audit_chain_intact(app: OidcApp) -> audit.ChainVerdict:
    engine = make_engine(app.registry.url)
    try:
        with read_session(engine) as session:
            return audit.verify(session, key=app.registry.env.get("STEWARD_AUDIT_HMAC_KEY") or None)
    finally:
        engine.dispose()


# --- the browser steps ---------------------------------------------------------------------------


def _open(page: Page, app: OidcApp) -> None:
    page.goto(app.url)
    wait_for_app(page)


def _expect_signed_out(page: Page) -> None:
    """Steward's sign-in page, and nothing of the registry."""
    expect(page.get_by_role("heading", name="Steward", exact=True)).to_be_visible()
    expect(page.get_by_text("Sign in to continue.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    _expect_no_data(page)


def _expect_no_data(page: Page) -> None:
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_role("heading", name="Model inventory")).to_have_count(0)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)


def _start_sign_in(page: Page, app: OidcApp) -> None:
    """Click Steward's "Sign in" and wait for the provider's login form."""
    page.get_by_role("button", name="Sign in").click()  # st.login() sends the browser to the provider
    page.wait_for_url(f"{app.issuer}/interaction/**", timeout=TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Sign-in")).to_be_visible()
    expect(page.locator("input[name='login']")).to_be_visible()


def _sign_in_at_provider(page: Page, app: OidcApp, login: str, *, shots: str = "") -> None:
    """Fill in and send the provider's login form, confirm its consent screen when it shows one,
    and wait until Steward has finished its first run after the callback."""
    page.locator("input[name='login']").fill(login)
    page.locator("input[name='password']").fill(PASSWORD)
    if shots:
        shot(page, f"{shots}_provider_login")
    page.get_by_role("button", name="Sign-in").click()
    consent = page.get_by_role("button", name="Continue")
    expect(consent.or_(page.get_by_test_id("stApp"))).to_be_visible()
    if consent.is_visible():
        expect(page.get_by_role("heading", name="Authorize")).to_be_visible()
        if shots:
            shot(page, f"{shots}_provider_consent")
        consent.click()
    page.wait_for_url(re.compile(rf"^{re.escape(app.url)}/"), timeout=TIMEOUT_MS)
    wait_for_app(page)


def _sign_in(page: Page, app: OidcApp, login: str, *, shots: str = "") -> None:
    _open(page, app)
    _expect_signed_out(page)
    _start_sign_in(page, app)
    _sign_in_at_provider(page, app, login, shots=shots)


def _expect_signed_in_as(page: Page, name: str, email: str, total_models: int) -> None:
    """The inventory of the whole portfolio, as ``name``, with no error."""
    expect(page.get_by_role("heading", name="Model inventory")).to_be_visible()
    expect(page.get_by_text(f"Showing {total_models:,} of {total_models:,} models")).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="In production")).to_be_visible()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text(_as_shown(f"Signed in as {name} ({email})"))).to_be_visible()
    expect(sidebar.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
    assert_no_errors(page)


# --- the tests -----------------------------------------------------------------------------------


def test_signed_out_shows_only_the_sign_in_page(page: Page, oidc_app: OidcApp) -> None:
    with server_logs(oidc_app):
        _open(page, oidc_app)
        _expect_signed_out(page)
        expect(page.get_by_test_id("stSidebar")).to_have_count(0)  # no local-mode person picker either
        check(page, "sign_in_a_signed_out")


def test_a_known_person_signs_in_and_sees_the_inventory(page: Page, oidc_app: OidcApp) -> None:
    anna = _person(oidc_app, ANNA)
    assert anna.oidc_issuer is None and anna.oidc_subject is None, "the demo person must start unlinked"
    events_before = len(_link_events(oidc_app, anna.id))
    total = len(registry_inventory(oidc_app.registry))

    with server_logs(oidc_app):
        _open(page, oidc_app)
        _expect_signed_out(page)
        _start_sign_in(page, oidc_app)
        _sign_in_at_provider(page, oidc_app, ANNA_SUB, shots="sign_in_b")
        _expect_signed_in_as(page, "Anna Dekker", ANNA, total)
        check(page, "sign_in_b_inventory")

    linked = _person(oidc_app, ANNA)
    assert (linked.oidc_issuer, linked.oidc_subject) == (oidc_app.issuer, ANNA_SUB)
    events = _link_events(oidc_app, anna.id)
    assert len(events) == events_before + 1, "the first sign-in must write one identity_linked event"
    event = events[-1]
    assert (event.actor_id, event.actor_email) == (anna.id, ANNA)
    assert json.loads(event.after or "{}") == {
        "oidc_issuer": oidc_app.issuer,
        "oidc_subject": ANNA_SUB,
    }
    assert json.loads(event.before or "{}") == {"oidc_issuer": None, "oidc_subject": None}
    assert event.reason == "first sign-in with a verified email"
    verdict = _audit_chain_intact(oidc_app)
    assert verdict.ok, verdict.message()


@pytest.mark.parametrize(
    ("login", "registry_email"),
    [(STRANGER_SUB, None), (UNVERIFIED_SUB, NOAH)],
    ids=["unknown-email", "unverified-email"],
)
def test_an_identity_steward_does_not_know_sees_contact_an_admin(
    page: Page, oidc_app: OidcApp, login: str, registry_email: str | None
) -> None:
    account = ACCOUNTS[login]
    with server_logs(oidc_app):
        _sign_in(page, oidc_app, login)
        warning = page.get_by_test_id("stAlertContentWarning")
        expect(warning).to_contain_text(
            _as_shown(f"You are signed in as {account['name']} ({account['email']})")
        )
        if registry_email:  # the reason is the unverified address, and the page says so
            expect(warning).to_contain_text("did not mark this email address as verified")
            expect(warning).to_contain_text("Ask a Steward admin to link your sign-in")
        else:
            expect(warning).to_contain_text("Steward does not know you yet")
            expect(warning).to_contain_text("Ask a Steward admin to add you")
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        _expect_no_data(page)
        check(page, f"sign_in_c_contact_admin_{login.removeprefix('e2e-')}")
    if registry_email:  # a person of the registry, but the provider did not vouch for the email
        person = _person(oidc_app, registry_email)
        assert person.oidc_subject is None, "an unverified email must not link the identity"
        assert _link_events(oidc_app, person.id) == []


def test_sign_out_and_sign_in_again(page: Page, oidc_app: OidcApp) -> None:
    total = len(registry_inventory(oidc_app.registry))
    priya = _person(oidc_app, PRIYA)
    with server_logs(oidc_app):
        _sign_in(page, oidc_app, PRIYA_SUB)
        _expect_signed_in_as(page, "Priya Shah", PRIYA, total)

        # st.logout() clears Steward's cookie and sends the browser to the provider's sign-out page.
        page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{oidc_app.issuer}/session/end**", timeout=TIMEOUT_MS)
        expect(page.get_by_role("heading", name="Sign out")).to_be_visible()
        shot(page, "sign_in_d_provider_sign_out")
        page.get_by_role("button", name="Yes, sign me out").click()
        page.wait_for_url(re.compile(rf"^{re.escape(oidc_app.url)}/"), timeout=TIMEOUT_MS)
        wait_for_app(page)
        _expect_signed_out(page)
        check(page, "sign_in_d_signed_out")

        # Reloading does not sign her back in, and "Sign in" asks for the password again.
        page.reload()
        wait_for_app(page)
        _expect_signed_out(page)
        _start_sign_in(page, oidc_app)
        _sign_in_at_provider(page, oidc_app, PRIYA_SUB)
        _expect_signed_in_as(page, "Priya Shah", PRIYA, total)
        check(page, "sign_in_d_signed_in_again")

    linked = _person(oidc_app, PRIYA)
    assert (linked.oidc_issuer, linked.oidc_subject) == (oidc_app.issuer, PRIYA_SUB)
    assert len(_link_events(oidc_app, priya.id)) == 1, "the second sign-in matches by subject: no new link"
