"""Sensitive attributes of logged requests (e.g. an age band), which need not be model inputs.

They arrive in a join file keyed by request id (``attach_attributes``; `steward attach-attributes`)
or with the prediction log as ``sensitive.NAME`` columns (``core.registry.ingest``), and are read
only to measure performance and disparities per group (``core.monitoring.segments``). Every file
is checked whole before anything is written; errors name the column and the row.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select
from sqlmodel import Session, col

from core import audit, clock, events
from core.access import Actor, require
from core.config import get_settings
from core.db.models import Model, ModelVersion, PredictionLog, SegmentAttribute
from core.errors import InvalidInput, NotFound
from core.logstore import reads as logstore_reads
from core.registry.files import read_table_bytes

SENSITIVE_PREFIX = "sensitive."  # prediction-log columns carrying sensitive attributes
CHUNK = 5000
MAX_NAME = 100
MAX_VALUE = 200
MAX_REQUEST_ID = 120
RESERVED = ("ts", "prediction", "score", "label", "request_id")


def attach_attributes(
    session: Session, *, actor: Actor, model_id: int, frame: pd.DataFrame
) -> dict[str, Any]:
    """Attach sensitive attributes to a model's logged requests from a join file: a ``request_id``
    column and one column per attribute. Every request id must be in the model's prediction log;
    a value given again replaces the old one. All rows or none; returns what was written."""
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    require(session, actor, "predictions.log", business_unit=model.business_unit)
    values = attribute_values(frame, features=feature_names(session, model_id), where="join file")
    if values.empty:
        raise InvalidInput("the join file holds no attribute values (every cell is empty).")
    require_logged(session, model_id, values["request_id"].drop_duplicates().tolist())
    replaced = store_attributes(session, model_id=model_id, values=values)
    result = {
        "model": model.name,
        "rows": int(values["request_id"].nunique()),
        "attributes": sorted(values["name"].unique().tolist()),
        "values": len(values),
        "replaced": replaced,
    }
    audit.record(
        session,
        actor=actor,
        action=events.SEGMENT_ATTRIBUTES_ATTACHED,
        object_id=model_id,
        model_id=model_id,
        after=result,
    )
    return result


def attribute_values(frame: pd.DataFrame, *, features: set[str], where: str) -> pd.DataFrame:
    """Long rows (request_id, name, value) from a wide frame of request ids and attribute columns,
    validated: errors name the column and the row (1-based data row)."""
    if frame.empty:
        raise InvalidInput(f"the {where} holds no rows.")
    frame = frame.reset_index(drop=True)
    columns = [str(c).strip() for c in frame.columns]
    frame.columns = columns
    if "request_id" not in columns:
        raise InvalidInput(f"the {where} has no 'request_id' column; found: {', '.join(columns[:20])}.")
    names = [c for c in columns if c != "request_id"]
    if not names:
        raise InvalidInput(f"the {where} has no attribute column besides 'request_id'.")
    duplicate = sorted({c for c in columns if columns.count(c) > 1})
    if duplicate:
        raise InvalidInput(f"duplicate column(s) in the {where}: {', '.join(duplicate)}.")
    for name in names:
        if not name or len(name) > MAX_NAME:
            raise InvalidInput(
                f"attribute column names must have 1 to {MAX_NAME} characters, got '{name[:40]}'."
            )
        if name in RESERVED:
            raise InvalidInput(f"attribute column '{name}' has a reserved name; rename it.")
        if name in features:
            raise InvalidInput(
                f"attribute '{name}' is a feature of the model: it is measured as a segment already."
            )
    ids = frame["request_id"].astype(object).where(frame["request_id"].notna(), "").astype(str).str.strip()
    _refuse(ids == "", "column 'request_id' is empty", where)
    _refuse(
        ids.str.len() > MAX_REQUEST_ID,
        f"column 'request_id' is longer than {MAX_REQUEST_ID} characters",
        where,
    )
    _refuse(ids.duplicated(keep=False), "the same request_id appears twice", where)
    long_rows = []
    for name in names:
        cells = frame[name]
        text = cells.map(_as_text)
        _refuse(
            text.str.len() > MAX_VALUE,
            f"column '{name}' holds a value longer than {MAX_VALUE} characters",
            where,
        )
        present = cells.notna() & (text != "")
        long_rows.append(pd.DataFrame({"request_id": ids[present], "name": name, "value": text[present]}))
    return pd.concat(long_rows, ignore_index=True)


def _as_text(value: Any) -> str:
    """An attribute value as stored: text as given (trimmed), whole numbers without '.0'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _refuse(mask: pd.Series, what: str, where: str) -> None:
    if mask.any():
        rows = [str(int(i) + 1) for i in np.flatnonzero(mask.to_numpy())[:5]]
        more = int(mask.sum()) - len(rows)
        raise InvalidInput(
            f"{what} in row {', '.join(rows)}{f' and {more} more' if more > 0 else ''} of the {where}."
        )


