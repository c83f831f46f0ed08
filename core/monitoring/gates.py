"""The drift gate of a promotion request: is the candidate's training data like what production sees now?

``promotion_gate`` compares the candidate version's training data with the model's most
recent production inputs (at most ``GATE_MAX_ROWS`` predictions of the last ``GATE_DAYS``
days, read newest first from the log store's files of those days, so it is a bounded read, not
a scan of the log), with the same engine and decisions as the scheduled drift runs. The promotion
workflow freezes its answer with the request, so it runs once per request.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session, col

from core.db.models import ModelVersion, PredictionDaily
from core.db.types import saved_id
from core.errors import NotFound, StewardError
from core.logstore import reads as logstore_reads
from core.monitoring.drift.engine import DriftOutcome, compare
from core.monitoring.drift.profile import ReferenceProfile
from core.monitoring.drift.runs import model_and_version, training_profile
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
    current = _recent_inputs(session, saved_id(source_version), last_day)
    window = WindowAccumulator(features)
    window.add(current)
    outcome = compare(window)
    return _verdict(outcome, candidate, source_version, handle.description, current)


def _recent_source(session: Session, model_id: int) -> tuple[ModelVersion, date] | None:
    """The version whose predictions stand for production (the production version if it logged
    in the last GATE_DAYS days, else the most recently logging version) and its last day."""
    rows = session.execute(
        select(col(PredictionDaily.model_version_id), func.max(col(PredictionDaily.day)))
        .join(ModelVersion, col(ModelVersion.id) == col(PredictionDaily.model_version_id))
        .where(col(ModelVersion.model_id) == model_id, col(PredictionDaily.n) > 0)
        .group_by(col(PredictionDaily.model_version_id))
    ).all()
    if not rows:
        return None
    newest = max(day for _, day in rows)
    recent = {vid: day for vid, day in rows if day > newest - timedelta(days=GATE_DAYS)}
    production = session.execute(
        select(ModelVersion).where(
            col(ModelVersion.model_id) == model_id, col(ModelVersion.stage) == "production"
        )
    ).scalar_one_or_none()
    if production is not None and production.id in recent:
        return production, recent[production.id]
    version_id = max(recent, key=lambda v: recent[v])
    newest_version = session.get(ModelVersion, version_id)
    return (newest_version, recent[version_id]) if newest_version is not None else None


def _features_only(profile: ReferenceProfile) -> ReferenceProfile:
    return ReferenceProfile(profile.n_rows, {k: c for k, c in profile.columns.items() if c.role == "feature"})


def _recent_inputs(session: Session, version_id: int, last_day: date) -> pd.DataFrame:
    end = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=UTC)
    start = end - timedelta(days=GATE_DAYS)
    rows = logstore_reads.rows(
        session, version_id, columns=None, since=start, until=end, newest_first=True, limit=GATE_MAX_ROWS
    )
    frame = rows.drop(columns=["row_id", "ts", "request_id", "label"]).reset_index(drop=True)
    frame["prediction"] = frame["prediction"].astype(float)
    frame["score"] = frame["score"].astype(float)
    frame.attrs["first"] = rows["ts"].iloc[-1].date() if len(rows) else None
    frame.attrs["last"] = rows["ts"].iloc[0].date() if len(rows) else None
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
