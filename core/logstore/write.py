"""The write path: validated predictions -> Parquet files by model, version and day + manifest.

Columnar end to end: the batch becomes one Arrow table (row ids, ts, request_id, prediction,
score, label, then the features under their own names), cut into one slice per UTC day,
each written as one zstd Parquet file whose sha256 and content checksum go into ``log_file``
in the caller's transaction. The files are written before the transaction commits: if it
rolls back, they stay unreferenced and no read ever sees them (reads name files from the
manifest only).

Rows that carry a label are also kept in the registry (``prediction_log``, with the same row
id): the labelled sample, which performance and labelling read and retention never deletes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import insert, select, update
from sqlmodel import Session, col

from core.db.models import LogFile, LogRowId, PredictionLog
from core.errors import InvalidInput
from core.logstore import query, reads
from core.logstore.store import Store, file_path, open_store

RESERVED = query.BASE_COLUMNS


@dataclass(frozen=True)
class Written:
    rows: int
    files: list[LogFile]
    first_row_id: int


def take_row_ids(session: Session, n: int) -> int:
    """Reserve ``n`` consecutive row ids; returns the first. The UPDATE holds the counter's row
    lock until the transaction ends, so concurrent batches get disjoint ranges."""
    next_id = session.execute(
        update(LogRowId)
        .where(col(LogRowId.id) == 1)
        .values(next_id=col(LogRowId.next_id) + n)
        .returning(col(LogRowId.next_id))
    ).scalar_one()
    return int(next_id) - n


def _feature_array(values: pd.Series) -> pa.Array:
    """A feature column as Arrow: numbers and booleans as they are, dates as ISO text (as the
    registry stored them), anything else as text."""
    if pd.api.types.is_datetime64_any_dtype(values):
        text = values.map(lambda v: None if pd.isna(v) else v.isoformat())
        return pa.array(text, type=pa.string(), from_pandas=True)
    if values.dtype.kind in "biuf":
        return pa.array(values, from_pandas=True)
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = None
    if array is not None and (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return array
    if array is not None and (pa.types.is_floating(array.type) or pa.types.is_integer(array.type)):
        return array
    if array is not None and (pa.types.is_boolean(array.type) or pa.types.is_null(array.type)):
        return array
    for value in values:
        if isinstance(value, bytes | bytearray):
            raise InvalidInput(
                f"feature column '{values.name}' holds binary data; features must be numbers, text or dates."
            )
    return pa.array(values.map(lambda v: None if v is None or v is pd.NA else str(v)), type=pa.string())


def prediction_table(
    *,
    first_row_id: int,
    ts: pd.Series,
    prediction: pd.Series,
    score: pd.Series,
    label: pd.Series,
    request_id: pd.Series,
    features: pd.DataFrame,
) -> pa.Table:
    """One Arrow table of a validated batch, in the store's column layout."""
    n = len(ts)
    clash = [c for c in features.columns if str(c) in RESERVED]
    if clash:
        raise InvalidInput(
            f"feature column(s) {', '.join(map(str, clash))} clash with the log's own columns."
        )
    utc = pd.DatetimeIndex(ts).tz_convert("UTC")
    arrays: dict[str, pa.Array] = {
        "row_id": pa.array(np.arange(first_row_id, first_row_id + n, dtype=np.int64)),
        "ts": pa.array(utc.as_unit("us"), type=pa.timestamp("us", tz="UTC")),
        "request_id": pa.array(request_id.astype(str).to_numpy(dtype=object), type=pa.string()),
        "prediction": pa.array(prediction.to_numpy(dtype=float)),
        "score": pa.array(score.to_numpy(dtype=float), from_pandas=True),
        "label": pa.array(label.to_numpy(dtype=float), from_pandas=True),
    }
    for name in features.columns:
        arrays[str(name)] = _feature_array(features[name].reset_index(drop=True))
    return pa.table(arrays)


