"""Pointing a version at logs that already live elsewhere, and keeping its daily figures.

``attach_source`` checks a location and a column mapping against what the files hold (every
named column exists, times and predictions read, request id and time identify a row, every
registered feature is mapped), records it and reads the daily figures (``prediction_daily``)
from it, in one transaction with its audit event. ``sync_source`` reads the daily figures again
(new files, new labels: run it from cron); ``detach_source`` removes the pointer. Drift,
explanations, labelling and gates read such a version's rows through ``core.logstore.reads``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, select
from sqlmodel import Session, col

from core import audit, clock, events
from core.access import Actor, require
from core.db.models import LogFile, LogSource, Model, ModelVersion, PredictionDaily
from core.db.models.registry import CLASSIFIER_TASKS
from core.errors import InvalidInput, NotFound
from core.logstore import external, query, reads
from core.logstore.external import ColumnMapping
from core.logstore.query import quote


@dataclass(frozen=True)
class SourceSummary:
    """What a source holds, as read when it was attached or synced."""

    model_version_id: int
    location: str
    mapping: dict[str, Any]
    rows: int
    days: int
    labelled: int
    first_day: date | None
    last_day: date | None
    synced_at: datetime | None
    kind: str = "parquet"

    def as_json(self) -> dict[str, Any]:
        return {
            "model_version_id": self.model_version_id,
            "kind": self.kind,
            "location": self.location,
            "mapping": self.mapping,
            "rows": self.rows,
            "days": self.days,
            "labelled": self.labelled,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "synced_at": self.synced_at.isoformat() if self.synced_at else None,
        }


def _version(session: Session, version_id: int) -> tuple[ModelVersion, Model]:
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"No model version with id {version_id}.")
    model = session.get(Model, version.model_id)
    assert model is not None
    return version, model


def _classes(version: ModelVersion, model: Model) -> tuple[str, ...]:
    return tuple(version.class_names or ()) if model.task == "multiclass_classification" else ()


def check_mapping(
    location: str, mapping: ColumnMapping, *, version: ModelVersion, model: Model, kind: str = "parquet"
) -> tuple[ColumnMapping, dict[str, Any]]:
    """The mapping completed (registered features found under their own names) and what the
    location holds; InvalidInput naming every problem otherwise."""
    label = f"{model.name} v{version.version}"
    location = location.strip()
    if not location:
        raise InvalidInput(
            "log source: give the location of the Parquet files (a path, directory, glob or URL)."
        )
    missing_roles = [role for role in external.REQUIRED if not getattr(mapping, role).strip()]
    if missing_roles:
        raise InvalidInput(f"log source: name the column holding {', '.join(missing_roles)}.")
    con = query.connect()
    try:
        external.raw_relation(con, location, kind=kind)
        available = external.columns(con)
        features = dict(mapping.features or {})
        registered = list(version.feature_names or ())
        for feature in registered:
            if feature not in features and feature in available:
                features[feature] = feature
        unknown_features = [f for f in features if registered and f not in registered]
        if unknown_features:
            raise InvalidInput(
                f"log source: {', '.join(unknown_features)} is not a feature {label} was registered with "
                f"({', '.join(registered)})."
            )
        unmapped = [f for f in registered if f not in features]
        if unmapped:
            raise InvalidInput(
                f"log source: no column holds {label}'s feature(s) {', '.join(unmapped)}; map each with "
                f"FEATURE=COLUMN (the files hold: {', '.join(available)})."
            )
        complete = ColumnMapping(
            ts=mapping.ts.strip(),
            request_id=mapping.request_id.strip(),
            prediction=mapping.prediction.strip(),
            score=mapping.score.strip(),
            label=mapping.label.strip(),
            features=features,
        )
        named = {
            **{role: getattr(complete, role) for role in external.ROLES if getattr(complete, role)},
            **{f"feature {f}": c for f, c in features.items()},
        }
        absent = [f"{what} '{column}'" for what, column in named.items() if column not in available]
        if absent:
            raise InvalidInput(
                f"log source '{location}' has no column for {', '.join(absent)}; its columns: "
                f"{', '.join(available)}."
            )
        shaped = external.shaped_sql(complete, classes=_classes(version, model))
        try:
            (rows, bad_ts, bad_prediction, distinct, labelled, first, last, days) = con.execute(
                f"""
                SELECT count(*), count(*) FILTER (WHERE ts IS NULL),
                       count(*) FILTER (WHERE prediction IS NULL OR isnan(prediction)),
                       count(DISTINCT row_id), count(label), min(ts), max(ts),
                       count(DISTINCT CAST(ts AS DATE))
                FROM ({shaped})
                """
            ).fetchone()
        except Exception as exc:  # DuckDB conversion errors name the value that does not read
            raise InvalidInput(
                f"log source '{location}': a mapped column does not read as expected: {exc}"
            ) from exc
        problems = []
        if rows == 0:
            problems.append("it holds no rows")
        if bad_ts:
            problems.append(f"{bad_ts} row(s) have no time in column {quote(complete.ts)}")
        if bad_prediction:
            what = "a class of " + label if _classes(version, model) else "a number"
            problems.append(
                f"{bad_prediction} row(s) have no prediction ({what}) in column {quote(complete.prediction)}"
            )
        if distinct != rows:
            problems.append(
                f"{rows - distinct} row(s) repeat another row's request id and time: request id "
                f"({quote(complete.request_id)}) and time must identify a prediction"
            )
        if problems:
            raise InvalidInput(f"log source '{location}' for {label}: " + "; ".join(problems) + ".")
        found = {
            "rows": int(rows),
            "labelled": int(labelled),
            "days": int(days),
            "first_day": first.date().isoformat() if first is not None else None,
            "last_day": last.date().isoformat() if last is not None else None,
        }
        return complete, found
    finally:
        con.close()


def attach_source(
    session: Session,
    *,
    actor: Actor,
    model_version_id: int,
    location: str,
    mapping: ColumnMapping,
    kind: str = "auto",
) -> SourceSummary:
    """Read the version's prediction logs at ``location`` from now on (nothing is copied), after
    checking the mapping against the files, and read its daily figures from them."""
    version, model = _version(session, model_version_id)
    require(session, actor, "predictions.log", business_unit=model.business_unit)
    stored = session.execute(
        select(col(LogFile.id)).where(col(LogFile.model_version_id) == model_version_id).limit(1)
    ).first()
    if stored is not None:
        raise InvalidInput(
            f"{model.name} v{version.version} already has predictions in Steward's log store; a version reads its "
            "logs from one place. Register a new version for the logs kept elsewhere."
        )
    kind = external.kind_of(location.strip(), kind)
    complete, found = check_mapping(location, mapping, version=version, model=model, kind=kind)
    source = session.get(LogSource, model_version_id)
    before = {"location": source.location, "mapping": source.mapping} if source is not None else None
    source = source or LogSource(model_version_id=model_version_id, location=location.strip())
    source.kind = kind
    source.location = location.strip()
    source.mapping = complete.as_json()
    source.created_at = clock.now()
    source.created_by_id = actor.id
    session.add(source)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.LOG_SOURCE_ATTACHED,
        object_id=model_version_id,
        model_id=model.id,
        before=before,
        after={"kind": kind, "location": source.location, "mapping": source.mapping} | found,
    )
    return _sync(session, actor=actor, source=source, model=model)


def sync_source(session: Session, *, actor: Actor, model_version_id: int) -> SourceSummary:
    """Read the version's daily figures from its source again (new files, new labels)."""
    version, model = _version(session, model_version_id)
    require(session, actor, "predictions.log", business_unit=model.business_unit)
    source = session.get(LogSource, model_version_id)
    if source is None:
        raise InvalidInput(f"{model.name} v{version.version} reads no log source; attach one first.")
    return _sync(session, actor=actor, source=source, model=model)


