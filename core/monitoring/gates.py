"""The drift gate of a promotion request: is the candidate's training data like what production sees now?

``promotion_gate`` compares the candidate version's training data with the model's most
recent production inputs (at most ``GATE_MAX_ROWS`` predictions of the last ``GATE_DAYS``
days, read newest first through the (version, ts) index, so it is a bounded read, not a scan
of the log), with the same engine and decisions as the scheduled drift runs. The promotion
workflow freezes its answer with the request, so it runs once per request.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core.db.models import ModelVersion, PredictionDaily, PredictionLog
from core.errors import NotFound, StewardError
from core.monitoring.drift.engine import DriftOutcome, compare
from core.monitoring.drift.profile import ReferenceProfile
from core.monitoring.drift.runs import model_and_version, training_profile
from core.monitoring.drift.sources import log_frame
from core.monitoring.drift.window import WindowAccumulator

GATE_DAYS = 30
GATE_MAX_ROWS = 20_000
FAIL_SHARE = 0.5  # Evidently's dataset-drift share


def promotion_gate(session: Session, *, model_id: int, version_id: int) -> dict[str, str] | None:
    """{"status": pass|warn|fail, "figure", "detail"} for the drift between the candidate's
    training data and recent production inputs; None when production has logged nothing recently."""
    model, candidate = model_and_version(session, version_id)
    if model.id != model_id:
        raise NotFound(f"Version id {version_id} does not belong to model id {model_id}.")
    source = _recent_source(session, model_id)
    if source is None:
        return None
    source_version, last_day = source
    try:
        handle = training_profile(session, candidate)
    except StewardError as exc:
        return {"status": "warn", "figure": "not checked", "detail": str(exc)}
    features = _features_only(handle.profile)
    current = _recent_inputs(session, source_version.id, last_day)  # type: ignore[arg-type]
    window = WindowAccumulator(features)
    window.add(current)
    outcome = compare(window)
    return _verdict(outcome, candidate, source_version, handle.description, current)


def _recent_source(session: Session, model_id: int) -> tuple[ModelVersion, date] | None:
    """The version whose predictions stand for production (the production version if it logged
    in the last GATE_DAYS days, else the most recently logging version) and its last day."""
    rows = session.execute(
        select(PredictionDaily.model_version_id, func.max(PredictionDaily.day))
        .join(ModelVersion, ModelVersion.id == PredictionDaily.model_version_id)
        .where(ModelVersion.model_id == model_id, PredictionDaily.n > 0)
        .group_by(PredictionDaily.model_version_id)
    ).all()
    if not rows:
        return None
    newest = max(day for _, day in rows)
    recent = {vid: day for vid, day in rows if day > newest - timedelta(days=GATE_DAYS)}
    production = session.execute(
        select(ModelVersion).where(ModelVersion.model_id == model_id, ModelVersion.stage == "production")
    ).scalar_one_or_none()
    if production is not None and production.id in recent:
        return production, recent[production.id]
    version_id = max(recent, key=lambda v: recent[v])
    return session.get(ModelVersion, version_id), recent[version_id]  # type: ignore[return-value]


def _features_only(profile: ReferenceProfile) -> ReferenceProfile:
    return ReferenceProfile(profile.n_rows, {k: c for k, c in profile.columns.items() if c.role == "feature"})


def _recent_inputs(session: Session, version_id: int, last_day: date) -> pd.DataFrame:
    end = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=UTC)
    start = end - timedelta(days=GATE_DAYS)
    rows = session.execute(
        select(PredictionLog.features, PredictionLog.prediction, PredictionLog.score, PredictionLog.ts)
        .where(
            PredictionLog.model_version_id == version_id, PredictionLog.ts >= start, PredictionLog.ts < end
        )
        .order_by(PredictionLog.ts.desc())
        .limit(GATE_MAX_ROWS)  # type: ignore[attr-defined]
    ).all()
    frame = log_frame(rows)
    frame.attrs["first"] = rows[-1][3].date() if rows else None
    frame.attrs["last"] = rows[0][3].date() if rows else None
    return frame


def _verdict(
    outcome: DriftOutcome,
    candidate: ModelVersion,
    source: ModelVersion,
    reference: str,
    current: pd.DataFrame,
) -> dict[str, str]:
    compared = (
        f"Compared the {reference} of v{candidate.version} with the latest {len(current):,} predictions of "
        f"v{source.version} ({current.attrs.get('first')} to {current.attrs.get('last')})."
    )
    if outcome.n_computed == 0:
        return {
            "status": "warn",
            "figure": "no feature compared",
            "detail": f"{compared} No feature could be compared: {_reasons(outcome)}",
        }
    share = outcome.drift_share or 0.0
    figure = f"{outcome.n_drifted} of {outcome.n_computed} features drifted ({share:.0%})"
    drifted = [c for c in outcome.features() if c.drifted]
    named = "; ".join(
        f"{c.column} ({c.statistic} {c.score:.3g}, threshold {c.threshold:g})" for c in drifted[:6]
    )
    status = "fail" if share >= FAIL_SHARE else "warn" if drifted else "pass"
    detail = f"{compared} " + (f"Drifted: {named}." if drifted else "No feature drifted.")
    skipped = [c for c in outcome.features() if not c.computed]
    if skipped:
        detail += f" Not computed: {_reasons(outcome)}"
    return {"status": status, "figure": figure, "detail": detail}


def _reasons(outcome: DriftOutcome) -> str:
    return "; ".join(f"{c.column}: {c.reason}" for c in outcome.features() if not c.computed)[:600] + "."
