"""Alert evaluation and model health, against each model's thresholds (``core.monitoring.thresholds``).

``evaluate_health`` (run by `steward health` from cron, and by the demo) judges every model
with a production version on six signals: data drift (the newest stored drift run),
realised performance against validation (concept drift), outage (days without predictions,
from the daily rollup), label coverage, and per segment (``core.monitoring.segments``) a
segment's error rate beyond the rest's and a sensitive attribute's disparity between groups.
Segment and fairness alerts are one per subject (the segment or the attribute). It writes ``model_health`` (read by the inventory
and model pages), opens, updates and closes ``alert`` rows, and audits every change, including
each change of a model's health status.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from core import audit, clock, events
from core.access import Actor, require
from core.db.models import (
    Alert,
    DriftFeatureResult,
    DriftRun,
    Model,
    ModelHealth,
    ModelVersion,
    PredictionDaily,
    StageChange,
)
from core.db.types import saved_id
from core.errors import NotFound
from core.monitoring import performance, segments
from core.monitoring.drift.reads import latest_drift_by_model
from core.monitoring.drift.runs import period_label
from core.monitoring.thresholds import current_thresholds

COVERAGE_WINDOW_DAYS = 90
GAP_WINDOW_DAYS = 30  # a recovered outage in this many recent days still shows as a warning
LEVEL_ORDER = {"ok": 0, "warning": 1, "alert": 2}
KIND_ORDER = ("outage", "performance", "fairness", "segment", "drift", "label_coverage")


# --- findings --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str
    level: str  # warning or alert
    message: str
    since: datetime | None = None  # when the condition began, when known
    subject: str = ""  # within the kind: the segment or attribute of a segment or fairness finding

    def as_reason(self) -> dict[str, str]:
        reason = {"kind": self.kind, "level": self.level, "message": self.message}
        return reason | ({"subject": self.subject} if self.subject else {})


def outage_findings(
    days: list[date], last_ts: datetime | None, since: datetime | None, as_of: datetime, outage_days: int
) -> list[Finding]:
    """Alert when no prediction arrived for ``outage_days`` days or more; a recovered gap of that
    length in the last GAP_WINDOW_DAYS days is a warning."""
    start = last_ts or since
    if start is None:
        return []
    silent = (as_of - start).total_seconds() / 86400
    if silent >= outage_days:
        what = (
            f"since {last_ts:%Y-%m-%d %H:%M} UTC"
            if last_ts
            else f"since it went into production on {since:%Y-%m-%d}"
        )
        return [
            Finding(
                "outage",
                "alert",
                f"No predictions for {int(silent)} days ({what}); the limit is {outage_days} days.",
                start,
            )
        ]
    window_start = (as_of - timedelta(days=GAP_WINDOW_DAYS)).date()
    recent = sorted(d for d in days if d >= window_start)
    for before, after in zip(recent, recent[1:], strict=False):
        gap = (after - before).days - 1
        if gap >= outage_days:
            return [
                Finding(
                    "outage",
                    "warning",
                    f"Outage: no predictions for {gap} days ({before + timedelta(days=1)} to "
                    f"{after - timedelta(days=1)}); predictions resumed on {after}.",
                    _midnight(before + timedelta(days=1)),
                )
            ]
    return []


def coverage_finding(n: int, n_labelled: int, minimum: float) -> list[Finding]:
    if n <= 0 or minimum <= 0:
        return []
    share = n_labelled / n
    if share >= minimum:
        return []
    return [
        Finding(
            "label_coverage",
            "warning",
            f"Only {share:.1%} of the {n:,} predictions of the last {COVERAGE_WINDOW_DAYS} days are labelled "
            f"({n_labelled:,}); the minimum is {minimum:.0%}, too few to measure realised performance.",
        )
    ]


def performance_findings(verdicts: list[performance.Verdict]) -> list[Finding]:
    """One finding for the worst metric: alert when its interval, widened for the validation value's own
    sampling error, lies wholly beyond its limit (see ``performance.judge_rows``)."""
    bad = [v for v in verdicts if v.level != "ok"]
    if not bad:
        return []
    level = "alert" if any(v.level == "alert" for v in bad) else "warning"
    shown = [v for v in bad if v.level == level]
    head = (
        "Concept drift: realised performance dropped significantly. "
        if level == "alert"
        else "Realised performance worse than the limit (not yet significant). "
    )
    return [
        Finding("performance", level, head + "; ".join(v.message for v in shown) + ".", _month_start(shown))
    ]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _month_start(verdicts: list[performance.Verdict]) -> datetime | None:
    """The first day of the earliest month the verdicts judge ("2026-10", "2026-09 to 2026-10")."""
    months = [v.period[:7] for v in verdicts if len(v.period) >= 7 and v.period[4:5] == "-"]
    try:
        return _midnight(date.fromisoformat(min(months) + "-01")) if months else None
    except ValueError:
        return None


def drift_findings(run: dict[str, Any] | None, drift_share_limit: float) -> list[Finding]:
    """From the newest stored drift run: alert at the drift-share limit, warning from half of it."""
    if not run:
        return []
    share = run.get("drift_share")
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return []
    period = f" in {run['period']}" if run.get("period") else ""
    names = list(run.get("drifted_features") or [])
    listed = f" ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})" if names else ""
    text = (
        f"Data drift{period}: {share:.0%} of features drifted{listed}; the limit is {drift_share_limit:.0%}."
    )
    start = run.get("period_start")
    since = _midnight(start) if isinstance(start, date) and not isinstance(start, datetime) else start
    if share >= drift_share_limit:
        return [Finding("drift", "alert", text, since)]
    if share >= drift_share_limit / 2:
        return [Finding("drift", "warning", text, since)]
    return []


def latest_drift_runs(session: Session) -> dict[int, dict[str, Any]]:
    """Newest stored drift run per model (model id -> the run's row)."""
    frame = latest_drift_by_model(session)
    if frame is None or frame.empty:
        return {}
    return {int(r["model_id"]): r for r in frame.to_dict(orient="records")}


# --- evaluation --------------------------------------------------------------------------------------


@dataclass
class HealthResult:
    model_id: int
    model_name: str
    status: str
    previous_status: str
    reasons: list[dict[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.status != self.previous_status


def _production_version(session: Session, model_id: int) -> ModelVersion | None:
    return session.execute(
        select(ModelVersion).where(
            col(ModelVersion.model_id) == model_id, col(ModelVersion.stage) == "production"
        )
    ).scalar_one_or_none()


def _promoted_at(session: Session, version: ModelVersion) -> datetime:
    changed = session.execute(
        select(func.max(col(StageChange.changed_at))).where(
            col(StageChange.model_version_id) == version.id, col(StageChange.to_stage) == "production"
        )
    ).scalar_one_or_none()
    return changed or version.created_at


def findings_for(
    session: Session, model: Model, as_of: datetime, drift_runs: dict[int, dict[str, Any]]
) -> list[Finding] | None:
    """Everything wrong with one model now; None when the model has no production version."""
    version = _production_version(session, saved_id(model))
    if version is None:
        return None
    limits = current_thresholds(session, model_id=saved_id(model))
    version_ids = select(col(ModelVersion.id)).where(col(ModelVersion.model_id) == model.id)
    rollup = session.execute(
        select(
            col(PredictionDaily.day),
            col(PredictionDaily.n),
            col(PredictionDaily.n_labelled),
            col(PredictionDaily.last_ts),
        ).where(
            col(PredictionDaily.model_version_id).in_(version_ids),
            col(PredictionDaily.day)
            >= (as_of - timedelta(days=max(COVERAGE_WINDOW_DAYS, GAP_WINDOW_DAYS))).date(),
            col(PredictionDaily.day) <= as_of.date(),
        )
    ).all()
    last_ts = session.execute(
        select(func.max(col(PredictionDaily.last_ts))).where(
            col(PredictionDaily.model_version_id).in_(version_ids),
            col(PredictionDaily.last_ts) <= as_of,
        )
    ).scalar_one_or_none()
    days = sorted({r.day for r in rollup if r.n > 0})
    findings = outage_findings(days, last_ts, _promoted_at(session, version), as_of, limits.outage_days)
    window = (as_of - timedelta(days=COVERAGE_WINDOW_DAYS)).date()
    n = sum(r.n for r in rollup if r.day >= window)
    n_labelled = sum(r.n_labelled for r in rollup if r.day >= window)
    findings += coverage_finding(n, n_labelled, limits.min_label_coverage)
    labelled = performance.labelled_predictions(session, saved_id(version))
    verdicts = performance.judge(
        labelled,
        model.task,
        performance.validation_metrics(version),
        limits.performance_drop,
        primary_metric=model.primary_metric,
        validation_n=performance.validation_rows(session, version),
    )
    findings += performance_findings(verdicts)
    findings += segment_findings(session, model, version, as_of)
    findings += drift_findings(_production_drift(session, version, drift_runs), limits.drift_share)
    return sorted(findings, key=lambda f: (-LEVEL_ORDER[f.level], KIND_ORDER.index(f.kind), f.subject))


def segment_findings(session: Session, model: Model, version: ModelVersion, as_of: datetime) -> list[Finding]:
    """Segments whose error rate exceeds the rest's, and sensitive attributes with a disparity
    (see ``core.monitoring.segments``), over the production version's recent labels."""
    report = segments.segment_report(
        session, model_id=saved_id(model), version_id=saved_id(version), as_of=as_of
    )
    return [Finding(f.kind, f.level, f.message, subject=f.subject) for f in report.findings]


def _production_drift(
    session: Session, version: ModelVersion, drift_runs: dict[int, dict[str, Any]]
) -> dict[str, Any] | None:
    """The newest scheduled drift run of the production version: the model's newest run when it is
    that version's, else that version's own newest (a just-promoted version is not judged by the
    drift of the version it replaced; with no run of its own yet, there is no drift finding)."""
    newest = drift_runs.get(version.model_id)
    if newest is not None and newest.get("version_id") == version.id:
        return newest
    run = session.execute(
        select(DriftRun)
        .where(col(DriftRun.model_version_id) == version.id, col(DriftRun.kind) == "scheduled")
        .order_by(col(DriftRun.period_end).desc(), col(DriftRun.id).desc())
        .limit(1)
    ).scalar_one_or_none()
    if run is None:
        return None
    drifted = session.execute(
        select(col(DriftFeatureResult.column_name))
        .where(
            col(DriftFeatureResult.run_id) == run.id,
            col(DriftFeatureResult.drifted).is_(True),
            col(DriftFeatureResult.role) == "feature",
        )
        .order_by(col(DriftFeatureResult.column_name))
    )
    return {
        "version_id": run.model_version_id,
        "period": period_label(run),
        "drift_share": run.drift_share,
        "drifted_features": list(drifted.scalars()),
    }


def follow_promotion(session: Session, *, actor: Actor, model_id: int, as_of: datetime) -> HealthResult:
    """Judge the model's health again for its new production version, in the caller's transaction.

    The mechanism the approval that changed production calls (it has checked its own permission,
    ``promotion.decide``): health, alerts and their audit events then follow the promotion at once,
    instead of the replaced version's findings standing until the next `steward health`."""
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    findings = findings_for(session, model, as_of, latest_drift_runs(session))
    return _store(session, actor, model, findings, as_of)


def evaluate_health(
    session: Session, *, actor: Actor, model_ids: list[int] | None = None, as_of: datetime | None = None
) -> list[HealthResult]:
    """Recompute health and alerts of the given models (default: all) and write them with audit."""
    require(session, actor, "monitoring.run")
    as_of = as_of or clock.now()
    query = select(Model).order_by(col(Model.id))
    if model_ids is not None:
        query = query.where(col(Model.id).in_(model_ids))
    models = session.execute(query).scalars().all()
    drift_runs = latest_drift_runs(session)
    results = []
    for model in models:
        findings = findings_for(session, model, as_of, drift_runs)
        results.append(_store(session, actor, model, findings, as_of))
    return results


def _status(findings: list[Finding] | None) -> str:
    if findings is None:
        return "unknown"
    if not findings:
        return "ok"
    return max((f.level for f in findings), key=LEVEL_ORDER.__getitem__)


def _store(
    session: Session, actor: Actor, model: Model, findings: list[Finding] | None, as_of: datetime
) -> HealthResult:
    status = _status(findings)
    reasons = [f.as_reason() for f in findings or []]
    row = session.get(ModelHealth, model.id)
    previous = row.status if row is not None else "unknown"
    before = {"status": previous, "reasons": row.reasons if row is not None else []}
    row = row or ModelHealth(model_id=saved_id(model))
    row.status = status
    row.reasons = reasons
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    _sync_alerts(session, actor, model, findings or [], as_of)
    if previous != status:
        audit.record(
            session,
            actor=actor,
            action=events.HEALTH_CHANGED,
            object_id=model.id,
            model_id=model.id,
            before=before,
            after={"status": status, "reasons": reasons},
        )
    return HealthResult(
        model_id=saved_id(model),
        model_name=model.name,
        status=status,
        previous_status=previous,
        reasons=reasons,
    )


def _sync_alerts(
    session: Session, actor: Actor, model: Model, findings: list[Finding], as_of: datetime
) -> None:
    """Open an alert per new finding, update changed ones, close those whose condition cleared."""
    open_alerts = {
        (a.kind, a.subject): a
        for a in session.execute(
            select(Alert).where(col(Alert.model_id) == model.id, col(Alert.closed_at).is_(None))
        ).scalars()
    }
    now = clock.now()
    for finding in findings:
        alert = open_alerts.pop((finding.kind, finding.subject), None)
        if alert is None:
            alert = Alert(
                model_id=saved_id(model),
                kind=finding.kind,
                subject=finding.subject,
                level=finding.level,
                message=finding.message,
                opened_at=now,
                updated_at=now,
                condition_since=finding.since,
            )
            session.add(alert)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action=events.ALERT_OPENED,
                object_id=alert.id,
                model_id=model.id,
                after=finding.as_reason(),
            )
        elif (alert.level, alert.message) != (finding.level, finding.message):
            before = {"level": alert.level, "message": alert.message}
            alert.level, alert.message, alert.updated_at = finding.level, finding.message, now
            alert.condition_since = alert.condition_since or finding.since
            session.add(alert)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action=events.ALERT_UPDATED,
                object_id=alert.id,
                model_id=model.id,
                before=before,
                after=finding.as_reason(),
            )
    for alert in open_alerts.values():
        alert.closed_at = now
        alert.updated_at = now
        session.add(alert)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action=events.ALERT_CLOSED,
            object_id=alert.id,
            model_id=model.id,
            before={
                "kind": alert.kind,
                "subject": alert.subject,
                "level": alert.level,
                "message": alert.message,
            },
            after={"closed_at": now},
            reason="condition no longer holds",
        )


