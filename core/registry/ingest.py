"""Bulk ingestion of prediction logs and cost records, validated before anything is written.

``core.registry.ingest_validation`` checks and types a whole frame first (vectorised; its
refusals name the file line, data row, column and value); nothing is written unless every row
is valid. Prediction logs are written to the log store (``core.logstore``: Parquet files and
their manifest) and also update the daily
rollup (``prediction_daily``) in the same transaction, so pages never scan the raw log.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlmodel import Session, col

from core import audit, clock, events
from core.access import Actor, require
from core.db.models import (
    CostRecord,
    Dataset,
    Feature,
    Model,
    ModelVersion,
    PredictionDaily,
)
from core.db.models.registry import CLASSIFIER_TASKS, SCORE_BINS
from core.db.types import MONEY_SCALE, saved_id
from core.errors import InvalidInput, NotFound
from core.logstore import write as logstore
from core.registry import attributes
from core.registry.files import Source, shown
from core.registry.ingest_validation import CURRENCIES as CURRENCIES  # budgets read it here
from core.registry.ingest_validation import (
    PREDICTION_COLUMNS,
    PredictionSchema,
    TimeRules,
    declared_kinds,
    validate_costs,
    validate_predictions,
)

RESERVED_PREDICTION_COLUMNS = PREDICTION_COLUMNS
NO_SOURCE = Source()


def prediction_schema(session: Session, version: ModelVersion, model: Model) -> PredictionSchema:
    """What ``version``'s prediction log holds: the model's task, the version's features and
    the feature types its training dataset declares (its schema, then its feature list)."""
    declared: dict[str, str] = {}
    if version.training_dataset_id is not None:
        dataset = session.get(Dataset, version.training_dataset_id)
        if dataset is not None:
            declared.update({str(k): str(v) for k, v in (dataset.data_schema or {}).items()})
            for name, dtype in session.execute(
                select(col(Feature.name), col(Feature.dtype)).where(
                    col(Feature.dataset_id) == version.training_dataset_id
                )
            ):
                if dtype:
                    declared[name] = dtype
    numeric, text = declared_kinds(declared)
    return PredictionSchema(
        task=model.task,
        label=f"{model.name} v{version.version}",
        features=tuple(version.feature_names or ()),
        numeric=numeric,
        text=text,
        classes=tuple(version.class_names or ()),
    )


def log_predictions(
    session: Session,
    *,
    actor: Actor,
    model_version_id: int,
    frame: pd.DataFrame,
    rules: TimeRules | None = None,
    source: Source = NO_SOURCE,
) -> int:
    """Append predictions of one model version. Columns: ts, prediction, optional score, label,
    request_id, one column per feature the version was registered with, and optional
    ``sensitive.NAME`` columns (sensitive attributes of each request, not model inputs; they need a
    request_id). ``rules`` say how to read zone-less times, epochs and other date formats;
    ``source`` names the file in refusals. All rows or none; returns the row count."""
    version = session.get(ModelVersion, model_version_id)
    if version is None:
        raise NotFound(f"No model version with id {model_version_id}.")
    model = session.get(Model, version.model_id)
    assert model is not None
    require(session, actor, "predictions.log", business_unit=model.business_unit)
    sensitive = [c for c in frame.columns if str(c).startswith(attributes.SENSITIVE_PREFIX)]
    checked = validate_predictions(
        frame.drop(columns=sensitive) if sensitive else frame,
        schema=prediction_schema(session, version, model),
        rules=rules or TimeRules(),
        source=source,
        now=clock.now(),
    )
    sensitive_values = _sensitive_values(frame, sensitive, checked, version) if sensitive else None
    count = write_predictions(
        session,
        actor=actor,
        version=version,
        model=model,
        checked=checked,
        sensitive_attributes=[str(c)[len(attributes.SENSITIVE_PREFIX) :] for c in sensitive],
    )
    if sensitive_values is not None and not sensitive_values.empty:
        attributes.store_attributes(session, model_id=saved_id(model), values=sensitive_values)
    return count


def _sensitive_values(
    frame: pd.DataFrame, sensitive: list[str], checked: pd.DataFrame, version: ModelVersion
) -> pd.DataFrame:
    """The file's ``sensitive.NAME`` columns as validated (request_id, name, value) rows."""
    request_ids = (
        frame["request_id"].fillna("").astype(str).reset_index(drop=True)
        if "request_id" in frame.columns
        else pd.Series("", index=range(len(frame)))
    )
    features = set(version.feature_names) or {c for c in checked.columns if c not in PREDICTION_COLUMNS}
    return attributes.attribute_values(
        pd.concat(
            [
                request_ids.rename("request_id"),
                frame[sensitive]
                .reset_index(drop=True)
                .rename(columns=lambda c: str(c)[len(attributes.SENSITIVE_PREFIX) :]),
            ],
            axis=1,
        ),
        features=features,
        where="prediction file",
    )


