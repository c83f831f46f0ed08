"""The headline figures of the portfolio, each defined once and named for what it is.

Every page, report, meeting minute and ``steward figures --json`` that shows one of these figures
takes it from here, so the same fact has the same value wherever it is read:

- **Cost, last 30 days**: recorded cost over the 30 days ending today (``cost_last_30_days``),
  per model and per currency. Comparable from one day to the next.
- **Cost in <month>**: recorded cost of one calendar month (``cost_in_month``); the Costs page's
  and the budgets' unit. "Monthly cost" alone is never shown: it is ambiguous.
- **Model card sections filled**: the eight sections of a model card (``CARD_SECTIONS``), five
  required and three recommended, of one version (``card_completeness``). The promotion gate,
  the Model page and the Documentation page all count these eight.
- **Models assessed**: models in use (not retired) whose risk has been assessed, out of the models
  in use; retired models are not assessed (``assessed_counts``).
- **Health**: each model's ``model_health.status`` (ok, warning, alert, unknown), as written by the
  monitoring job (``health_counts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session, col

from core import clock
from core.db.models import CostRecord, Model, ModelHealth, ModelVersion, RiskAssessment
from core.errors import NotFound

COST_WINDOW_DAYS = 30
COST_LAST_30_DAYS = "Cost, last 30 days"
HEALTH_STATUSES = ("alert", "warning", "ok", "unknown")  # worst first
HEALTH_LABELS = {"ok": "Healthy", "warning": "Warning", "alert": "Alert", "unknown": "Not monitored"}
HEALTH_COLOURS = {"ok": "#2f9e44", "warning": "#f08c00", "alert": "#e03131", "unknown": "#868e96"}

# field -> (title, required). Purpose, intended use and out-of-scope uses are the model's; the
# other five are the version's card.
CARD_SECTIONS: dict[str, tuple[str, bool]] = {
    "purpose": ("Purpose", True),
    "intended_use": ("Intended use", True),
    "out_of_scope_uses": ("Out-of-scope uses", False),
    "card_training_data": ("Training data", True),
    "card_evaluation": ("Evaluation", True),
    "card_limitations": ("Limitations", True),
    "card_ethical_considerations": ("Ethical considerations", False),
    "card_caveats": ("Caveats and recommendations", False),
}


# --- cost -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostWindow:
    """A period of recorded cost, both days included, with the name people read."""

    name: str  # "Cost, last 30 days" or "Cost in November 2026"
    first_day: date
    last_day: date

    @property
    def period(self) -> str:
        """E.g. "4 Nov – 3 Dec 2026"."""
        first = f"{self.first_day.day} {self.first_day:%b}"
        if self.first_day.year != self.last_day.year:
            first += f" {self.first_day.year}"
        return f"{first} – {self.last_day.day} {self.last_day:%b %Y}"


def last_30_days(today: date | None = None) -> CostWindow:
    end = today or clock.today()
    return CostWindow(COST_LAST_30_DAYS, end - timedelta(days=COST_WINDOW_DAYS - 1), end)


def month_window(month: str) -> CostWindow:
    """The calendar month ``month`` ('YYYY-MM')."""
    period = pd.Period(month, freq="M")
    first, last = period.start_time.date(), period.end_time.date()
    return CostWindow(f"Cost in {first:%B %Y}", first, last)


def last_complete_month(today: date | None = None) -> str:
    """The calendar month before today's, as 'YYYY-MM' (today's month is still running)."""
    first_of_month = (today or clock.today()).replace(day=1)
    return f"{first_of_month - timedelta(days=1):%Y-%m}"


def cost_per_model(session: Session, window: CostWindow) -> pd.DataFrame:
    """Recorded cost per model and currency over ``window`` (columns model_id, currency, amount)."""
    day = col(CostRecord.day)
    rows = session.execute(
        select(col(CostRecord.model_id), col(CostRecord.currency), func.sum(col(CostRecord.amount)))
        .where(day >= window.first_day, day <= window.last_day)
        .group_by(col(CostRecord.model_id), col(CostRecord.currency))
    )
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["model_id", "currency", "amount"])
    frame["amount"] = frame["amount"].astype(float)
    return frame


def totals(costs: pd.DataFrame, *, model_id: int | None = None) -> dict[str, float]:
    """Currency -> amount of a ``cost_per_model`` frame (of one model when given), rounded to cents.
    Amounts in different currencies are never added."""
    rows = costs if model_id is None else costs[costs["model_id"] == model_id]
    return {str(c): round(float(a), 2) for c, a in rows.groupby("currency")["amount"].sum().items()}


def cost_last_30_days(
    session: Session, *, today: date | None = None, model_id: int | None = None
) -> dict[str, float]:
    """ "Cost, last 30 days": currency -> amount, of every model or of one."""
    return totals(cost_per_model(session, last_30_days(today)), model_id=model_id)


def cost_in_month(session: Session, month: str, *, model_id: int | None = None) -> dict[str, float]:
    """ "Cost in <month>": currency -> amount, of every model or of one."""
    return totals(cost_per_model(session, month_window(month)), model_id=model_id)


# --- model card -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardCompleteness:
    """How many of the eight model-card sections are filled, and which are not."""

    filled: int
    total: int
    missing_required: list[str] = field(default_factory=list)
    missing_recommended: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """E.g. "7 of 8 sections filled"."""
        return f"{self.filled} of {self.total} sections filled"

    @property
    def missing(self) -> list[str]:
        return [*self.missing_required, *self.missing_recommended]


def card_completeness(values: Mapping[str, Any]) -> CardCompleteness:
    """The completeness of the card whose sections (field -> text) are ``values``; a section is
    filled when it holds more than white space."""
    missing_required: list[str] = []
    missing_recommended: list[str] = []
    for key, (title, required) in CARD_SECTIONS.items():
        if not str(values.get(key) or "").strip():
            (missing_required if required else missing_recommended).append(title)
    total = len(CARD_SECTIONS)
    return CardCompleteness(
        total - len(missing_required) - len(missing_recommended), total, missing_required, missing_recommended
    )


def card_values(model: Any, version: Any) -> dict[str, Any]:
    """The eight section texts of ``version`` of ``model`` (ORM rows or anything with the fields)."""
    return {
        key: getattr(version, key, None) if key.startswith("card_") else getattr(model, key, None)
        for key in CARD_SECTIONS
    }


# --- risk and health ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessedCounts:
    """Models assessed among the models in use; retired models are out of scope."""

    assessed: int
    in_use: int
    retired: int

    @property
    def registered(self) -> int:
        return self.in_use + self.retired

    @property
    def text(self) -> str:
        """E.g. "15 of 17 in use"."""
        return f"{self.assessed} of {self.in_use} in use"

    @property
    def explanation(self) -> str:
        retired = (
            f"; the {self.retired} retired model{'s are' if self.retired != 1 else ' is'} not counted"
            if self.retired
            else ""
        )
        return (
            f"Models in use (not retired) with a risk assessment: {self.assessed} of {self.in_use}. "
            f"The registry holds {self.registered} models{retired}."
        )


def assessed_counts(session: Session, *, business_unit: str | None = None) -> AssessedCounts:
    """Models in use (not retired) with at least one risk assessment, of the models in use."""
    assessed_ids = select(col(RiskAssessment.model_id)).distinct()
    base = select(col(Model.id), col(Model.status), col(Model.id).in_(assessed_ids).label("assessed"))
    if business_unit:
        base = base.where(col(Model.business_unit) == business_unit)
    rows = session.execute(base).all()
    live = [r for r in rows if r.status != "retired"]
    return AssessedCounts(
        assessed=sum(1 for r in live if r.assessed), in_use=len(live), retired=len(rows) - len(live)
    )


def health_by_model(session: Session) -> dict[int, str]:
    """Model id -> health status; models the monitoring job has not seen yet are "unknown"."""
    stored = dict(session.execute(select(col(ModelHealth.model_id), col(ModelHealth.status))).tuples().all())
    ids = session.execute(select(col(Model.id))).scalars().all()
    return {int(i): str(stored.get(i) or "unknown") for i in ids}


def health_counts(session: Session) -> dict[str, int]:
    """Health status -> number of models, every status present (worst first)."""
    counts = dict.fromkeys(HEALTH_STATUSES, 0)
    for status in health_by_model(session).values():
        counts[status] = counts.get(status, 0) + 1
    return counts


# --- the portfolio at a glance --------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioFigures:
    """The headline figures of the whole portfolio on ``today``."""

    today: date
    models: int
    in_production: int
    cost_last_30_days: dict[str, float]
    cost_window: CostWindow
    month_window: CostWindow
    cost_in_month: dict[str, float]
    assessed: AssessedCounts
    health: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain JSON values, each under the name people read."""
        return {
            "as_of": self.today.isoformat(),
            "models": self.models,
            "in_production": self.in_production,
            "cost_last_30_days": {
                "name": self.cost_window.name,
                "first_day": self.cost_window.first_day.isoformat(),
                "last_day": self.cost_window.last_day.isoformat(),
                "amounts": self.cost_last_30_days,
            },
            "cost_in_month": {
                "name": self.month_window.name,
                "first_day": self.month_window.first_day.isoformat(),
                "last_day": self.month_window.last_day.isoformat(),
                "amounts": self.cost_in_month,
            },
            "models_assessed": {
                "assessed": self.assessed.assessed,
                "in_use": self.assessed.in_use,
                "retired": self.assessed.retired,
            },
            "health": self.health,
        }


