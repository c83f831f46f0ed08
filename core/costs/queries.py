"""Cost reads: costs per calendar month and model, business unit and category, daily series for forecasts,
cost per 1,000 predictions (volumes from ``prediction_daily``) and the top cost growers.

Aggregation happens in SQL (by month or by day), so a fleet of hundreds of models returns
thousands of rows, not millions. Amounts are never added across currencies.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session, col

from core.db.models import CostRecord, Model, ModelVersion, PredictionDaily

MONTHLY_COLUMNS = ["month", "model_id", "model", "business_unit", "category", "currency", "amount"]


def _month(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def costs_by_month(
    session: Session,
    *,
    business_unit: str | None = None,
    model_id: int | None = None,
    since: date | None = None,
) -> pd.DataFrame:
    """Cost per calendar month, model, category and currency (month as 'YYYY-MM'). The inventory's
    "monthly cost" is a rolling 30 days instead (``core.registry.reads.costs_last_30_days``)."""
    month = _month(session, col(CostRecord.day)).label("month")
    query = (
        select(
            month,
            col(Model.id),
            col(Model.name),
            col(Model.business_unit),
            col(CostRecord.category),
            col(CostRecord.currency),
            func.sum(col(CostRecord.amount)),
        )
        .join(Model, col(Model.id) == col(CostRecord.model_id))
        .group_by(
            month,
            col(Model.id),
            col(Model.name),
            col(Model.business_unit),
            col(CostRecord.category),
            col(CostRecord.currency),
        )
        .order_by(month)
    )
    if business_unit:
        query = query.where(col(Model.business_unit) == business_unit)
    if model_id is not None:
        query = query.where(col(CostRecord.model_id) == model_id)
    if since is not None:
        query = query.where(col(CostRecord.day) >= since)
    frame = pd.DataFrame(session.execute(query).all(), columns=MONTHLY_COLUMNS)
    frame["amount"] = frame["amount"].astype(float)
    return frame


def last_cost_day(session: Session) -> date | None:
    return session.execute(select(func.max(col(CostRecord.day)))).scalar_one_or_none()


def first_cost_day(session: Session) -> date | None:
    return session.execute(select(func.min(col(CostRecord.day)))).scalar_one_or_none()


def main_currency(
    session: Session, *, business_unit: str | None = None, model_id: int | None = None
) -> str | None:
    """The currency most of the spend is recorded in (amounts in others are shown apart)."""
    query = select(col(CostRecord.currency), func.count()).join(
        Model, col(Model.id) == col(CostRecord.model_id)
    )
    if business_unit:
        query = query.where(col(Model.business_unit) == business_unit)
    if model_id is not None:
        query = query.where(col(CostRecord.model_id) == model_id)
    rows = session.execute(query.group_by(col(CostRecord.currency)).order_by(func.count().desc())).all()
    return rows[0][0] if rows else None


def daily_totals(
    session: Session, *, currency: str, business_unit: str | None = None, model_id: int | None = None
) -> pd.Series:
    """Total cost per day (all categories) of one model, one business unit, or all models."""
    query = (
        select(col(CostRecord.day), func.sum(col(CostRecord.amount)))
        .join(Model, col(Model.id) == col(CostRecord.model_id))
        .where(col(CostRecord.currency) == currency)
        .group_by(col(CostRecord.day))
        .order_by(col(CostRecord.day))
    )
    if business_unit:
        query = query.where(col(Model.business_unit) == business_unit)
    if model_id is not None:
        query = query.where(col(CostRecord.model_id) == model_id)
    rows = session.execute(query).all()
    if not rows:
        return pd.Series(dtype=float)
    return pd.Series([float(a) for _, a in rows], index=pd.DatetimeIndex([d for d, _ in rows]), name="cost")


def daily_totals_by_model(session: Session, *, currency: str) -> dict[int, pd.Series]:
    """Every model's daily totals in one query (the fleet forecast reads them all)."""
    rows = session.execute(
        select(col(CostRecord.model_id), col(CostRecord.day), func.sum(col(CostRecord.amount)))
        .where(col(CostRecord.currency) == currency)
        .group_by(col(CostRecord.model_id), col(CostRecord.day))
        .order_by(col(CostRecord.model_id), col(CostRecord.day))
    ).all()
    frame = pd.DataFrame(rows, columns=["model_id", "day", "amount"])
    return {
        int(m): pd.Series(g["amount"].astype(float).to_numpy(), index=pd.DatetimeIndex(g["day"]), name="cost")
        for m, g in frame.groupby("model_id")
    }


