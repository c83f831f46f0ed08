"""Drift runs: compute a model version's drift for a period with the fast engine and store it.

A run is keyed by (model version, period key). Running a key again is idempotent:

* the stored run is returned unchanged (nothing written) when the window still holds the same
  number of predictions and the reference profile is the same;
* it is recomputed and replaces the stored run (same id, audited as ``drift.run_replaced``
  with the old summary) when predictions arrived late, the reference changed, or ``force``.

Computing reads the prediction log in chunks and can take seconds, so it happens in a read
session *before* the write transaction (on SQLite a write transaction holds the database's
single write lock). The permission is checked before computing, so nobody waits for a
refusal, and again inside the write transaction, next to the write and its audit event.
The reference profile is built from the training data on the first run of a version and
stored in the same transaction as that run.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, insert, select
from sqlmodel import Session, col

from core import audit, clock, events
from core.access import Actor, require
from core.db.engine import read_session, write_session
from core.db.models import DriftFeatureResult, DriftProfile, DriftRun, Model, ModelVersion
from core.db.types import saved_id
from core.errors import InvalidInput, NotFound, StewardError
from core.monitoring.drift import sources, stats
from core.monitoring.drift.engine import (
    DATASET_DRIFT_SHARE,
    MIN_VALUES_FOR_DISTANCE,
    ColumnResult,
    DriftOutcome,
    RawValues,
    compare,
)
from core.monitoring.drift.profile import ReferenceProfile, build_profile, finite_values
from core.monitoring.drift.sources import Period
from core.monitoring.drift.window import WindowAccumulator

PERMISSION = "monitoring.run"
ENGINE_NAME = "steward"
# Stored with every run, so a result can be read (and reproduced) with the rules it was made by.
ENGINE_PARAMS = {
    "test_choice": "Evidently 0.7 defaults",
    "small_reference_max_rows": stats.SMALL_REFERENCE,
    "p_value_threshold": stats.P_VALUE_THRESHOLD,
    "distance_threshold": stats.DISTANCE_THRESHOLD,
    "dataset_drift_share": DATASET_DRIFT_SHARE,
    "min_values_for_distance": MIN_VALUES_FOR_DISTANCE,
}


@dataclass(frozen=True)
class RunSummary:
    """What a drift run found, as the CLI and pages report it."""

    id: int
    model_id: int
    model_name: str
    version_id: int
    version: int
    kind: str
    period_key: str
    period_label: str
    status: str
    status_note: str
    drift_share: float | None
    n_drifted: int
    n_computed: int
    current_rows: int
    prediction_drifted: bool | None
    drifted_features: tuple[str, ...]
    outcome: str  # created, unchanged, replaced

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class VersionFailure:
    """A version whose drift could not be computed for a period (its data could not be read,
    it has no reference...): reported for that version, while the others are still computed."""

    model_id: int
    model_name: str
    version_id: int
    version: int
    period_key: str
    period_label: str
    error: StewardError

    @property
    def message(self) -> str:
        return f"{self.model_name} v{self.version}, {self.period_label}: {self.error}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "model_name": self.model_name,
            "version_id": self.version_id,
            "version": self.version,
            "period_key": self.period_key,
            "error": str(self.error),
        }


@dataclass(frozen=True)
class ModelDrift:
    """What one model's drift run for a period did: stored runs, and versions that failed."""

    runs: list[RunSummary]
    failures: list[VersionFailure]


@dataclass
class ProfileHandle:
    """A version's reference profile: stored (``id`` set) or just built (``row`` to store)."""

    profile: ReferenceProfile
    id: int | None
    row: DriftProfile | None
    description: str


# --- the model and its versions --------------------------------------------------------------


def model_and_version(session: Session, version_id: int) -> tuple[Model, ModelVersion]:
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"No model version with id {version_id}.")
    model = session.get(Model, version.model_id)
    assert model is not None
    return model, version


def production_version_id(session: Session, model_id: int) -> int | None:
    return session.execute(
        select(col(ModelVersion.id)).where(
            col(ModelVersion.model_id) == model_id, col(ModelVersion.stage) == "production"
        )
    ).scalar_one_or_none()


# --- reference profiles ----------------------------------------------------------------------