def append(
    session: Session,
    *,
    model_id: int,
    version_id: int,
    table: pa.Table,
    source: str = "ingest",
    store: Store | None = None,
) -> list[LogFile]:
    """Write ``table`` (the store's layout, any row order) as one file per UTC day, and add
    their manifest rows. Returns them (flushed)."""
    if table.num_rows == 0:
        return []
    store = store or open_store()
    days = pc.cast(pc.cast(table["ts"], pa.timestamp("us", tz="UTC")).cast(pa.int64()), pa.int64())
    day_numbers = np.floor_divide(days.to_numpy(), 86_400_000_000)
    order = np.argsort(day_numbers, kind="stable")
    ordered = table.take(pa.array(order))
    sorted_days = day_numbers[order]
    starts = np.flatnonzero(np.r_[True, sorted_days[1:] != sorted_days[:-1]])
    ends = np.r_[starts[1:], sorted_days.size]
    sums = _partition_checksums(ordered, sorted_days)
    columns = [{"name": f.name, "type": _type_name(f.type)} for f in table.schema]
    files: list[LogFile] = []
    for start, end in zip(starts, ends, strict=True):
        day = date.fromordinal(date(1970, 1, 1).toordinal() + int(sorted_days[start]))
        part = ordered.slice(int(start), int(end - start))
        sink = pa.BufferOutputStream()
        pq.write_table(part, sink, compression="zstd")
        data = sink.getvalue()
        digest = hashlib.sha256(memoryview(data)).hexdigest()
        # Named by content: the same rows give the same name (a demo rebuilt is the same store), and
        # two registries sharing a store never overwrite each other's files (their row ids differ).
        relative = file_path(model_id, version_id, day, digest[:24])
        target = store.path(relative)
        store.filesystem.create_dir(target.rsplit("/", 1)[0], recursive=True)
        with store.filesystem.open_output_stream(target) as out:
            out.write(data)
        row_ids = part["row_id"]
        rows, checksum = sums[int(sorted_days[start])]
        assert rows == part.num_rows
        files.append(
            LogFile(
                model_id=model_id,
                model_version_id=version_id,
                day=day,
                path=relative,
                rows=part.num_rows,
                first_row_id=int(pc.min(row_ids).as_py()),
                last_row_id=int(pc.max(row_ids).as_py()),
                size_bytes=data.size,
                sha256=digest,
                checksum=checksum,
                columns=columns,
                source=source,
            )
        )
    session.add_all(files)
    session.flush()
    return files


def _type_name(kind: pa.DataType) -> str:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    return str(kind)


def _partition_checksums(table: pa.Table, day_numbers: np.ndarray) -> dict[int, tuple[int, str]]:
    con = query.connect()
    try:
        con.register("batch_rows", table.append_column("__day", pa.array(day_numbers)))
        return query.checksums(con, "batch_rows", by="__day")
    finally:
        con.close()


def keep_labelled_sample(session: Session, *, version_id: int, table: pa.Table) -> int:
    """Copy the rows that carry a label into ``prediction_log`` (same row ids): the labelled
    sample. Per-row work only for labelled rows, which are few."""
    labelled = table.filter(pc.is_valid(table["label"]))
    if labelled.num_rows == 0:
        return 0
    features = [c for c in labelled.column_names if c not in RESERVED]
    rows: list[dict[str, Any]] = []
    for record in labelled.to_pylist():
        rows.append(
            {
                "id": record["row_id"],
                "model_version_id": version_id,
                "ts": record["ts"],
                "request_id": record["request_id"],
                "features": {f: record[f] for f in features},
                "prediction": record["prediction"],
                "score": record["score"],
                "label": record["label"],
            }
        )
    for start in range(0, len(rows), 5000):
        session.execute(insert(PredictionLog), rows[start : start + 5000])
    return len(rows)


def log_validated(
    session: Session,
    *,
    model_id: int,
    version_id: int,
    ts: pd.Series,
    prediction: pd.Series,
    score: pd.Series,
    label: pd.Series,
    request_id: pd.Series,
    features: pd.DataFrame,
) -> Written:
    """Store a validated batch of one version: row ids, Parquet files, manifest, labelled sample."""
    first = take_row_ids(session, len(ts))
    table = prediction_table(
        first_row_id=first,
        ts=ts,
        prediction=prediction,
        score=score,
        label=label,
        request_id=request_id,
        features=features,
    )
    files = append(session, model_id=model_id, version_id=version_id, table=table)
    keep_labelled_sample(session, version_id=version_id, table=table)
    return Written(rows=table.num_rows, files=files, first_row_id=first)


def keep_in_sample(session: Session, *, version_id: int, row_ids: list[int]) -> int:
    """Copy the stored rows ``row_ids`` of the version into ``prediction_log`` unless already
    there (rows drawn into a labelling campaign). Returns how many were copied."""
    kept = set(
        session.execute(select(col(PredictionLog.id)).where(col(PredictionLog.id).in_(row_ids))).scalars()
    )
    missing = [i for i in row_ids if i not in kept]
    if not missing:
        return 0
    frame = reads.rows(
        session,
        version_id,
        columns=None,
        where="list_contains(?::BIGINT[], row_id)",
        params=[missing],
    )
    if len(frame) != len(missing):
        raise InvalidInput(f"{len(missing) - len(frame)} drawn prediction(s) are no longer in the log store.")
    features = [c for c in frame.columns if c not in RESERVED]
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    session.execute(
        insert(PredictionLog),
        [
            {
                "id": int(r["row_id"]),
                "model_version_id": version_id,
                "ts": pd.Timestamp(r["ts"]).tz_convert("UTC").to_pydatetime(),
                "request_id": r["request_id"],
                "features": {f: _plain(r[f]) for f in features},
                "prediction": float(r["prediction"]),
                "score": None if r["score"] is None else float(r["score"]),
                "label": None if r["label"] is None else float(r["label"]),
            }
            for r in records
        ],
    )
    return len(records)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
