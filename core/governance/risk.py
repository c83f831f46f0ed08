"""Risk assessments, the tier rule, review intervals, living-risk flags and the portfolio matrix.

The four risks of a model in production, each scored likelihood (1-5) x impact (1-5) before
mitigations (inherent) and after them (residual):

- unavailability      the model is unavailable for a period;
- wrong_predictions   it gives wrong predictions for certain cases;
- decay               its fairness or accuracy decays over time;
- knowledge_loss      the knowledge to maintain it is lost.

Tier rule (applied when an assessment is recorded and stored with it; the Risk page shows
``TIER_RULE``). The residual score of a risk is residual likelihood x residual impact (1-25):

- high    if the EU AI Act class is high-risk or prohibited, or materiality is high,
          or any residual score is 15 or more;
- medium  otherwise, if materiality is medium or any residual score is 8 or more;
- low     otherwise.

The tier sets the review interval: high every 6 months, medium every 12, low every 24; the
next review is due that many months after the assessment.

Living risk. Evidence in the registry raises a "re-assess" flag with its reason when the
assessment could not have taken it into account (the evidence is newer than the assessment),
or, for a standing condition without a date, when the assessment rates that risk low:

- review        no review within the interval (overdue), or a model in validation or
                production that was never assessed;
- decay         a drift, performance, segment or fairness alert opened after the assessment
                (segment and fairness alerts are measured on production labels per segment,
                ``core.monitoring.segments``); a fairness gap recorded at validation above the
                model's limit (metric ``fairness_gap``, default limit 0.1) on a version
                registered after the assessment, or a "fairness" health reason without such an alert;
- unavailability  an outage alert opened after the assessment;
- knowledge_loss  an accountable owner, technical owner or backup who has left, or no active
                backup (the knowledge gaps of ``core.registry.knowledge``) - unless an assessment
                made after the departure rates the residual knowledge-loss likelihood 4 or more
                (the condition is then taken into account).

The promotion gate "risk assessment current" (``promotion_gate``) fails when the review is
overdue or the model is classed as a prohibited practice, warns on any other flag or when the
assessment was made for an older version, and passes otherwise.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, require
from core.db.models import (
    Alert,
    Model,
    ModelHealth,
    ModelVersion,
    Ownership,
    Person,
    RiskAssessment,
    RiskScore,
)
from core.db.models.risk import AI_ACT_CLASSES, MATERIALITY_LEVELS, RISK_CATEGORIES, TIERS
from core.db.types import saved_id
from core.errors import InvalidInput, NotFound
from core.registry.knowledge import Holder, knowledge_gaps, without_active
from core.registry.validation import clean_choice, clean_money, clean_text

__all__ = [
    "RISK_LABELS",
    "TIER_RULE",
    "REVIEW_INTERVAL_MONTHS",
    "ANNEX_III_AREAS",
    "ScoreInput",
    "AssessmentView",
    "Flag",
    "tier_for",
    "assess_model",
    "current_assessment",
    "assessment_history",
    "current_tier",
    "portfolio",
    "heatmap",
    "cell_rows",
    "overdue_reviews",
    "tier_distribution",
    "reassessment_flags",
    "promotion_gate",
]

RISK_LABELS: dict[str, str] = {
    "unavailability": "Unavailable for a period",
    "wrong_predictions": "Wrong predictions for certain cases",
    "decay": "Fairness or accuracy decays over time",
    "knowledge_loss": "Knowledge to maintain it is lost",
}
REVIEW_INTERVAL_MONTHS: dict[str, int] = {"high": 6, "medium": 12, "low": 24}
HIGH_RESIDUAL = 15
MEDIUM_RESIDUAL = 8
FAIRNESS_GAP_LIMIT = 0.1
ACKNOWLEDGED_LIKELIHOOD = 4  # a standing condition rated this likely (or more) is taken into account

TIER_RULE: list[str] = [
    "Residual score of a risk = residual likelihood × residual impact (1–25).",
    f"High: EU AI Act high-risk or prohibited, or materiality high, or any residual score ≥ {HIGH_RESIDUAL}.",
    f"Medium: otherwise, materiality medium or any residual score ≥ {MEDIUM_RESIDUAL}.",
    "Low: otherwise.",
    "Review interval: high every 6 months, medium every 12, low every 24, counted from the assessment.",
]

# EU AI Act Annex III: areas in which a system is high-risk (point 5(b): creditworthiness).
ANNEX_III_AREAS: dict[str, str] = {
    "1": "Biometrics",
    "2": "Critical infrastructure",
    "3": "Education and vocational training",
    "4": "Employment and workers management",
    "5(a)": "Eligibility for essential public assistance benefits and services",
    "5(b)": "Creditworthiness and credit scoring of natural persons",
    "5(c)": "Risk assessment and pricing in life and health insurance",
    "5(d)": "Evaluation and classification of emergency calls",
    "6": "Law enforcement",
    "7": "Migration, asylum and border control management",
    "8": "Administration of justice and democratic processes",
}
AI_ACT_LABELS = {
    "prohibited": "Prohibited practice",
    "high": "High-risk (Annex III)",
    "limited": "Limited risk (transparency)",
    "minimal": "Minimal risk",
}


# --- the tier rule -----------------------------------------------------------------------------


def tier_for(*, materiality: str, ai_act_class: str, residual_scores: Iterable[int]) -> tuple[str, str]:
    """The tier the documented rule gives, and the clause that decided it (in words)."""
    worst = max(residual_scores, default=0)
    if ai_act_class in ("high", "prohibited"):
        return "high", f"EU AI Act class {AI_ACT_LABELS[ai_act_class].lower()}"
    if materiality == "high":
        return "high", "materiality high"
    if worst >= HIGH_RESIDUAL:
        return "high", f"a residual score of {worst} (≥ {HIGH_RESIDUAL})"
    if materiality == "medium":
        return "medium", "materiality medium"
    if worst >= MEDIUM_RESIDUAL:
        return "medium", f"a residual score of {worst} (≥ {MEDIUM_RESIDUAL})"
    return "low", f"materiality low and highest residual score {worst} (< {MEDIUM_RESIDUAL})"


def add_months(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months on (31 Aug + 6 months = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- recording an assessment ---------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreInput:
    """One risk as entered: inherent likelihood and impact, mitigations, residual after them.

    Residual values left out are taken equal to the inherent ones (no mitigation claimed).
    """

    category: str
    likelihood: int
    impact: int
    mitigations: str = ""
    residual_likelihood: int | None = None
    residual_impact: int | None = None


def assess_model(
    session: Session,
    *,
    actor: Actor,
    model_id: int,
    scores: Iterable[ScoreInput | dict[str, Any]],
    materiality: str,
    ai_act_class: str,
    rationale: str,
    annex_iii_area: str = "",
    human_oversight: str = "",
    exposure_amount: float | Decimal | str | None = None,
    exposure_currency: str = "EUR",
    model_version_id: int | None = None,
    assessed_at: datetime | None = None,
) -> int:
    """Record the next assessment of a model (all four risks), with its tier and next review date.

    ``assessed_at`` may date an assessment in the past (imports, the demo); never in the
    future nor before the model's current assessment. Returns the assessment id.
    """
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    require(session, actor, "risk.assess", business_unit=model.business_unit)
    cleaned = _clean_scores(scores)
    materiality = clean_choice(materiality, "materiality", MATERIALITY_LEVELS)
    ai_act_class = clean_choice(ai_act_class, "EU AI Act class", AI_ACT_CLASSES)
    annex = _clean_annex(ai_act_class, annex_iii_area)
    rationale = clean_text(rationale, "rationale")
    if not rationale:
        raise InvalidInput("rationale must not be empty: say why these scores and this class.")
    if model_version_id is not None:
        version = session.get(ModelVersion, model_version_id)
        if version is None or version.model_id != model_id:
            raise InvalidInput(f"version id {model_version_id} does not belong to model '{model.name}'.")
    previous = _latest(session, model_id)
    when = _clean_when(assessed_at, previous)
    tier, _ = tier_for(
        materiality=materiality,
        ai_act_class=ai_act_class,
        residual_scores=[s.residual_likelihood * s.residual_impact for s in cleaned],
    )
    row = RiskAssessment(
        model_id=model_id,
        version=(previous.version + 1) if previous else 1,
        model_version_id=model_version_id,
        materiality=materiality,
        exposure_amount=_clean_exposure(exposure_amount),
        exposure_currency=_clean_currency(exposure_currency),
        ai_act_class=ai_act_class,
        annex_iii_area=annex,
        rationale=rationale,
        human_oversight=clean_text(human_oversight, "human oversight"),
        tier=tier,
        review_interval_months=REVIEW_INTERVAL_MONTHS[tier],
        next_review_due=add_months(when.date(), REVIEW_INTERVAL_MONTHS[tier]),
        assessed_by_id=actor.id,
        assessed_at=when,
    )
    session.add(row)
    session.flush()
    for s in cleaned:
        session.add(
            RiskScore(
                assessment_id=saved_id(row),
                category=s.category,
                likelihood=s.likelihood,
                impact=s.impact,
                mitigations=s.mitigations,
                residual_likelihood=s.residual_likelihood,
                residual_impact=s.residual_impact,
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.RISK_ASSESSED,
        object_id=row.id,
        model_id=model_id,
        before={"tier": previous.tier, "version": previous.version} if previous else None,
        after={**row.model_dump(), "scores": [s.__dict__ for s in cleaned]},
    )
    return saved_id(row)


@dataclass(frozen=True)
class CleanScore:
    """One risk as checked: residual values filled in (same fields as ``ScoreInput``)."""

    category: str
    likelihood: int
    impact: int
    mitigations: str
    residual_likelihood: int
    residual_impact: int


def _clean_scores(scores: Iterable[ScoreInput | dict[str, Any]]) -> list[CleanScore]:
    given = [s if isinstance(s, ScoreInput) else ScoreInput(**s) for s in scores]
    by_category = {s.category: s for s in given}
    unknown = set(by_category) - set(RISK_CATEGORIES)
    if unknown:
        raise InvalidInput(
            f"unknown risk categor{'ies' if len(unknown) > 1 else 'y'}: {', '.join(sorted(unknown))}; "
            f"use {', '.join(RISK_CATEGORIES)}."
        )
    if len(by_category) != len(given):
        raise InvalidInput("each risk category may be scored only once per assessment.")
    missing = [c for c in RISK_CATEGORIES if c not in by_category]
    if missing:
        raise InvalidInput(
            f"every risk must be scored; missing: {', '.join(RISK_LABELS[c].lower() for c in missing)}."
        )
    return [_clean_score(by_category[c]) for c in RISK_CATEGORIES]


def _level(value: Any, what: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or int(value) != value
        or not 1 <= value <= 5
    ):
        raise InvalidInput(f"{what} must be a whole number from 1 to 5, got {value!r}.")
    return int(value)


def _clean_score(s: ScoreInput) -> CleanScore:
    label = RISK_LABELS[s.category].lower()
    likelihood = _level(s.likelihood, f"likelihood of '{label}'")
    impact = _level(s.impact, f"impact of '{label}'")
    r_like = (
        likelihood
        if s.residual_likelihood is None
        else _level(s.residual_likelihood, f"residual likelihood of '{label}'")
    )
    r_imp = (
        impact if s.residual_impact is None else _level(s.residual_impact, f"residual impact of '{label}'")
    )
    if r_like > likelihood or r_imp > impact:
        raise InvalidInput(
            f"residual risk of '{label}' ({r_like}×{r_imp}) cannot exceed the risk before mitigation "
            f"({likelihood}×{impact})."
        )
    mitigations = clean_text(s.mitigations, f"mitigations of '{label}'")
    if (r_like, r_imp) != (likelihood, impact) and not mitigations:
        raise InvalidInput(
            f"'{label}' is reduced from {likelihood}×{impact} to {r_like}×{r_imp}: name the mitigations."
        )
    return CleanScore(s.category, likelihood, impact, mitigations, r_like, r_imp)


def _clean_annex(ai_act_class: str, area: str) -> str:
    area = (area or "").strip()
    if ai_act_class == "high":
        if area not in ANNEX_III_AREAS:
            raise InvalidInput(
                f"a high-risk system needs its Annex III area, one of: {', '.join(ANNEX_III_AREAS)}."
            )
        return area
    if area:
        raise InvalidInput(
            f"Annex III area '{area}' applies only to the high-risk class, not '{ai_act_class}'."
        )
    return ""


def _clean_exposure(amount: float | Decimal | str | None) -> Decimal | None:
    if amount is None:
        return None
    value = clean_money(amount, "exposure")
    if value < 0:
        raise InvalidInput(f"exposure must not be negative, got {value.normalize():f}.")
    return value


def _clean_currency(code: str) -> str:
    code = (code or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidInput(f"currency '{code}' must be a three-letter code such as EUR.")
    return code


def _clean_when(when: datetime | None, previous: RiskAssessment | None) -> datetime:
    now = clock.now()
    if when is None:
        when = now
    elif when.tzinfo is None:
        raise InvalidInput("assessment time must carry a time zone (UTC).")
    if when > now:
        raise InvalidInput(f"an assessment cannot be dated in the future ({when:%Y-%m-%d}).")
    if previous is not None and when < previous.assessed_at:
        raise InvalidInput(
            f"the current assessment is dated {previous.assessed_at:%Y-%m-%d}; a new one cannot be older."
        )
    return when


# --- read models -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreView:
    category: str
    label: str
    likelihood: int
    impact: int
    mitigations: str
    residual_likelihood: int
    residual_impact: int

    @property
    def inherent_score(self) -> int:
        return self.likelihood * self.impact

    @property
    def residual_score(self) -> int:
        return self.residual_likelihood * self.residual_impact


@dataclass(frozen=True)
class AssessmentView:
    id: int
    model_id: int
    model_name: str
    version: int
    model_version: int | None
    materiality: str
    exposure_amount: float | None
    exposure_currency: str
    ai_act_class: str
    annex_iii_area: str
    rationale: str
    human_oversight: str
    tier: str
    tier_reason: str
    review_interval_months: int
    next_review_due: date
    assessed_by: str
    assessed_at: datetime
    scores: list[ScoreView] = field(default_factory=list)

    @property
    def ai_act_label(self) -> str:
        label = AI_ACT_LABELS[self.ai_act_class]
        if self.annex_iii_area:
            return f"{label}, point {self.annex_iii_area}: {ANNEX_III_AREAS.get(self.annex_iii_area, '')}"
        return label

    def score(self, category: str) -> ScoreView:
        return next(s for s in self.scores if s.category == category)


def _latest(session: Session, model_id: int) -> RiskAssessment | None:
    return session.exec(
        select(RiskAssessment)
        .where(col(RiskAssessment.model_id) == model_id)
        .order_by(col(RiskAssessment.version).desc())
        .limit(1)
    ).first()


def _views(session: Session, rows: list[RiskAssessment]) -> list[AssessmentView]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    scores: dict[int, list[ScoreView]] = {}
    for s in session.exec(select(RiskScore).where(col(RiskScore.assessment_id).in_(ids))):
        scores.setdefault(s.assessment_id, []).append(
            ScoreView(
                s.category,
                RISK_LABELS[s.category],
                s.likelihood,
                s.impact,
                s.mitigations,
                s.residual_likelihood,
                s.residual_impact,
            )
        )
    people = _names(session, {r.assessed_by_id for r in rows})
    models = {
        m.id: m.name for m in session.exec(select(Model).where(col(Model.id).in_({r.model_id for r in rows})))
    }
    versions = {
        v.id: v.version
        for v in session.exec(
            select(ModelVersion).where(col(ModelVersion.id).in_({r.model_version_id for r in rows} - {None}))
        )
    }
    views = []
    for r in rows:
        ordered = sorted(scores.get(saved_id(r), []), key=lambda s: RISK_CATEGORIES.index(s.category))
        _, reason = tier_for(
            materiality=r.materiality,
            ai_act_class=r.ai_act_class,
            residual_scores=[s.residual_score for s in ordered],
        )
        views.append(
            AssessmentView(
                id=saved_id(r),
                model_id=r.model_id,
                model_name=models.get(r.model_id, ""),
                version=r.version,
                model_version=versions.get(r.model_version_id),
                materiality=r.materiality,
                exposure_amount=None if r.exposure_amount is None else float(r.exposure_amount),
                exposure_currency=r.exposure_currency,
                ai_act_class=r.ai_act_class,
                annex_iii_area=r.annex_iii_area,
                rationale=r.rationale,
                human_oversight=r.human_oversight,
                tier=r.tier,
                tier_reason=reason,
                review_interval_months=r.review_interval_months,
                next_review_due=r.next_review_due,
                assessed_by=people.get(r.assessed_by_id, ""),
                assessed_at=r.assessed_at,
                scores=ordered,
            )
        )
    return views


def _names(session: Session, person_ids: set[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    return {saved_id(p): p.name for p in session.exec(select(Person).where(col(Person.id).in_(person_ids)))}


def current_assessment(session: Session, model_id: int) -> AssessmentView | None:
    """The model's newest assessment, or None if it was never assessed."""
    row = _latest(session, model_id)
    return _views(session, [row])[0] if row else None