def training_profile(session: Session, version: ModelVersion, *, source: str = "training") -> ProfileHandle:
    """The version's stored training profile, or a new one built from its training data (not yet stored)."""
    key = sources.source_key(sources.training_dataset(session, version))
    stored = _stored_profile(session, saved_id(version), key)
    if stored is not None:
        return stored
    reference = sources.training_reference(session, version)
    profile = build_profile(reference.frame, reference.roles)
    row = DriftProfile(
        model_version_id=saved_id(version),
        source=source,
        source_key=reference.source_key,
        dataset_id=reference.dataset_id,
        description=reference.description,
        n_rows=profile.n_rows,
        columns=profile.summary(),
        payload=profile.payload(),
    )
    return ProfileHandle(profile, None, row, reference.description)


def baseline_profile(session: Session, version_id: int, period: Period) -> ProfileHandle | str:
    """The reference for prediction drift when the training data holds no predictions: the
    version's first weeks of predictions. A reason (str) when the period is not after it."""
    baseline = sources.baseline_period(session, version_id)
    if baseline is None:
        return "no predictions logged for this version"
    if period.first <= baseline.last:
        return (
            f"the period overlaps the first {sources.BASELINE_DAYS} days of this version's predictions "
            f"({baseline.label}), which are the reference for prediction drift"
        )
    key = f"window:{baseline.key}"
    stored = _stored_profile(session, version_id, key)
    if stored is not None:
        return stored
    frame = sources.prediction_frame(session, version_id, baseline)
    roles = {c: "prediction" for c in sources.PREDICTION_COLUMNS if frame[c].notna().any()}
    profile = build_profile(frame, roles)
    description = f"this version's predictions of {baseline.label} ({len(frame):,} rows)"
    row = DriftProfile(
        model_version_id=version_id,
        source="baseline",
        source_key=key,
        description=description,
        n_rows=profile.n_rows,
        columns=profile.summary(),
        payload=profile.payload(),
    )
    return ProfileHandle(profile, None, row, description)


# Stored profiles never change, so each is decoded once per process. The key names the database
# and the profile's content (its source key holds the data's sha256), never the id alone.
_LOADED: OrderedDict[tuple[str, int, str], ReferenceProfile] = OrderedDict()
_LOADED_MAX = 32
_LOADED_LOCK = threading.Lock()  # Streamlit serves sessions from several threads


def _stored_profile(session: Session, version_id: int, source_key: str) -> ProfileHandle | None:
    found = session.execute(
        select(col(DriftProfile.id), col(DriftProfile.description)).where(
            col(DriftProfile.model_version_id) == version_id, col(DriftProfile.source_key) == source_key
        )
    ).first()
    if found is None:
        return None
    profile_id, description = int(found[0]), found[1]
    key = (session.get_bind().engine.url.render_as_string(hide_password=True), profile_id, source_key)
    with _LOADED_LOCK:
        profile = _LOADED.get(key)
        if profile is not None:
            _LOADED.move_to_end(key)
    if profile is None:
        row = session.get(DriftProfile, profile_id)
        assert row is not None
        profile = ReferenceProfile.load(row.n_rows, row.columns, row.payload)
        with _LOADED_LOCK:
            _LOADED[key] = profile
            if len(_LOADED) > _LOADED_MAX:
                _LOADED.popitem(last=False)
    return ProfileHandle(profile, profile_id, None, description)


def save_profile(
    session: Session, *, actor: Actor, handle: ProfileHandle, model_id: int, at: datetime | None = None
) -> int:
    """Store a just-built profile (or find the one a concurrent run stored). Returns its id."""
    if handle.id is not None:
        return handle.id
    assert handle.row is not None
    existing = session.execute(
        select(col(DriftProfile.id)).where(
            col(DriftProfile.model_version_id) == handle.row.model_version_id,
            col(DriftProfile.source_key) == handle.row.source_key,
        )
    ).scalar_one_or_none()
    if existing is not None:
        handle.id = int(existing)
        return handle.id
    row = DriftProfile(**handle.row.model_dump(exclude={"id"}))
    row.created_by_id = actor.id
    row.created_at = at or clock.now()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.DRIFT_PROFILE_BUILT,
        object_id=row.id,
        model_id=model_id,
        after={
            "model_version_id": row.model_version_id,
            "source": row.source,
            "source_key": row.source_key,
            "rows": row.n_rows,
            "columns": len(row.columns),
        },
    )
    handle.id = row.id
    return saved_id(row)


