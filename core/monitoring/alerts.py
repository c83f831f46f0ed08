"""Per-model monitoring thresholds, alert evaluation and model health.

``evaluate_health`` (run by `steward health` from cron, and by the demo) judges every model
with a production version on four signals: data drift (the newest stored drift run),
realised performance against validation (concept drift), outage (days without predictions,
from the daily rollup) and label coverage. It writes ``model_health`` (read by the inventory
and model pages), opens, updates and closes ``alert`` rows, and audits every change, including
each change of a model's health status.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core import audit
from core.access import Actor, require
from core.db.models import Alert, Model, ModelHealth, ModelVersion, MonitoringThresholds, PredictionDaily
from core.db.types import utcnow
from core.errors import InvalidInput, NotFound
from core.monitoring import performance
from core.registry.validation import clean_text

log = logging.getLogger(__name__)

DEFAULTS = {"drift_share": 0.3, "performance_drop": 0.05, "outage_days": 3, "min_label_coverage": 0.05}
COVERAGE_WINDOW_DAYS = 90
GAP_WINDOW_DAYS = 30  # a recovered outage in this many recent days still shows as a warning
LEVEL_ORDER = {"ok": 0, "warning": 1, "alert": 2}
KIND_ORDER = ("outage", "performance", "drift", "label_coverage")


# --- thresholds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    model_id: int
    version: int  # 0: the defaults, never set for this model
    drift_share: float
    performance_drop: float
    outage_days: int
    min_label_coverage: float

    @property
    def is_default(self) -> bool:
        return self.version == 0


def current_thresholds(session: Session, *, model_id: int) -> Thresholds:
    """The newest thresholds version of a model, or the defaults when none was ever set."""
    row = session.execute(
        select(MonitoringThresholds)
        .where(MonitoringThresholds.model_id == model_id)
        .order_by(MonitoringThresholds.version.desc())
        .limit(1)  # type: ignore[attr-defined]
    ).scalar_one_or_none()
    if row is None:
        return Thresholds(model_id=model_id, version=0, **DEFAULTS)  # type: ignore[arg-type]
    return Thresholds(
        model_id=model_id,
        version=row.version,
        drift_share=row.drift_share,
        performance_drop=row.performance_drop,
        outage_days=row.outage_days,
        min_label_coverage=row.min_label_coverage,
    )


def set_thresholds(
    session: Session,
    *,
    actor: Actor,
    model_id: int,
    reason: str,
    drift_share: float | None = None,
    performance_drop: float | None = None,
    outage_days: int | None = None,
    min_label_coverage: float | None = None,
) -> Thresholds:
    """Store a new thresholds version; values not given are carried over from the current one."""
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    require(session, actor, "thresholds.set", business_unit=model.business_unit)
    current = current_thresholds(session, model_id=model_id)
    values = {
        "drift_share": _fraction(drift_share, "drift share", current.drift_share, allow_zero=False),
        "performance_drop": _non_negative(performance_drop, "performance drop", current.performance_drop),
        "outage_days": _days(outage_days, current.outage_days),
        "min_label_coverage": _fraction(
            min_label_coverage, "minimum label coverage", current.min_label_coverage
        ),
    }
    reason = clean_text(reason, "reason", max_len=2000)
    if not reason:
        raise InvalidInput("reason must not be empty: say why the thresholds change.")
    row = MonitoringThresholds(
        model_id=model_id, version=current.version + 1, reason=reason, created_by_id=actor.id, **values
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="thresholds.set",
        object_type="model",
        object_id=model_id,
        model_id=model_id,
        before={k: getattr(current, k) for k in values} | {"version": current.version},
        after=values | {"version": row.version},
        reason=reason,
    )
    return current_thresholds(session, model_id=model_id)


def _number(value: Any, field_name: str) -> float:
    if isinstance(value, bool):
        raise InvalidInput(f"{field_name} must be a number, got {value!r}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field_name} must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise InvalidInput(f"{field_name} must be a finite number, got {value!r}.")
    return number


def _fraction(value: Any, field_name: str, default: float, *, allow_zero: bool = True) -> float:
    if value is None:
        return default
    number = _number(value, field_name)
    if not (0 <= number <= 1) or (not allow_zero and number == 0):
        low = "0" if allow_zero else "just above 0"
        raise InvalidInput(f"{field_name} must lie between {low} and 1 (a share), got {value!r}.")
    return number


def _non_negative(value: Any, field_name: str, default: float) -> float:
    if value is None:
        return default
    number = _number(value, field_name)
    if number < 0:
        raise InvalidInput(f"{field_name} must not be negative, got {value!r}.")
    return number


def _days(value: Any, default: int) -> int:
    if value is None:
        return default
    number = _number(value, "outage days")
    if number != int(number) or number < 1:
        raise InvalidInput(f"outage days must be a whole number of at least 1, got {value!r}.")
    return int(number)


def thresholds_history(session: Session, *, model_id: int) -> pd.DataFrame:
    rows = session.execute(
        select(
            MonitoringThresholds.version,
            MonitoringThresholds.drift_share,
            MonitoringThresholds.performance_drop,
            MonitoringThresholds.outage_days,
            MonitoringThresholds.min_label_coverage,
            MonitoringThresholds.reason,
            MonitoringThresholds.created_at,
        )
        .where(MonitoringThresholds.model_id == model_id)
        .order_by(MonitoringThresholds.version.desc())  # type: ignore[attr-defined]
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "version",
            "drift_share",
            "performance_drop",
            "outage_days",
            "min_label_coverage",
            "reason",
            "created_at",
        ],
    )


# --- findings --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str
    level: str  # warning or alert
    message: str

    def as_reason(self) -> dict[str, str]:
        return {"kind": self.kind, "level": self.level, "message": self.message}


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
    return [Finding("performance", level, head + "; ".join(v.message for v in shown) + ".")]


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
    if share >= drift_share_limit:
        return [Finding("drift", "alert", text)]
    if share >= drift_share_limit / 2:
        return [Finding("drift", "warning", text)]
    return []


def latest_drift_runs(session: Session) -> dict[int, dict[str, Any]] | None:
    """Newest drift run per model from the drift module, or None when drift is not available."""
    try:
        from core.monitoring.drift.reads import latest_drift_by_model  # the drift area's stored runs
    except ImportError:
        log.info("drift results unavailable: core.monitoring.drift.reads.latest_drift_by_model is missing")
        return None
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
        select(ModelVersion).where(ModelVersion.model_id == model_id, ModelVersion.stage == "production")
    ).scalar_one_or_none()


def _promoted_at(session: Session, version: ModelVersion) -> datetime:
    from core.db.models import StageChange

    changed = session.execute(
        select(func.max(StageChange.changed_at)).where(
            StageChange.model_version_id == version.id, StageChange.to_stage == "production"
        )
    ).scalar_one_or_none()
    return changed or version.created_at


def findings_for(
    session: Session, model: Model, as_of: datetime, drift_runs: dict[int, dict[str, Any]] | None
) -> list[Finding] | None:
    """Everything wrong with one model now; None when the model has no production version."""
    version = _production_version(session, model.id)  # type: ignore[arg-type]
    if version is None:
        return None
    limits = current_thresholds(session, model_id=model.id)  # type: ignore[arg-type]
    version_ids = select(ModelVersion.id).where(ModelVersion.model_id == model.id)
    rollup = session.execute(
        select(
            PredictionDaily.day, PredictionDaily.n, PredictionDaily.n_labelled, PredictionDaily.last_ts
        ).where(
            PredictionDaily.model_version_id.in_(version_ids),  # type: ignore[attr-defined]
            PredictionDaily.day
            >= (as_of - timedelta(days=max(COVERAGE_WINDOW_DAYS, GAP_WINDOW_DAYS))).date(),
            PredictionDaily.day <= as_of.date(),
        )
    ).all()
    last_ts = session.execute(
        select(func.max(PredictionDaily.last_ts)).where(
            PredictionDaily.model_version_id.in_(version_ids),  # type: ignore[attr-defined]
            PredictionDaily.last_ts <= as_of,
        )
    ).scalar_one_or_none()
    days = sorted({r.day for r in rollup if r.n > 0})
    findings = outage_findings(days, last_ts, _promoted_at(session, version), as_of, limits.outage_days)
    window = (as_of - timedelta(days=COVERAGE_WINDOW_DAYS)).date()
    n = sum(r.n for r in rollup if r.day >= window)
    n_labelled = sum(r.n_labelled for r in rollup if r.day >= window)
    findings += coverage_finding(n, n_labelled, limits.min_label_coverage)
    labelled = performance.labelled_predictions(session, version.id)  # type: ignore[arg-type]
    verdicts = performance.judge(
        labelled,
        model.task,
        performance.validation_metrics(version),
        limits.performance_drop,
        primary_metric=model.primary_metric,
        validation_n=performance.validation_rows(session, version),
    )
    findings += performance_findings(verdicts)
    if drift_runs is not None:
        findings += drift_findings(drift_runs.get(model.id), limits.drift_share)  # type: ignore[arg-type]
    return sorted(findings, key=lambda f: (-LEVEL_ORDER[f.level], KIND_ORDER.index(f.kind)))


def evaluate_health(
    session: Session, *, actor: Actor, model_ids: list[int] | None = None, as_of: datetime | None = None
) -> list[HealthResult]:
    """Recompute health and alerts of the given models (default: all) and write them with audit."""
    require(session, actor, "monitoring.run")
    as_of = as_of or utcnow()
    query = select(Model).order_by(Model.id)
    if model_ids is not None:
        query = query.where(Model.id.in_(model_ids))  # type: ignore[union-attr]
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
    row = row or ModelHealth(model_id=model.id)  # type: ignore[arg-type]
    row.status = status
    row.reasons = reasons
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    _sync_alerts(session, actor, model, findings or [], as_of)
    if previous != status:
        audit.record(
            session,
            actor=actor,
            action="health.changed",
            object_type="model",
            object_id=model.id,
            model_id=model.id,
            before=before,
            after={"status": status, "reasons": reasons},
        )
    return HealthResult(
        model_id=model.id, model_name=model.name, status=status, previous_status=previous, reasons=reasons
    )  # type: ignore[arg-type]


def _sync_alerts(
    session: Session, actor: Actor, model: Model, findings: list[Finding], as_of: datetime
) -> None:
    """Open an alert per new finding, update changed ones, close those whose condition cleared."""
    open_alerts = {
        a.kind: a
        for a in session.execute(
            select(Alert).where(Alert.model_id == model.id, Alert.closed_at.is_(None))  # type: ignore[union-attr]
        ).scalars()
    }
    now = utcnow()
    for finding in findings:
        alert = open_alerts.pop(finding.kind, None)
        if alert is None:
            alert = Alert(
                model_id=model.id,
                kind=finding.kind,
                level=finding.level,
                message=finding.message,  # type: ignore[arg-type]
                opened_at=now,
                updated_at=now,
            )
            session.add(alert)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="alert.opened",
                object_type="alert",
                object_id=alert.id,
                model_id=model.id,
                after=finding.as_reason(),
            )
        elif (alert.level, alert.message) != (finding.level, finding.message):
            before = {"level": alert.level, "message": alert.message}
            alert.level, alert.message, alert.updated_at = finding.level, finding.message, now
            session.add(alert)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="alert.updated",
                object_type="alert",
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
            action="alert.closed",
            object_type="alert",
            object_id=alert.id,
            model_id=model.id,
            before={"kind": alert.kind, "level": alert.level, "message": alert.message},
            after={"closed_at": now},
            reason="condition no longer holds",
        )


# --- reads -------------------------------------------------------------------------------------------


def alerts_table(
    session: Session, *, model_id: int | None = None, include_closed: bool = False, limit: int = 500
) -> pd.DataFrame:
    """Alerts (open first, newest first) with the model's name."""
    query = (
        select(
            Alert.id,
            Model.name.label("model"),
            Alert.model_id,
            Alert.kind,
            Alert.level,
            Alert.message,  # type: ignore[attr-defined]
            Alert.opened_at,
            Alert.updated_at,
            Alert.closed_at,
        )
        .join(Model, Model.id == Alert.model_id)  # type: ignore[arg-type]
        .order_by(Alert.closed_at.is_not(None), Alert.opened_at.desc())  # type: ignore[union-attr,attr-defined]
        .limit(limit)
    )
    if model_id is not None:
        query = query.where(Alert.model_id == model_id)
    if not include_closed:
        query = query.where(Alert.closed_at.is_(None))  # type: ignore[union-attr]
    rows = session.execute(query).all()
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "model",
            "model_id",
            "kind",
            "level",
            "message",
            "opened_at",
            "updated_at",
            "closed_at",
        ],
    )


def health_table(session: Session) -> pd.DataFrame:
    """Every model's stored health: status, reasons and when it was computed."""
    rows = session.execute(
        select(Model.id, Model.name, ModelHealth.status, ModelHealth.reasons, ModelHealth.updated_at)
        .join(ModelHealth, ModelHealth.model_id == Model.id, isouter=True)  # type: ignore[arg-type]
        .order_by(Model.name)
    ).all()
    frame = pd.DataFrame(rows, columns=["model_id", "model", "status", "reasons", "updated_at"])
    frame["status"] = frame["status"].fillna("unknown")
    frame["reasons"] = frame["reasons"].apply(lambda r: r if isinstance(r, list) else [])
    return frame