def _sync(session: Session, *, actor: Actor, source: LogSource, model: Model) -> SourceSummary:
    version_id = source.model_version_id
    daily = reads.daily_aggregates(session, version_id)
    session.execute(
        delete(PredictionDaily).where(col(PredictionDaily.model_version_id) == version_id),
        execution_options={"synchronize_session": False},
    )
    classifier = model.task in CLASSIFIER_TASKS
    for agg in daily.itertuples(index=False):
        session.add(
            PredictionDaily(
                model_version_id=version_id,
                day=agg.day,
                n=int(agg.n),
                pred_sum=float(agg.pred_sum or 0.0),
                score_sum=float(agg.score_sum),
                score_hist=[int(v) for v in agg.score_hist],
                n_labelled=int(agg.n_labelled),
                label_sum=float(agg.label_sum),
                n_correct=int(agg.n_equal) if classifier else 0,
                abs_err_sum=float(agg.abs_err_sum),
                sq_err_sum=float(agg.sq_err_sum),
                last_ts=_utc(agg.last_ts),
            )
        )
    rows = int(daily["n"].sum()) if len(daily) else 0
    labelled = int(daily["n_labelled"].sum()) if len(daily) else 0
    source.synced_at = clock.now()
    source.synced_rows = rows
    session.add(source)
    session.flush()
    summary = SourceSummary(
        model_version_id=version_id,
        location=source.location,
        mapping=dict(source.mapping),
        rows=rows,
        days=len(daily),
        labelled=labelled,
        first_day=min(daily["day"]) if len(daily) else None,
        last_day=max(daily["day"]) if len(daily) else None,
        synced_at=source.synced_at,
        kind=source.kind,
    )
    audit.record(
        session,
        actor=actor,
        action=events.LOG_SOURCE_SYNCED,
        object_id=version_id,
        model_id=model.id,
        after={
            k: v
            for k, v in summary.as_json().items()
            if k in ("location", "rows", "days", "labelled", "first_day", "last_day")
        },
    )
    return summary