# --- scheduled runs --------------------------------------------------------------------------


def run_drift(
    engine: Engine,
    *,
    actor: Actor,
    model_id: int,
    period: Period,
    force: bool = False,
    at: datetime | None = None,
) -> list[RunSummary]:
    """The runs of ``run_model_drift``. When no version could be computed, the first version's
    error is raised (a model with one version fails as that version does); when some could,
    their runs are returned and the failures are left to ``run_model_drift``'s callers."""
    done = run_model_drift(engine, actor=actor, model_id=model_id, period=period, force=force, at=at)
    if done.failures and not done.runs:
        raise done.failures[0].error
    return done.runs


def run_model_drift(
    engine: Engine,
    *,
    actor: Actor,
    model_id: int,
    period: Period,
    force: bool = False,
    at: datetime | None = None,
) -> ModelDrift:
    """Drift of every version of the model that made predictions in the period (usually one).

    Each version is computed on its own: one whose data cannot be read (a missing or changed
    training file, no reference) is reported in ``failures`` and the others are still computed
    and stored. With no predictions at all in the period, records a ``no_data`` run for the
    production version, so the gap shows in the model's drift history. ``at`` is when the run
    counts as made (default now; the demo back-dates its history).
    """
    with read_session(engine) as session:
        model = session.get(Model, model_id)
        if model is None:
            raise NotFound(f"No model with id {model_id}.")
        require(session, actor, PERMISSION, business_unit=model.business_unit)
        version_ids = sources.versions_with_predictions(session, model_id, period)
        if not version_ids:
            production = production_version_id(session, model_id)
            if production is None:
                raise NotFound(
                    f"{model.name} made no predictions in {period.label} and has no production version."
                )
            version_ids = [production]
        plans: list[_Plan] = []
        failures: list[VersionFailure] = []
        for version_id in version_ids:
            try:
                plans.append(_plan(session, version_id, period, force))
            except (StewardError, OSError) as exc:  # the permission was checked above, for all
                failures.append(_failure(session, model, version_id, period, exc))
    return ModelDrift([_store_plan(engine, actor, plan, force, at) for plan in plans], failures)


def _failure(
    session: Session, model: Model, version_id: int, period: Period, exc: Exception
) -> VersionFailure:
    version = session.get(ModelVersion, version_id)
    error = (
        exc
        if isinstance(exc, StewardError)
        else InvalidInput(f"cannot read its data: {getattr(exc, 'strerror', None) or exc}.")
    )
    return VersionFailure(
        model_id=saved_id(model),
        model_name=model.name,
        version_id=version_id,
        version=version.version if version is not None else 0,
        period_key=period.key,
        period_label=period.label,
        error=error,
    )


def run_version(
    engine: Engine,
    *,
    actor: Actor,
    version_id: int,
    period: Period,
    force: bool = False,
    at: datetime | None = None,
) -> RunSummary:
    """Compare one version's predictions in the period with its training data, and store the run."""
    with read_session(engine) as session:
        model, _ = model_and_version(session, version_id)
        require(session, actor, PERMISSION, business_unit=model.business_unit)
        plan = _plan(session, version_id, period, force)
    return _store_plan(engine, actor, plan, force, at)


@dataclass
class _Plan:
    """A computed run waiting to be stored, or the stored run that is still current."""

    version_id: int
    period: Period
    unchanged: RunSummary | None = None
    features: ProfileHandle | None = None
    predictions: ProfileHandle | str | None = None
    outcome: DriftOutcome | None = None


def _plan(session: Session, version_id: int, period: Period, force: bool) -> _Plan:
    _, version = model_and_version(session, version_id)
    features = training_profile(session, version)
    rows = sources.count_window(session, version_id, period)
    existing = existing_run(session, version_id, period.key)
    if existing is not None and not force and _unchanged(existing, rows, features.id):
        return _Plan(version_id, period, unchanged=summarise(session, existing, "unchanged"))
    predictions = None
    if not any(c.role == "prediction" for c in features.profile.columns.values()):
        predictions = baseline_profile(session, version_id, period)
    outcome = _compute_window(session, version_id, period, features, predictions)
    return _Plan(version_id, period, features=features, predictions=predictions, outcome=outcome)