def portfolio_figures(session: Session, *, today: date | None = None) -> PortfolioFigures:
    today = today or clock.today()
    window, month = last_30_days(today), month_window(last_complete_month(today))
    models = session.execute(select(func.count()).select_from(Model)).scalar_one()
    in_production = session.execute(
        select(func.count(func.distinct(col(ModelVersion.model_id)))).where(
            col(ModelVersion.stage) == "production"
        )
    ).scalar_one()
    return PortfolioFigures(
        today=today,
        models=int(models),
        in_production=int(in_production),
        cost_last_30_days=totals(cost_per_model(session, window)),
        cost_window=window,
        month_window=month,
        cost_in_month=totals(cost_per_model(session, month)),
        assessed=assessed_counts(session),
        health=health_counts(session),
    )


@dataclass(frozen=True)
class ModelFigures:
    """The headline figures of one model on ``today``: the same as its Model page shows."""

    model_id: int
    name: str
    today: date
    health: str
    cost_last_30_days: dict[str, float]
    card_version: int | None  # the production version, else the newest
    card: CardCompleteness | None
    card_version_id: int | None
    risk_assessed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "model": self.name,
            "as_of": self.today.isoformat(),
            "health": self.health,
            "cost_last_30_days": self.cost_last_30_days,
            "card": None
            if self.card is None
            else {
                "version": self.card_version,
                "filled": self.card.filled,
                "total": self.card.total,
                "missing": self.card.missing,
            },
            "risk_assessed": self.risk_assessed,
        }


