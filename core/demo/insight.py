"""Demo area step: stored cost forecasts, budgets per business unit, and precomputed global
explanations of every production version.

- Fleet forecasts (every model, every business unit, all models), as `steward forecast --all`
  would store them from cron.
- Budgets for every business unit for this calendar year and the next, set by Marco Rossi
  (approver) a little above the projected spend, except ``BUDGET_OVERRUN_UNIT``: its budget is
  75% of its projected spend, so the Costs page projects an overrun within the forecast
  horizon (in this year's budget if at least three months are left, else in next year's).
- Global explanations (validation sample and recent production window) of every production
  version, as `steward explain` would store them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from core.costs.budgets import project_budget, set_budget
from core.costs.fleet import run_fleet_forecast, stored_forecast
from core.costs.queries import costs_by_month
from core.db.engine import read_session, write_session
from core.db.models import CostBudget
from core.demo.catalogue import MARCO
from core.explain.summaries import ensure_global_explanations

BUDGET_OVERRUN_UNIT = "Fraud detection"
OVERRUN_SHARE = 0.75  # of projected spend
HEADROOM = (1.08, 1.12)  # this year, next year: budget / projected spend for the other units
MIN_MONTHS_LEFT = 3


def populate(engine: Engine, context: dict[str, Any]) -> None:
    on = context["on"]
    with on(0, 5) as moment:
        run_fleet_forecast(engine, actor=context["system"], horizon_months=12, computed_at=moment)
    _budgets(engine, context)
    with on(0, 5, 30) as moment:
        for name in sorted(context["production_versions"]):
            ensure_global_explanations(
                engine,
                actor=context["system"],
                version_id=context["production_versions"][name],
                computed_at=moment,
            )


def overrun_year(today: date) -> int:
    """The year whose budget the overrun unit exceeds: this one if enough of it is left."""
    return today.year if 12 - today.month >= MIN_MONTHS_LEFT else today.year + 1


def _budgets(engine: Engine, context: dict[str, Any]) -> None:
    today: date = context["today"]
    approver = context["people"].get(MARCO, context["system"])
    tight_year = overrun_year(today)
    with read_session(engine) as session:
        units = sorted({u for u in costs_by_month(session)["business_unit"]})
        plans = []
        for unit in units:
            forecast = stored_forecast(session, "business_unit", unit)
            actual = costs_by_month(session, business_unit=unit, since=date(today.year, 1, 1))
            for year, headroom in zip((today.year, today.year + 1), HEADROOM, strict=True):
                projected = _projected_year(unit, year, actual, forecast)
                if projected is None:
                    continue
                share = OVERRUN_SHARE if (unit == BUDGET_OVERRUN_UNIT and year == tight_year) else headroom
                plans.append((unit, year, round(projected * share, -2)))
    with context["on"](0, 5, 45) as moment, write_session(engine) as session:
        for unit, year, amount in plans:
            note = (
                "Tight: growth in fraud tooling was not funded."
                if amount and unit == BUDGET_OVERRUN_UNIT and year == tight_year
                else "Annual model budget."
            )
            set_budget(
                session,
                actor=approver,
                business_unit=unit,
                period_start=date(year, 1, 1),
                period_end=date(year, 12, 31),
                amount=amount,
                currency="EUR",
                note=note,
                at=moment,
            )


def _projected_year(unit: str, year: int, actual: Any, forecast: Any) -> float | None:
    """Projected spend of ``unit`` in ``year``: actual so far plus the forecast, scaled up to twelve
    months where the forecast ends before the year does."""
    probe = CostBudget(
        business_unit=unit, period_start=date(year, 1, 1), period_end=date(year, 12, 31), amount=Decimal(1)
    )
    status = project_budget(probe, actual[actual["currency"] == "EUR"], forecast)
    if status.projected is None or status.projected_until is None:
        return None
    covered = int(status.projected_until[5:7])
    return status.projected * 12 / covered