def _store_plan(engine: Engine, actor: Actor, plan: _Plan, force: bool, at: datetime | None) -> RunSummary:
    if plan.unchanged is not None:
        return plan.unchanged
    assert plan.features is not None and plan.outcome is not None
    with write_session(engine) as session:
        return store_run(
            session,
            actor=actor,
            version_id=plan.version_id,
            kind="scheduled",
            period_key=plan.period.key,
            period=plan.period,
            features=plan.features,
            predictions=plan.predictions,
            outcome=plan.outcome,
            force=force,
            at=at,
        )


def existing_run(session: Session, version_id: int, period_key: str) -> DriftRun | None:
    return session.execute(
        select(DriftRun).where(
            col(DriftRun.model_version_id) == version_id, col(DriftRun.period_key) == period_key
        )
    ).scalar_one_or_none()


def _unchanged(run: DriftRun, rows: int, profile_id: int | None) -> bool:
    return run.current_rows == rows and profile_id is not None and run.profile_id == profile_id


def _compute_window(
    session: Session,
    version_id: int,
    period: Period,
    features: ProfileHandle,
    predictions: ProfileHandle | str | None,
) -> DriftOutcome:
    """One pass over the period's predictions, binned against the feature profile and, when
    the predictions have their own (baseline) profile, against that too."""
    main = WindowAccumulator(features.profile)
    extra = WindowAccumulator(predictions.profile) if isinstance(predictions, ProfileHandle) else None
    for chunk in sources.window_chunks(session, version_id, period):
        main.add(chunk)
        if extra is not None:
            extra.add(chunk)
    outcome = compare(main, _raw_values(session, version_id, period))
    if extra is not None:
        assert isinstance(predictions, ProfileHandle)
        for column in compare(extra).columns:
            column.stats["reference"] = predictions.description
            outcome.columns.append(column)
    elif isinstance(predictions, str):
        outcome.columns.extend(
            ColumnResult(column=c, role="prediction", kind="numeric", reason=predictions)
            for c in sources.PREDICTION_COLUMNS[:1]
        )
    return outcome


def _raw_values(session: Session, version_id: int, period: Period) -> RawValues:
    """Reads one numeric column's raw values from the training data and the period's log: the
    second pass for a column whose binned distance is too close to the threshold to decide."""

    def read(column: str) -> tuple[np.ndarray, np.ndarray] | None:
        _, version = model_and_version(session, version_id)
        frame = sources.training_reference(session, version).frame
        if column not in frame:
            return None
        current = [
            finite_values(chunk[column])[0]
            for chunk in sources.window_chunks(session, version_id, period)
            if column in chunk
        ]
        return finite_values(frame[column])[0], np.concatenate(current) if current else np.empty(0)

    return read


# --- storing ---------------------------------------------------------------------------------


