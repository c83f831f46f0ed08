"""Prediction logs read where they already live: a Parquet file, directory or glob, or a Delta table.

A version whose logs sit in a lake does not copy them into Steward's store: its ``log_source``
row names the location and which column is which, and every read of the version's logs
(``core.logstore.reads``) runs over a DuckDB view of that location shaped like the store's own
files: ``row_id, ts, request_id, prediction, score, label`` and the version's features under their
registered names. Nothing is copied; only aggregates and bounded row sets leave DuckDB.

Row ids of such rows are derived from the row's request id and time (an md5, in the upper half of
the 64-bit range that the store's counter never reaches), so a row drawn for labelling keeps one
id in the labelled sample. Labels a person gives in Steward are read back over the source's
``label`` column where the source has none.

Locations: a local path (file, directory, or a glob such as ``/lake/preds/*/*.parquet``) is read
by DuckDB itself; a URL (``s3://…``, ``gs://…``, any scheme pyarrow or fsspec opens) is read
through a pyarrow dataset of that file or directory (no glob). A Delta table (a directory with a
``_delta_log``, local or at a URL delta-rs opens) is read through delta-rs's Arrow dataset of its
current version: the files its log names, never the directory's stray files.
"""

from __future__ import annotations

import glob as globbing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pyarrow.dataset as pads
from pyarrow import fs as pafs
from sqlalchemy import select
from sqlmodel import Session, col

from core.config import get_settings
from core.db.models import LogSource, PredictionLog
from core.errors import InvalidInput, PermissionDenied
from core.logstore.query import quote
from core.logstore.store import address as store_address

# Row ids of external rows: 2^62 + (md5 of request id and time) >> 2, above any counter id.
ROW_ID = (
    "(4611686018427387904 + (md5_number_upper(coalesce(CAST({request_id} AS VARCHAR), '') || '|' || "
    "CAST(epoch_us(CAST({ts} AS TIMESTAMPTZ)) AS VARCHAR)) >> 2))::BIGINT"
)
ROLES = ("ts", "request_id", "prediction", "score", "label")
KINDS = ("parquet", "delta")
REQUIRED = ("ts", "request_id", "prediction")


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column is which: ts, request_id and prediction are required; score and label
    may be absent (""); features maps each registered feature name to its source column."""

    ts: str
    request_id: str
    prediction: str
    score: str = ""
    label: str = ""
    features: Mapping[str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "request_id": self.request_id,
            "prediction": self.prediction,
            "score": self.score,
            "label": self.label,
            "features": dict(self.features or {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ColumnMapping:
        return cls(
            ts=str(data["ts"]),
            request_id=str(data["request_id"]),
            prediction=str(data["prediction"]),
            score=str(data.get("score") or ""),
            label=str(data.get("label") or ""),
            features=dict(data.get("features") or {}),
        )


def source_of(session: Session, version_id: int) -> LogSource | None:
    return session.get(LogSource, version_id)


def is_url(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def roots() -> list[str]:
    """``STEWARD_LOG_SOURCE_ROOTS``: local roots resolved, URL prefixes as written."""
    listed = [r.strip() for r in get_settings().log_source_roots.split(",") if r.strip()]
    return [r if is_url(r) else str(Path(r.removeprefix("file://")).expanduser().resolve()) for r in listed]


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _forbidden() -> list[str]:
    """Steward's own stores: never a log source, whatever the roots say."""
    own = [str(Path(get_settings().artifact_dir).expanduser().resolve())]
    store = store_address()
    own.append(store if is_url(store) else str(Path(store.removeprefix("file://")).expanduser().resolve()))
    return own