def assessment_history(session: Session, model_id: int) -> list[AssessmentView]:
    """Every assessment of the model, newest first."""
    rows = list(
        session.exec(
            select(RiskAssessment)
            .where(col(RiskAssessment.model_id) == model_id)
            .order_by(col(RiskAssessment.version).desc())
        )
    )
    return _views(session, rows)


def current_tier(session: Session, model_id: int) -> str | None:
    """'high', 'medium' or 'low' from the newest assessment; None if never assessed."""
    row = _latest(session, model_id)
    return row.tier if row else None


def _current_rows(session: Session, business_unit: str | None) -> list[tuple[Model, RiskAssessment | None]]:
    """Every model not retired, with its newest assessment (or None)."""
    newest = (
        select(col(RiskAssessment.model_id), func.max(col(RiskAssessment.version)).label("v"))
        .group_by(col(RiskAssessment.model_id))
        .subquery()
    )
    query = (
        select(Model, RiskAssessment)
        .outerjoin(newest, newest.c.model_id == col(Model.id))
        .outerjoin(
            RiskAssessment,
            (col(RiskAssessment.model_id) == col(Model.id)) & (col(RiskAssessment.version) == newest.c.v),
        )
        .where(col(Model.status) != "retired")
        .order_by(col(Model.name))
    )
    if business_unit:
        query = query.where(col(Model.business_unit) == business_unit)
    return [(m, a) for m, a in session.exec(query)]