def store_run(
    session: Session,
    *,
    actor: Actor,
    version_id: int,
    kind: str,
    period_key: str,
    period: Period | None,
    features: ProfileHandle,
    predictions: ProfileHandle | str | None,
    outcome: DriftOutcome,
    force: bool = False,
    source_label: str = "",
    params: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> RunSummary:
    """Write a run, its per-column results and the audit event in the caller's transaction.

    Idempotent per (version, period key): see the module docstring.
    """
    model, version = model_and_version(session, version_id)
    require(session, actor, PERMISSION, business_unit=model.business_unit)
    profile_id = save_profile(session, actor=actor, handle=features, model_id=saved_id(model), at=at)
    if isinstance(predictions, ProfileHandle):
        save_profile(session, actor=actor, handle=predictions, model_id=saved_id(model), at=at)
    existing = existing_run(session, version_id, period_key)
    if existing is not None and not force and _unchanged(existing, outcome.current_rows, profile_id):
        return summarise(session, existing, "unchanged")
    before = _run_audit_view(existing) if existing is not None else None
    run = existing or DriftRun(model_id=saved_id(model), model_version_id=version_id, period_key=period_key)
    _fill_run(
        run,
        kind=kind,
        period=period,
        source_label=source_label,
        profile_id=profile_id,
        reference=features.description,
        outcome=outcome,
        actor=actor,
        params=params,
        at=at,
    )
    session.add(run)
    session.flush()
    if existing is not None:
        session.execute(delete(DriftFeatureResult).where(col(DriftFeatureResult.run_id) == run.id))
    if outcome.columns:
        session.execute(insert(DriftFeatureResult), [_result_row(saved_id(run), c) for c in outcome.columns])
    summary = summarise(session, run, "replaced" if existing is not None else "created")
    audit.record(
        session,
        actor=actor,
        action=events.DRIFT_RUN_REPLACED if existing is not None else events.DRIFT_RUN,
        object_id=run.id,
        model_id=model.id,
        before=before,
        after=_run_audit_view(run) | {"version": version.version},
    )
    return summary


def _fill_run(
    run: DriftRun,
    *,
    kind: str,
    period: Period | None,
    source_label: str,
    profile_id: int,
    reference: str,
    outcome: DriftOutcome,
    actor: Actor,
    params: dict[str, Any] | None,
    at: datetime | None,
) -> None:
    features = outcome.features()
    run.kind = kind
    run.period_start = period.start if period else None
    run.period_end = period.end if period else None
    run.source_label = source_label[:300]
    run.profile_id = profile_id
    run.reference_description = reference[:500]
    run.reference_rows = outcome.reference_rows
    run.current_rows = outcome.current_rows
    run.n_columns = len(features)
    run.n_computed = outcome.n_computed
    run.n_drifted = outcome.n_drifted
    run.drift_share = outcome.drift_share
    run.dataset_drift = outcome.dataset_drift
    run.prediction_drifted = outcome.prediction_drifted
    run.status = outcome.status
    run.status_note = outcome.status_note()[:500]
    run.engine = ENGINE_NAME
    run.params = {**ENGINE_PARAMS, **(params or {})}
    run.report_path = ""
    run.report_rows = 0
    run.created_by_id = actor.id
    run.created_at = at or clock.now()


def _result_row(run_id: int, column: ColumnResult) -> dict[str, Any]:
    return dict(
        run_id=run_id,
        column_name=column.column[:200],
        role=column.role,
        kind=column.kind,
        test=column.test,
        statistic=column.statistic,
        score=_finite(column.score),
        p_value=_finite(column.p_value),
        threshold=column.threshold,
        drifted=column.drifted,
        not_computed_reason=column.reason,
        reference_rows=column.reference_rows,
        current_rows=column.current_rows,
        reference_missing=column.reference_missing,
        current_missing=column.current_missing,
        stats=json_safe(column.stats),
        histogram=json_safe(column.histogram),
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def json_safe(value: Any) -> Any:
    """Plain JSON: non-finite floats become None (PostgreSQL's JSON refuses NaN), numpy scalars Python."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _run_audit_view(run: DriftRun) -> dict[str, Any]:
    return {
        "model_version_id": run.model_version_id,
        "kind": run.kind,
        "period_key": run.period_key,
        "status": run.status,
        "drift_share": run.drift_share,
        "n_drifted": run.n_drifted,
        "n_computed": run.n_computed,
        "current_rows": run.current_rows,
        "profile_id": run.profile_id,
    }


def summarise(session: Session, run: DriftRun, outcome: str) -> RunSummary:
    model, version = model_and_version(session, run.model_version_id)
    drifted = (
        session.execute(
            select(col(DriftFeatureResult.column_name))
            .where(
                col(DriftFeatureResult.run_id) == run.id,
                col(DriftFeatureResult.drifted).is_(True),
                col(DriftFeatureResult.role) == "feature",
            )
            .order_by(col(DriftFeatureResult.column_name))
        )
        .scalars()
        .all()
    )
    return RunSummary(
        id=saved_id(run),
        model_id=saved_id(model),
        model_name=model.name,
        version_id=saved_id(version),
        version=version.version,
        kind=run.kind,
        period_key=run.period_key,
        period_label=period_label(run),
        status=run.status,
        status_note=run.status_note,
        drift_share=run.drift_share,
        n_drifted=run.n_drifted,
        n_computed=run.n_computed,
        current_rows=run.current_rows,
        prediction_drifted=run.prediction_drifted,
        drifted_features=tuple(drifted),
        outcome=outcome,
    )


def period_label(run: DriftRun) -> str:
    if run.kind == "adhoc":
        return f"upload {run.source_label}" if run.source_label else "uploaded batch"
    try:
        return Period.parse_key(run.period_key).label
    except ValueError:
        return run.period_key