def write_predictions(
    session: Session,
    *,
    actor: Actor,
    version: ModelVersion,
    model: Model,
    checked: pd.DataFrame,
    sensitive_attributes: Iterable[str] = (),
) -> int:
    """Write a frame returned by ``validate_predictions`` (the log store's Parquet files and
    manifest, the labelled sample, the daily rollup, the audit event);
    ``sensitive_attributes`` names the attributes that came with it (stored apart)."""
    sensitive_attributes = list(sensitive_attributes)
    version_id = saved_id(version)
    features = [c for c in checked.columns if c not in PREDICTION_COLUMNS]
    ts, prediction, score, label = checked["ts"], checked["prediction"], checked["score"], checked["label"]
    written = logstore.log_validated(
        session,
        model_id=saved_id(model),
        version_id=version_id,
        ts=ts,
        prediction=prediction,
        score=score,
        label=label,
        request_id=checked["request_id"],
        features=checked[features],
    )
    _update_rollup(session, version_id, model.task, ts, prediction, score, label)
    audit.record(
        session,
        actor=actor,
        action=events.PREDICTIONS_LOGGED,
        object_id=version_id,
        model_id=model.id,
        after={
            "rows": written.rows,
            "files": len(written.files),
            "from": ts.min().isoformat(),
            "to": ts.max().isoformat(),
            "labelled": int(label.notna().sum()),
        }
        | ({"sensitive_attributes": list(sensitive_attributes)} if sensitive_attributes else {}),
    )
    return written.rows


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
    frame["score0"] = frame["score"].fillna(0.0)
    frame["label0"] = frame["label"].where(labelled, 0.0)
    frame["labelled"] = labelled.astype(int)
    per_day = frame.groupby("day", sort=True).agg(
        n=("prediction", "size"),
        pred_sum=("prediction", "sum"),
        score_sum=("score0", "sum"),
        n_labelled=("labelled", "sum"),
        label_sum=("label0", "sum"),
        n_correct=("correct", "sum"),
        abs_err_sum=("abs_err", "sum"),
        sq_err_sum=("sq_err", "sum"),
        last_ts=("ts", "max"),
    )
    scored = frame[frame["bin"] >= 0]
    hists = (
        scored.groupby(["day", "bin"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=range(SCORE_BINS), fill_value=0)
    )
    # One query for the days of the whole batch (a batch can span a year of days), not one per day.
    existing = {
        row.day: row
        for row in session.execute(
            select(PredictionDaily).where(
                col(PredictionDaily.model_version_id) == version_id,
                col(PredictionDaily.day) >= per_day.index.min(),
                col(PredictionDaily.day) <= per_day.index.max(),
            )
        ).scalars()
    }
    no_scores = [0] * SCORE_BINS
    for agg in per_day.itertuples():
        day_value = agg.Index
        row = existing.get(day_value) or PredictionDaily(model_version_id=version_id, day=day_value)
        hist = list(row.score_hist or no_scores)
        counts = hists.loc[day_value].tolist() if day_value in hists.index else no_scores
        row.score_hist = [int(a + b) for a, b in zip(hist, counts, strict=True)]
        row.n += int(agg.n)
        row.pred_sum += float(agg.pred_sum)
        row.score_sum += float(agg.score_sum)
        row.n_labelled += int(agg.n_labelled)
        row.label_sum += float(agg.label_sum)
        if task in CLASSIFIER_TASKS:
            row.n_correct += int(agg.n_correct)
        row.abs_err_sum += float(agg.abs_err_sum)
        row.sq_err_sum += float(agg.sq_err_sum)
        last = agg.last_ts.to_pydatetime()
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
            col(PredictionDaily.model_version_id) == version_id, col(PredictionDaily.day) == day
        )
    ).scalar_one_or_none()
    if row is None:
        return
    if previous_label is not None:
        row.n_labelled -= 1
        row.label_sum -= previous_label
        if task in CLASSIFIER_TASKS:
            row.n_correct -= int(prediction == previous_label)
        row.abs_err_sum -= abs(prediction - previous_label)
        row.sq_err_sum -= (prediction - previous_label) ** 2
    row.n_labelled += 1
    row.label_sum += label
    if task in CLASSIFIER_TASKS:
        row.n_correct += int(prediction == label)
    row.abs_err_sum += abs(prediction - label)
    row.sq_err_sum += (prediction - label) ** 2
    session.add(row)
    session.flush()


