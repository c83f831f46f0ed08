"""Revision 0011 (segments and fairness) on SQLite and PostgreSQL: alerts and thresholds written
under the previous schema keep their data through the upgrade (subject '' and the segment
defaults), the new alert kinds and one open alert per subject are accepted only after it, and the
downgrade removes exactly what the upgrade added."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from core.db.migrate import downgrade, previous_revision, upgrade
from tests.factories import make_model, make_world


def _alert(conn, model_id: int, kind: str, subject: str | None = None) -> None:  # type: ignore[no-untyped-def]
    columns = "model_id, kind, level, message, opened_at, updated_at" + (
        ", subject" if subject is not None else ""
    )
    values = ":m, :k, 'alert', 'x', :t, :t" + (", :s" if subject is not None else "")
    conn.execute(
        text(f"INSERT INTO alert ({columns}) VALUES ({values})"),
        {"m": model_id, "k": kind, "t": datetime(2026, 1, 5), "s": subject},
    )


def test_upgrade_keeps_data_and_downgrade_undoes_it(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    downgrade(engine, previous_revision("0011"))
    assert "segment_attribute" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        _alert(conn, model_id, "drift")
        conn.execute(
            text(
                "INSERT INTO monitoring_thresholds (model_id, version, drift_share, performance_drop, outage_days, "
                "min_label_coverage, reason, created_by_id, created_at) VALUES (:m, 1, 0.4, 0.05, 3, 0.05, 'r', :p, :t)"
            ),
            {"m": model_id, "p": world.owner.id, "t": datetime(2026, 1, 5)},
        )
        with pytest.raises(IntegrityError, match="(?i)check"), conn.begin_nested():
            _alert(conn, model_id, "segment")  # not a kind before 0011
    upgrade(engine)
    assert "segment_attribute" in inspect(engine).get_table_names()
    with engine.begin() as conn:
        assert [tuple(r) for r in conn.execute(text("SELECT kind, subject FROM alert"))] == [("drift", "")]
        row = conn.execute(
            text(
                "SELECT drift_share, min_group_size, segment_gap, disparity_limit FROM monitoring_thresholds"
            )
        ).one()
        assert tuple(row) == (0.4, 30, 0.1, 0.1)
        _alert(conn, model_id, "segment", "channel = web")
        _alert(conn, model_id, "segment", "channel = broker")  # another subject: a second open alert
        with pytest.raises(IntegrityError, match="(?i)unique"), conn.begin_nested():
            _alert(conn, model_id, "segment", "channel = web")
        conn.execute(
            text(
                "INSERT INTO segment_attribute (model_id, request_id, name, value, attached_at) VALUES (:m, 'r1', 'age_band', '65+', :t)"
            ),
            {"m": model_id, "t": datetime(2026, 1, 5)},
        )
    downgrade(engine, previous_revision("0011"))
    with engine.begin() as conn:
        assert [tuple(r) for r in conn.execute(text("SELECT kind FROM alert"))] == [("drift",)]
        columns = {c["name"] for c in inspect(engine).get_columns("monitoring_thresholds")}
        assert "min_group_size" not in columns
    assert "segment_attribute" not in inspect(engine).get_table_names()
    upgrade(engine)
