"""DuckDB over the store's Parquet files: the one place that opens DuckDB.

Every read names its files from the registry's manifest (``log_file``), never by listing the
store, so a file being written by another batch, or deleted by retention, is never half-read.
Queries return aggregates (counts and sums per period or bin) or bounded row sets; the drift
window is streamed as Arrow record batches of a few columns, never decoded row by row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
from sqlalchemy import select
from sqlmodel import Session, col

from core.db.models import LogFile
from core.logstore.store import Store, open_store

BASE_COLUMNS = ("row_id", "ts", "request_id", "prediction", "score", "label")


def connect() -> Any:
    """A fresh in-memory DuckDB connection (two threads: the machine is shared)."""
    # DuckDB is imported here only: a heavy extension module that only log-store reads need.
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET threads = 2")
    con.execute("SET TimeZone = 'UTC'")
    return con


def manifest(
    session: Session,
    version_ids: Sequence[int],
    first: date | None = None,
    last: date | None = None,
) -> list[LogFile]:
    """The manifest rows of the versions' files, optionally of days ``first``..``last``."""
    query = select(LogFile).where(col(LogFile.model_version_id).in_(list(version_ids)))
    if first is not None:
        query = query.where(col(LogFile.day) >= first)
    if last is not None:
        query = query.where(col(LogFile.day) <= last)
    return list(session.execute(query.order_by(col(LogFile.day), col(LogFile.id))).scalars())


def view(con: Any, files: Sequence[LogFile], *, store: Store | None = None, name: str = "logs") -> bool:
    """Register the files as view ``name`` (columns united by name). False when there are none."""
    if not files:
        return False
    store = store or open_store()
    paths = [store.path(f.path) for f in files]
    if store.local:
        listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        con.execute(
            f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"
        )
    else:
        schemas = [pads.dataset(p, filesystem=store.filesystem, format="parquet").schema for p in paths[:1]]
        dataset = pads.dataset(
            paths, filesystem=store.filesystem, format="parquet", schema=_united(files, schemas)
        )
        con.register(name, dataset)
    return True


def _united(files: Sequence[LogFile], schemas: list[pa.Schema]) -> pa.Schema:
    """One schema over files whose feature columns may differ (a version without registered
    features): the union of the manifest's columns, in first-seen order."""
    seen: dict[str, pa.DataType] = {}
    first = schemas[0]
    for field in first:
        seen[field.name] = field.type
    for file in files:
        for column in file.columns:
            if column["name"] not in seen:
                seen[column["name"]] = pa.string() if column["type"] == "string" else pa.float64()
    return pa.schema(list(seen.items()))


def columns_of(files: Sequence[LogFile]) -> list[str]:
    """Feature columns of the files, in the order they were first logged."""
    names: dict[str, None] = {}
    for file in files:
        for column in file.columns:
            if column["name"] not in BASE_COLUMNS:
                names.setdefault(column["name"], None)
    return list(names)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def batches(
    con: Any, sql: str, params: Sequence[Any] = (), *, rows: int = 50_000
) -> Iterator[pa.RecordBatch]:
    """The query's result as Arrow record batches of at most ``rows`` rows."""
    # A relation streams its batches (a DB-API result would copy every row first).
    relation = con.sql(sql, params=list(params)) if params else con.sql(sql)
    stream = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader  # DuckDB 2 / 1.x
    reader = stream(rows)
    yield from reader


def checksums(con: Any, relation: str, *, by: str | None = None) -> dict[Any, tuple[int, str]]:
    """Row count and content checksum of a relation (per value of ``by`` when given).

    The checksum is the XOR of DuckDB's 64-bit hash of every whole row (as a struct of all its
    columns, ``by`` excluded): independent of the rows' order, changed by any changed, lost or
    added row. Row ids are unique, so no two rows cancel out."""
    columns = [
        r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE SELECT * FROM {relation})").fetchall()
    ]
    kept = [c for c in columns if c != by]
    packed = "struct_pack(" + ", ".join(f"{quote(c)} := {quote(c)}" for c in kept) + ")"
    group = f"{quote(by)}" if by else "NULL"
    result = con.execute(
        f"SELECT {group} AS k, count(*), bit_xor(hash({packed})) FROM {relation} GROUP BY ALL"
    ).fetchall()
    return {k: (int(n), f"{int(h):016x}") for k, n, h in result}
