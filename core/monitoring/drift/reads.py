"""Read models of stored drift runs, for pages, the CLI, health and promotion gates.

Everything here reads the drift tables only (a few rows per model and period), never the
prediction log, so pages stay fast however large the log grows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, select
from sqlmodel import Session, col

from core.db.models import DriftFeatureResult, DriftRun, Model, ModelVersion, Person
from core.db.types import saved_id
from core.errors import NotFound
from core.monitoring.drift.runs import period_label

LATEST_COLUMNS = [
    "model_id",
    "version_id",
    "run_id",
    "run_at",
    "period",
    "period_start",
    "period_end",
    "drift_share",
    "n_drifted",
    "n_computed",
    "status",
    "prediction_drifted",
    "drifted_features",
]


def latest_drift_by_model(session: Session) -> pd.DataFrame:
    """The latest scheduled drift run of each model (latest period; newest version on a tie).

    Columns: model_id, version_id, run_id, run_at, period, period_start, period_end,
    drift_share (None when nothing could be compared), n_drifted, n_computed, status (ok,
    drift, no_data, not_computed), prediction_drifted, drifted_features (list of names).
    """
    latest_end = (
        select(col(DriftRun.model_id), func.max(col(DriftRun.period_end)).label("end"))
        .where(col(DriftRun.kind) == "scheduled")
        .group_by(col(DriftRun.model_id))
        .subquery()
    )
    runs = (
        session.execute(
            select(DriftRun)
            .join(
                latest_end,
                and_(
                    col(DriftRun.model_id) == latest_end.c.model_id,
                    col(DriftRun.period_end) == latest_end.c.end,
                ),
            )
            .where(col(DriftRun.kind) == "scheduled")
            .order_by(col(DriftRun.model_id), col(DriftRun.model_version_id).desc())
        )
        .scalars()
        .all()
    )
    chosen: dict[int, DriftRun] = {}
    for run in runs:
        chosen.setdefault(run.model_id, run)
    drifted = _drifted_features(session, [saved_id(r) for r in chosen.values()])
    rows = [
        {
            "model_id": r.model_id,
            "version_id": r.model_version_id,
            "run_id": r.id,
            "run_at": r.created_at,
            "period": period_label(r),
            "period_start": r.period_start,
            "period_end": r.period_end,
            "drift_share": r.drift_share,
            "n_drifted": r.n_drifted,
            "n_computed": r.n_computed,
            "status": r.status,
            "prediction_drifted": r.prediction_drifted,
            "drifted_features": drifted.get(saved_id(r), []),
        }
        for r in chosen.values()
    ]
    return pd.DataFrame(rows, columns=LATEST_COLUMNS)


def _drifted_features(session: Session, run_ids: list[int]) -> dict[int, list[str]]:
    if not run_ids:
        return {}
    rows = session.execute(
        select(
            col(DriftFeatureResult.run_id), col(DriftFeatureResult.column_name), col(DriftFeatureResult.score)
        )
        .where(
            col(DriftFeatureResult.run_id).in_(run_ids),
            col(DriftFeatureResult.drifted).is_(True),
            col(DriftFeatureResult.role) == "feature",
        )
        .order_by(col(DriftFeatureResult.run_id), col(DriftFeatureResult.column_name))
    ).all()
    out: dict[int, list[str]] = {}
    for run_id, name, _ in rows:
        out.setdefault(run_id, []).append(name)
    return out


def first_to_look_at(portfolio: pd.DataFrame, model_ids: Iterable[int]) -> int | None:
    """Of ``model_ids``, the model ``portfolio_drift`` lists first (the one that most needs a
    look), else the first of them; None when there are none."""
    wanted = [int(m) for m in model_ids]
    listed = [int(m) for m in portfolio["model_id"]] if not portfolio.empty else []
    return next((m for m in listed if m in wanted), wanted[0] if wanted else None)


def first_run_with_results(runs: pd.DataFrame) -> int | None:
    """Of ``drift_runs`` rows (newest first), the newest run that compared at least one column:
    the period a page opens on. A period still running (or without predictions) compares nothing
    and is a poor first view. None when no run has results."""
    if runs.empty:
        return None
    useful = runs[runs["n_computed"].fillna(0) > 0]
    return int(useful["run_id"].iloc[0]) if not useful.empty else None


def portfolio_drift(session: Session) -> pd.DataFrame:
    """One row per model in production or with drift runs: its latest scheduled run in words."""
    latest = latest_drift_by_model(session).set_index("model_id")
    models = session.execute(
        select(col(Model.id), col(Model.name), col(Model.business_unit), col(Model.status)).order_by(
            col(Model.name)
        )
    ).all()
    production: dict[int, int] = {
        model_id: version
        for model_id, version in session.execute(
            select(col(ModelVersion.model_id), col(ModelVersion.version)).where(
                col(ModelVersion.stage) == "production"
            )
        )
    }
    versions: dict[int, int] = {
        version_id: number
        for version_id, number in session.execute(select(col(ModelVersion.id), col(ModelVersion.version)))
    }
    rows = []
    for model_id, name, unit, status in models:
        if model_id not in latest.index and model_id not in production:
            continue
        row: dict[str, Any] = {
            "model_id": model_id,
            "model": name,
            "business_unit": unit,
            "model_status": status,
            "production_version": production.get(model_id),
        }
        if model_id in latest.index:
            run = latest.loc[model_id]
            row.update(
                run_id=int(run["run_id"]),
                version=versions.get(int(run["version_id"])),
                period=run["period"],
                drift_share=run["drift_share"],
                n_drifted=int(run["n_drifted"]),
                n_computed=int(run["n_computed"]),
                status=run["status"],
                prediction_drifted=run["prediction_drifted"],
                drifted_features=", ".join(run["drifted_features"]),
                run_at=run["run_at"],
            )
        else:
            row.update(
                run_id=None,
                version=None,
                period="",
                drift_share=None,
                n_drifted=0,
                n_computed=0,
                status="never_run",
                prediction_drifted=None,
                drifted_features="",
                run_at=None,
            )
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(
            columns=[
                "model_id",
                "model",
                "business_unit",
                "model_status",
                "production_version",
                "run_id",
                "version",
                "period",
                "drift_share",
                "n_drifted",
                "n_computed",
                "status",
                "prediction_drifted",
                "drifted_features",
                "run_at",
            ]
        )
    order = {"drift": 0, "not_computed": 1, "no_data": 2, "never_run": 3, "ok": 4}
    frame["_order"] = frame["status"].map(order)
    return (
        frame.sort_values(["_order", "drift_share", "model"], ascending=[True, False, True])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def drift_history(session: Session, model_id: int) -> pd.DataFrame:
    """Scheduled runs of the model in period order: the data of the drift-share-over-time chart."""
    rows = session.execute(
        select(DriftRun, col(ModelVersion.version))
        .join(ModelVersion, col(ModelVersion.id) == col(DriftRun.model_version_id))
        .where(col(DriftRun.model_id) == model_id, col(DriftRun.kind) == "scheduled")
        .order_by(col(DriftRun.period_start), col(ModelVersion.version))
    ).all()
    columns = [
        "run_id",
        "version",
        "period",
        "period_start",
        "period_end",
        "drift_share",
        "n_drifted",
        "n_computed",
        "status",
        "prediction_drifted",
        "current_rows",
        "run_at",
    ]
    return pd.DataFrame(
        [
            {
                "run_id": r.id,
                "version": v,
                "period": period_label(r),
                "period_start": r.period_start,
                "period_end": r.period_end,
                "drift_share": r.drift_share,
                "n_drifted": r.n_drifted,
                "n_computed": r.n_computed,
                "status": r.status,
                "prediction_drifted": r.prediction_drifted,
                "current_rows": r.current_rows,
                "run_at": r.created_at,
            }
            for r, v in rows
        ],
        columns=columns,
    )


def drift_runs(session: Session, model_id: int) -> pd.DataFrame:
    """Every run of the model, newest period first (scheduled, then uploads by time): the run picker."""
    rows = session.execute(
        select(DriftRun, col(ModelVersion.version))
        .join(ModelVersion, col(ModelVersion.id) == col(DriftRun.model_version_id))
        .where(col(DriftRun.model_id) == model_id)
    ).all()
    columns = [
        "run_id",
        "kind",
        "version",
        "label",
        "period_key",
        "period_start",
        "status",
        "drift_share",
        "n_drifted",
        "n_computed",
        "current_rows",
        "run_at",
    ]
    frame = pd.DataFrame(
        [
            {
                "run_id": r.id,
                "kind": r.kind,
                "version": v,
                "label": period_label(r),
                "period_key": r.period_key,
                "period_start": r.period_start,
                "status": r.status,
                "drift_share": r.drift_share,
                "n_drifted": r.n_drifted,
                "n_computed": r.n_computed,
                "current_rows": r.current_rows,
                "run_at": r.created_at,
            }
            for r, v in rows
        ],
        columns=columns,
    )
    if frame.empty:
        return frame
    frame["_sort"] = frame["period_start"].fillna(frame["run_at"])
    return (
        frame.sort_values(["_sort", "version"], ascending=False).drop(columns="_sort").reset_index(drop=True)
    )


@dataclass(frozen=True)
class RunDetail:
    """One stored run with its per-column results (drifted features first)."""

    id: int
    model_id: int
    model_name: str
    business_unit: str
    version_id: int
    version: int
    kind: str
    label: str
    period_start: datetime | None
    period_end: datetime | None
    source_label: str
    reference_description: str
    reference_rows: int
    current_rows: int
    n_columns: int
    n_computed: int
    n_drifted: int
    drift_share: float | None
    dataset_drift: bool
    prediction_drifted: bool | None
    status: str
    status_note: str
    engine: str
    params: dict[str, Any]
    report_path: str
    report_rows: int
    created_at: datetime
    created_by: str
    columns: pd.DataFrame
    histograms: dict[str, dict[str, Any]]


RESULT_COLUMNS = [
    "column",
    "role",
    "kind",
    "test",
    "statistic",
    "score",
    "p_value",
    "threshold",
    "drifted",
    "reason",
    "reference_rows",
    "current_rows",
    "reference_missing",
    "current_missing",
    "stats",
]


def run_detail(session: Session, run_id: int) -> RunDetail:
    """The run with its results; columns sorted: drifted features, other features, predictions, not computed last."""
    run = session.get(DriftRun, run_id)
    if run is None:
        raise NotFound(f"No drift run with id {run_id}.")
    model = session.get(Model, run.model_id)
    version = session.get(ModelVersion, run.model_version_id)
    assert model is not None and version is not None
    person = session.get(Person, run.created_by_id) if run.created_by_id else None
    results = (
        session.execute(select(DriftFeatureResult).where(col(DriftFeatureResult.run_id) == run_id))
        .scalars()
        .all()
    )
    frame = pd.DataFrame(
        [
            {
                "column": r.column_name,
                "role": r.role,
                "kind": r.kind,
                "test": r.test,
                "statistic": r.statistic,
                "score": r.score,
                "p_value": r.p_value,
                "threshold": r.threshold,
                "drifted": r.drifted,
                "reason": r.not_computed_reason,
                "reference_rows": r.reference_rows,
                "current_rows": r.current_rows,
                "reference_missing": r.reference_missing,
                "current_missing": r.current_missing,
                "stats": r.stats,
            }
            for r in results
        ],
        columns=RESULT_COLUMNS,
    )
    if not frame.empty:
        frame["_order"] = [
            (0 if role == "feature" else 1, 0 if d is True else 1 if d is False else 2)
            for role, d in zip(frame["role"], frame["drifted"], strict=True)
        ]
        frame = frame.sort_values(["_order", "column"]).drop(columns="_order").reset_index(drop=True)
    return RunDetail(
        id=saved_id(run),
        model_id=saved_id(model),
        model_name=model.name,
        business_unit=model.business_unit,
        version_id=saved_id(version),
        version=version.version,
        kind=run.kind,
        label=period_label(run),
        period_start=run.period_start,
        period_end=run.period_end,
        source_label=run.source_label,
        reference_description=run.reference_description,
        reference_rows=run.reference_rows,
        current_rows=run.current_rows,
        n_columns=run.n_columns,
        n_computed=run.n_computed,
        n_drifted=run.n_drifted,
        drift_share=run.drift_share,
        dataset_drift=run.dataset_drift,
        prediction_drifted=run.prediction_drifted,
        status=run.status,
        status_note=run.status_note,
        engine=run.engine,
        params=dict(run.params or {}),
        report_path=run.report_path,
        report_rows=run.report_rows,
        created_at=run.created_at,
        created_by=person.name if person else "",
        columns=frame,
        histograms={r.column_name: dict(r.histogram or {}) for r in results},
    )


def drift_model_choices(session: Session) -> pd.DataFrame:
    """Models the Drift page offers: those with a production version or a stored run, with
    whether their production version has a training dataset (the reference)."""
    models = session.execute(
        select(col(Model.id), col(Model.name), col(Model.business_unit), col(Model.status)).order_by(
            col(Model.name)
        )
    ).all()
    production = {
        m: (v, vid, ds)
        for m, v, vid, ds in session.execute(
            select(
                col(ModelVersion.model_id),
                col(ModelVersion.version),
                col(ModelVersion.id),
                func.coalesce(col(ModelVersion.reference_dataset_id), col(ModelVersion.training_dataset_id)),
            ).where(col(ModelVersion.stage) == "production")
        ).all()
    }
    with_runs = set(session.execute(select(col(DriftRun.model_id)).distinct()).scalars().all())
    rows = []
    for model_id, name, unit, status in models:
        if model_id not in production and model_id not in with_runs:
            continue
        version, version_id, dataset = production.get(model_id, (None, None, None))
        rows.append(
            {
                "model_id": model_id,
                "name": name,
                "business_unit": unit,
                "status": status,
                "production_version": version,
                "production_version_id": version_id,
                "has_reference": dataset is not None,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "model_id",
            "name",
            "business_unit",
            "status",
            "production_version",
            "production_version_id",
            "has_reference",
        ],
    )


def model_versions(session: Session, model_id: int) -> pd.DataFrame:
    """The model's versions with stage and whether each has a training dataset (upload targets)."""
    rows = session.execute(
        select(
            col(ModelVersion.id),
            col(ModelVersion.version),
            col(ModelVersion.stage),
            func.coalesce(col(ModelVersion.reference_dataset_id), col(ModelVersion.training_dataset_id)),
        )
        .where(col(ModelVersion.model_id) == model_id)
        .order_by(col(ModelVersion.version).desc())
    ).all()
    return pd.DataFrame(
        [{"version_id": i, "version": v, "stage": s, "has_reference": d is not None} for i, v, s, d in rows],
        columns=["version_id", "version", "stage", "has_reference"],
    )