def log_costs(
    session: Session,
    *,
    actor: Actor,
    frame: pd.DataFrame,
    rules: TimeRules | None = None,
    source: Source = NO_SOURCE,
) -> int:
    """Import cost records (columns day, model, category, amount, currency). Amounts are stored
    exactly (``core.db.types.Money``). All rows or none."""
    require(session, actor, "costs.log")
    checked = validate_costs(frame, rules=rules or TimeRules(), source=source, today=clock.today())
    names = checked["model"]
    known: dict[str, int] = {
        name: model_id
        for name, model_id in session.execute(
            select(col(Model.name), col(Model.id)).where(col(Model.name).in_(sorted(set(names))))
        )
    }
    unknown = ~names.isin(list(known))
    if unknown.any():
        first = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InvalidInput(
            f"{source.where(first)}, column 'model': unknown model '{shown(names.iloc[first])}'"
            f"{_also(unknown)}."
        )
    days = checked["day"].dt.date
    model_ids = names.map(known)
    existing = _existing_cost_keys(session, set(model_ids), days.min(), days.max())
    keys = pd.MultiIndex.from_arrays([days, model_ids, checked["category"]])
    clash = pd.Series(keys.isin(list(existing)), index=checked.index)
    if clash.any():
        first = int(np.flatnonzero(clash.to_numpy())[0])
        raise InvalidInput(
            f"{source.where(first)}: a cost for {days.iloc[first]}, '{shown(names.iloc[first])}' and "
            f"{checked['category'].iloc[first]} is already recorded{_also(clash)}."
        )
    amounts = [Decimal(int(u)).scaleb(-MONEY_SCALE) for u in checked["amount_units"].tolist()]
    rows = [
        {"day": d, "model_id": int(m), "category": c, "amount": a, "currency": ccy}
        for d, m, c, a, ccy in zip(
            days, model_ids, checked["category"], amounts, checked["currency"], strict=True
        )
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(CostRecord), rows[start : start + 5000])
    total = Decimal(int(checked["amount_units"].sum())).scaleb(-MONEY_SCALE)
    audit.record(
        session,
        actor=actor,
        action=events.COSTS_LOGGED,
        object_id="batch",
        after={
            "rows": len(rows),
            "from": str(days.min()),
            "to": str(days.max()),
            "total": str(total.quantize(Decimal("0.01"))),
            "currencies": sorted(set(checked["currency"])),
            "models": sorted(set(names)),
        },
    )
    return len(rows)


def _also(mask: pd.Series) -> str:
    more = int(mask.sum()) - 1
    return f"; {more} more row{'s' if more > 1 else ''} too" if more > 0 else ""


def _existing_cost_keys(
    session: Session, model_ids: Iterable[int], start: Any, end: Any
) -> set[tuple[Any, int, str]]:
    result = session.execute(
        select(col(CostRecord.day), col(CostRecord.model_id), col(CostRecord.category)).where(
            col(CostRecord.model_id).in_([int(m) for m in model_ids]),
            col(CostRecord.day) >= start,
            col(CostRecord.day) <= end,
        )
    ).all()
    return {(d, m, c) for d, m, c in result}
