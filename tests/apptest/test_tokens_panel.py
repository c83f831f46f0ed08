"""Personal access tokens and the audit anchor's age on the People and roles page (issue 11):
a person creates their own token (shown once, stored hashed, audited) and revokes it; an admin
creates one for a service account but the page offers no other person; admins see how old the
newest anchor is."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from sqlmodel import select

from core import anchors
from core.access import actor_by_email
from core.db.engine import make_engine, read_session, write_session
from core.db.models import ApiToken, AuditEvent
from core.identity import create_service_account
from tests.factories import make_world


@pytest.fixture
def registry(sqlite_template, tmp_path):
    path = tmp_path / "tokens.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    with write_session(engine) as s:
        create_service_account(s, actor=world.admin, name="Nightly job", email="job@example.com")
    yield url, engine, world
    engine.dispose()


def _open(app, url, person):
    at = app(url)
    at.query_params["as"] = person
    return at.switch_page("../pages/admin.py").run()


def test_a_person_creates_their_own_token_sees_it_once_and_revokes_it(app, registry):
    url, engine, world = registry
    at = _open(app, url, world.owner.email)
    assert not at.exception
    assert list(at.selectbox(key="admin.tokens.create.person").options) == ["Myself"]  # nobody else
    at.text_input(key="admin.tokens.create.name").input("laptop")
    at.button(key="admin.tokens.create.submit").click().run()
    assert not at.exception
    (secret,) = [c.value for c in at.code]
    assert secret.startswith("stw_")
    with read_session(engine) as s:
        row = s.exec(select(ApiToken)).one()
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "token.created")).one()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and row.person_id == world.owner.id
    assert event.actor_id == world.owner.id
    at = _open(app, url, world.owner.email)
    assert not at.code  # never shown again
    at.text_input(key="admin.tokens.revoke.reason").input("rotating")
    at.button(key="admin.tokens.revoke.submit").click().run()
    assert not at.exception
    with read_session(engine) as s:
        assert s.exec(select(ApiToken)).one().revoked_at is not None


def test_an_admin_creates_a_token_for_a_service_account_only(app, registry):
    url, engine, world = registry
    at = _open(app, url, world.admin.email)
    options = at.selectbox(key="admin.tokens.create.person")
    labels = list(options.options)  # as shown
    assert labels[0] == "Myself" and any("Nightly job" in label for label in labels)
    assert not any("Olivia Owner" in label for label in labels)
    with read_session(engine) as s:
        job = actor_by_email(s, "job@example.com")
    options.set_value(job.id)
    at.text_input(key="admin.tokens.create.name").input("cron")
    at.button(key="admin.tokens.create.submit").click().run()
    assert not at.exception and at.code[0].value.startswith("stw_")
    with read_session(engine) as s:
        row = s.exec(select(ApiToken)).one()
    assert (row.person_id, row.created_by_id) == (job.id, world.admin.id)


def test_admins_see_the_age_of_the_newest_anchor(app, registry, tmp_path, monkeypatch):
    url, engine, world = registry
    at = _open(app, url, world.admin.email)
    assert any("Audit anchors are not configured" in w.value for w in at.warning)
    monkeypatch.setenv("STEWARD_AUDIT_ANCHOR_DIR", str(tmp_path / "anchors"))
    with read_session(engine) as s:
        anchors.write_anchor(s, tmp_path / "anchors")
    at = _open(app, url, world.admin.email)
    assert any("Newest audit anchor: 0 hours ago" in c.value for c in at.caption)
    viewer = _open(app, url, world.viewer.email)
    assert not any("anchor" in c.value.lower() for c in viewer.caption)
