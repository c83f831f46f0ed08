"""The audit log is tamper-evident: edits, deletions, reordering and insertions made directly in
SQL are detected and the first bad event is named; on PostgreSQL the database refuses them first."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from core import audit, events
from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent
from core.events import EventKind
from core.governance import promotions
from core.registry import services
from tests.cli_auth import TokenRunner
from tests.factories import make_model, make_promotable_model, make_world

runner = TokenRunner()


def _populated(engine: Engine) -> int:
    """A registry with some history; returns the number of events."""
    world = make_world(engine)
    make_model(engine, world.owner, versions=3)
    with read_session(engine) as s:
        return len(s.exec(select(AuditEvent)).all())


def _tamper(engine: Engine, *statements: str) -> None:
    """Run raw SQL against audit_event as someone with direct database access would."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
        for statement in statements:
            conn.exec_driver_sql(statement)
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER USER")


def _verdict(engine: Engine) -> audit.ChainVerdict:
    with read_session(engine) as s:
        return audit.verify(s)


def test_intact_chain_verifies(engine):
    count = _populated(engine)
    verdict = _verdict(engine)
    assert (verdict.ok, verdict.checked) == (True, count)
    assert verdict.message() == f"Audit chain intact: {count} events verified."


def test_edited_row_is_named(engine):
    _populated(engine)
    _tamper(engine, "UPDATE audit_event SET actor_email = 'mallory@example.com' WHERE id = 5")
    verdict = _verdict(engine)
    assert (verdict.ok, verdict.first_bad_id) == (False, 5)
    assert "content does not match its hash (the row was edited)" in verdict.message()


def test_edited_row_with_recomputed_hash_is_caught_by_the_next_link(engine):
    _populated(engine)
    with read_session(engine) as s:
        event = s.get(AuditEvent, 4)
        event.reason = "nothing happened"
        forged = audit.compute_hash(event, event.prev_hash)
    _tamper(engine, f"UPDATE audit_event SET reason = 'nothing happened', hash = '{forged}' WHERE id = 4")
    verdict = _verdict(engine)
    assert (verdict.ok, verdict.first_bad_id) == (False, 5)
    assert "link to the previous event does not match" in verdict.problem


def test_deleted_row_is_named(engine):
    _populated(engine)
    _tamper(engine, "DELETE FROM audit_event WHERE id = 6")
    verdict = _verdict(engine)
    assert (verdict.ok, verdict.first_bad_id) == (False, 7)
    assert "expected event 6 next but found 7" in verdict.problem


def test_deleted_last_rows_are_named(engine):
    count = _populated(engine)
    _tamper(engine, f"DELETE FROM audit_event WHERE id >= {count - 1}")
    verdict = _verdict(engine)
    assert (verdict.ok, verdict.first_bad_id) == (False, count - 1)
    assert "cut off the end" in verdict.problem


def test_reordered_rows_are_named(engine):
    _populated(engine)
    _tamper(
        engine,
        "UPDATE audit_event SET id = -1 WHERE id = 3",
        "UPDATE audit_event SET id = 3 WHERE id = 4",
        "UPDATE audit_event SET id = 4 WHERE id = -1",
    )
    verdict = _verdict(engine)
    assert (verdict.ok, verdict.first_bad_id) == (False, 3)


def test_inserted_row_is_named(engine):
    count = _populated(engine)
    with read_session(engine) as s:
        last = s.get(AuditEvent, count)
        forged = AuditEvent(
            id=count + 1,
            ts=last.ts + timedelta(seconds=1),
            actor_id=None,
            actor_email="mallory@example.com",
            action="role.granted",
            object_type="person",
            object_id="1",
            model_id=None,
            before=None,
            after='{"role":"approver"}',
            reason="",
            prev_hash=last.hash,
            hash="",
        )
        forged.hash = audit.compute_hash(forged, last.hash)  # a well-formed link; only the head betrays it
    ts = forged.ts.replace(tzinfo=None).isoformat(sep=" ")
    _tamper(
        engine,
        "INSERT INTO audit_event (id, ts, actor_email, action, object_type, object_id, after, reason, prev_hash, hash) "
        f"VALUES ({count + 1}, '{ts}', 'mallory@example.com', 'role.granted', 'person', '1', "
        f"'{{\"role\":\"approver\"}}', '', '{last.hash}', '{forged.hash}')",
    )
    verdict = _verdict(engine)
    assert (verdict.ok, verdict.first_bad_id) == (False, count + 1)
    assert "appended outside Steward" in verdict.problem


def test_inserted_row_in_the_middle_is_named(engine):
    _populated(engine)
    _tamper(
        engine,
        "UPDATE audit_event SET id = id + 1000 WHERE id >= 4",
        "INSERT INTO audit_event (id, ts, actor_email, action, object_type, object_id, reason, prev_hash, hash) "
        "SELECT 4, ts, 'mallory@example.com', 'role.granted', 'person', '1', '', hash, 'f' FROM audit_event WHERE id = 3",
    )
    verdict = _verdict(engine)
    assert (verdict.ok, verdict.first_bad_id) == (False, 4)


def test_recomputed_chain_fails_with_the_hmac_key(engine, monkeypatch):
    monkeypatch.setenv("STEWARD_AUDIT_HMAC_KEY", "correct horse battery staple")
    reset_settings_cache()
    _populated(engine)
    assert _verdict(engine).ok
    with read_session(engine) as s:
        assert not audit.verify(s, key="guessed key").ok
        first = s.get(AuditEvent, 1)
        plain = audit.compute_hash(
            first, first.prev_hash, key=""
        )  # what an attacker without the key can compute
    _tamper(engine, f"UPDATE audit_event SET hash = '{plain}' WHERE id = 1")
    verdict = _verdict(engine)
    assert (verdict.ok, verdict.first_bad_id) == (False, 1)