def model_figures(session: Session, model_id: int, *, today: date | None = None) -> ModelFigures:
    """One model's figures; raises NotFound for an unknown id."""
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    today = today or clock.today()
    versions = list(
        session.scalars(
            select(ModelVersion)
            .where(col(ModelVersion.model_id) == model_id)
            .order_by(col(ModelVersion.version).desc())
        )
    )
    shown = next((v for v in versions if v.stage == "production"), versions[0] if versions else None)
    assessed = session.execute(
        select(func.count()).where(col(RiskAssessment.model_id) == model_id)
    ).scalar_one()
    return ModelFigures(
        model_id=model_id,
        name=model.name,
        today=today,
        health=health_by_model(session).get(model_id, "unknown"),
        cost_last_30_days=cost_last_30_days(session, today=today, model_id=model_id),
        card_version=shown.version if shown is not None else None,
        card=card_completeness(card_values(model, shown)) if shown is not None else None,
        card_version_id=shown.id if shown is not None else None,
        risk_assessed=bool(assessed),
    )


CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}


def money(amounts: Mapping[str, float] | None, *, empty: str = "none recorded") -> str:
    """Amounts per currency as people read them: "€12,346" or "€1,200 + $300" (whole units, largest
    first; currencies without a symbol as "12,346 CHF"); ``empty`` when there are none. Amounts in
    different currencies are never added."""
    if not amounts:
        return empty
    parts = []
    for currency, amount in sorted(amounts.items(), key=lambda kv: -kv[1]):
        symbol = CURRENCY_SYMBOLS.get(currency)
        parts.append(f"{symbol}{amount:,.0f}" if symbol else f"{amount:,.0f} {currency}")
    return " + ".join(parts)


def percent(share: float | None, *, digits: int = 0) -> str:
    """A share (0.785) as people read it: "79%"; "—" when unknown."""
    return "—" if share is None else f"{share:.{digits}%}"