def portfolio(
    session: Session, *, business_unit: str | None = None
) -> list[tuple[dict[str, Any], AssessmentView | None]]:
    """Every model not retired: a summary dict and its current assessment (None if never assessed)."""
    rows = _current_rows(session, business_unit)
    views = {v.model_id: v for v in _views(session, [a for _, a in rows if a is not None])}
    return [
        (
            {"model_id": m.id, "model": m.name, "business_unit": m.business_unit, "status": m.status},
            views.get(saved_id(m)),
        )
        for m, _ in rows
    ]


# --- the portfolio matrix ------------------------------------------------------------------------------

WORST = "worst"  # heatmap "category": each model placed by its highest-scoring risk


def heatmap(
    session: Session, *, category: str = WORST, basis: str = "residual", business_unit: str | None = None
) -> pd.DataFrame:
    """The 5 x 5 likelihood x impact grid: per cell the count, names and ids of models there.

    ``category`` is one of the four risks or "worst" (each model at its highest score);
    ``basis`` is "residual" (after mitigations) or "inherent". Every cell is present.
    """
    clean_choice(category, "risk category", (*RISK_CATEGORIES, WORST))
    clean_choice(basis, "basis", ("residual", "inherent"))
    cells: dict[tuple[int, int], list[tuple[int, str]]] = {
        (li, im): [] for li in range(1, 6) for im in range(1, 6)
    }
    for summary, view in portfolio(session, business_unit=business_unit):
        if view is None:
            continue
        like, imp = _placement(view, category, basis)
        cells[(like, imp)].append((summary["model_id"], summary["model"]))
    return pd.DataFrame(
        [
            {
                "likelihood": li,
                "impact": im,
                "score": li * im,
                "count": len(models),
                "models": [n for _, n in models],
                "model_ids": [i for i, _ in models],
            }
            for (li, im), models in sorted(cells.items())
        ]
    )


