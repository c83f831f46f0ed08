"""Reads of logged predictions from the store: counts from the manifest, aggregates and
bounded row sets from DuckDB over the version's Parquet files.

A version with a ``log_source`` (its logs read where they live, ``core.logstore.external``) is
read through the same queries over a view of that source: counts then come from DuckDB rather
than the manifest.

Days are whole UTC days; ``first``..``last`` inclusive.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session, col

from core.db.models import LogFile, LogSource, Model, ModelVersion, PredictionLog
from core.db.models.registry import SCORE_BINS
from core.logstore import external, query
from core.logstore.query import BASE_COLUMNS, quote

# --- a version whose logs are read in place -------------------------------------------------------


def _external_con(
    session: Session, source: LogSource, first: date | None = None, last: date | None = None
) -> Any:
    """A DuckDB connection with view ``logs`` over the source, limited to days ``first``..``last``."""
    version = session.get(ModelVersion, source.model_version_id)
    model = session.get(Model, version.model_id) if version is not None else None
    classes = (
        tuple(version.class_names or ())
        if version is not None and model is not None and model.task == "multiclass_classification"
        else ()
    )
    con = query.connect()
    try:
        external.view(con, session, source, classes, name="logs_all")
        conditions, values = [], []
        if first is not None:
            conditions.append("ts >= ?")
            values.append(datetime.combine(first, time(), tzinfo=UTC))
        if last is not None:
            conditions.append("ts < ?")
            values.append(datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC))
        where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        # A view cannot hold parameters: the limits are written as literals.
        for value in values:
            where = where.replace("?", f"TIMESTAMPTZ '{value.isoformat()}'", 1)
        con.execute(f"CREATE OR REPLACE VIEW logs AS SELECT * FROM logs_all{where}")
    except BaseException:
        con.close()
        raise
    return con


def count_rows(session: Session, version_id: int, first: date | None = None, last: date | None = None) -> int:
    """Logged predictions of the version on days ``first``..``last``: a sum over the manifest."""
    source = external.source_of(session, version_id)
    if source is not None:
        con = _external_con(session, source, first, last)
        try:
            return int(con.execute("SELECT count(*) FROM logs").fetchone()[0])
        finally:
            con.close()
    stmt = select(func.coalesce(func.sum(col(LogFile.rows)), 0)).where(
        col(LogFile.model_version_id) == version_id
    )
    if first is not None:
        stmt = stmt.where(col(LogFile.day) >= first)
    if last is not None:
        stmt = stmt.where(col(LogFile.day) <= last)
    return int(session.execute(stmt).scalar_one())


def has_rows(session: Session, version_id: int) -> bool:
    if external.source_of(session, version_id) is not None:
        return count_rows(session, version_id) > 0
    return (
        session.execute(
            select(col(LogFile.id)).where(col(LogFile.model_version_id) == version_id).limit(1)
        ).first()
        is not None
    )


def total_rows(session: Session) -> int:
    """Rows in the store (logs read in place at their source are not counted)."""
    return int(session.execute(select(func.coalesce(func.sum(col(LogFile.rows)), 0))).scalar_one())


def _empty_window(files: Sequence[LogFile]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in query.columns_of(files)})
    frame["prediction"] = pd.Series(dtype=float)
    frame["score"] = pd.Series(dtype=float)
    return frame


def window_frames(
    session: Session,
    version_id: int,
    first: date,
    last: date,
    *,
    chunk_rows: int = 50_000,
    stride: int = 1,
    columns: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """The version's predictions on days ``first``..``last`` as DataFrames of at most
    ``chunk_rows`` rows: the feature columns (or ``columns``) plus prediction and score.
    ``stride`` > 1 keeps rows whose id is a multiple of it, a deterministic sample."""
    source = external.source_of(session, version_id)
    if source is not None:
        features = list(columns) if columns is not None else external.feature_columns(source)
        con = _external_con(session, source, first, last)
    else:
        files = query.manifest(session, [version_id], first, last)
        if not files:
            return
        features = list(columns) if columns is not None else query.columns_of(files)
        con = query.connect()
        query.view(con, files)
    try:
        where = f"WHERE row_id % {int(stride)} = 0" if stride > 1 else ""
        selected = ", ".join([*(quote(c) for c in features), "prediction", "score"])
        for batch in query.batches(con, f"SELECT {selected} FROM logs {where}", rows=chunk_rows):
            frame = batch.to_pandas()
            frame["prediction"] = frame["prediction"].astype(float)
            frame["score"] = frame["score"].astype(float)
            yield frame
    finally:
        con.close()


def prediction_values(
    session: Session, version_id: int, first: date, last: date, *, max_rows: int = 2_000_000
) -> pd.DataFrame:
    """Prediction and score on days ``first``..``last``, sampled by row-id stride above ``max_rows``."""
    n = count_rows(session, version_id, first, last)
    stride = -(-n // max_rows) if n > max_rows else 1
    parts = list(window_frames(session, version_id, first, last, stride=stride, columns=()))
    if not parts:
        return pd.DataFrame({"prediction": np.array([], dtype=float), "score": np.array([], dtype=float)})
    return pd.concat(parts, ignore_index=True)


def daily_aggregates(session: Session, version_id: int) -> pd.DataFrame:
    """Per UTC day of the version's stored rows: n, pred_sum, score_sum, the score histogram
    (``SCORE_BINS`` bins over [0, 1]), n_labelled, label_sum, n_equal (prediction == label),
    abs_err_sum, sq_err_sum and last_ts, aggregated by DuckDB where the files are."""
    columns = [
        "day", "n", "pred_sum", "score_sum", "score_hist", "n_labelled", "label_sum", "n_equal",
        "abs_err_sum", "sq_err_sum", "last_ts",
    ]  # fmt: skip
    source = external.source_of(session, version_id)
    if source is not None:
        con = _external_con(session, source)
    else:
        files = query.manifest(session, [version_id])
        if not files:
            return pd.DataFrame(columns=columns)
        con = query.connect()
        query.view(con, files)
    try:
        bins = f"least(greatest(floor(score * {SCORE_BINS}), 0), {SCORE_BINS - 1})::INTEGER"
        hist = ", ".join(f"count(*) FILTER (WHERE {bins} = {b})" for b in range(SCORE_BINS))
        frame = con.execute(
            f"""
            SELECT CAST(ts AS DATE) AS day, count(*) AS n, sum(prediction) AS pred_sum,
                   coalesce(sum(score), 0) AS score_sum,
                   [{hist}] AS score_hist,
                   count(label) AS n_labelled, coalesce(sum(label), 0) AS label_sum,
                   count(*) FILTER (WHERE prediction = label) AS n_equal,
                   coalesce(sum(abs(prediction - label)), 0) AS abs_err_sum,
                   coalesce(sum((prediction - label) ^ 2), 0) AS sq_err_sum, max(ts) AS last_ts
            FROM logs GROUP BY ALL ORDER BY day
            """
        ).df()
    finally:
        con.close()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame[columns]


# --- bounded row reads (explanations, labelling, gates) ---------------------------------------------


def rows(
    session: Session,
    version_id: int,
    *,
    columns: Sequence[str] | None = ("row_id", "ts", "request_id", "score", "prediction", "label"),
    since: datetime | None = None,
    until: datetime | None = None,
    where: str = "",
    params: Sequence[Any] = (),
    newest_first: bool = False,
    limit: int | None = None,
) -> pd.DataFrame:
    """Stored rows of the version as a DataFrame of ``columns`` (missing feature columns come
    back as nulls; None: every feature, then the base columns), filtered on ts and an
    optional SQL condition, bounded by ``limit``."""
    source = external.source_of(session, version_id)
    if source is not None:
        features = external.feature_columns(source)
        con = _external_con(session, source)
    else:
        files = query.manifest(
            session,
            [version_id],
            since.date() if since is not None else None,
            until.date() if until is not None else None,
        )
        if newest_first and limit is not None and not where:
            files = _newest_files(files, limit)
        features = query.columns_of(files)
        if not files:
            return pd.DataFrame(
                {
                    c: pd.Series(dtype=object)
                    for c in (columns if columns is not None else [*features, *BASE_COLUMNS])
                }
            )
        con = query.connect()
        try:
            query.view(con, files)
        except BaseException:
            con.close()
            raise
    return _rows_of(
        con,
        columns=list(columns) if columns is not None else [*features, *BASE_COLUMNS],
        present=set(BASE_COLUMNS) | set(features),
        since=since,
        until=until,
        where=where,
        params=params,
        newest_first=newest_first,
        limit=limit,
    )


def _rows_of(
    con: Any,
    *,
    columns: Sequence[str],
    present: set[str],
    since: datetime | None,
    until: datetime | None,
    where: str,
    params: Sequence[Any],
    newest_first: bool,
    limit: int | None,
) -> pd.DataFrame:
    """Run the bounded row query on view ``logs`` of ``con`` (closed afterwards)."""
    selected = ", ".join(quote(c) if c in present else f"NULL AS {quote(c)}" for c in columns)
    conditions: list[str] = []
    values: list[Any] = []
    if since is not None:
        conditions.append("ts >= ?")
        values.append(since)
    if until is not None:
        conditions.append("ts < ?")
        values.append(until)
    if where:  # its placeholders come last, as its condition does
        conditions.append(where)
        values.extend(params)
    sql = f"SELECT {selected} FROM logs"
    if conditions:
        sql += " WHERE " + " AND ".join(f"({c})" for c in conditions)
    sql += " ORDER BY ts DESC, row_id DESC" if newest_first else " ORDER BY row_id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    try:
        frame = con.execute(sql, values).df()
    finally:
        con.close()
    if "ts" in frame.columns and len(frame):
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def _newest_files(files: Sequence[LogFile], limit: int) -> list[LogFile]:
    """The files of the newest days that together hold at least ``limit`` rows (whole days)."""
    by_day: dict[date, list[LogFile]] = {}
    for file in files:
        by_day.setdefault(file.day, []).append(file)
    chosen: list[LogFile] = []
    held = 0
    for day in sorted(by_day, reverse=True):
        chosen.extend(by_day[day])
        held += sum(f.rows for f in by_day[day])
        if held >= limit:
            break
    return chosen


def row(session: Session, version_id: int, row_id: int) -> dict[str, Any] | None:
    """One stored row by id, with its features as a dict; None when the store does not hold it."""
    source = external.source_of(session, version_id)
    if source is not None:
        con = _external_con(session, source)
        try:
            frame = con.execute("SELECT * FROM logs WHERE row_id = ?", [row_id]).df()
        finally:
            con.close()
        return _row_record(frame)
    files = (
        session.execute(
            select(LogFile).where(
                col(LogFile.model_version_id) == version_id,
                col(LogFile.first_row_id) <= row_id,
                col(LogFile.last_row_id) >= row_id,
            )
        )
        .scalars()
        .all()
    )
    if not files:
        return None
    con = query.connect()
    try:
        query.view(con, files)
        frame = con.execute("SELECT * FROM logs WHERE row_id = ?", [row_id]).df()
    finally:
        con.close()
    return _row_record(frame)


def _row_record(frame: pd.DataFrame) -> dict[str, Any] | None:
    if frame.empty:
        return None
    record = frame.iloc[0].to_dict()
    features = {
        k: (None if _missing(v) else (v.item() if isinstance(v, np.generic) else v))
        for k, v in record.items()
        if k not in BASE_COLUMNS
    }
    return {
        "id": int(record["row_id"]),
        "ts": pd.Timestamp(record["ts"]).tz_convert("UTC").to_pydatetime(),
        "request_id": record["request_id"],
        "features": features,
        "score": None if _missing(record["score"]) else float(record["score"]),
        "prediction": float(record["prediction"]),
        "label": None if _missing(record["label"]) else float(record["label"]),
    }


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def newest_ts(session: Session, version_id: int) -> datetime | None:
    """The newest logged prediction's time: read from the newest day's files only."""
    source = external.source_of(session, version_id)
    if source is not None:
        con = _external_con(session, source)
        try:
            newest = con.execute("SELECT max(ts) FROM logs").fetchone()[0]
        finally:
            con.close()
        return None if newest is None else pd.Timestamp(newest).tz_convert("UTC").to_pydatetime()
    last_day = session.execute(
        select(func.max(col(LogFile.day))).where(col(LogFile.model_version_id) == version_id)
    ).scalar_one_or_none()
    if last_day is None:
        return None
    files = query.manifest(session, [version_id], last_day, last_day)
    con = query.connect()
    try:
        query.view(con, files)
        newest = con.execute("SELECT max(ts) FROM logs").fetchone()[0]
    finally:
        con.close()
    return None if newest is None else pd.Timestamp(newest).tz_convert("UTC").to_pydatetime()


def sample_ids(session: Session, version_id: int) -> set[int]:
    """Row ids of the version kept in the registry (the labelled sample)."""
    return set(
        session.execute(
            select(col(PredictionLog.id)).where(col(PredictionLog.model_version_id) == version_id)
        ).scalars()
    )
