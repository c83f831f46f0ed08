"""Revision 0007 (notifications and retraining) on SQLite and PostgreSQL: a registry filled under the
previous schema keeps its data through the upgrade, the new agenda kind is accepted only after it,
and the downgrade removes exactly what the upgrade added."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from core.db.migrate import current_revision, downgrade, head_revision, upgrade
from tests.factories import make_model, make_world

NEW_TABLES = {
    "outbox_event",
    "notify_subscription",
    "notify_preference",
    "notify_delivery",
    "notify_attempt",
    "retraining_request",
}


def _agenda_item(conn, meeting_id: int, kind: str, subject: str) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO agenda_item (meeting_id, position, kind, subject_id, title, reason, link, evidence, listed_at) "
            "VALUES (:m, 1, :k, :s, 'item', '', '', '{}', :t)"
        ),
        {
            "m": meeting_id,
            "k": kind,
            "s": subject,
            "t": datetime(2026, 1, 5, tzinfo=UTC).replace(tzinfo=None),
        },
    )


def test_upgrade_keeps_data_and_downgrade_undoes_it(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    downgrade(engine, "0004")
    assert NEW_TABLES.isdisjoint(inspect(engine).get_table_names())
    with engine.begin() as conn:
        meeting_id = conn.execute(
            text(
                "INSERT INTO meeting (title, business_unit, held_at, status, created_by_id, created_at) "
                "VALUES ('Committee', '', :t, 'planned', :p, :t) RETURNING id"
            ),
            {"t": datetime(2026, 1, 5), "p": world.admin.id},
        ).scalar_one()
        _agenda_item(conn, meeting_id, "alert", "7")
        with pytest.raises(IntegrityError, match="(?i)check"), conn.begin_nested():
            _agenda_item(conn, meeting_id, "retraining", "1")  # not a kind before 0007
    upgrade(engine, "0007")
    assert current_revision(engine) == "0007"
    assert NEW_TABLES <= set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        kept = conn.execute(text("SELECT kind, subject_id FROM agenda_item")).all()
        assert [tuple(r) for r in kept] == [("alert", "7")]
        assert (
            conn.execute(text("SELECT name FROM model WHERE id = :i"), {"i": model_id}).scalar_one()
            == "Credit scoring"
        )
        _agenda_item(conn, meeting_id, "retraining", "1")
    downgrade(engine, "0004")
    with engine.begin() as conn:
        left = conn.execute(text("SELECT kind FROM agenda_item ORDER BY id")).scalars().all()
    assert left == ["alert"]  # the retraining item went with the kind; the rest stayed
    upgrade(engine)  # revisions after 0007 (e.g. 0003) follow it in the chain
    assert current_revision(engine) == head_revision()