def cell_rows(
    rows: list[tuple[dict[str, Any], AssessmentView | None]],
    *,
    category: str,
    basis: str,
    likelihood: int,
    impact: int,
) -> list[dict[str, Any]]:
    """The models of one matrix cell (from ``portfolio`` rows) with tier, score and next review."""
    found = []
    for summary, view in rows:
        if view is not None and _placement(view, category, basis) == (likelihood, impact):
            found.append(
                {
                    **_ids(summary),
                    "tier": view.tier,
                    "score": likelihood * impact,
                    "next_review_due": view.next_review_due,
                    "assessed_by": view.assessed_by,
                    "link": f"{model_link(summary['model_id'])}#{summary['model']}",
                }
            )
    return found


def _placement(view: AssessmentView, category: str, basis: str) -> tuple[int, int]:
    def pair(s: ScoreView) -> tuple[int, int]:
        return (s.residual_likelihood, s.residual_impact) if basis == "residual" else (s.likelihood, s.impact)

    if category != WORST:
        return pair(view.score(category))
    return max((pair(s) for s in view.scores), key=lambda p: (p[0] * p[1], p[1]))


def overdue_reviews(
    session: Session, *, today: date | None = None, business_unit: str | None = None
) -> pd.DataFrame:
    """Models whose review is overdue, and models in validation or production never assessed.

    Columns: model_id, model, business_unit, tier, last_assessed, due, days_overdue, reason.
    Most overdue first; never-assessed models first of all.
    """
    today = today or clock.today()
    rows = []
    for summary, view in portfolio(session, business_unit=business_unit):
        if view is None:
            if summary["status"] in ("validation", "production"):
                rows.append(
                    {
                        **_ids(summary),
                        "tier": "not assessed",
                        "last_assessed": None,
                        "due": None,
                        "days_overdue": None,
                        "reason": f"never assessed, yet in {summary['status']}",
                    }
                )
        elif view.next_review_due < today:
            rows.append(
                {
                    **_ids(summary),
                    "tier": view.tier,
                    "last_assessed": view.assessed_at.date(),
                    "due": view.next_review_due,
                    "days_overdue": (today - view.next_review_due).days,
                    "reason": _overdue_reason(view),
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "model_id",
            "model",
            "business_unit",
            "tier",
            "last_assessed",
            "due",
            "days_overdue",
            "reason",
        ],
    )
    return frame.sort_values("days_overdue", ascending=False, na_position="first", kind="stable").reset_index(
        drop=True
    )


