"""Regulatory documentation: completeness against three templates, and the documentation pack.

Templates (each item says what is checked, and where it is filled in):

- **SR 11-7 inventory** (US model risk guidance): purpose, intended use and restrictions,
  products/process, inputs and their sources, outputs, methodology, validated performance,
  developer, accountable owner, independent validator, risk tier, last and next validation,
  limitations;
- **EU AI Act Annex IV** technical documentation - applies only to a model whose current risk
  assessment classes it high-risk: description and purpose, development and design choices,
  data provenance and labelling, validation and test metrics, accuracy per group, foreseeable
  risks, human oversight (Art. 14), the risk-management system, the change log, automatic
  logs (Art. 12) and the post-market monitoring plan;
- **Model Card** sections (Mitchell et al., 2019): model details, intended use, factors,
  metrics, evaluation data, training data, quantitative analyses, ethical considerations,
  caveats and recommendations.

Items are checked on the model and on its documented version: the production version, else
the newest one. The documentation pack (documentation_pack) puts the model card, risk
assessment, validation metrics, monitoring summary, explanation summary, lineage and the
approval and change history in one document (HTML or PDF, see core.reports.document).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from core import clock
from core.db.models import (
    Alert,
    AuditEvent,
    Dataset,
    DriftRun,
    Model,
    ModelVersion,
    MonitoringThresholds,
    Ownership,
    Person,
    PredictionDaily,
    StageChange,
)
from core.db.types import saved_id
from core.errors import NotFound
from core.events import COSTS_LOGGED, PREDICTIONS_LOGGED
from core.events import label as event_label
from core.explain import summaries
from core.governance import promotions, risk, rules
from core.registry import figures, reads
from core.registry.knowledge import Holder, KnowledgeGap, knowledge_gaps
from core.reports.document import Document, cell_text, write

__all__ = [
    "TEMPLATES",
    "Item",
    "TemplateScore",
    "completeness",
    "portfolio_completeness",
    "documentation_pack",
    "export_pack",
]

TEMPLATES = {
    "sr11_7": "SR 11-7 inventory",
    "annex_iv": "EU AI Act Annex IV",
    # The reporting template of Mitchell et al., "Model Cards for Model Reporting" (nine items, among
    # them factors and quantitative analyses): not the eight card sections counted everywhere else.
    "model_card": "Model Cards reporting template",
}


@dataclass(frozen=True)
class Item:
    """One documentation item: whether it is there, what is missing, and where to fill it in."""

    template: str
    label: str
    done: bool
    detail: str
    where: str
    link: str


@dataclass(frozen=True)
class TemplateScore:
    template: str
    title: str
    applicable: bool
    why_not: str
    items: list[Item]

    @property
    def done(self) -> int:
        return sum(i.done for i in self.items)

    @property
    def score(self) -> float | None:
        """Share of items done (0-1); None when the template does not apply."""
        return self.done / len(self.items) if self.applicable and self.items else None

    @property
    def missing(self) -> list[Item]:
        return [i for i in self.items if not i.done] if self.applicable else []


# --- the facts the templates check ----------------------------------------------------------------------


@dataclass
class _Facts:
    model: Model
    version: ModelVersion | None
    owners: dict[str, list[Person]]
    training: Dataset | None
    evaluation: Dataset | None
    assessment: risk.AssessmentView | None
    overdue: bool
    stage_changes: int
    logged_days: int
    monitoring: str  # what monitoring is configured, in words ('' = none)


def _facts(session: Session, model_id: int) -> _Facts:
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    versions = list(
        session.exec(
            select(ModelVersion)
            .where(col(ModelVersion.model_id) == model_id)
            .order_by(col(ModelVersion.version).desc())
        )
    )
    version = next((v for v in versions if v.stage == "production"), versions[0] if versions else None)
    owners: dict[str, list[Person]] = {}
    for o, p in session.exec(
        select(Ownership, Person)
        .join(Person, col(Person.id) == col(Ownership.person_id))
        .where(col(Ownership.model_id) == model_id)
    ):
        if p.active:
            owners.setdefault(o.role, []).append(p)
    assessment = risk.current_assessment(session, model_id)
    return _Facts(
        model=model,
        version=version,
        owners=owners,
        training=session.get(Dataset, version.training_dataset_id)
        if version and version.training_dataset_id
        else None,
        evaluation=session.get(Dataset, version.evaluation_dataset_id)
        if version and version.evaluation_dataset_id
        else None,
        assessment=assessment,
        overdue=assessment is not None and assessment.next_review_due < clock.today(),
        stage_changes=int(
            session.exec(
                select(func.count()).select_from(StageChange).where(col(StageChange.model_id) == model_id)
            ).one()
        ),
        logged_days=int(
            session.exec(
                select(func.count())
                .select_from(PredictionDaily)
                .where(col(PredictionDaily.model_version_id).in_([v.id for v in versions] or [-1]))
            ).one()
        ),
        monitoring=_monitoring_configured(session, model_id),
    )


def _monitoring_configured(session: Session, model_id: int) -> str:
    parts = []
    if session.exec(
        select(col(MonitoringThresholds.id)).where(col(MonitoringThresholds.model_id) == model_id)
    ).first():
        parts.append("alert thresholds set")
    runs = int(
        session.exec(
            select(func.count()).select_from(DriftRun).where(col(DriftRun.model_id) == model_id)
        ).one()
    )
    if runs:
        parts.append(f"{runs} drift run{'s' if runs != 1 else ''}")
    return ", ".join(parts)


def _filled(value: str) -> bool:
    return bool((value or "").strip())


# --- templates ------------------------------------------------------------------------------------------------


def completeness(session: Session, model_id: int) -> list[TemplateScore]:
    """The model's documentation scored against each template, with the missing items."""
    f = _facts(session, model_id)
    return [_sr11_7(f), _annex_iv(f), _model_card(f)]


