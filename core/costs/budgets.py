"""Budgets per business unit, and where each is heading: spend so far, the projected total with
its interval, the month the budget is projected to run out, and the odds of overrunning it.

The projection adds the unit's stored forecast paths (see core.costs.fleet) to what was spent
before the forecast starts, so the interval and the overrun probability are those of the
cumulative spend, not sums of monthly intervals.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, require
from core.costs.fleet import StoredForecast, stored_forecasts
from core.costs.queries import costs_by_month, last_cost_day
from core.db.models import CostBudget
from core.db.types import saved_id
from core.errors import InvalidInput
from core.registry.figures import money
from core.registry.ingest import CURRENCIES
from core.registry.validation import clean_money, clean_name, clean_text


def set_budget(
    session: Session,
    *,
    actor: Actor,
    business_unit: str,
    period_start: date,
    period_end: date,
    amount: float | Decimal | str,
    currency: str = "EUR",
    note: str = "",
    at: datetime | None = None,
) -> int:
    """Set (or change) a business unit's budget for the period starting ``period_start``."""
    business_unit = clean_name(business_unit, "business unit")
    require(session, actor, "budget.set", business_unit=business_unit)
    exact = clean_money(amount, "budget amount")
    if exact <= 0:
        raise InvalidInput(f"budget amount must be positive, got {exact.normalize():f}.")
    if period_end <= period_start:
        raise InvalidInput(f"budget period is reversed or empty: {period_start} to {period_end}.")
    currency = (currency or "").strip().upper()
    if currency not in CURRENCIES:
        raise InvalidInput(f"unknown currency '{currency}'; known: {', '.join(CURRENCIES)}.")
    row = session.exec(
        select(CostBudget).where(
            col(CostBudget.business_unit) == business_unit, col(CostBudget.period_start) == period_start
        )
    ).first()
    before = None if row is None else row.model_dump()
    row = row or CostBudget(
        business_unit=business_unit, period_start=period_start, period_end=period_end, amount=exact
    )
    row.period_end, row.amount, row.currency = period_end, exact, currency
    row.note = clean_text(note, "note", max_len=500)
    row.set_by_id = actor.id
    row.set_at = at or clock.now()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.BUDGET_SET,
        object_id=row.id,
        before=before,
        after=row.model_dump(),
    )
    return saved_id(row)


@dataclass(frozen=True)
class BudgetStatus:
    business_unit: str
    period_start: date
    period_end: date
    amount: float
    currency: str
    spent: float  # up to the last cost day
    projected: float | None  # mean projected spend at the end of the period (or of the forecast)
    projected_lower: float | None
    projected_upper: float | None
    overrun_month: str | None  # first month the mean projection exceeds the budget
    earliest_overrun_month: str | None  # first month the upper bound does
    overrun_probability: float | None
    projected_until: str | None  # last month the projection covers
    level: float
    cumulative: pd.DataFrame  # month, actual, mean, lower, upper (cumulative spend in the period)
    as_of: date | None = None  # the last cost day the status was computed on

    @property
    def started(self) -> bool:
        """Whether the budget's period has begun (by the last cost day)."""
        return self.as_of is None or self.period_start <= self.as_of

    @property
    def alert(self) -> str | None:
        """ "over" (spent more than the budget), "projected" (the central projection overruns it) or
        None. A budget whose period has not started raises nothing unless its projection overruns."""
        if self.spent > self.amount:
            return "over"
        return "projected" if self.overrun_month else None

    def sentence(self) -> str:
        money = _money(self.currency)
        period = _period_text(self.period_start, self.period_end)
        if not self.started:
            spent = f"it starts on {self.period_start:%-d %B %Y}"
        else:
            spent = f"spent {money(self.spent)} so far" if self.spent > 0 else "nothing spent yet"
        head = f"{self.business_unit}: budget {money(self.amount)} for {period}; {spent}"
        if self.projected is None:
            return head + ". No forecast stored yet (run `steward forecast --all`)."
        until = _month_text(self.projected_until)
        head += (
            f"; projected {money(self.projected)} by {until} "
            f"(likely between {money(self.projected_lower)} and {money(self.projected_upper)})"
        )
        odds = f"{self.overrun_probability:.0%}" if self.overrun_probability is not None else "unknown"
        if self.overrun_month:
            return head + f" — over budget from {_month_text(self.overrun_month)} (probability {odds})."
        if self.earliest_overrun_month:
            return head + (
                f" — within budget on the central projection, but could run out as early as "
                f"{_month_text(self.earliest_overrun_month)} (probability {odds})."
            )
        return head + f" — within budget (probability of overrun {odds})."


def _money(currency: str) -> Callable[[float | None], str]:
    return lambda v: money({currency: v}) if v is not None and math.isfinite(v) else f"{currency} ?"


def _month_text(month: str | None) -> str:
    return pd.Period(month, "M").strftime("%B %Y") if month else "?"


def _period_text(start: date, end: date) -> str:
    if start.month == 1 and start.day == 1 and end == date(start.year, 12, 31):
        return str(start.year)
    return f"{start.isoformat()} to {end.isoformat()}"