def _ids(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_id": summary["model_id"],
        "model": summary["model"],
        "business_unit": summary["business_unit"],
    }


def _overdue_reason(view: AssessmentView) -> str:
    return (
        f"review due {view.next_review_due:%Y-%m-%d} (tier {view.tier}: every {view.review_interval_months} "
        f"months); last assessed {view.assessed_at:%Y-%m-%d}"
    )


def tier_distribution(session: Session, *, business_unit: str | None = None) -> pd.DataFrame:
    """Count of models per business unit and tier ("not assessed" included), for a stacked bar."""
    counts: dict[tuple[str, str], int] = {}
    for summary, view in portfolio(session, business_unit=business_unit):
        key = (summary["business_unit"], view.tier if view else "not assessed")
        counts[key] = counts.get(key, 0) + 1
    order = {t: i for i, t in enumerate((*reversed(TIERS), "not assessed"))}
    rows = [{"business_unit": bu, "tier": tier, "models": n} for (bu, tier), n in counts.items()]
    frame = pd.DataFrame(rows, columns=["business_unit", "tier", "models"])
    return frame.sort_values(
        ["business_unit", "tier"], key=lambda s: s.map(order) if s.name == "tier" else s, kind="stable"
    ).reset_index(drop=True)


# --- living risk ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """A reason to re-assess a model, from registry evidence."""

    model_id: int
    model: str
    business_unit: str
    category: str  # one of RISK_CATEGORIES, or "review"
    trigger: str  # review_overdue, not_assessed, drift_alert, performance_alert, segment_alert, fairness_alert, outage_alert, fairness_gap, owner_left, no_backup
    reason: str
    since: date | None
    link: str

    @property
    def category_label(self) -> str:
        return RISK_LABELS.get(self.category, "Review")

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "model": self.model,
            "business_unit": self.business_unit,
            "category": self.category,
            "risk": self.category_label,
            "trigger": self.trigger,
            "reason": self.reason,
            "since": self.since,
            "link": self.link,
        }


