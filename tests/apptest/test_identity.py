"""Start-up and identity through AppTest: registry errors, local persona picker, OIDC sign-in."""

from __future__ import annotations

import socket

from sqlmodel import select

from core.db.engine import make_engine, read_session
from core.db.models import AuditEvent, Person

AUTH_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "steward",
        "client_secret": "secret",
        "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
    }
}
ISSUER = "https://idp.example.com"


def _one_error(at) -> str:
    assert not at.exception, "a registry problem must never show a traceback"
    assert len(at.error) == 1
    assert not at.dataframe
    return at.error[0].value


def test_unsupported_database_url_gives_one_clear_message(app):
    message = _one_error(app("mysql://x").run())
    assert "mysql://x" in message and "unsupported database 'mysql'" in message
    assert "STEWARD_DATABASE_URL" in message


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_postgres_gives_one_clear_message(app):
    port = _closed_port()
    message = _one_error(app(f"postgresql+psycopg://steward:secret@127.0.0.1:{port}/steward").run())
    assert f"127.0.0.1:{port}" in message and "Cannot open the registry" in message
    assert "secret" not in message  # the password is hidden
    assert "PostgreSQL is running" in message


def test_unmigrated_sqlite_file_says_how_to_migrate(app, tmp_path):
    message = _one_error(app(f"sqlite:///{tmp_path / 'new.db'}").run())
    assert "no Steward schema yet" in message and "steward init" in message


def test_sqlite_path_that_cannot_be_created_gives_one_clear_message(app, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be")
    message = _one_error(app(f"sqlite:///{blocker / 'steward.db'}").run())
    assert "Cannot open the registry" in message and "STEWARD_DATABASE_URL" in message


def test_local_mode_picks_an_admin_or_owner_by_default_and_switches_actor(app, portfolio_url):
    at = app(portfolio_url).run()
    picker = at.selectbox(key="identity.person")
    assert picker.label.startswith("Local mode")
    assert picker.value == "admin@example.com"
    assert at.session_state["steward.actor"].email == "admin@example.com"
    assert at.query_params["as"] == "admin@example.com"
    assert "Tom Tech" not in " ".join(picker.options)  # people who left cannot be picked
    picker.set_value("labeller@example.com").run()
    assert at.session_state["steward.actor"].name == "Lena Labeller"
    assert at.query_params["as"] == "labeller@example.com"
    assert not at.exception


def test_as_query_parameter_selects_the_persona(app, portfolio_url):
    at = app(portfolio_url)
    at.query_params["as"] = "approver@example.com"
    at.run()
    assert at.selectbox(key="identity.person").value == "approver@example.com"
    assert at.session_state["steward.actor"].name == "Arthur Approver"


def test_oidc_without_auth_secrets_explains_the_setup(app, portfolio_url):
    at = app(portfolio_url, auth_mode="oidc").run()
    message = _one_error(at)
    assert "[auth]" in message and "secrets.toml.example" in message


def test_oidc_signed_out_sees_only_the_sign_in_page(app, portfolio_url):
    at = app(portfolio_url, auth_mode="oidc")
    at.secrets = AUTH_SECRETS
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert at.button(key="identity.login").label == "Sign in"
    assert not at.dataframe and not at.get("selectbox")


def test_oidc_unknown_identity_gets_no_data(app, portfolio_url):
    at = app(portfolio_url, auth_mode="oidc")
    at.secrets = AUTH_SECRETS
    at.user = {
        "is_logged_in": True,
        "iss": ISSUER,
        "sub": "u-404",
        "email": "stranger@example.com",
        "email_verified": True,
        "name": "Sam Stranger",
    }
    at.run()
    assert not at.exception
    assert "Sam Stranger" in at.warning[0].value and "Ask a Steward admin" in at.warning[0].value
    assert not at.dataframe and not at.metric


def test_oidc_verified_email_links_the_person_and_shows_the_inventory(app, portfolio_url):
    at = app(portfolio_url, auth_mode="oidc")
    at.secrets = AUTH_SECRETS
    at.user = {
        "is_logged_in": True,
        "iss": ISSUER,
        "sub": "u-1",
        "email": "Viewer@Example.com",
        "email_verified": True,
        "name": "Victor",
    }
    at.run()
    assert not at.exception
    assert at.session_state["steward.actor"].email == "viewer@example.com"
    assert at.dataframe, "a known person with a role sees the inventory"
    assert "Signed in as **Victor Viewer**" in " ".join(c.value for c in at.sidebar.caption)
    engine = make_engine(portfolio_url)
    with read_session(engine) as s:
        person = s.exec(select(Person).where(Person.email == "viewer@example.com")).one()
        assert (person.oidc_issuer, person.oidc_subject) == (ISSUER, "u-1")
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "person.identity_linked")).one()
    engine.dispose()


def test_oidc_unverified_email_is_not_trusted(app, portfolio_url):
    at = app(portfolio_url, auth_mode="oidc")
    at.secrets = AUTH_SECRETS
    at.user = {
        "is_logged_in": True,
        "iss": ISSUER,
        "sub": "u-2",
        "email": "admin@example.com",
        "email_verified": False,
        "name": "Maybe Ada",
    }
    at.run()
    assert not at.exception
    assert at.warning and not at.dataframe
    assert "did not mark this email address as verified" in at.warning[0].value
