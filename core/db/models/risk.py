"""Risk assessments: versioned, one row per assessment, with a score per risk category.

An assessment is never edited; re-assessing a model adds the next version. The newest
version of a model is its current assessment. The tier and the review date are derived by
``core.governance.risk`` when the assessment is written and stored with it, so that later
changes to the rule do not rewrite history.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint as Check
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import Money, UTCDateTime

__all__ = ["RiskAssessment", "RiskScore"]

# The four risks of a model in production (see core/governance/risk.py for their meaning).
RISK_CATEGORIES = ("unavailability", "wrong_predictions", "decay", "knowledge_loss")
AI_ACT_CLASSES = ("prohibited", "high", "limited", "minimal")
MATERIALITY_LEVELS = ("low", "medium", "high")
TIERS = ("low", "medium", "high")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class RiskAssessment(SQLModel, table=True):
    """One assessment of a model: materiality, EU AI Act class, rationale, derived tier and review date."""

    __tablename__ = "risk_assessment"
    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        Check(_in("materiality", MATERIALITY_LEVELS), name="materiality"),
        Check(_in("ai_act_class", AI_ACT_CLASSES), name="ai_act_class"),
        Check(_in("tier", TIERS), name="tier"),
        Check("review_interval_months > 0", name="review_interval_positive"),
        Check("exposure_amount IS NULL OR exposure_amount >= 0", name="exposure_non_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    version: int = Field(description="1, 2, ... per model; the highest is the current assessment")
    model_version_id: int | None = Field(
        default=None,
        foreign_key="model_version.id",
        description="the model version that was assessed, if one",
    )
    materiality: str = Field(
        max_length=10, description="low / medium / high: how much the business depends on it"
    )
    exposure_amount: Decimal | None = Field(
        default=None, sa_type=Money, description="money at stake per year, if known; exact (see Money)"
    )
    exposure_currency: str = Field(default="EUR", max_length=3)
    ai_act_class: str = Field(max_length=12, description="prohibited / high / limited / minimal")
    annex_iii_area: str = Field(
        default="", max_length=10, description="Annex III point for high-risk, e.g. 5(b)"
    )
    rationale: str = Field(sa_column=Column(Text, nullable=False))
    human_oversight: str = Field(
        default="",
        sa_column=Column(Text, nullable=False, server_default=""),
        description="how people oversee, override and stop the model (AI Act Art. 14)",
    )
    tier: str = Field(max_length=10, index=True)
    review_interval_months: int
    next_review_due: date = Field(index=True)
    assessed_by_id: int = Field(foreign_key="person.id")
    assessed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class RiskScore(SQLModel, table=True):
    """One risk category of an assessment: likelihood x impact before and after mitigations."""

    __tablename__ = "risk_score"
    __table_args__ = (
        UniqueConstraint("assessment_id", "category"),
        Check(_in("category", RISK_CATEGORIES), name="category"),
        Check("likelihood BETWEEN 1 AND 5", name="likelihood_range"),
        Check("impact BETWEEN 1 AND 5", name="impact_range"),
        Check(
            "residual_likelihood BETWEEN 1 AND 5 AND residual_likelihood <= likelihood",
            name="residual_likelihood",
        ),
        Check("residual_impact BETWEEN 1 AND 5 AND residual_impact <= impact", name="residual_impact"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="risk_assessment.id", index=True)
    category: str = Field(max_length=30)
    likelihood: int
    impact: int
    mitigations: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    residual_likelihood: int
    residual_impact: int
