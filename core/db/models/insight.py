"""Stored results of the insight views: global explanations per model version, cost budgets per
business unit, and cost forecasts (computed by `steward forecast`, read by the Costs page).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import Money, UTCDateTime

__all__ = ["GlobalExplanation", "CostBudget", "CostForecast"]

EXPLANATION_SOURCES = ("validation", "production")
FORECAST_SCOPES = ("model", "business_unit", "fleet")


class GlobalExplanation(SQLModel, table=True):
    """Mean |SHAP| per original feature of one model version, on its validation sample or on a
    recent production window, with a sample of per-row values for the beeswarm and dependence
    charts. Computed once (per version and source) and read many times."""

    __tablename__ = "global_explanation"
    __table_args__ = (
        UniqueConstraint("model_version_id", "source"),
        CheckConstraint("source IN ('validation', 'production')", name="source"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    source: str = Field(max_length=20, description="validation sample or recent production window")
    explainer: str = Field(max_length=20, description="tree, linear or kernel")
    method: str = Field(default="", max_length=300, description="explainer and its budget, in words")
    output_space: str = Field(
        max_length=20, description="probability, log-odds, prediction or decision score"
    )
    base_value: float
    n_rows: int
    additivity_error: float = Field(
        default=0.0, description="max |base + sum of SHAP - model output| over the rows"
    )
    importance: dict[str, float] = Field(
        default_factory=dict, sa_type=JSON, description="feature -> mean |SHAP|"
    )
    sample: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=JSON,
        description='{"features": [...], "values": [[row SHAP]], "data": [[row feature values]]}',
    )
    window_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    artifact_sha256: str = Field(default="", max_length=64, description="the artifact that was explained")
    seconds: float = Field(default=0.0, description="compute time")
    computed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    computed_by_id: int | None = Field(default=None, foreign_key="person.id")


class CostBudget(SQLModel, table=True):
    """What a business unit may spend on its models in a period (usually a calendar year)."""

    __tablename__ = "cost_budget"
    __table_args__ = (
        UniqueConstraint("business_unit", "period_start"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("period_end > period_start", name="period_order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    business_unit: str = Field(max_length=200, index=True)
    period_start: date
    period_end: date = Field(description="last day of the period (inclusive)")
    amount: Decimal = Field(sa_type=Money, description="exact; NUMERIC(16, 4) on PostgreSQL (see Money)")
    currency: str = Field(default="EUR", max_length=3)
    note: str = Field(default="", max_length=500)
    set_by_id: int | None = Field(default=None, foreign_key="person.id")
    set_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class CostForecast(SQLModel, table=True):
    """The newest stored monthly cost forecast of one model, one business unit or the fleet."""

    __tablename__ = "cost_forecast"
    __table_args__ = (
        UniqueConstraint("scope", "scope_key"),
        CheckConstraint("scope IN ('model', 'business_unit', 'fleet')", name="scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=20)
    scope_key: str = Field(max_length=200, description="model id, business unit name, or 'all'")
    model_id: int | None = Field(default=None, foreign_key="model.id", index=True)
    currency: str = Field(default="EUR", max_length=3)
    method: str = Field(max_length=300)
    history_from: date
    history_to: date
    horizon_months: int
    interval_level: float = Field(description="e.g. 0.9 for a 90% prediction interval")
    months: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_type=JSON,
        description='[{"month": "2025-01", "mean": .., "lower": .., "upper": ..}]',
    )
    paths: list[list[float]] = Field(
        default_factory=list,
        sa_type=JSON,
        description="simulated monthly totals (paths x months), kept for business units and the fleet: budget odds",
    )
    backtest_mape: float | None = Field(
        default=None, description="mean absolute % error of monthly totals on the holdout"
    )
    backtest_months: int = 0
    seconds: float = 0.0
    computed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
