"""The audit key is checked (issue 11, finding 7), on SQLite and PostgreSQL.

Before: a writer without STEWARD_AUDIT_HMAC_KEY appended plain-hashed events to a keyed chain
silently, and verify then (or verify without the key) reported "the row was edited". Now the
head keeps a check value of the key from the first keyed event on: a writer without the key or
with another is refused and writes nothing, and verify says "key missing or wrong" distinctly.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from core import audit
from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, Person
from core.errors import IntegrityViolation
from core.registry import services
from tests.cli_auth import TokenRunner
from tests.factories import make_model, make_world

KEY = "correct horse battery staple"
runner = TokenRunner()


def _use_key(monkeypatch: pytest.MonkeyPatch, key: str | None) -> None:
    if key is None:
        monkeypatch.delenv("STEWARD_AUDIT_HMAC_KEY", raising=False)
    else:
        monkeypatch.setenv("STEWARD_AUDIT_HMAC_KEY", key)
    reset_settings_cache()


def _count(engine: Engine) -> int:
    with read_session(engine) as s:
        return int(s.exec(select(func.count()).select_from(AuditEvent)).one())


def _add_person(engine: Engine, actor, email: str) -> None:
    with write_session(engine) as s:
        services.create_person(s, actor=actor, name="Someone", email=email)


def test_a_writer_without_the_key_or_with_another_is_refused(engine, monkeypatch):
    _use_key(monkeypatch, KEY)
    world = make_world(engine)
    events = _count(engine)
    with read_session(engine) as s:
        head = audit.read_head(s)
    assert (head.keyed_from, head.key_check) == (1, audit.key_check_of(KEY))
    for key, message in (
        (None, "this registry's audit log is keyed; set STEWARD_AUDIT_HMAC_KEY"),
        ("guess", "is not the key"),
    ):
        _use_key(monkeypatch, key)
        with pytest.raises(IntegrityViolation, match=message):
            _add_person(engine, world.admin, "nokey@example.com")
    with read_session(engine) as s:  # nothing was written: neither the person nor an event
        assert s.exec(select(Person).where(Person.email == "nokey@example.com")).first() is None
    assert _count(engine) == events
    _use_key(monkeypatch, KEY)
    _add_person(engine, world.admin, "withkey@example.com")
    with read_session(engine) as s:
        assert audit.verify(s).ok


def test_verify_tells_a_missing_or_wrong_key_from_an_edited_row(engine, monkeypatch):
    _use_key(monkeypatch, KEY)
    world = make_world(engine)
    make_model(engine, world.owner, versions=2)
    with read_session(engine) as s:
        assert audit.verify(s).ok
        for key in ("", "guess"):
            verdict = audit.verify(s, key=key)
            assert not verdict.ok and verdict.key_problem
            assert "key missing or wrong" in verdict.message()
            assert "edited" not in verdict.message()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
        conn.exec_driver_sql("UPDATE audit_event SET reason = 'nothing to see' WHERE id = 4")
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER USER")
    with read_session(engine) as s:
        verdict = audit.verify(s)
    assert (verdict.ok, verdict.key_problem, verdict.first_bad_id) == (False, False, 4)
    assert "the row was edited" in verdict.message()


def test_a_key_set_later_keys_the_chain_from_that_event_on(engine, monkeypatch):
    world = make_world(engine)  # written without a key
    plain_events = _count(engine)
    _use_key(monkeypatch, KEY)
    _add_person(engine, world.admin, "first.keyed@example.com")
    with read_session(engine) as s:
        head = audit.read_head(s)
        assert head.keyed_from == plain_events + 1
        assert audit.verify(s).ok
        assert audit.verify(s, key="").key_problem
    _use_key(monkeypatch, None)
    with pytest.raises(IntegrityViolation, match="audit log is keyed"):
        _add_person(engine, world.admin, "later@example.com")


def test_a_chain_keyed_before_key_checks_existed_is_recognised(engine, monkeypatch):
    """Registries keyed before this version have no key check yet: the first keyed write (or
    `steward init`) finds where the keyed events start and stores it; a writer without the key
    is refused from the start, because the newest event does not verify as a plain hash."""
    _use_key(monkeypatch, KEY)
    world = make_world(engine)
    with engine.begin() as conn:  # what a registry written by the previous version looks like
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_head DISABLE TRIGGER USER")
        conn.exec_driver_sql("UPDATE audit_head SET key_check = NULL, keyed_from = NULL")
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_head ENABLE TRIGGER USER")
    with read_session(engine) as s:
        assert audit.verify(s).ok  # keyed hashes recognised with the key
    _use_key(monkeypatch, None)
    with pytest.raises(IntegrityViolation, match="audit log is keyed"):
        _add_person(engine, world.admin, "nokey@example.com")
    _use_key(monkeypatch, KEY)
    with write_session(engine) as s:
        assert audit.adopt_key(s) is True
    with read_session(engine) as s:
        head = audit.read_head(s)
        assert (head.keyed_from, head.key_check) == (1, audit.key_check_of(KEY))
        assert audit.verify(s, key="").key_problem


def test_cli_verify_without_the_key_says_key_missing_or_wrong(engine, monkeypatch):
    monkeypatch.setenv("STEWARD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    _use_key(monkeypatch, KEY)
    make_world(engine)
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    _use_key(monkeypatch, None)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "key missing or wrong" in result.stderr and "edited" not in result.stderr