# --- reads -------------------------------------------------------------------------------------------


def alerts_table(
    session: Session, *, model_id: int | None = None, include_closed: bool = False, limit: int = 500
) -> pd.DataFrame:
    """Alerts (open first, newest first) with the model's name."""
    query: Select[Any] = (
        select(
            col(Alert.id),
            col(Model.name).label("model"),
            col(Alert.model_id),
            col(Alert.kind),
            col(Alert.subject),
            col(Alert.level),
            col(Alert.message),
            col(Alert.opened_at),
            col(Alert.updated_at),
            col(Alert.closed_at),
            col(Alert.condition_since),
        )
        .join(Model, col(Model.id) == col(Alert.model_id))
        .order_by(col(Alert.closed_at).is_not(None), col(Alert.opened_at).desc())
        .limit(limit)
    )
    if model_id is not None:
        query = query.where(col(Alert.model_id) == model_id)
    if not include_closed:
        query = query.where(col(Alert.closed_at).is_(None))
    rows = session.execute(query).all()
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "model",
            "model_id",
            "kind",
            "subject",
            "level",
            "message",
            "opened_at",
            "updated_at",
            "closed_at",
            "condition_since",
        ],
    )


def health_table(session: Session) -> pd.DataFrame:
    """Every model's stored health: status, reasons and when it was computed."""
    rows = session.execute(
        select(
            col(Model.id),
            col(Model.name),
            col(ModelHealth.status),
            col(ModelHealth.reasons),
            col(ModelHealth.updated_at),
        )
        .join(ModelHealth, col(ModelHealth.model_id) == col(Model.id), isouter=True)
        .order_by(col(Model.name))
    ).all()
    frame = pd.DataFrame(rows, columns=["model_id", "model", "status", "reasons", "updated_at"])
    frame["status"] = frame["status"].fillna("unknown")
    frame["reasons"] = frame["reasons"].apply(lambda r: r if isinstance(r, list) else [])
    return frame