def monthly_predictions(session: Session, *, model_id: int | None = None) -> pd.DataFrame:
    """Predictions per month and model (all versions), from the daily rollup, with the number of
    days that month on which the model logged any."""
    month = _month(session, col(PredictionDaily.day)).label("month")
    query = (
        select(
            month,
            col(ModelVersion.model_id),
            func.sum(col(PredictionDaily.n)),
            func.count(func.distinct(col(PredictionDaily.day))),
        )
        .join(ModelVersion, col(ModelVersion.id) == col(PredictionDaily.model_version_id))
        .group_by(month, col(ModelVersion.model_id))
        .order_by(month)
    )
    if model_id is not None:
        query = query.where(col(ModelVersion.model_id) == model_id)
    frame = pd.DataFrame(session.execute(query).all(), columns=["month", "model_id", "predictions", "days"])
    frame["predictions"] = frame["predictions"].astype(int)
    frame["days"] = frame["days"].astype(int)
    return frame


def cost_per_thousand(
    monthly: pd.DataFrame, predictions: pd.DataFrame, *, whole_months: bool = False
) -> pd.DataFrame:
    """Per model and month: total cost, predictions, and cost per 1,000 predictions (months with
    predictions only; a model with costs but no logged predictions has no per-prediction cost).

    ``whole_months``: only months in which the model logged predictions on every day; a month it
    went live in (or stopped logging in) pays a whole month's costs for part of its traffic and
    would show a misleading peak."""
    cost = monthly.groupby(["month", "model_id", "model", "business_unit", "currency"], as_index=False)[
        "amount"
    ].sum()
    merged = cost.merge(predictions, on=["month", "model_id"], how="inner")
    merged = merged[merged["predictions"] > 0].copy()
    if whole_months and not merged.empty:
        month_days = pd.PeriodIndex(merged["month"], freq="M").days_in_month
        merged = merged[merged["days"].to_numpy() >= np.asarray(month_days)].copy()
    merged["cost_per_1000"] = merged["amount"] / merged["predictions"] * 1000
    return merged.rename(columns={"amount": "cost"}).reset_index(drop=True)


def complete_months(monthly: pd.DataFrame, last_day: date | None, first_day: date | None = None) -> list[str]:
    """Months in ``monthly`` recorded in full: the month of ``last_day`` counts only if it ended that
    day, the month of ``first_day`` only if records start on its first day."""
    months = sorted(monthly["month"].unique())
    if last_day is not None:
        current = pd.Timestamp(last_day).to_period("M")
        ended = pd.Timestamp(last_day) == current.to_timestamp(how="end").normalize()
        months = [m for m in months if m < str(current) or (ended and m == str(current))]
    if first_day is not None and first_day.day != 1:
        months = [m for m in months if m != pd.Timestamp(first_day).strftime("%Y-%m")]
    return months


def top_growers(
    monthly: pd.DataFrame, *, last_day: date | None, window: int = 3, limit: int = 10
) -> pd.DataFrame:
    """Models whose average monthly cost grew most: the last ``window`` complete months against
    the ``window`` before them (EUR per month and %)."""
    months = complete_months(monthly, last_day)
    columns = ["model_id", "model", "business_unit", "currency", "before", "recent", "change", "change_pct"]
    if len(months) < 2 * window:
        return pd.DataFrame(columns=columns)
    recent, before = months[-window:], months[-2 * window : -window]
    per_model = (
        monthly.groupby(["model_id", "model", "business_unit", "currency", "month"])["amount"]
        .sum()
        .unstack("month")
    )
    per_model = per_model.reindex(columns=before + recent).fillna(0.0)
    frame = pd.DataFrame(
        {
            "before": per_model[before].mean(axis=1),
            "recent": per_model[recent].mean(axis=1),
        }
    ).reset_index()
    frame["change"] = frame["recent"] - frame["before"]
    frame["change_pct"] = (frame["change"] / frame["before"].where(frame["before"] > 0)) * 100
    frame = frame[frame["change"] > 0].sort_values("change", ascending=False).head(limit)
    return frame[columns].reset_index(drop=True)


def monthly_totals(
    monthly: pd.DataFrame, *, currency: str, business_unit: str | None = None, model_id: int | None = None
) -> pd.DataFrame:
    """Total spend per month (month, amount) in one currency, for a unit, a model or everything."""
    rows = monthly[monthly["currency"] == currency]
    if business_unit:
        rows = rows[rows["business_unit"] == business_unit]
    if model_id is not None:
        rows = rows[rows["model_id"] == model_id]
    return rows.groupby("month", as_index=False)["amount"].sum()


def currencies_by_spend(monthly: pd.DataFrame) -> list[str]:
    """Currencies in the records, the one with most spend first."""
    return list(monthly.groupby("currency")["amount"].sum().sort_values(ascending=False).index)