def _utc(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def detach_source(session: Session, *, actor: Actor, model_version_id: int) -> None:
    """Stop reading the version's logs at its source. Its daily figures stay (as retention keeps
    aggregates); drift, explanations and labelling then find no rows for it."""
    version, model = _version(session, model_version_id)
    require(session, actor, "predictions.log", business_unit=model.business_unit)
    source = session.get(LogSource, model_version_id)
    if source is None:
        raise InvalidInput(f"{model.name} v{version.version} reads no log source.")
    before = {"location": source.location, "mapping": source.mapping}
    session.delete(source)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.LOG_SOURCE_DETACHED,
        object_id=model_version_id,
        model_id=model.id,
        before=before,
    )


def sources(session: Session) -> list[LogSource]:
    return list(session.execute(select(LogSource).order_by(col(LogSource.model_version_id))).scalars())


def summary_of(session: Session, model_version_id: int) -> SourceSummary | None:
    """The version's source and its daily figures as last read; None without one."""
    source = session.get(LogSource, model_version_id)
    if source is None:
        return None
    days = (
        session.execute(
            select(PredictionDaily).where(col(PredictionDaily.model_version_id) == model_version_id)
        )
        .scalars()
        .all()
    )
    return SourceSummary(
        model_version_id=model_version_id,
        location=source.location,
        mapping=dict(source.mapping),
        rows=sum(d.n for d in days),
        days=len(days),
        labelled=sum(d.n_labelled for d in days),
        first_day=min((d.day for d in days), default=None),
        last_day=max((d.day for d in days), default=None),
        synced_at=source.synced_at,
        kind=source.kind,
    )


def label_of(session: Session, model_version_id: int) -> tuple[str, int]:
    """(model name, version number) of a version."""
    version, model = _version(session, model_version_id)
    return model.name, version.version