def _where(model_id: int) -> dict[str, tuple[str, str]]:
    """Where each kind of item is filled in: (in words, app link to the form that fills it).

    ``form=`` opens that form on the page (app/panels/*_forms.py); ``#`` scrolls to it."""
    model = f"/model?model={model_id}"
    return {
        "model": ("Model page, Edit model details", f"{model}&form=details#edit-model-details"),
        "card": (
            "Model page, Model card tab, Revise the model card",
            f"{model}&form=card#revise-the-model-card",
        ),
        "version": ("Model page, Versions (set with steward register-version)", model),
        "data": (
            "Lineage page, Link a data source to the training dataset "
            "(or steward register-version --dataset/--eval-dataset)",
            f"/lineage?model={model_id}&form=link#record-lineage",
        ),
        "owners": (
            "Owners page, Change owners (owners, validator and backup)",
            f"/owners?model={model_id}&form=owners#change-owners",
        ),
        "risk": ("Risk page, Assess a model", f"/risk?model={model_id}"),
        "monitoring": (
            "Monitoring: alert thresholds (steward thresholds set) and drift runs (steward drift)",
            model,
        ),
        "logs": ("Prediction logs (steward log-predictions)", model),
    }


def _item(template: str, label: str, done: bool, detail: str, where: tuple[str, str]) -> Item:
    return Item(template, label, done, detail, where[0], where[1])


