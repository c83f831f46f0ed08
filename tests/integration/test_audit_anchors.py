"""The audit log is anchored outside the database (issue 11, finding 3), on SQLite and PostgreSQL.

Before: deleting the last events and fixing `audit_head` gave "Audit chain intact: 15 events
verified"; deleting every event and the head gave "intact: 0 events"; without the key, a forged
tail or a chain rewritten from the middle also passed; moving a `stage_change.changed_at`
changed "what was in production on date D" and `steward check` still said intact. Each attack
below is made as someone with direct database access (SQL, triggers switched off on
PostgreSQL) and must be detected, naming the first missing or bad event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from core import anchors, audit, events
from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, StageChange
from core.errors import IntegrityViolation
from core.governance import history, promotions
from core.registry import reads
from core.registry.services import ensure_system_person
from tests.cli_auth import TokenRunner
from tests.factories import make_model, make_promotable_model, make_world

runner = TokenRunner()


def _sql(engine: Engine, *statements: str) -> None:
    """Raw SQL as an insider with database access: on PostgreSQL the owner switches triggers off."""
    tables = ("audit_event", "audit_head", "stage_change")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in tables:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for statement in statements:
            conn.exec_driver_sql(statement)
        if engine.dialect.name == "postgresql":
            for table in tables:
                conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def _anchored(engine: Engine, directory: Path) -> int:
    """A registry with history and an anchor of it; returns the number of events anchored."""
    world = make_world(engine)
    make_model(engine, world.owner, versions=3)
    with read_session(engine) as s:
        anchor = anchors.write_anchor(s, directory)
    return anchor.last_id


def _check(engine: Engine, directory: Path) -> tuple[audit.ChainVerdict, anchors.AnchorVerdict]:
    with read_session(engine) as s:
        return audit.verify(s), anchors.verify_against_anchors(s, directory)


def _forge_tail(engine: Engine, start: int, count: int, key: str = "") -> None:
    """Replace events ``start``.. with well-formed forgeries (hashes recomputed without the key)."""
    with read_session(engine) as s:
        prev = s.get(AuditEvent, start - 1).hash
        originals = [s.get(AuditEvent, i) for i in range(start, start + count)]
    statements = [f"DELETE FROM audit_event WHERE id >= {start}"]
    for event in originals:
        event.reason = "forged"
        event.prev_hash = prev
        event.hash = audit.compute_hash(event, prev, key)
        prev = event.hash
        ts = event.ts.replace(tzinfo=None).isoformat(sep=" ")
        statements.append(
            "INSERT INTO audit_event (id, ts, actor_id, actor_email, action, object_type, object_id, model_id, "
            f"before, after, reason, prev_hash, hash) SELECT {event.id}, '{ts}', {event.actor_id or 'NULL'}, "
            f"'{event.actor_email}', '{event.action}', '{event.object_type}', '{event.object_id}', "
            f"{event.model_id if event.model_id is not None else 'NULL'}, "
            f"{_literal(event.before)}, {_literal(event.after)}, 'forged', '{event.prev_hash}', '{event.hash}'"
        )
    statements.append(f"UPDATE audit_head SET last_id = {originals[-1].id}, last_hash = '{prev}'")
    _sql(engine, *statements)


def _literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def test_an_intact_log_matches_its_anchor_and_the_anchor_is_a_signed_read_only_file(
    engine, tmp_path, monkeypatch
):
    monkeypatch.setenv("STEWARD_AUDIT_HMAC_KEY", "anchor key")
    reset_settings_cache()
    last = _anchored(engine, tmp_path)
    (path,) = tmp_path.glob("anchor-*.json")
    document = json.loads(path.read_text())
    assert document["last_id"] == last and document["signature"]["method"] == "hmac-sha256"
    assert not path.stat().st_mode & 0o222  # written read-only
    chain, anchored = _check(engine, tmp_path)
    assert chain.ok and anchored.ok and anchored.newest.last_id == last
    # A later, honest event keeps matching.
    with write_session(engine) as s:
        audit.record(
            s,
            actor=ensure_system_person(s),
            action=events.ROLE_GRANTED,
            object_id=1,
            after={"role": "viewer"},
        )
    assert _check(engine, tmp_path)[1].ok


def test_truncation_with_a_fixed_head_is_detected(engine, tmp_path):
    last = _anchored(engine, tmp_path)
    with read_session(engine) as s:
        keep = s.get(AuditEvent, last - 3)
    _sql(
        engine,
        f"DELETE FROM audit_event WHERE id > {keep.id}",
        f"UPDATE audit_head SET last_id = {keep.id}, last_hash = '{keep.hash}'",
    )
    chain, anchored = _check(engine, tmp_path)
    assert chain.ok  # the chain alone cannot see it: that was the finding
    assert not anchored.ok and anchored.first_bad_id == keep.id + 1
    assert f"events {keep.id + 1} to {last} are missing" in anchored.message()


def test_a_wipe_is_detected_even_without_anchors(engine, tmp_path):
    _anchored(engine, tmp_path)
    _sql(engine, "DELETE FROM audit_event", "DELETE FROM audit_head")
    chain, anchored = _check(engine, tmp_path)
    assert not chain.ok and "the log was wiped" in chain.problem  # people exist but no events
    assert not anchored.ok and anchored.first_bad_id == 1 and "the log was wiped" in anchored.problem


def test_a_forged_tail_without_the_key_is_named_exactly(engine, tmp_path):
    last = _anchored(engine, tmp_path)
    _forge_tail(engine, last - 2, 3)
    chain, anchored = _check(engine, tmp_path)
    assert chain.ok  # well-formed: without a key the forger can recompute every hash
    assert not anchored.ok and anchored.first_bad_id == last - 2
    assert f"event {last - 2} is the first changed event" in anchored.problem


def test_a_chain_rewritten_from_the_middle_is_located(engine, tmp_path):
    last = _anchored(engine, tmp_path)
    middle = last // 2
    _forge_tail(engine, middle, last - middle + 1)
    chain, anchored = _check(engine, tmp_path)
    assert chain.ok
    assert not anchored.ok and anchored.first_bad_id == middle


def test_a_rollback_to_an_older_state_is_detected(engine, tmp_path):
    """Restoring an older backup (or rewinding) and going on writing: the anchored events differ."""
    world = make_world(engine)
    with read_session(engine) as s:
        old_last = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    make_model(engine, world.owner, versions=2)
    with read_session(engine) as s:
        anchor = anchors.write_anchor(s, tmp_path)
    _sql(
        engine,
        f"DELETE FROM audit_event WHERE id > {old_last.id}",
        f"UPDATE audit_head SET last_id = {old_last.id}, last_hash = '{old_last.hash}'",
    )
    make_model(engine, world.owner, name="After the rollback", versions=3)  # new events reuse the ids
    chain, anchored = _check(engine, tmp_path)
    assert chain.ok and not anchored.ok
    assert anchored.first_bad_id == old_last.id + 1 <= anchor.last_id


def test_a_forged_or_edited_anchor_is_not_trusted(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("STEWARD_AUDIT_HMAC_KEY", "anchor key")
    reset_settings_cache()
    _anchored(engine, tmp_path)
    (path,) = tmp_path.glob("anchor-*.json")
    document = json.loads(path.read_text())
    document["last_id"] = 2
    path.chmod(0o644)
    path.write_text(json.dumps(document))
    _, anchored = _check(engine, tmp_path)
    assert not anchored.ok and "signature does not match" in anchored.problem


def test_editing_the_stage_history_is_detected_and_refused(engine, tmp_path):
    world = make_world(engine)
    model_id, (v1, v2) = make_promotable_model(engine, world)
    for version_id in (v1, v2):
        with write_session(engine) as s:
            request_id = promotions.request_promotion(
                s,
                actor=world.owner,
                version_id=version_id,
                target_stage="production",
                justification="Release it now.",
            )
        with write_session(engine) as s:
            promotions.approve(s, actor=world.approver, request_id=request_id)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    with read_session(engine) as s:
        assert reads.production_version_on(s, model_id, tomorrow).version == 2
        change = s.exec(
            select(StageChange).where(StageChange.to_stage == "production").order_by(StageChange.id.desc())
        ).first()
    moved = (change.changed_at + timedelta(days=30)).replace(tzinfo=None).isoformat(sep=" ")
    _sql(engine, f"UPDATE stage_change SET changed_at = '{moved}' WHERE id = {change.id}")
    with read_session(engine) as s:
        assert audit.verify(s).ok  # the chain itself is untouched
        problems = audit.stage_history_problems(s)
        assert problems and f"stage change #{change.id}" in problems[0] and "edited" in problems[0]
        with pytest.raises(IntegrityViolation, match="stage history does not match the audit log"):
            reads.production_version_on(s, model_id, tomorrow)
        with pytest.raises(IntegrityViolation, match="stage history does not match the audit log"):
            history.production_periods(s, model_id)


@pytest.fixture
def cli(engine, monkeypatch, tmp_path):
    monkeypatch.setenv("STEWARD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("STEWARD_AUDIT_ANCHOR_DIR", str(tmp_path / "anchors"))
    reset_settings_cache()
    return engine


def test_cli_anchor_verify_and_check_detect_a_cut(cli, tmp_path):
    world = make_world(cli)
    make_model(cli, world.owner, versions=2)
    made = runner.invoke(app, ["audit", "anchor", "--json"])
    assert made.exit_code == 0, made.output
    last = json.loads(made.stdout)["last_id"]
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    check = runner.invoke(app, ["check"])
    assert check.exit_code == 0 and "matches its 1 anchor(s)" in check.stdout
    with read_session(cli) as s:
        keep = s.get(AuditEvent, last - 1)
    _sql(
        cli,
        f"DELETE FROM audit_event WHERE id > {keep.id}",
        f"UPDATE audit_head SET last_id = {keep.id}, last_hash = '{keep.hash}'",
    )
    verify = runner.invoke(app, ["audit", "verify"])
    assert verify.exit_code == 1 and f"the first missing event is event {last}" in verify.stderr
    check = runner.invoke(app, ["check", "--json"])
    assert check.exit_code == 1 and json.loads(check.stdout)["anchor_first_bad_id"] == last
    explicit = runner.invoke(app, ["audit", "verify", "--anchors", str(tmp_path / "anchors"), "--json"])
    assert explicit.exit_code == 1 and json.loads(explicit.stdout)["anchor_first_bad_id"] == last


def test_anchoring_a_broken_chain_is_refused(cli, tmp_path):
    world = make_world(cli)
    make_model(cli, world.owner)
    _sql(cli, "UPDATE audit_event SET reason = 'edited' WHERE id = 2")
    result = runner.invoke(app, ["audit", "anchor"])
    assert result.exit_code == 1 and "does not verify, so it is not anchored" in result.stderr
    assert not list((tmp_path / "anchors").glob("*.json"))
