"""Bulk ingestion of prediction logs and cost records, validated before anything is written.

Errors name the column and the row (1-based data row, i.e. the file's line minus the header),
and nothing is written unless every row is valid. Prediction logs also update the daily
rollup (``prediction_daily``) in the same transaction, so pages never scan the raw log.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlmodel import Session

from core import audit
from core.access import Actor, require
from core.db.models import CostRecord, Model, ModelVersion, PredictionDaily, PredictionLog
from core.db.models.registry import COST_CATEGORIES, SCORE_BINS
from core.errors import InvalidInput, NotFound

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "JPY", "CAD", "AUD")
RESERVED_PREDICTION_COLUMNS = ("ts", "prediction", "score", "label", "request_id")
MAX_ERRORS_LISTED = 5


def _row_list(mask: pd.Series) -> str:
    rows = [str(int(i) + 1) for i in np.flatnonzero(mask.to_numpy())[:MAX_ERRORS_LISTED]]
    more = int(mask.sum()) - len(rows)
    return ", ".join(rows) + (f" and {more} more" if more > 0 else "")


def _numeric(frame: pd.DataFrame, column: str, *, required: bool) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    huge = bad & _too_large(raw)
    if huge.any():
        raise InvalidInput(
            f"column '{column}': '{str(raw[huge].iloc[0])[:40]}' is too large a number (row {_row_list(huge)})."
        )
    if bad.any():
        first = raw[bad].iloc[0]
        raise InvalidInput(f"column '{column}': '{first}' is not a number (row {_row_list(bad)}).")
    if required and values.isna().any():
        raise InvalidInput(f"column '{column}' is empty in row {_row_list(values.isna())}.")
    if np.isinf(values.to_numpy(dtype=float, na_value=np.nan)).any():
        raise InvalidInput(
            f"column '{column}' holds an infinite value in row {_row_list(pd.Series(np.isinf(values.astype(float))))}."
        )
    return values.astype(float)


def _timestamps(frame: pd.DataFrame, column: str = "ts") -> pd.Series:
    raw = frame[column]
    ts = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    bad = ts.isna()
    if bad.any():
        first = raw[bad].iloc[0]
        why = "is not a date/time"
        try:
            parsed = datetime.fromisoformat(str(first))
            why = f"lies outside the supported years 1677-2262 ({parsed.year})"
        except ValueError:
            pass
        raise InvalidInput(f"column '{column}': '{first}' {why} (row {_row_list(bad)}).")
    future = ts > pd.Timestamp.now(tz=UTC) + pd.Timedelta(days=1)
    if future.any():
        raise InvalidInput(
            f"column '{column}': {ts[future].iloc[0]} lies in the future (row {_row_list(future)})."
        )
    return ts


def log_predictions(session: Session, *, actor: Actor, model_version_id: int, frame: pd.DataFrame) -> int:
    """Append predictions of one model version. Columns: ts, prediction, optional score, label,
    request_id, and one column per feature the version was registered with. Returns the row count."""
    version = session.get(ModelVersion, model_version_id)
    if version is None:
        raise NotFound(f"No model version with id {model_version_id}.")
    model = session.get(Model, version.model_id)
    assert model is not None
    require(session, actor, "predictions.log", business_unit=model.business_unit)
    if frame.empty:
        raise InvalidInput("the prediction file holds no rows.")
    frame = frame.reset_index(drop=True)
    columns = [str(c) for c in frame.columns]
    for needed in ("ts", "prediction"):
        if needed not in columns:
            raise InvalidInput(f"missing column '{needed}'; found: {', '.join(columns[:20])}.")
    duplicate = sorted({c for c in columns if columns.count(c) > 1})
    if duplicate:
        raise InvalidInput(f"duplicate column(s): {', '.join(duplicate)}.")
    features = [c for c in columns if c not in RESERVED_PREDICTION_COLUMNS]
    expected = list(version.feature_names)
    if expected:
        missing = [c for c in expected if c not in features]
        extra = [c for c in features if c not in expected]
        if missing:
            raise InvalidInput(
                f"missing feature column(s) of {model.name} v{version.version}: {', '.join(missing)}."
            )
        if extra:
            raise InvalidInput(
                f"unexpected column(s) not among {model.name} v{version.version}'s features: {', '.join(extra[:10])}."
            )
    ts = _timestamps(frame)
    prediction = _numeric(frame, "prediction", required=True)
    score = (
        _numeric(frame, "score", required=False)
        if "score" in columns
        else pd.Series(np.nan, index=frame.index)
    )
    label = (
        _numeric(frame, "label", required=False)
        if "label" in columns
        else pd.Series(np.nan, index=frame.index)
    )
    if model.task == "binary_classification":
        out_of_range = score.notna() & ((score < 0) | (score > 1))
        if out_of_range.any():
            raise InvalidInput(
                f"column 'score' must lie between 0 and 1 for a classifier (row {_row_list(out_of_range)})."
            )
    request_ids = (
        frame["request_id"].fillna("").astype(str)
        if "request_id" in columns
        else pd.Series("", index=frame.index)
    )
    too_long = request_ids.str.len() > 120
    if too_long.any():
        raise InvalidInput(f"column 'request_id' is longer than 120 characters (row {_row_list(too_long)}).")
    for column in features:
        _refuse_unstorable_numbers(frame[column], column)
    feature_records = _feature_records(frame[features]) if features else [{}] * len(frame)

    rows = [
        {
            "model_version_id": model_version_id,
            "ts": t.to_pydatetime(),
            "request_id": r,
            "features": f,
            "prediction": float(p),
            "score": None if math.isnan(s) else float(s),
            "label": None if math.isnan(lab) else float(lab),
        }
        for t, r, f, p, s, lab in zip(ts, request_ids, feature_records, prediction, score, label, strict=True)
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(PredictionLog), rows[start : start + 5000])
    _update_rollup(session, model_version_id, model.task, ts, prediction, score, label)
    audit.record(
        session,
        actor=actor,
        action="predictions.logged",
        object_type="model_version",
        object_id=model_version_id,
        model_id=model.id,
        after={
            "rows": len(rows),
            "from": ts.min().isoformat(),
            "to": ts.max().isoformat(),
            "labelled": int(label.notna().sum()),
        },
    )
    return len(rows)


_NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"


def _too_large(values: pd.Series) -> pd.Series:
    """True where a value is written as a number but does not fit a float (e.g. 400 digits, 1e400)."""
    if values.dtype != object:
        return (
            pd.Series(np.isinf(values.to_numpy(dtype=float, na_value=np.nan)), index=values.index)
            if values.dtype.kind in "fc"
            else pd.Series(False, index=values.index)
        )
    text = values.astype(str)
    looks_numeric = text.str.match(_NUMBER)
    return looks_numeric & text.where(looks_numeric, "0").map(lambda v: math.isinf(float(v)))


def _refuse_unstorable_numbers(values: pd.Series, column: str) -> None:
    """Numbers too large for a float would be stored as text or infinity: refuse them."""
    infinite = _too_large(values)
    if infinite.any():
        raise InvalidInput(
            f"feature column '{column}' holds a number too large to store, or infinity (row {_row_list(infinite)})."
        )


def _feature_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts: NaN becomes null, numpy scalars become Python numbers."""
    clean = frame.astype(object).where(frame.notna(), None)
    records = clean.to_dict(orient="records")
    for record in records:
        for key, value in record.items():
            if isinstance(value, np.generic):
                value = record[key] = value.item()
            if isinstance(value, bytes | bytearray):
                raise InvalidInput(
                    f"feature column '{key}' holds binary data; features must be numbers, text or dates."
                )
            if hasattr(value, "isoformat"):  # dates and timestamps are stored as ISO text
                record[key] = value.isoformat()
            elif not isinstance(value, str | int | float | bool) and value is not None:
                raise InvalidInput(
                    f"feature column '{key}' holds a {type(value).__name__}; features must be numbers, text or dates."
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidInput(f"feature column '{key}' holds an infinite value.")
    return records


def _update_rollup(
    session: Session,
    version_id: int,
    task: str,
    ts: pd.Series,
    prediction: pd.Series,
    score: pd.Series,
    label: pd.Series,
) -> None:
    """Add this batch's per-day aggregates to ``prediction_daily``."""
    day = ts.dt.tz_convert(UTC).dt.date
    frame = pd.DataFrame({"day": day, "ts": ts, "prediction": prediction, "score": score, "label": label})
    labelled = frame["label"].notna()
    frame["correct"] = (labelled & (frame["prediction"] == frame["label"])).astype(int)
    frame["abs_err"] = (frame["prediction"] - frame["label"]).abs().where(labelled, 0.0)
    frame["sq_err"] = ((frame["prediction"] - frame["label"]) ** 2).where(labelled, 0.0)
    has_score = frame["score"].notna()
    frame["bin"] = np.where(
        has_score, np.clip((frame["score"].fillna(0) * SCORE_BINS).astype(int), 0, SCORE_BINS - 1), -1
    )
    for day_value, group in frame.groupby("day", sort=True):
        existing = session.execute(
            select(PredictionDaily).where(
                PredictionDaily.model_version_id == version_id, PredictionDaily.day == day_value
            )
        ).scalar_one_or_none()
        row = existing or PredictionDaily(model_version_id=version_id, day=day_value)
        hist = list(row.score_hist or [0] * SCORE_BINS)
        counts = np.bincount(group.loc[group["bin"] >= 0, "bin"].astype(int), minlength=SCORE_BINS)
        row.score_hist = [int(a + b) for a, b in zip(hist, counts, strict=True)]
        row.n += len(group)
        row.pred_sum += float(group["prediction"].sum())
        row.score_sum += float(group["score"].fillna(0).sum())
        g_labelled = group["label"].notna()
        row.n_labelled += int(g_labelled.sum())
        row.label_sum += float(group.loc[g_labelled, "label"].sum())
        if task == "binary_classification":
            row.n_correct += int(group["correct"].sum())
        row.abs_err_sum += float(group["abs_err"].sum())
        row.sq_err_sum += float(group["sq_err"].sum())
        last = group["ts"].max().to_pydatetime()
        row.last_ts = max(row.last_ts, last) if row.last_ts else last
        session.add(row)
    session.flush()


def add_label_to_rollup(
    session: Session,
    *,
    version_id: int,
    task: str,
    day: Any,
    prediction: float,
    label: float,
    previous_label: float | None = None,
) -> None:
    """Keep the rollup's label counts right when a single prediction is labelled (or relabelled)."""
    row = session.execute(
        select(PredictionDaily).where(
            PredictionDaily.model_version_id == version_id, PredictionDaily.day == day
        )
    ).scalar_one_or_none()
    if row is None:
        return
    if previous_label is not None:
        row.n_labelled -= 1
        row.label_sum -= previous_label
        if task == "binary_classification":
            row.n_correct -= int(prediction == previous_label)
        row.abs_err_sum -= abs(prediction - previous_label)
        row.sq_err_sum -= (prediction - previous_label) ** 2
    row.n_labelled += 1
    row.label_sum += label
    if task == "binary_classification":
        row.n_correct += int(prediction == label)
    row.abs_err_sum += abs(prediction - label)
    row.sq_err_sum += (prediction - label) ** 2
    session.add(row)
    session.flush()


COST_COLUMNS = ("day", "model", "category", "amount", "currency")


def log_costs(session: Session, *, actor: Actor, frame: pd.DataFrame) -> int:
    """Import cost records (columns day, model, category, amount, currency). All rows or none."""
    require(session, actor, "costs.log")
    if frame.empty:
        raise InvalidInput("the cost file holds no rows.")
    frame = frame.reset_index(drop=True)
    columns = [str(c).strip() for c in frame.columns]
    frame.columns = columns
    missing = [c for c in COST_COLUMNS if c not in columns]
    if missing:
        raise InvalidInput(f"missing column(s) {', '.join(missing)}; expected {', '.join(COST_COLUMNS)}.")
    extra = [c for c in columns if c not in COST_COLUMNS]
    if extra:
        raise InvalidInput(
            f"unexpected column(s): {', '.join(extra[:10])}; expected {', '.join(COST_COLUMNS)}."
        )
    days = pd.to_datetime(frame["day"], errors="coerce", format="mixed")
    if days.isna().any():
        bad = days.isna()
        raise InvalidInput(
            f"column 'day': '{frame['day'][bad].iloc[0]}' is not a date (row {_row_list(bad)})."
        )
    days = days.dt.date
    amount = _numeric(frame, "amount", required=True)
    negative = amount < 0
    if negative.any():
        raise InvalidInput(f"column 'amount' is negative in row {_row_list(negative)}.")
    currency = frame["currency"].fillna("").astype(str).str.strip().str.upper()
    unknown_ccy = ~currency.isin(CURRENCIES)
    if unknown_ccy.any():
        raise InvalidInput(
            f"column 'currency': unknown currency '{currency[unknown_ccy].iloc[0]}' (row {_row_list(unknown_ccy)}); "
            f"known: {', '.join(CURRENCIES)}."
        )
    category = frame["category"].fillna("").astype(str).str.strip().str.lower()
    bad_cat = ~category.isin(COST_CATEGORIES)
    if bad_cat.any():
        raise InvalidInput(
            f"column 'category': '{category[bad_cat].iloc[0]}' is not one of {', '.join(COST_CATEGORIES)} "
            f"(row {_row_list(bad_cat)})."
        )
    names = frame["model"].fillna("").astype(str).str.strip()
    known = dict(
        session.execute(select(Model.name, Model.id).where(Model.name.in_(sorted(set(names))))).all()
    )  # type: ignore[attr-defined]
    unknown = ~names.isin(list(known))
    if unknown.any():
        raise InvalidInput(
            f"column 'model': unknown model '{names[unknown].iloc[0]}' (row {_row_list(unknown)})."
        )
    keyed = pd.DataFrame({"day": days, "model": names, "category": category})
    dup = keyed.duplicated(keep=False)
    if dup.any():
        raise InvalidInput(f"duplicate day + model + category in row {_row_list(dup)}.")
    model_ids = names.map(known)
    existing = _existing_cost_keys(session, set(model_ids), min(days), max(days))
    clash = pd.Series([(d, m, c) in existing for d, m, c in zip(days, model_ids, category, strict=True)])
    if clash.any():
        raise InvalidInput(
            f"row {_row_list(clash)}: a cost for that day, model and category is already recorded."
        )
    rows = [
        {"day": d, "model_id": int(m), "category": c, "amount": float(a), "currency": ccy}
        for d, m, c, a, ccy in zip(days, model_ids, category, amount, currency, strict=True)
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(CostRecord), rows[start : start + 5000])
    audit.record(
        session,
        actor=actor,
        action="costs.logged",
        object_type="cost_record",
        object_id="batch",
        after={
            "rows": len(rows),
            "from": str(min(days)),
            "to": str(max(days)),
            "total": round(float(amount.sum()), 2),
            "models": sorted(set(names)),
        },
    )
    return len(rows)


def _existing_cost_keys(
    session: Session, model_ids: Iterable[int], start: Any, end: Any
) -> set[tuple[Any, int, str]]:
    result = session.execute(
        select(CostRecord.day, CostRecord.model_id, CostRecord.category).where(
            CostRecord.model_id.in_([int(m) for m in model_ids]),
            CostRecord.day >= start,
            CostRecord.day <= end,  # type: ignore[attr-defined]
        )
    ).all()
    return {(d, m, c) for d, m, c in result}