def _sr11_7(f: _Facts) -> TemplateScore:
    m, v, w, t = f.model, f.version, _where(saved_id(f.model)), "sr11_7"
    validators = f.owners.get("validator", [])
    developers = {p.id for p in f.owners.get("technical_owner", [])} | ({v.created_by_id} if v else set())
    independent = [p for p in validators if p.id not in developers]
    metric_ok = bool(v and m.primary_metric and m.primary_metric in (v.metrics or {}) and m.metric_thresholds)
    a = f.assessment
    items = [
        _item(t, "Purpose", _filled(m.purpose), m.purpose or "no purpose recorded", w["model"]),
        _item(
            t,
            "Intended use and restrictions",
            _filled(m.intended_use) and _filled(m.out_of_scope_uses),
            "intended use and out-of-scope uses"
            + ("" if _filled(m.intended_use) and _filled(m.out_of_scope_uses) else " - one of them is empty"),
            w["model"],
        ),
        _item(
            t,
            "Business process or products served",
            m.business_process_id is not None or _filled(m.kpi),
            "linked to a business process" if m.business_process_id else "no business process or KPI",
            w["model"],
        ),
        _item(
            t,
            "Inputs (features)",
            bool(v and v.feature_names),
            f"{len(v.feature_names)} features" if v and v.feature_names else "no feature list on the version",
            w["version"],
        ),
        _item(
            t,
            "Input data and its source",
            bool(f.training and f.training.data_source_id),
            f"{f.training.name} {f.training.version}" if f.training else "no training dataset registered",
            w["data"],
        ),
        _item(
            t,
            "Outputs and their use",
            _filled(m.target),
            m.target or "what the model predicts is not stated",
            w["model"],
        ),
        _item(t, "Methodology", _filled(m.methodology), m.methodology or "no methodology", w["model"]),
        _item(
            t,
            "Performance validated against thresholds",
            metric_ok,
            f"{m.primary_metric} = {v.metrics.get(m.primary_metric)}"
            if metric_ok and v
            else "primary metric, its threshold or its value on the version is missing",
            w["version"],
        ),
        _item(
            t,
            "Developer (technical owner)",
            bool(f.owners.get("technical_owner")),
            _people(f.owners.get("technical_owner")),
            w["owners"],
        ),
        _item(
            t,
            "Accountable business owner",
            bool(f.owners.get("business_owner")),
            _people(f.owners.get("business_owner")),
            w["owners"],
        ),
        _item(
            t,
            "Independent validator",
            bool(independent),
            _people(independent)
            if independent
            else ("validator is also the developer" if validators else "no validator named"),
            w["owners"],
        ),
        _item(
            t,
            "Risk tier and materiality",
            a is not None,
            f"tier {a.tier}, materiality {a.materiality}" if a else "never assessed",
            w["risk"],
        ),
        _item(
            t,
            "Last and next validation dates",
            a is not None and not f.overdue,
            (
                f"assessed {a.assessed_at:%Y-%m-%d}, next review {a.next_review_due:%Y-%m-%d}"
                + (" (overdue)" if f.overdue else "")
            )
            if a
            else "never assessed",
            w["risk"],
        ),
        _item(
            t,
            "Findings and limitations",
            bool(v and _filled(v.card_limitations)),
            "limitations documented"
            if v and _filled(v.card_limitations)
            else "no limitations on the model card",
            w["card"],
        ),
    ]
    return TemplateScore(t, TEMPLATES[t], True, "", items)


def _annex_iv(f: _Facts) -> TemplateScore:
    m, v, w, t = f.model, f.version, _where(saved_id(f.model)), "annex_iv"
    a = f.assessment
    if a is None or a.ai_act_class != "high":
        why = (
            "the model is not assessed yet"
            if a is None
            else f"the model is classed '{risk.AI_ACT_LABELS[a.ai_act_class]}'"
        )
        return TemplateScore(t, TEMPLATES[t], False, f"Applies to high-risk systems only; {why}.", [])
    measured = bool(v and "fairness_gap" in (v.metrics or {}))
    items = [
        _item(
            t,
            "General description and intended purpose",
            _filled(m.purpose) and _filled(m.intended_use),
            "purpose and intended use"
            if _filled(m.purpose) and _filled(m.intended_use)
            else "purpose or intended use missing",
            w["model"],
        ),
        _item(
            t,
            "Development process and design choices",
            _filled(m.methodology) and bool(v and v.params),
            "methodology and hyper-parameters"
            if _filled(m.methodology) and v and v.params
            else "methodology or hyper-parameters missing",
            w["version"],
        ),
        _item(
            t,
            "Data provenance and labelling",
            bool(f.training and f.training.data_source_id and v and _filled(v.card_training_data)),
            "training data, its source and its description"
            if f.training and v and _filled(v.card_training_data)
            else "training dataset with source, or its description on the card, missing",
            w["data"],
        ),
        _item(
            t,
            "Validation and test metrics",
            bool(v and v.metrics and f.evaluation and _filled(v.card_evaluation)),
            "metrics on a registered evaluation set, described"
            if v and v.metrics and f.evaluation
            else "metrics, evaluation dataset or evaluation description missing",
            w["data"],
        ),
        _item(
            t,
            "Accuracy per group (fairness measured)",
            measured,
            f"fairness gap {v.metrics['fairness_gap']}"
            if measured and v
            else "no per-group metric (fairness_gap) recorded",
            w["version"],
        ),
        _item(
            t,
            "Foreseeable risks and limitations",
            bool(v and _filled(v.card_limitations) and _filled(v.card_ethical_considerations)),
            "limitations and ethical considerations"
            if v and _filled(v.card_limitations)
            else "limitations or ethical considerations missing",
            w["card"],
        ),
        _item(
            t,
            "Human oversight measures (Art. 14)",
            _filled(a.human_oversight),
            a.human_oversight or "how people oversee, override and stop the model is not described",
            w["risk"],
        ),
        _item(
            t,
            "Risk-management system",
            not f.overdue,
            f"assessment {a.version}, review due "
            f"{a.next_review_due:%Y-%m-%d}" + (" - overdue" if f.overdue else ""),
            w["risk"],
        ),
        _item(
            t,
            "Change log over the lifecycle",
            v is not None,
            f"kept by the audit log; {f.stage_changes} stage changes" if v else "no version registered",
            w["version"],
        ),
        _item(
            t,
            "Automatic logs (Art. 12)",
            f.logged_days > 0,
            f"{f.logged_days} days of prediction logs" if f.logged_days else "no prediction logs",
            w["logs"],
        ),
        _item(
            t,
            "Post-market monitoring plan",
            _filled(f.monitoring),
            f.monitoring or "no thresholds or drift runs",
            w["monitoring"],
        ),
    ]
    return TemplateScore(t, TEMPLATES[t], True, "", items)


