"""Revision 0015 (the prediction-log store) on SQLite and PostgreSQL: a registry whose logs are in
``prediction_log`` keeps them through the upgrade, row ids handed out afterwards start above
theirs, and the downgrade removes exactly what the upgrade added."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from core.db.migrate import current_revision, downgrade, head_revision, previous_revision, upgrade
from tests.factories import make_model, make_world

NEW_TABLES = {"log_file", "log_row_id", "log_retention"}
BEFORE = previous_revision("0015")  # the revision the log store follows


def test_upgrade_keeps_logged_rows_and_starts_row_ids_above_them(engine):
    world = make_world(engine)
    _, (version_id,) = make_model(engine, world.owner)
    downgrade(engine, BEFORE)
    assert NEW_TABLES.isdisjoint(inspect(engine).get_table_names())
    with engine.begin() as conn:
        for row_id in (40, 41, 97):
            conn.execute(
                text(
                    "INSERT INTO prediction_log (id, model_version_id, ts, request_id, features, prediction) "
                    "VALUES (:i, :v, :t, '', '{\"age\": 3}', 1.0)"
                ),
                {"i": row_id, "v": version_id, "t": datetime(2026, 1, 5, tzinfo=UTC).replace(tzinfo=None)},
            )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert NEW_TABLES <= set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM prediction_log")).scalar_one() == 3
        assert conn.execute(text("SELECT next_id FROM log_row_id WHERE id = 1")).scalar_one() == 98
    downgrade(engine, BEFORE)
    assert NEW_TABLES.isdisjoint(inspect(engine).get_table_names())
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM prediction_log")).scalar_one() == 3
    upgrade(engine)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT next_id FROM log_row_id")).scalar_one() == 98


def test_an_empty_registry_starts_row_ids_at_one(engine):
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id, next_id FROM log_row_id")).one() == (1, 1)
