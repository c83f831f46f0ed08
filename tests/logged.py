"""Logged predictions as tests compare them: read back from the log store (every version, in
row-id order), each row with its ts, prediction, score, label, request_id and a features dict
holding Python values (None when missing), like a ``prediction_log`` row."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select
from sqlmodel import col

from core.db.engine import read_session
from core.db.models import ModelVersion
from core.logstore import reads
from core.logstore.query import BASE_COLUMNS


def stored_predictions(engine, after_row_id: int = 0) -> list[SimpleNamespace]:
    """Every stored prediction with a row id above ``after_row_id``, in row-id order."""
    with read_session(engine) as s:
        versions = [int(v) for v in s.execute(select(col(ModelVersion.id))).scalars()]
        frames = [reads.rows(s, v, columns=None, where="row_id > ?", params=[after_row_id]) for v in versions]
    rows: list[SimpleNamespace] = []
    for frame in frames:
        features = [c for c in frame.columns if c not in BASE_COLUMNS]
        plain = frame.astype(object).where(frame.notna(), None)
        rows += [
            SimpleNamespace(
                id=int(r["row_id"]),
                ts=r["ts"],
                prediction=r["prediction"],
                score=r["score"],
                label=r["label"],
                request_id=r["request_id"],
                features={f: r[f] for f in features},
            )
            for r in plain.to_dict(orient="records")
        ]
    return sorted(rows, key=lambda r: r.id)


def max_row_id(engine) -> int:
    rows = stored_predictions(engine)
    return rows[-1].id if rows else 0