def _model_card(f: _Facts) -> TemplateScore:
    m, v, w, t = f.model, f.version, _where(saved_id(f.model)), "model_card"
    card = (lambda field: _filled(getattr(v, field))) if v else (lambda field: False)
    items = [
        _item(
            t,
            "Model details",
            v is not None and _filled(m.methodology) and bool(f.owners.get("technical_owner")),
            f"v{v.version}, {m.methodology or 'methodology missing'}" if v else "no version registered",
            w["model"],
        ),
        _item(t, "Intended use", _filled(m.intended_use), m.intended_use or "no intended use", w["model"]),
        _item(
            t,
            "Factors",
            bool(v and "fairness_gap" in (v.metrics or {})),
            "per-group metric recorded"
            if v and "fairness_gap" in (v.metrics or {})
            else "no groups evaluated (record fairness_gap with the version)",
            w["version"],
        ),
        _item(
            t,
            "Metrics",
            bool(v and m.primary_metric and m.primary_metric in (v.metrics or {})),
            f"primary metric {m.primary_metric}" if m.primary_metric else "no primary metric chosen",
            w["version"],
        ),
        _item(
            t,
            "Evaluation data",
            f.evaluation is not None or card("card_evaluation"),
            f"{f.evaluation.name} {f.evaluation.version}" if f.evaluation else "no evaluation data",
            w["data"],
        ),
        _item(
            t,
            "Training data",
            f.training is not None or card("card_training_data"),
            f"{f.training.name} {f.training.version}" if f.training else "no training data",
            w["data"],
        ),
        _item(
            t,
            "Quantitative analyses",
            card("card_evaluation"),
            "evaluation described" if card("card_evaluation") else "no evaluation narrative on the card",
            w["card"],
        ),
        _item(
            t,
            "Ethical considerations",
            card("card_ethical_considerations"),
            "documented" if card("card_ethical_considerations") else "empty",
            w["card"],
        ),
        _item(
            t,
            "Caveats and recommendations",
            card("card_caveats"),
            "documented" if card("card_caveats") else "empty",
            w["card"],
        ),
    ]
    return TemplateScore(t, TEMPLATES[t], True, "", items)


def _people(people: list[Person] | None) -> str:
    return ", ".join(p.name for p in people) if people else "nobody (active) named"


def portfolio_completeness(session: Session) -> pd.DataFrame:
    """Per model not retired: the share of each template done (NaN: does not apply) and what is missing."""
    rows = []
    for m in session.exec(select(Model).where(col(Model.status) != "retired").order_by(col(Model.name))):
        scores = completeness(session, saved_id(m))
        row: dict[str, Any] = {"model_id": m.id, "model": m.name, "business_unit": m.business_unit}
        for s in scores:
            row[s.template] = s.score
        row["missing"] = sum(len(s.missing) for s in scores)
        card = figures.model_figures(session, saved_id(m)).card  # the eight sections every page counts
        row["card_sections"] = card.text if card else "no version"
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["model_id", "model", "business_unit", "card_sections", *TEMPLATES, "missing"]
    )


