"""Evidence gates of a promotion request, evaluated once and frozen with the request.

Each gate answers one question an approver must see answered, with the figure behind it:
is the model card complete, do the validation metrics meet the model's thresholds and not
regress against production (on the same evaluation data), are an accountable owner and a
backup named and active, is there a current risk assessment, has the data drifted, is the
artifact intact. ``fail`` blocks approval unless approvers override with a written reason (a
request with a failing gate needs a second approver; see core.governance.promotions);
``warn`` and ``na`` (not applicable / no data) inform but do not block.

The risk and drift gates are computed by their own areas (``core.governance.risk`` and
``core.monitoring.gates``): ``promotion_gate(session, model_id=..., version_id=...)`` returns None
(nothing to judge) or ``{"status": "pass"|"warn"|"fail", "figure": str, "detail": str}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core import clock
from core.db.models import Dataset, Model, ModelVersion, Ownership, Person, StageChange
from core.db.types import saved_id
from core.errors import StewardError
from core.governance import risk
from core.monitoring import gates as drift_gates
from core.registry.artifacts import verify_artifact
from core.registry.figures import card_completeness, card_values
from core.registry.services import card_revision_number

STATUS_ORDER = {"na": 0, "pass": 1, "warn": 2, "fail": 3}

LOWER_IS_BETTER = {"rmse", "mae", "mse", "mape", "log_loss", "logloss", "brier", "brier_score", "error_rate"}


@dataclass(frozen=True)
class Gate:
    key: str
    title: str
    status: str  # pass, warn, fail, na
    figure: str
    detail: str = ""


def worst(statuses: list[str]) -> str:
    """The most severe status among ``statuses`` ('pass' when there are none)."""
    return max(statuses, key=lambda s: STATUS_ORDER[s], default="pass")


def collect_evidence(
    session: Session,
    *,
    model: Model,
    version: ModelVersion,
    target_stage: str,
    frozen_at: datetime | None = None,
) -> dict[str, Any]:
    """Evaluate every gate now and return the evidence snapshot to freeze with the request.

    ``frozen_at`` stamps the snapshot with the request's time when that is given (back-dated
    requests of the demo and imports); otherwise it is now.
    """
    production = current_production(session, saved_id(model))
    gates = [
        model_card_gate(model, version),
        thresholds_gate(model, version),
        regression_gate(session, model, version, production),
        owners_gate(session, saved_id(model)),
        _external_gate(
            session,
            risk.promotion_gate,
            "risk",
            "Risk assessment",
            model,
            version,
            # Production needs a current risk assessment: without one the gate fails, and only an
            # override (a written reason, and a second approver) lets the request through.
            "fail" if target_stage == "production" else "warn",
            "not assessed",
            "No risk assessment is recorded for this model"
            + (
                ": production needs a current one (Risk page, Assess a model)."
                if target_stage == "production"
                else "."
            ),
        ),
        _external_gate(
            session,
            drift_gates.promotion_gate,
            "drift",
            "Data drift (training vs recent production)",
            model,
            version,
            "na",
            "no monitoring data",
            "No production inputs have been monitored for this model yet.",
        ),
        artifact_gate(version),
    ]
    return {
        "frozen_at": (frozen_at or clock.now()).isoformat(),
        "target_stage": target_stage,
        "gates": [asdict(g) for g in gates],
        "status": worst([g.status for g in gates]),
        "candidate": describe_version(session, version),
        "production": describe_version(session, production) if production is not None else None,
    }


def current_production(session: Session, model_id: int) -> ModelVersion | None:
    return session.exec(
        select(ModelVersion).where(
            col(ModelVersion.model_id) == model_id, col(ModelVersion.stage) == "production"
        )
    ).first()


def model_card_gate(model: Model, version: ModelVersion) -> Gate:
    """The eight model-card sections (core.registry.figures): required ones missing fail,
    recommended ones missing warn."""
    done = card_completeness(card_values(model, version))
    if done.missing_required:
        return Gate(
            "model_card",
            "Model card complete",
            "fail",
            done.text,
            "Missing required: " + ", ".join(done.missing_required).lower() + ".",
        )
    if done.missing_recommended:
        return Gate(
            "model_card",
            "Model card complete",
            "warn",
            done.text,
            "Required sections filled; missing recommended: "
            + ", ".join(done.missing_recommended).lower()
            + ".",
        )
    return Gate("model_card", "Model card complete", "pass", done.text, "All sections filled.")


def thresholds_gate(model: Model, version: ModelVersion) -> Gate:
    title = "Validation metrics meet thresholds"
    thresholds = model.metric_thresholds or {}
    if not thresholds:
        return Gate(
            "thresholds",
            title,
            "warn",
            "no thresholds set",
            "The model has no metric thresholds; set them on the model so validation can be judged.",
        )
    parts, failures = [], []
    for metric, bound in sorted(thresholds.items()):
        value = version.metrics.get(metric)
        if not isinstance(value, int | float):
            failures.append(f"{metric} was not reported")
            parts.append(f"{metric} missing")
            continue
        for kind, limit in bound.items():
            ok = value >= limit if kind == "min" else value <= limit
            sign = "≥" if kind == "min" else "≤"
            parts.append(f"{metric} {_fmt(value)} {sign if ok else 'vs'} {kind} {_fmt(limit)}")
            if not ok:
                failures.append(
                    f"{metric} {_fmt(value)} is {'below the minimum' if kind == 'min' else 'above the maximum'} {_fmt(limit)}"
                )
    if failures:
        return Gate(
            "thresholds", title, "fail", "; ".join(parts), "Outside the bounds: " + "; ".join(failures) + "."
        )
    return Gate(
        "thresholds", title, "pass", "; ".join(parts), "Every thresholded metric is within its bound."
    )


def metric_direction(model: Model, metric: str) -> int:
    """+1 when higher is better, -1 when lower is better (from the thresholds, else the metric's name)."""
    bound = (model.metric_thresholds or {}).get(metric) or {}
    if "min" in bound:
        return 1
    if "max" in bound:
        return -1
    return -1 if metric.lower() in LOWER_IS_BETTER else 1


def regression_gate(
    session: Session, model: Model, version: ModelVersion, production: ModelVersion | None
) -> Gate:
    title = "No regression vs production"
    if production is None or production.id == version.id:
        return Gate(
            "regression",
            title,
            "na",
            "no production version to compare with",
            "This would be the model's first production version.",
        )
    metrics = sorted(
        set(model.metric_thresholds or {}) | ({model.primary_metric} if model.primary_metric else set())
    )
    metrics = [
        m
        for m in metrics
        if isinstance(version.metrics.get(m), int | float)
        and isinstance(production.metrics.get(m), int | float)
    ]
    if not metrics:
        return Gate(
            "regression",
            title,
            "warn",
            "no common metric",
            f"Version {version.version} and production version {production.version} report no common thresholded metric.",
        )
    figures = [
        f"{m}: v{version.version} {_fmt(version.metrics[m])} vs v{production.version} {_fmt(production.metrics[m])}"
        for m in metrics
    ]
    if (
        version.evaluation_dataset_id is None
        or version.evaluation_dataset_id != production.evaluation_dataset_id
    ):
        cand = _dataset_label(session, version.evaluation_dataset_id)
        prod = _dataset_label(session, production.evaluation_dataset_id)
        return Gate(
            "regression",
            title,
            "warn",
            "; ".join(figures),
            f"Not comparable: the candidate was evaluated on {cand}, production on {prod}.",
        )
    worse = [
        m
        for m in metrics
        if round((version.metrics[m] - production.metrics[m]) * metric_direction(model, m), 9) < 0
    ]
    data = _dataset_label(session, version.evaluation_dataset_id)
    if worse and _was_in_production(session, version):
        # A rollback brings back a version that was approved before; block it and an
        # emergency waits for an override, so it is flagged instead.
        return Gate(
            "regression",
            title,
            "warn",
            "; ".join(figures),
            f"Rollback to a former production version, worse than the current one on {data}: {', '.join(worse)}.",
        )
    if worse:
        return Gate(
            "regression",
            title,
            "fail",
            "; ".join(figures),
            f"Worse than production on {data}: {', '.join(worse)}.",
        )
    return Gate(
        "regression", title, "pass", "; ".join(figures), f"As good or better than production on {data}."
    )


def _was_in_production(session: Session, version: ModelVersion) -> bool:
    return (
        session.exec(
            select(col(StageChange.id)).where(
                col(StageChange.model_version_id) == version.id, col(StageChange.to_stage) == "production"
            )
        ).first()
        is not None
    )


def owners_gate(session: Session, model_id: int) -> Gate:
    title = "Accountable owner and backup, active"
    rows = session.exec(
        select(col(Ownership.role), col(Person.name), col(Person.active))
        .join(Person, col(Person.id) == col(Ownership.person_id))
        .where(col(Ownership.model_id) == model_id, col(Ownership.role).in_(("business_owner", "backup")))
    ).all()
    owners = [(name, active) for role, name, active in rows if role == "business_owner"]
    backups = [(name, active) for role, name, active in rows if role == "backup"]

    def names(people: list[tuple[str, bool]]) -> str:
        return ", ".join(f"{n}{'' if a else ' (left)'}" for n, a in people) or "none"

    figure = f"business owner: {names(owners)}; backup: {names(backups)}"
    problems = []
    if not owners:
        problems.append("no accountable business owner is named")
    elif not any(a for _, a in owners):
        problems.append("the business owner has left")
    if not backups:
        problems.append("no backup is named")
    elif not any(a for _, a in backups):
        problems.append("every named backup has left")
    if problems:
        text = "; ".join(problems)
        return Gate("owners", title, "fail", figure, text[:1].upper() + text[1:] + ".")
    return Gate("owners", title, "pass", figure, "An active owner and an active backup answer for the model.")


def artifact_gate(version: ModelVersion) -> Gate:
    title = "Artifact present, sha256 matches"
    if not version.artifact_uri:
        return Gate(
            "artifact",
            title,
            "fail",
            "no artifact registered",
            "The version has no artifact in the store; nothing could be deployed or re-checked.",
        )
    try:
        verify_artifact(version.artifact_uri, version.artifact_sha256)
    except StewardError as exc:
        return Gate("artifact", title, "fail", f"sha256 {version.artifact_sha256[:12]}…", str(exc))
    return Gate(
        "artifact",
        title,
        "pass",
        f"sha256 {version.artifact_sha256[:12]}… matches",
        f"{version.artifact_uri} is in the store and unchanged since registration.",
    )


def _external_gate(
    session: Session,
    gate_fn: Callable[..., dict[str, str] | None],
    key: str,
    title: str,
    model: Model,
    version: ModelVersion,
    empty_status: str,
    empty_figure: str,
    empty_detail: str,
) -> Gate:
    try:
        result = gate_fn(session, model_id=model.id, version_id=version.id)
    except StewardError as exc:
        return Gate(key, title, "warn", "could not be evaluated", str(exc))
    if result is None:
        return Gate(key, title, empty_status, empty_figure, empty_detail)
    status = str(result.get("status", ""))
    if status not in ("pass", "warn", "fail"):
        return Gate(
            key, title, "warn", "could not be evaluated", f"{gate_fn.__module__} returned status {status!r}."
        )
    return Gate(key, title, status, str(result.get("figure", "")), str(result.get("detail", "")))


def import_gate_statistics() -> None:
    """Import scipy.stats, which the drift gate's statistics import on first use, now: outside any
    write transaction. On SQLite a write transaction holds the one write lock from its first query;
    a first import there (about a second of CPU, many on a busy machine) kept other writers waiting
    past the busy timeout ("database is locked", bench/load.py)."""
    import scipy.stats  # noqa: F401  (heavy: loaded when a promotion is prepared, not at start-up)


def describe_version(session: Session, version: ModelVersion) -> dict[str, Any]:
    """What the diff shows of a version: metrics, params, data and features."""
    creator = session.get(Person, version.created_by_id)
    return {
        "id": version.id,
        "version": version.version,
        "stage": version.stage,
        "created_by": creator.name if creator else "",
        "created_at": version.created_at.isoformat(),
        "git_commit": version.git_commit,
        "artifact_sha256": version.artifact_sha256,
        "metrics": dict(version.metrics or {}),
        "params": dict(version.params or {}),
        "feature_names": list(version.feature_names or []),
        # The card revision the approvers saw: later edits add revisions, this one stays readable.
        "card_revision": card_revision_number(session, saved_id(version)),
        "training_dataset": _dataset_info(session, version.training_dataset_id),
        "evaluation_dataset": _dataset_info(session, version.evaluation_dataset_id),
    }


def _dataset_info(session: Session, dataset_id: int | None) -> dict[str, Any] | None:
    ds = session.get(Dataset, dataset_id) if dataset_id is not None else None
    if ds is None:
        return None
    return {
        "id": ds.id,
        "name": ds.name,
        "version": ds.version,
        "rows": ds.row_count,
        "date_from": ds.date_from.isoformat() if ds.date_from else None,
        "date_to": ds.date_to.isoformat() if ds.date_to else None,
        "content_hash": ds.content_hash,
    }


def _dataset_label(session: Session, dataset_id: int | None) -> str:
    ds = session.get(Dataset, dataset_id) if dataset_id is not None else None
    return f"{ds.name} {ds.version}" if ds is not None else "no registered evaluation dataset"


def _fmt(value: float) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
