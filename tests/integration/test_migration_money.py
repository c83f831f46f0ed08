"""Revision 0008 (money as an exact decimal) on SQLite and PostgreSQL: cost amounts written as
floats by the previous schema come through the upgrade as the exact amounts they stood for, an
amount the new column cannot hold stops the upgrade with a message and changes nothing, and the
downgrade brings the floats back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from core.db.engine import read_session
from core.db.migrate import current_revision, downgrade, previous_revision, upgrade
from core.db.models import CostRecord
from tests.factories import make_model, make_world

BEFORE = previous_revision("0008")


def _insert(conn, model_id: int, day: date, category: str, amount: float) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text(
            "INSERT INTO cost_record (day, model_id, category, amount, currency) "
            "VALUES (:d, :m, :c, :a, 'EUR')"
        ),
        {"d": day, "m": model_id, "c": category, "a": amount},
    )


def _amount_type(engine) -> str:  # type: ignore[no-untyped-def]
    return str({c["name"]: c for c in inspect(engine).get_columns("cost_record")}["amount"]["type"])


def test_upgrade_keeps_amounts_exactly_and_downgrade_restores_floats(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    head = current_revision(engine)
    downgrade(engine, BEFORE)
    assert _amount_type(engine) in ("FLOAT", "DOUBLE PRECISION", "REAL")
    with engine.begin() as conn:
        _insert(conn, model_id, date(2025, 3, 1), "compute", 0.1)
        _insert(conn, model_id, date(2025, 3, 1), "storage", 12.35)
        _insert(conn, model_id, date(2025, 3, 2), "compute", 99999999999.99)
    upgrade(engine)
    assert current_revision(engine) == head
    assert _amount_type(engine) == ("BIGINT" if engine.dialect.name == "sqlite" else "NUMERIC(16, 4)")
    with read_session(engine) as s:
        amounts = s.exec(select(CostRecord.amount).order_by(CostRecord.id)).all()
    assert amounts == [Decimal("0.1"), Decimal("12.35"), Decimal("99999999999.99")]
    downgrade(engine, BEFORE)
    with engine.begin() as conn:
        floats = conn.execute(text("SELECT amount FROM cost_record ORDER BY id")).scalars().all()
    assert floats == [0.1, 12.35, 99999999999.99]
    upgrade(engine)


def test_an_amount_the_exact_column_cannot_hold_stops_the_upgrade(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    downgrade(engine, BEFORE)
    with engine.begin() as conn:
        _insert(conn, model_id, date(2025, 3, 1), "compute", 1e23)
    with pytest.raises(RuntimeError, match=r"1 cost_record row\(s\) hold an amount of 10\^12 or more"):
        upgrade(engine)
    assert current_revision(engine) == BEFORE
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM cost_record"))
    upgrade(engine)