# --- the documentation pack -----------------------------------------------------------------------------------------


def documentation_pack(session: Session, model_id: int) -> Document:
    """Everything a reviewer or regulator asks for about one model, from the registry, as a document."""
    detail = reads.model_detail(session, model_id)
    scores = completeness(session, model_id)
    assessment = risk.current_assessment(session, model_id)
    doc = Document(
        f"Documentation pack: {detail.name}",
        f"{detail.business_unit} · status {detail.status} · generated {clock.now():%Y-%m-%d %H:%M} UTC",
    )
    _summary(doc, detail, assessment, scores)
    _card(doc, detail)
    _risk(doc, session, model_id, assessment)
    _validation(doc, detail)
    _monitoring(doc, session, detail)
    _explanations(doc, session, detail)
    _lineage(doc, detail)
    _history(doc, session, detail)
    _completeness(doc, scores)
    return doc


def _gap_text(gap: KnowledgeGap) -> str:
    role = reads.OWNERSHIP_ROLE_LABELS[gap.role].lower()
    if gap.kind == "missing":
        return f"no {role} named"
    when = f" on {gap.left_on:%Y-%m-%d}" if gap.left_on else ""
    return f"{role} {gap.person} left{when}" + ("" if gap.covered else f", no active {role}")


def _summary(
    doc: Document, d: reads.ModelDetail, a: risk.AssessmentView | None, scores: list[TemplateScore]
) -> None:
    owners = "; ".join(
        f"{r.role_label}: {r.person}" + ("" if r.active else " (left)") for r in d.owners.itertuples()
    )
    holders = [
        Holder(d.id, r.role, int(r.person_id), r.person, bool(r.active), r.left_on)
        for r in d.owners.itertuples()
    ]
    gaps = "; ".join(_gap_text(g) for g in knowledge_gaps(holders, [d.id]))
    doc.facts(
        [
            ("Purpose", d.purpose or "not recorded"),
            ("Intended use", d.intended_use or "not recorded"),
            ("Out-of-scope uses", d.out_of_scope_uses or "not recorded"),
            ("Business process", d.business_process.name if d.business_process else "none"),
            ("Methodology", d.methodology or "not recorded"),
            ("Predicts", d.target or "not recorded"),
            ("Production version", f"v{d.production_version}" if d.production_version else "none"),
            ("Owners", owners or "none named"),
            (
                "Knowledge loss",
                gaps or "none: an active accountable owner, technical owner and backup are named",
            ),
            (
                "Risk tier",
                f"{a.tier} (assessment {a.version}, next review {a.next_review_due:%Y-%m-%d})"
                if a
                else "not assessed",
            ),
            ("EU AI Act", a.ai_act_label if a else "not classified"),
            (
                "Documentation",
                "; ".join(
                    f"{s.title}: {s.done}/{len(s.items)}" if s.applicable else f"{s.title}: n/a"
                    for s in scores
                ),
            ),
        ]
    )


def _card(doc: Document, d: reads.ModelDetail) -> None:
    doc.heading("Model card")
    card = next((c for c in d.cards if c.version == d.production_version), d.cards[0] if d.cards else None)
    if card is None:
        doc.paragraph("No version is registered, so there is no model card.")
        return
    doc.paragraph(f"Version {card.version} ({card.stage}).")
    doc.facts([(title, text or "— not documented —") for title, text in card.sections.items()])


