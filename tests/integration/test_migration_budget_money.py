"""Revision 0016 (budgets and risk exposures as exact decimals) on SQLite and PostgreSQL: values
written as floats by the previous schema come through the upgrade as the exact amounts they stood
for, a budget's cents survive the round trip through the services, a value the new column cannot
hold stops the upgrade and changes nothing, and the downgrade brings the floats back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from core.costs.budgets import budget_statuses, set_budget
from core.db.engine import read_session, write_session
from core.db.migrate import current_revision, downgrade, previous_revision, upgrade
from core.db.models import CostBudget, RiskAssessment
from core.governance.risk import current_assessment
from tests.factories import make_model, make_world
from tests.integration.test_risk import assess

BEFORE = previous_revision("0016")


def _type(engine, table: str, column: str) -> str:  # type: ignore[no-untyped-def]
    return str({c["name"]: c for c in inspect(engine).get_columns(table)}[column]["type"])


def _budget(engine, who, amount) -> None:  # type: ignore[no-untyped-def]
    with write_session(engine) as s:
        set_budget(
            s,
            actor=who,
            business_unit="Credit risk",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
            amount=amount,
        )


def test_budgets_and_exposures_are_exact_through_services_and_the_upgrade(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    _budget(engine, world.admin, "1234567.89")
    assess(engine, world.owner, model_id, exposure_amount=Decimal("2500000.05"))
    with read_session(engine) as s:
        assert s.exec(select(CostBudget.amount)).one() == Decimal("1234567.89")
        assert s.exec(select(RiskAssessment.exposure_amount)).one() == Decimal("2500000.05")
        assert budget_statuses(s)[0].amount == 1234567.89
        view = current_assessment(s, model_id)
        assert view is not None and view.exposure_amount == 2500000.05
    head = current_revision(engine)
    downgrade(engine, BEFORE)
    assert _type(engine, "cost_budget", "amount") in ("FLOAT", "DOUBLE PRECISION", "REAL")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT amount FROM cost_budget")).scalar_one() == 1234567.89
        conn.execute(text("UPDATE cost_budget SET amount = 0.1"))
        conn.execute(text("UPDATE risk_assessment SET exposure_amount = NULL"))
    upgrade(engine)
    assert current_revision(engine) == head
    expected_type = "BIGINT" if engine.dialect.name == "sqlite" else "NUMERIC(16, 4)"
    assert _type(engine, "cost_budget", "amount") == expected_type
    assert _type(engine, "risk_assessment", "exposure_amount") == expected_type
    with read_session(engine) as s:
        assert s.exec(select(CostBudget.amount)).one() == Decimal("0.1")
        assert s.exec(select(RiskAssessment.exposure_amount)).one() is None


def test_a_budget_the_exact_column_cannot_hold_stops_the_upgrade(engine):
    world = make_world(engine)
    _budget(engine, world.admin, 1000)
    downgrade(engine, BEFORE)
    with engine.begin() as conn:
        conn.execute(text("UPDATE cost_budget SET amount = 1e15"))
    with pytest.raises(
        RuntimeError, match=r"1 cost_budget row\(s\) hold a cost_budget.amount of 10\^12 or more"
    ):
        upgrade(engine)
    assert current_revision(engine) == BEFORE
    with engine.begin() as conn:
        conn.execute(text("UPDATE cost_budget SET amount = 1000"))
    upgrade(engine)
    with read_session(engine) as s:
        assert s.exec(select(CostBudget.amount)).one() == Decimal("1000")