def feature_names(session: Session, model_id: int) -> set[str]:
    names: set[str] = set()
    for features in session.execute(
        select(col(ModelVersion.feature_names)).where(col(ModelVersion.model_id) == model_id)
    ).scalars():
        names |= set(features or [])
    return names


def require_logged(session: Session, model_id: int, request_ids: list[str]) -> None:
    """Refuse request ids the model's prediction log does not hold (a join file for another model):
    looked up in each version's files in the log store, and in the registry's labelled sample
    (which keeps rows whose days retention deleted from the store)."""
    versions = [
        int(v)
        for v in session.execute(
            select(col(ModelVersion.id)).where(col(ModelVersion.model_id) == model_id)
        ).scalars()
    ]
    known: set[str] = set()
    for version_id in versions:
        found = logstore_reads.rows(
            session,
            version_id,
            columns=["request_id"],
            where="request_id IN (SELECT unnest(?::VARCHAR[]))",
            params=[request_ids],
        )
        known |= set(found["request_id"].astype(str))
    for start in range(0, len(request_ids), CHUNK):
        chunk = [r for r in request_ids[start : start + CHUNK] if r not in known]
        if not chunk:
            continue
        known |= set(
            session.execute(
                select(col(PredictionLog.request_id))
                .where(
                    col(PredictionLog.model_version_id).in_(versions),
                    col(PredictionLog.request_id).in_(chunk),
                )
                .distinct()
            ).scalars()
        )
    unknown = [r for r in request_ids if r not in known]
    if unknown:
        shown = ", ".join(f"'{r}'" for r in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise InvalidInput(
            f"{len(unknown):,} request_id(s) are not in the prediction log of this model: {shown}{more}."
        )


def store_attributes(session: Session, *, model_id: int, values: pd.DataFrame) -> int:
    """Write (request_id, name, value) rows of one model, replacing values given before; returns how
    many were replaced. The caller checks and audits."""
    replaced = 0
    for name, rows in values.groupby("name", sort=True):
        ids = rows["request_id"].tolist()
        for start in range(0, len(ids), CHUNK):
            result = session.execute(
                delete(SegmentAttribute).where(
                    col(SegmentAttribute.model_id) == model_id,
                    col(SegmentAttribute.name) == name,
                    col(SegmentAttribute.request_id).in_(ids[start : start + CHUNK]),
                )
            )
            replaced += int(getattr(result, "rowcount", 0) or 0)
    now = clock.now()
    records = [
        {"model_id": model_id, "request_id": r, "name": n, "value": v, "attached_at": now}
        for r, n, v in zip(values["request_id"], values["name"], values["value"], strict=True)
    ]
    for start in range(0, len(records), CHUNK):
        session.execute(insert(SegmentAttribute), records[start : start + CHUNK])
    return replaced


def attribute_names(session: Session, *, model_id: int) -> list[str]:
    """The sensitive attributes attached to a model's requests."""
    return sorted(
        session.execute(
            select(col(SegmentAttribute.name)).where(col(SegmentAttribute.model_id) == model_id).distinct()
        ).scalars()
    )


def attach_attributes_file(
    session: Session, *, actor: Actor, model_id: int, data: bytes, name: str
) -> dict[str, Any]:
    """``attach_attributes`` for an uploaded CSV or Parquet file called ``name``."""
    frame = read_table_bytes(data, name=name, max_mb=get_settings().upload_max_mb)
    return attach_attributes(session, actor=actor, model_id=model_id, frame=frame)