def _risk(doc: Document, session: Session, model_id: int, a: risk.AssessmentView | None) -> None:
    doc.heading("Risk assessment")
    if a is None:
        doc.paragraph("The model has not been assessed.")
        return
    doc.facts(
        [
            ("Tier", f"{a.tier}, because of {a.tier_reason}; review every {a.review_interval_months} months"),
            ("Assessed", f"{a.assessed_at:%Y-%m-%d} by {a.assessed_by} (assessment {a.version})"),
            ("Next review due", a.next_review_due),
            (
                "Materiality",
                a.materiality
                + (
                    f", exposure {a.exposure_amount:,.0f} {a.exposure_currency}"
                    if a.exposure_amount is not None
                    else ""
                ),
            ),
            ("EU AI Act class", a.ai_act_label),
            ("Rationale", a.rationale),
            ("Human oversight", a.human_oversight or "not described"),
        ]
    )
    doc.table(
        ["Risk", "Likelihood", "Impact", "Score", "Mitigations", "Residual", "Residual score"],
        [
            [
                s.label,
                s.likelihood,
                s.impact,
                s.inherent_score,
                s.mitigations or "none",
                f"{s.residual_likelihood} × {s.residual_impact}",
                s.residual_score,
            ]
            for s in a.scores
        ],
    )
    flags = risk.reassessment_flags(session, model_ids=[model_id])
    if flags:
        doc.heading("Re-assessment flags", level=3)
        doc.bullets([f"{f.category_label}: {f.reason}" for f in flags])


def _validation(doc: Document, d: reads.ModelDetail) -> None:
    """Metrics as rows, versions (newest first) as columns; a value outside its threshold says so."""
    doc.heading("Validation metrics")
    if d.versions.empty or not d.metric_names:
        doc.paragraph("No validation metrics are registered.")
        return
    thresholds = d.metric_thresholds or {}
    versions = d.versions.to_dict("records")
    rows = []
    for metric in d.metric_names:
        bound = thresholds.get(metric, {})
        cells: list[Any] = [
            metric + (" (primary)" if metric == d.primary_metric else ""),
            " and ".join(f"{k} {v:g}" for k, v in bound.items()) or "none",
        ]
        for v in versions:
            value = v.get(f"metric:{metric}")
            if value is None or pd.isna(value):
                cells.append("")
                continue
            ok = all((value >= b) if k == "min" else (value <= b) for k, b in bound.items())
            cells.append(f"{value:.4g}" + ("" if ok else " (fails)"))
        rows.append(cells)
    doc.table(["Metric", "Threshold", *[f"v{v['version']} ({v['stage']})" for v in versions]], rows)


def _monitoring(doc: Document, session: Session, d: reads.ModelDetail) -> None:
    doc.heading("Monitoring summary")
    doc.paragraph(
        f"Health: {d.health.status}"
        + (f" - {'; '.join(d.health.reasons)}" if d.health.reasons else "")
        + (f" (updated {cell_text(d.health.updated_at)})" if d.health.updated_at else "")
    )
    alerts = list(
        session.exec(
            select(Alert).where(col(Alert.model_id) == d.id).order_by(col(Alert.opened_at).desc()).limit(10)
        )
    )
    if alerts:
        doc.table(
            ["Alert", "Level", "Opened", "Closed", "Message"],
            [[a.kind, a.level, a.opened_at, a.closed_at or "open", a.message] for a in alerts],
        )
    runs = list(
        session.exec(
            select(DriftRun)
            .where(col(DriftRun.model_id) == d.id)
            .order_by(col(DriftRun.created_at).desc())
            .limit(6)
        )
    )
    if runs:
        doc.table(
            ["Drift run", "Period", "Drifted features", "Drift share", "Status"],
            [
                [
                    r.created_at,
                    r.period_key,
                    f"{r.n_drifted} of {r.n_computed}",
                    "" if r.drift_share is None else f"{r.drift_share:.0%}",
                    r.status,
                ]
                for r in runs
            ],
        )
    if not alerts and not runs:
        doc.paragraph("No alerts and no drift runs recorded.")


def _explanations(doc: Document, session: Session, d: reads.ModelDetail) -> None:
    doc.heading("Explanation summary")
    version = d.production_version or d.latest_version
    row = d.versions[d.versions["version"] == version] if version else d.versions.iloc[0:0]
    if row.empty:
        doc.paragraph("No version to explain.")
        return
    stored = summaries.stored_explanations(session, int(row.iloc[0]["version_id"]))
    if not stored:
        doc.paragraph(f"No global explanation is stored for version {version} (run steward explain).")
        return
    for source, summary in stored.items():
        total = sum(summary.importance.values()) or 1.0
        doc.paragraph(
            f"Version {version}, {source} sample ({summary.n_rows} rows, {summary.explainer} explainer): "
            "features by mean |SHAP value|."
        )
        doc.table(
            ["Feature", "Mean |SHAP|", "Share of total"],
            [[f, v, f"{v / total:.0%}"] for f, v in list(summary.importance.items())[:10]],
        )
    if {"validation", "production"} <= set(stored):
        doc.paragraph(
            summaries.drift_sentence(summaries.explanation_drift(stored["validation"], stored["production"]))
        )