def model_link(model_id: int) -> str:
    """App path of a model's page."""
    return f"/model?model={model_id}"


def reassessment_flags(
    session: Session,
    *,
    model_ids: Iterable[int] | None = None,
    business_unit: str | None = None,
    today: date | None = None,
) -> list[Flag]:
    """Every re-assess flag the registry's evidence raises (see the module docstring for the rules).

    Restrict to ``model_ids`` or a ``business_unit``; retired models are never flagged.
    """
    today = today or clock.today()
    rows = portfolio(session, business_unit=business_unit)
    if model_ids is not None:
        wanted = set(model_ids)
        rows = [(s, v) for s, v in rows if s["model_id"] in wanted]
    if not rows:
        return []
    ids = [s["model_id"] for s, _ in rows]
    evidence = _Evidence.load(session, ids)
    flags: list[Flag] = []
    for summary, view in rows:
        flags.extend(_flags_for(summary, view, evidence, today))
    return flags


@dataclass
class _Evidence:
    """Everything the flag rules read, loaded in a few queries for many models at once."""

    alerts: dict[int, list[Any]]
    owners: dict[int, list[tuple[str, Person]]]
    health: dict[int, ModelHealth]
    versions: dict[int, list[ModelVersion]]
    limits: dict[int, float]

    @classmethod
    def load(cls, session: Session, ids: list[int]) -> _Evidence:
        owners: dict[int, list[tuple[str, Person]]] = {}
        for o, p in session.exec(
            select(Ownership, Person)
            .join(Person, col(Person.id) == col(Ownership.person_id))
            .where(col(Ownership.model_id).in_(ids))
        ):
            owners.setdefault(o.model_id, []).append((o.role, p))
        versions: dict[int, list[ModelVersion]] = {}
        for v in session.exec(select(ModelVersion).where(col(ModelVersion.model_id).in_(ids))):
            versions.setdefault(v.model_id, []).append(v)
        limits: dict[int, float] = {}
        for m in session.exec(select(Model).where(col(Model.id).in_(ids))):
            bound = (m.metric_thresholds or {}).get("fairness_gap", {})
            limits[saved_id(m)] = float(bound.get("max", FAIRNESS_GAP_LIMIT))
        health = {
            h.model_id: h for h in session.exec(select(ModelHealth).where(col(ModelHealth.model_id).in_(ids)))
        }
        return cls(
            alerts=_alerts(session, ids), owners=owners, health=health, versions=versions, limits=limits
        )


