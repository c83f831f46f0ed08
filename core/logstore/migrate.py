"""`steward migrate-logs`: move the registry's ``prediction_log`` rows into the log store, and
prove nothing was lost.

Per version, in row-id order and chunks: the rows become the store's Arrow layout (same row
ids, features out of their JSON into columns), are written as files per day, and every file
is read back: its row count and content checksum must equal those of the registry rows it
came from, partition by partition. Only then are the moved rows deleted from the registry,
all in the caller's transaction, with one audit event. Rows in the labelled sample (labelled,
or drawn into a labelling campaign) stay in the registry too. Running it again moves nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Text, and_, cast, delete, exists, func, or_, select, update
from sqlmodel import Session, col

from core import audit, events
from core.access import Actor, require
from core.db.models import CampaignItem, LogFile, LogRowId, ModelVersion, PredictionLog
from core.errors import IntegrityViolation
from core.logstore import query, write
from core.logstore.store import Store, open_store

CHUNK_ROWS = 200_000


@dataclass
class VersionMoved:
    version_id: int
    rows: int = 0
    files: int = 0
    kept_in_registry: int = 0
    partitions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Migration:
    versions: list[VersionMoved]

    @property
    def rows(self) -> int:
        return sum(v.rows for v in self.versions)

    @property
    def files(self) -> int:
        return sum(v.files for v in self.versions)


def _not_in_store() -> Any:
    """Registry rows no manifest file of their version holds (by row-id range)."""
    return ~exists().where(
        col(LogFile.model_version_id) == col(PredictionLog.model_version_id),
        col(LogFile.first_row_id) <= col(PredictionLog.id),
        col(LogFile.last_row_id) >= col(PredictionLog.id),
    )


def _in_sample() -> Any:
    return or_(
        col(PredictionLog.label).is_not(None),
        exists().where(col(CampaignItem.prediction_log_id) == col(PredictionLog.id)),
    )


def migrate_logs(session: Session, *, actor: Actor, store: Store | None = None) -> Migration:
    """Move every registry row not yet in the store; verify each file; delete what moved."""
    require(session, actor, "registry.admin")
    store = store or open_store()
    top = session.execute(select(func.max(col(PredictionLog.id)))).scalar_one()
    pending = session.execute(
        select(col(PredictionLog.model_version_id), func.count())
        .where(_not_in_store())
        .group_by(col(PredictionLog.model_version_id))
        .order_by(col(PredictionLog.model_version_id))
    ).all()
    moved: list[VersionMoved] = []
    for version_id, expected in pending:
        version = session.get(ModelVersion, version_id)
        assert version is not None
        moved.append(_move_version(session, version, int(expected), store))
    if top is not None:  # ids handed out from now on stay above every id the registry used
        session.execute(
            update(LogRowId)
            .where(col(LogRowId.id) == 1, col(LogRowId.next_id) <= top)
            .values(next_id=int(top) + 1)
        )
    if moved:
        audit.record(
            session,
            actor=actor,
            action=events.LOGS_MIGRATED,
            object_id="prediction_log",
            after={
                "store": store.address,
                "rows": sum(v.rows for v in moved),
                "files": sum(v.files for v in moved),
                "kept_in_registry": sum(v.kept_in_registry for v in moved),
                "versions": {
                    str(v.version_id): {"rows": v.rows, "files": v.files, "partitions": v.partitions}
                    for v in moved
                },
            },
        )
    return Migration(moved)


def _move_version(session: Session, version: ModelVersion, expected: int, store: Store) -> VersionMoved:
    version_id = int(version.id or 0)
    result = VersionMoved(version_id)
    last_id = 0
    while True:
        rows = session.execute(
            select(
                cast(col(PredictionLog.features), Text),
                col(PredictionLog.prediction),
                col(PredictionLog.score),
                col(PredictionLog.id),
                col(PredictionLog.ts),
                col(PredictionLog.request_id),
                col(PredictionLog.label),
            )
            .where(
                col(PredictionLog.model_version_id) == version_id,
                col(PredictionLog.id) > last_id,
                _not_in_store(),
            )
            .order_by(col(PredictionLog.id))
            .limit(CHUNK_ROWS)
        ).all()
        if not rows:
            break
        last_id = int(rows[-1][3])
        table = _table(rows)
        files = write.append(
            session,
            model_id=version.model_id,
            version_id=version_id,
            table=table,
            source="migrate",
            store=store,
        )
        _verify(files, table, store)
        result.rows += table.num_rows
        result.files += len(files)
        result.partitions.extend(
            {"day": f.day.isoformat(), "rows": f.rows, "checksum": f.checksum, "path": f.path} for f in files
        )
    if result.rows != expected:
        raise IntegrityViolation(
            f"version {version_id}: {expected} registry rows to move but {result.rows} were written; nothing moved."
        )
    stored = session.execute(
        select(func.coalesce(func.sum(col(LogFile.rows)), 0)).where(
            col(LogFile.model_version_id) == version_id, col(LogFile.source) == "migrate"
        )
    ).scalar_one()
    if int(stored) < expected:
        raise IntegrityViolation(f"version {version_id}: the manifest holds fewer rows than were moved.")
    result.kept_in_registry = int(
        session.execute(
            select(func.count()).where(col(PredictionLog.model_version_id) == version_id, _in_sample())
        ).scalar_one()
    )
    session.execute(
        delete(PredictionLog).where(and_(col(PredictionLog.model_version_id) == version_id, ~_in_sample())),
        execution_options={"synchronize_session": False},
    )
    return result


def _feature_records(values: list) -> list[dict]:
    if all(isinstance(v, str) for v in values):
        return json.loads("[" + ",".join(values) + "]")
    return [(json.loads(v) if isinstance(v, str) else v) or {} for v in values]


def log_frame(rows: Sequence[Any]) -> pd.DataFrame:
    """Rows of (features, prediction, score, ...) as a DataFrame of feature columns plus prediction and score.
    Features may come as dicts or as JSON text."""
    frame = pd.DataFrame.from_records([r or {} for r in _feature_records([r[0] for r in rows])])
    frame["prediction"] = np.array([r[1] for r in rows], dtype=float)
    frame["score"] = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=float)
    return frame


def _table(rows: Sequence[Any]) -> pa.Table:
    """Registry rows (features JSON, prediction, score, id, ts, request_id, label) in the store's layout."""
    features = log_frame(rows).drop(columns=["prediction", "score"])
    frame = pd.DataFrame(
        {
            "row_id": [int(r[3]) for r in rows],
            "ts": pd.to_datetime([r[4] for r in rows], utc=True),
            "request_id": [r[5] or "" for r in rows],
            "prediction": [float(r[1]) for r in rows],
            "score": [float("nan") if r[2] is None else float(r[2]) for r in rows],
            "label": [float("nan") if r[6] is None else float(r[6]) for r in rows],
        }
    )
    table = write.prediction_table(
        first_row_id=0,
        ts=frame["ts"],
        prediction=frame["prediction"],
        score=frame["score"],
        label=frame["label"],
        request_id=frame["request_id"],
        features=features,
    )
    return table.set_column(0, "row_id", pa.array(frame["row_id"].to_numpy(), type=pa.int64()))


def _verify(files: list[LogFile], source: pa.Table, store: Store) -> None:
    """Each written file, read back, holds exactly its partition of the source rows."""
    con = query.connect()
    try:
        con.register("source_rows", source)
        con.execute("CREATE TEMP TABLE source_days AS SELECT *, CAST(ts AS DATE) AS __day FROM source_rows")
        expected = query.checksums(con, "source_days", by="__day")
        for file in files:
            query.view(con, [file], store=store, name="written")
            (got,) = query.checksums(con, "written").values()
            want = expected.get(file.day)
            if want is None or got != want or got != (file.rows, file.checksum):
                raise IntegrityViolation(
                    f"{file.path}: read back {got[0]} rows (checksum {got[1]}), expected {want}; nothing moved."
                )
    finally:
        con.close()