def _lineage(doc: Document, d: reads.ModelDetail) -> None:
    doc.heading("Lineage")
    if not d.datasets.empty:
        doc.table(
            ["Used as", "Dataset", "Dataset version", "Model versions", "Rows", "From", "To", "Source"],
            [
                [
                    r.used_as,
                    r.dataset,
                    r.dataset_version,
                    r.versions,
                    r.rows,
                    r.date_from,
                    r.date_to,
                    r.source,
                ]
                for r in d.datasets.itertuples()
            ],
        )
    else:
        doc.paragraph("No datasets are linked to the model's versions.")
    if not d.deployments.empty:
        doc.table(
            ["Version", "Environment", "Endpoint", "Business process", "Since", "Until"],
            [
                [r.version, r.environment, r.endpoint, r.business_process, r.since, r.until]
                for r in d.deployments.itertuples()
            ],
        )


def _history(doc: Document, session: Session, d: reads.ModelDetail) -> None:
    doc.heading("Approval and change history")
    requests = promotions.list_requests(session, model_id=d.id)
    if not requests.empty:
        doc.heading("Promotion requests", level=3)
        doc.table(
            [
                "#",
                "Version",
                "To",
                "Status",
                "Approvals",
                "Requested by",
                "Requested",
                "Decided by",
                "Decided",
            ],
            [
                [
                    r.id,
                    r.version,
                    r.target_stage,
                    r.status,
                    f"{r.approvals}/{r.required_approvals}",
                    r.requested_by,
                    r.requested_at,
                    r.decided_by,
                    r.decided_at,
                ]
                for r in requests.itertuples()
            ],
        )
    if not d.stage_history.empty:
        doc.heading("Stage changes", level=3)
        doc.table(
            ["When", "Version", "From", "To", "By", "Reason"],
            [
                [r.changed_at, r.version, r.from_stage, r.to_stage, r.changed_by, r.reason]
                for r in d.stage_history.itertuples()
            ],
        )
    history = rules.rule_history(session, model_id=d.id)
    if not history.empty:
        doc.heading("Business rules", level=3)
        doc.table(
            ["Rule", "Version", "Condition", "State", "Proposed by", "Decided by", "Effective from"],
            [
                [r.rule, r.version, r.condition, r.state, r.proposed_by, r.decided_by, r.effective_from]
                for r in history.itertuples()
            ],
        )
    events = list(
        session.exec(
            select(AuditEvent)
            .where(
                col(AuditEvent.model_id) == d.id,
                col(AuditEvent.action).not_in((PREDICTIONS_LOGGED.name, COSTS_LOGGED.name)),
            )
            .order_by(col(AuditEvent.id).desc())
            .limit(30)
        )
    )
    doc.heading("Audit log (newest 30 changes, prediction and cost loads left out)", level=3)
    doc.table(
        ["When", "Who", "Action", "Reason"],
        [[e.ts, e.actor_email, f"{event_label(e.action)} ({e.action})", e.reason] for e in events],
    )


def _completeness(doc: Document, scores: list[TemplateScore]) -> None:
    doc.heading("Documentation completeness")
    for s in scores:
        if not s.applicable:
            doc.paragraph(f"{s.title}: not applicable. {s.why_not}")
            continue
        doc.paragraph(f"{s.title}: {s.done} of {len(s.items)} items documented.")
        if s.missing:
            doc.table(["Missing", "Now", "Fill in at"], [[i.label, i.detail, i.where] for i in s.missing])


def export_pack(session: Session, *, model_id: int, out: Path) -> Path:
    """Write the model's documentation pack to out (.html or .pdf by extension)."""
    return write(documentation_pack(session, model_id), Path(out), generated_at=clock.now())