def allowed(location: str) -> None:
    """PermissionDenied unless the location lies under one of ``STEWARD_LOG_SOURCE_ROOTS`` and
    outside Steward's own stores (where other models' files are kept). Local paths are compared
    resolved (``..`` and symbolic links followed); each file a glob matches is checked again."""
    listed = roots()
    if not listed:
        raise PermissionDenied(
            "reading logs in place is not enabled here: an administrator lists the directories or URL "
            "prefixes it may read in STEWARD_LOG_SOURCE_ROOTS."
        )
    where = location if is_url(location) else _static_part(location)
    if not any(_within(where, root) for root in listed):
        raise PermissionDenied(
            f"log source '{location}' is not under a directory STEWARD_LOG_SOURCE_ROOTS allows "
            f"({', '.join(listed)})."
        )
    if any(_within(where, own) or _within(own, where) for own in _forbidden()):
        raise PermissionDenied(
            f"log source '{location}' lies in Steward's own artifact or log store, which holds other "
            "models' files; point at the team's own copy of its logs."
        )


def _static_part(location: str) -> str:
    """A local location resolved up to its first wildcard."""
    where = location.removeprefix("file://")
    parts = Path(where).expanduser().parts
    fixed = []
    for part in parts:
        if any(c in part for c in "*?["):
            break
        fixed.append(part)
    return str(Path(*fixed).resolve()) if fixed else str(Path.cwd())


def local_paths(location: str) -> list[str]:
    """The Parquet files a local location names (a file, a directory's *.parquet, a glob), each
    one within the allowed roots once resolved (a symbolic link cannot lead outside them)."""
    where = location.removeprefix("file://")
    path = Path(where).expanduser()
    if any(c in where for c in "*?["):
        found = sorted(p for p in globbing.glob(str(path), recursive=True) if Path(p).is_file())
    elif path.is_dir():
        found = sorted(str(p) for p in path.rglob("*.parquet"))
    else:
        found = [str(path)] if path.is_file() else []
    listed, own = roots(), _forbidden()
    for file in found:
        real = str(Path(file).resolve())
        if not any(_within(real, root) for root in listed) or any(_within(real, o) for o in own):
            raise PermissionDenied(f"log source '{location}': {file} leads outside the allowed directories.")
    return found


def _url_dataset(location: str) -> pads.Dataset:
    try:
        try:
            filesystem, root = pafs.FileSystem.from_uri(location)
        except (ValueError, OSError):  # pyarrow knows no such scheme: fsspec may
            protocol, _, rest = location.partition("://")
            filesystem = pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem(protocol)))
            root = rest if protocol != "memory" else "/" + rest.lstrip("/")
        return pads.dataset(root, filesystem=filesystem, format="parquet")
    except (ValueError, OSError, ImportError) as exc:
        raise InvalidInput(f"log source '{location}' cannot be opened as Parquet: {exc}") from exc


def kind_of(location: str, kind: str = "auto") -> str:
    """``parquet`` or ``delta``: as given, or (``auto``) delta for a directory with a ``_delta_log``."""
    if kind not in ("auto", *KINDS):
        raise InvalidInput(f"log source kind '{kind}' is not one of auto, {', '.join(KINDS)}.")
    if kind != "auto":
        return kind
    if not is_url(location) and (Path(location.removeprefix("file://")).expanduser() / "_delta_log").is_dir():
        return "delta"
    return "parquet"


def _delta_dataset(location: str) -> pads.Dataset:
    # delta-rs is imported here only: only Delta sources need it.
    from deltalake import DeltaTable  # noqa: PLC0415

    try:
        table = DeltaTable(location.removeprefix("file://"))
        files = table.file_uris()
        dataset = table.to_pyarrow_dataset()
    except Exception as exc:  # delta-rs raises its own TableNotFoundError, OSError, ...
        raise InvalidInput(f"log source '{location}' cannot be read as a Delta table: {exc}") from exc
    # A Delta log may name files anywhere: each must lie where the table may be read.
    listed, own = roots(), _forbidden()
    for uri in files:
        real = uri if is_url(uri) else str(Path(uri.removeprefix("file://")).resolve())
        if not any(_within(real, root) for root in listed) or any(_within(real, o) for o in own):
            raise PermissionDenied(
                f"log source '{location}': its log names {uri}, outside the allowed directories."
            )
    return dataset