@pytest.mark.postgres
def test_postgres_refuses_update_delete_truncate(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("triggers exist on PostgreSQL only")
    _populated(engine)
    for statement in (
        "UPDATE audit_event SET reason = 'x' WHERE id = 2",
        "DELETE FROM audit_event WHERE id = 2",
        "TRUNCATE audit_event",
    ):
        with pytest.raises(DBAPIError, match=r"audit_event is append-only: (UPDATE|DELETE|TRUNCATE) refused"):
            with engine.begin() as conn:
                conn.exec_driver_sql(statement)
    assert _verdict(engine).ok
    # A superuser can switch the triggers off; the hash chain still catches what they then do.
    _tamper(engine, "UPDATE audit_event SET reason = 'x' WHERE id = 2")
    assert _verdict(engine).first_bad_id == 2


def test_query_events_filters_and_csv(engine):
    world = make_world(engine)
    model_id, (v1, _) = make_promotable_model(engine, world)
    with write_session(engine) as s:
        request_id = promotions.request_promotion(
            s,
            actor=world.owner,
            version_id=v1,
            target_stage="production",
            justification="First release of the model.",
        )
    with write_session(engine) as s:
        promotions.approve(s, actor=world.approver, request_id=request_id)
    today = datetime.now(UTC).date()
    with read_session(engine) as s:
        by_model = audit.query_events(s, model_id=model_id)
        by_person = audit.query_events(s, actor_id=world.approver.id)
        by_action = audit.query_events(s, actions=["promotion.requested", "promotion.approved"])
        yesterday = audit.query_events(s, date_to=today - timedelta(days=1))
        counted = audit.count_events(s, model_id=model_id)
        options = audit.filter_options(s)
    assert set(by_model["model"]) == {"Churn"} and len(by_model) == counted
    # the approver assessed the risk (make_promotable_model), then approved: the stage and the
    # health follow the approval in the same transaction (newest first)
    assert by_person["action"].tolist() == [
        "health.changed",
        "version.stage_changed",
        "promotion.approved",
        "risk.assessed",
    ], by_person["action"].tolist()
    assert set(by_person["actor"]) == {"Arthur Approver"}
    assert by_action["action"].tolist() == ["promotion.approved", "promotion.requested"]
    assert yesterday.empty
    assert (model_id, "Churn") in options.models
    assert "promotion.approved" in options.actions
    rows = list(csv.DictReader(io.StringIO(audit.events_csv(by_action).decode())))
    assert [r["action"] for r in rows] == ["promotion.approved", "promotion.requested"]
    assert rows[0]["ts"].endswith("+00:00")


@pytest.fixture
def cli(monkeypatch, engine):
    monkeypatch.setenv("STEWARD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    reset_settings_cache()
    return engine


def test_cli_audit_verify_exit_codes_and_export(cli, tmp_path):
    count = _populated(cli)
    result = runner.invoke(app, ["audit", "verify"])
    assert (result.exit_code, result.output.strip()) == (0, f"Audit chain intact: {count} events verified.")
    out = tmp_path / "audit.csv"
    result = runner.invoke(app, ["audit", "export", "--out", str(out), "--action", "version.registered"])
    assert result.exit_code == 0, result.output
    assert len(list(csv.DictReader(out.open()))) == 3
    _tamper(cli, "UPDATE audit_event SET action = 'model.deleted' WHERE id = 9")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "Error: Audit chain broken at event 9" in result.output
    result = runner.invoke(app, ["audit", "verify", "--json"])
    assert result.exit_code == 1
    assert '"first_bad_id": 9' in result.output


def test_events_are_written_in_the_same_transaction_as_the_change(engine):
    world = make_world(engine)
    with read_session(engine) as s:
        before = len(s.exec(select(AuditEvent)).all())
    with pytest.raises(RuntimeError, match="boom"):
        with write_session(engine) as s:
            services.create_person(s, actor=world.admin, name="Ghost", email="ghost@example.com")
            raise RuntimeError("boom")
    with read_session(engine) as s:
        assert len(s.exec(select(AuditEvent)).all()) == before
        assert audit.verify(s).ok


def test_record_refuses_an_action_outside_the_catalogue(engine):
    world = make_world(engine)
    before = _verdict(engine).checked
    invented = EventKind("model.renamed", ("model",), "Model renamed", before="name", after="name")
    with pytest.raises(ValueError, match=r"'model\.renamed'.*is not in the catalogue \(core/events\.py\)"):
        with write_session(engine) as s:
            audit.record(s, actor=world.owner, action=invented, object_id=1)
    with pytest.raises(ValueError, match="is not in the catalogue"):
        with write_session(engine) as s:
            audit.record(s, actor=world.owner, action="model.registered", object_id=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="concerns model, not 'dataset'"):
        with write_session(engine) as s:
            audit.record(
                s, actor=world.owner, action=events.MODEL_REGISTERED, object_type="dataset", object_id=1
            )
    assert _verdict(engine).checked == before  # nothing was written


def test_events_read_with_their_labels(engine):
    world = make_world(engine)
    make_model(engine, world.owner)
    with read_session(engine) as s:
        frame = audit.query_events(s)
        options = audit.filter_options(s)
    assert frame.loc[frame["action"] == "model.registered", "label"].tolist() == ["Model registered"]
    assert options.action_labels["person.created"] == "Person added"
    assert options.actions == sorted(options.actions, key=lambda n: options.action_labels[n].lower())