def _alerts(session: Session, ids: list[int]) -> dict[int, list[Any]]:
    """Monitoring alerts per model (the kinds of ``_ALERT_CATEGORY``), newest first."""
    found: dict[int, list[Any]] = {}
    query = (
        select(Alert)
        .where(col(Alert.model_id).in_(ids), col(Alert.kind).in_(tuple(_ALERT_CATEGORY)))
        .order_by(col(Alert.opened_at).desc())
    )
    for a in session.exec(query):
        found.setdefault(a.model_id, []).append(a)
    return found


_ALERT_CATEGORY = {
    "drift": "decay",
    "performance": "decay",
    "segment": "decay",
    "fairness": "decay",
    "outage": "unavailability",
}
_ALERT_WORDS = {"segment": "Segment accuracy", "fairness": "Fairness"}


def _flags_for(
    summary: dict[str, Any], view: AssessmentView | None, ev: _Evidence, today: date
) -> list[Flag]:
    model_id = summary["model_id"]
    assessed = view.assessed_at if view else None

    def flag(category: str, trigger: str, reason: str, since: date | None) -> Flag:
        return Flag(
            model_id,
            summary["model"],
            summary["business_unit"],
            category,
            trigger,
            reason,
            since,
            model_link(model_id),
        )

    flags: list[Flag] = []
    if view is None and summary["status"] in ("validation", "production"):
        flags.append(flag("review", "not_assessed", f"Never assessed, yet in {summary['status']}.", None))
    elif view is not None and view.next_review_due < today:
        flags.append(
            flag(
                "review",
                "review_overdue",
                f"No review within the interval: {_overdue_reason(view)}.",
                view.next_review_due,
            )
        )
    for kind in _ALERT_CATEGORY:
        newer = [
            a
            for a in ev.alerts.get(model_id, [])
            if a.kind == kind and (assessed is None or a.opened_at > assessed)
        ]
        if newer:
            last = newer[0]
            state = "open" if last.closed_at is None else f"closed {last.closed_at:%Y-%m-%d}"
            more = f" ({len(newer)} since the assessment)" if len(newer) > 1 else ""
            flags.append(
                flag(
                    _ALERT_CATEGORY[kind],
                    f"{kind}_alert",
                    f"{_ALERT_WORDS.get(kind, kind.capitalize())} {last.level} opened {last.opened_at:%Y-%m-%d} "
                    f"({state}){more}: {last.message}",
                    last.opened_at.date(),
                )
            )
    measured = any(f.trigger == "fairness_alert" for f in flags)
    flags.extend(flag(*f) for f in _fairness(model_id, assessed, ev, measured=measured))
    flags.extend(flag(*f) for f in _knowledge_loss(model_id, view, ev))
    return flags