def raw_relation(con: Any, location: str, name: str = "source_raw", kind: str = "parquet") -> None:
    """Register the location's rows, unchanged, as view ``name`` (columns united by name), once
    the location is allowed (checked again at every read: the roots may have changed)."""
    allowed(location)
    if kind == "delta":
        con.register(name, _delta_dataset(location))
        return
    if is_url(location):
        con.register(name, _url_dataset(location))
        return
    paths = local_paths(location)
    if not paths:
        raise InvalidInput(f"log source '{location}' names no Parquet file: nothing matches it.")
    listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    try:
        con.execute(
            f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
            f"read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"
        )
    except Exception as exc:  # DuckDB's own errors: a file that is not Parquet, unreadable
        raise InvalidInput(f"log source '{location}' cannot be read as Parquet: {exc}") from exc


def columns(con: Any, relation: str = "source_raw") -> dict[str, str]:
    """Column name -> DuckDB type of a relation."""
    return {
        str(r[0]): str(r[1])
        for r in con.execute(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})"
        ).fetchall()
    }


def shaped_sql(mapping: ColumnMapping, *, classes: tuple[str, ...] = (), relation: str = "source_raw") -> str:
    """SELECT over the raw relation giving the store's columns (features under their names).
    A multiclass version's prediction and label are class names, kept as their positions."""

    def outcome(column: str) -> str:
        if not column:
            return "CAST(NULL AS DOUBLE)"
        if classes:
            names = "[" + ", ".join("'" + c.replace("'", "''") + "'" for c in classes) + "]"
            return f"CAST(list_position({names}, CAST({quote(column)} AS VARCHAR)) - 1 AS DOUBLE)"
        return f"CAST({quote(column)} AS DOUBLE)"

    parts = [
        ROW_ID.format(request_id=quote(mapping.request_id), ts=quote(mapping.ts)) + " AS row_id",
        f"CAST({quote(mapping.ts)} AS TIMESTAMPTZ) AS ts",
        f"CAST({quote(mapping.request_id)} AS VARCHAR) AS request_id",
        f"{outcome(mapping.prediction)} AS prediction",
        (f"CAST({quote(mapping.score)} AS DOUBLE)" if mapping.score else "CAST(NULL AS DOUBLE)")
        + " AS score",
        f"{outcome(mapping.label)} AS label",
    ]
    parts += [f"{quote(column)} AS {quote(feature)}" for feature, column in (mapping.features or {}).items()]
    return f"SELECT {', '.join(parts)} FROM {relation}"


def view(
    con: Any, session: Session, source: LogSource, classes: tuple[str, ...] = (), name: str = "logs"
) -> None:
    """Register the source as view ``name``, shaped like the store's files, with the labels given
    in Steward (the labelled sample) where the source has none."""
    raw_relation(con, source.location, kind=source.kind)
    mapping = ColumnMapping.from_json(source.mapping)
    con.execute(f"CREATE OR REPLACE VIEW source_shaped AS {shaped_sql(mapping, classes=classes)}")
    labelled = pd.DataFrame(
        session.execute(
            select(col(PredictionLog.id), col(PredictionLog.label)).where(
                col(PredictionLog.model_version_id) == source.model_version_id,
                col(PredictionLog.label).is_not(None),
            )
        ).all(),
        columns=["id", "given_label"],
    ).astype({"id": "int64", "given_label": "float64"})
    con.register("steward_labels", labelled)
    con.execute(
        f"CREATE OR REPLACE VIEW {name} AS SELECT s.* REPLACE (coalesce(s.label, g.given_label) AS label) "
        "FROM source_shaped s LEFT JOIN steward_labels g ON s.row_id = g.id"
    )


def feature_columns(source: LogSource) -> list[str]:
    return list(ColumnMapping.from_json(source.mapping).features or {})