def budgets(session: Session) -> list[CostBudget]:
    return list(
        session.exec(select(CostBudget).order_by(col(CostBudget.business_unit), col(CostBudget.period_start)))
    )


def budget_statuses(session: Session, *, include_past: bool = False) -> list[BudgetStatus]:
    """Every budget whose period is not over (by the last cost day), with its projection."""
    last_day = last_cost_day(session)
    shown = [b for b in budgets(session) if include_past or last_day is None or b.period_end >= last_day]
    if not shown:
        return []
    # Two reads for all budgets (not two per budget): the months since the earliest period, and
    # the stored forecasts of the business units.
    monthly = costs_by_month(session, since=min(b.period_start for b in shown))
    forecasts = stored_forecasts(session, scope="business_unit")
    statuses = []
    for budget in shown:
        if budget.period_start.day == 1:  # whole months: read from the one query above
            actual = monthly[
                (monthly["business_unit"] == budget.business_unit)
                & (monthly["month"] >= f"{budget.period_start:%Y-%m}")
            ]
        else:
            actual = costs_by_month(session, business_unit=budget.business_unit, since=budget.period_start)
        actual = actual[actual["currency"] == budget.currency]
        forecast = forecasts.get(("business_unit", budget.business_unit))
        if forecast is not None and forecast.currency != budget.currency:
            forecast = None
        statuses.append(replace(project_budget(budget, actual, forecast), as_of=last_day))
    return statuses


def project_budget(budget: CostBudget, actual: pd.DataFrame, forecast: StoredForecast | None) -> BudgetStatus:
    """The budget's cumulative spend: actual months, then the forecast paths (see module doc)."""
    first, last = pd.Period(budget.period_start, "M"), pd.Period(budget.period_end, "M")
    amount = float(budget.amount)  # exact in the registry; projections are floats
    months = [str(p) for p in pd.period_range(first, last, freq="M")]
    spent_by_month = actual.groupby("month")["amount"].sum().reindex(months).fillna(0.0)
    spent = float(spent_by_month.sum())
    level = forecast.level if forecast else 0.9
    if forecast is None or forecast.paths.size == 0:
        cumulative = pd.DataFrame({"month": months, "actual": spent_by_month.cumsum().to_numpy()})
        return BudgetStatus(
            budget.business_unit,
            budget.period_start,
            budget.period_end,
            amount,
            budget.currency,
            spent,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            level,
            cumulative,
        )
    forecast_months = list(forecast.months["month"])
    start = forecast_months[0]
    before = float(spent_by_month[[m for m in months if m < start]].sum())
    covered = [m for m in months if m in forecast_months]
    columns = [forecast_months.index(m) for m in covered]
    cum = (
        before + np.cumsum(forecast.paths[:, columns], axis=1)
        if covered
        else np.full((len(forecast.paths), 0), before)
    )
    tail = (1 - level) / 2
    mean = cum.mean(axis=0)
    lower, upper = np.quantile(cum, tail, axis=0), np.quantile(cum, 1 - tail, axis=0)
    actual_cum = spent_by_month.cumsum()
    cumulative = pd.DataFrame(
        {"month": months, "actual": [actual_cum[m] if m < start else np.nan for m in months]}
    )
    projected = pd.DataFrame({"month": covered, "mean": mean, "lower": lower, "upper": upper})
    cumulative = cumulative.merge(projected, on="month", how="left")
    over_mean = [m for m, v in zip(covered, mean, strict=True) if v > amount]
    over_upper = [m for m, v in zip(covered, upper, strict=True) if v > amount]
    over_actual = [m for m in months if m < start and actual_cum[m] > amount]
    final = cum[:, -1] if covered else np.full(len(forecast.paths), before)
    return BudgetStatus(
        budget.business_unit,
        budget.period_start,
        budget.period_end,
        amount,
        budget.currency,
        spent,
        float(final.mean()),
        float(np.quantile(final, tail)),
        float(np.quantile(final, 1 - tail)),
        _first(over_actual or over_mean),
        _first(over_actual or over_upper),
        float((final > amount).mean()),
        covered[-1] if covered else None,
        level,
        cumulative,
    )


def budget_table(statuses: list[BudgetStatus]) -> pd.DataFrame:
    """One row per budget, for overview tables."""
    return pd.DataFrame(
        [
            {
                "business_unit": b.business_unit,
                "period": _period_text(b.period_start, b.period_end),
                "budget": round(b.amount),
                "currency": b.currency,
                "spent": round(b.spent),
                "projected": _rounded(b.projected),
                "projected_lower": _rounded(b.projected_lower),
                "projected_upper": _rounded(b.projected_upper),
                "projected_until": _month_text(b.projected_until) if b.projected_until else "",
                "overrun_month": _month_text(b.overrun_month) if b.overrun_month else "",
                "overrun_probability": b.overrun_probability,
            }
            for b in statuses
        ],
        columns=[
            "business_unit",
            "period",
            "budget",
            "currency",
            "spent",
            "projected",
            "projected_lower",
            "projected_upper",
            "projected_until",
            "overrun_month",
            "overrun_probability",
        ],
    )


def _first(months: list[str]) -> str | None:
    return months[0] if months else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value)