def _fairness(
    model_id: int, assessed: datetime | None, ev: _Evidence, *, measured: bool = False
) -> list[tuple[str, str, str, date | None]]:
    """The fairness gap recorded with a version at validation, and a "fairness" health reason
    unless a fairness alert (``measured``) already raised the flag with the same finding."""
    limit = ev.limits.get(model_id, FAIRNESS_GAP_LIMIT)
    found: list[tuple[str, str, str, date | None]] = []
    for v in sorted(ev.versions.get(model_id, []), key=lambda v: v.version, reverse=True):
        gap = (v.metrics or {}).get("fairness_gap")
        if gap is not None and float(gap) > limit and (assessed is None or v.created_at > assessed):
            found.append(
                (
                    "decay",
                    "fairness_gap",
                    f"Fairness gap {float(gap):.3f} measured on version {v.version} exceeds the limit {limit:g}.",
                    v.created_at.date(),
                )
            )
            break
    health = ev.health.get(model_id)
    if not measured and health is not None and (assessed is None or health.updated_at > assessed):
        for reason in health.reasons or []:
            if reason.get("kind") == "fairness" and reason.get("level") in ("warning", "alert"):
                found.append(
                    (
                        "decay",
                        "fairness_gap",
                        f"Fairness {reason.get('level')}: {reason.get('message', '')}",
                        health.updated_at.date(),
                    )
                )
    return found


def _knowledge_loss(
    model_id: int, view: AssessmentView | None, ev: _Evidence
) -> list[tuple[str, str, str, date | None]]:
    """Re-assess on the knowledge gaps (``core.registry.knowledge``) an assessment weighs: a holder
    of a knowledge role who left, and no active backup (unless a later assessment rates the
    knowledge-loss likelihood high, see the module docstring)."""
    holders = [
        Holder(model_id, role, saved_id(p), p.name, p.active, p.left_on)
        for role, p in ev.owners.get(model_id, [])
    ]
    gaps = knowledge_gaps(holders, [model_id])
    assessed_on = view.assessed_at.date() if view else None
    rated = view.score("knowledge_loss").residual_likelihood if view else None
    acknowledged = rated is not None and rated >= ACKNOWLEDGED_LIKELIHOOD
    found: list[tuple[str, str, str, date | None]] = []
    for gap in gaps:
        if gap.kind != "left":
            continue
        left = gap.left_on
        if assessed_on is None or left is None or left > assessed_on or not acknowledged:
            when = f" on {left:%Y-%m-%d}" if left else ""
            found.append(
                (
                    "knowledge_loss",
                    "owner_left",
                    f"{gap.role.replace('_', ' ').capitalize()} {gap.person} left{when}.",
                    left,
                )
            )
    if without_active(gaps, model_id, "backup") and not acknowledged:
        how = f"; the assessment rates knowledge-loss likelihood only {rated}/5" if rated is not None else ""
        found.append(("knowledge_loss", "no_backup", f"No active backup owner is named{how}.", None))
    return found


# --- the promotion gate -------------------------------------------------------------------------------------


def promotion_gate(
    session: Session, *, model_id: int, version_id: int, today: date | None = None
) -> dict[str, str] | None:
    """The "risk assessment current" gate of a promotion: pass, warn or fail with its figure and why.

    None when the model was never assessed (the promotion workflow decides what that means).
    """
    view = current_assessment(session, model_id)
    if view is None:
        return None
    version = session.get(ModelVersion, version_id)
    flags = reassessment_flags(session, model_ids=[model_id], today=today)
    blocking = [f.reason for f in flags if f.trigger == "review_overdue"]
    if view.ai_act_class == "prohibited":
        blocking.insert(0, "The model is classed as a prohibited practice under the EU AI Act.")
    warnings = [f.reason for f in flags if f.trigger != "review_overdue"]
    if version is not None and view.model_version is not None and view.model_version != version.version:
        warnings.append(
            f"The assessment was made for version {view.model_version}, not version {version.version}."
        )
    figure = (
        f"tier {view.tier}, assessed {view.assessed_at:%Y-%m-%d} (assessment {view.version}), "
        f"next review {view.next_review_due:%Y-%m-%d}"
    )
    if blocking:
        return {"status": "fail", "figure": figure, "detail": " ".join(blocking + warnings)}
    if warnings:
        return {"status": "warn", "figure": figure, "detail": "Re-assess: " + " ".join(warnings)}
    return {"status": "pass", "figure": figure, "detail": "Assessment is current; no re-assessment flags."}
