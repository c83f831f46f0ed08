"""Where drift data comes from: a version's training data (the reference) and its logged
predictions in a period (the current window), read in chunks.

Only the drift run path reads the prediction log; pages read stored runs. Periods are whole
UTC days, end exclusive.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Text, cast, func, select
from sqlmodel import Session

from core.db.models import Dataset, Model, ModelVersion, PredictionDaily, PredictionLog
from core.errors import InvalidInput, NotFound
from core.registry import artifacts
from core.registry.files import read_table

CHUNK_ROWS = 50_000
PREDICTION_COLUMNS = ("prediction", "score")
NOT_FEATURES = ("label", "target", "ts", "request_id", *PREDICTION_COLUMNS)
REFERENCE_MAX_MB = 4096  # training samples are read from the artifact store, not uploaded
BASELINE_DAYS = 28


@dataclass(frozen=True)
class Period:
    """Whole UTC days from ``first`` to ``last`` inclusive."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInput(f"the period ends ({self.last}) before it starts ({self.first}).")

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after ``last``."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)

    @property
    def key(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    @property
    def label(self) -> str:
        if self.first == self.last:
            return self.first.strftime("%d %b %Y")
        if (
            self.first.day == 1
            and (self.last + timedelta(days=1)).day == 1
            and self.first.month == self.last.month
        ):
            return self.first.strftime("%B %Y")
        return f"{self.first.strftime('%d %b %Y')} – {self.last.strftime('%d %b %Y')}"

    @classmethod
    def parse_key(cls, key: str) -> Period:
        first, last = key.split("..")
        return cls(date.fromisoformat(first), date.fromisoformat(last))


def month_periods(first: date, last: date) -> list[Period]:
    """Calendar months overlapping [first, last], cut to that range."""
    periods, cursor = [], first.replace(day=1)
    while cursor <= last:
        following = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
        periods.append(Period(max(cursor, first), min(following - timedelta(days=1), last)))
        cursor = following
    return periods


# --- reference -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    frame: pd.DataFrame
    roles: dict[str, str]
    source_key: str
    description: str
    dataset_id: int


def training_dataset(session: Session, version: ModelVersion) -> Dataset:
    """The version's training dataset row, or NotFound saying how to register one."""
    model = session.get(Model, version.model_id)
    assert model is not None
    if version.training_dataset_id is None:
        raise NotFound(
            f"{model.name} v{version.version} has no training dataset registered, so there is no reference "
            "to compare with. Register the training sample as a dataset and link it to the version."
        )
    dataset = session.get(Dataset, version.training_dataset_id)
    assert dataset is not None
    return dataset


def source_key(dataset: Dataset) -> str:
    """Identifies the reference data: a new file (new hash) means a new profile."""
    return f"dataset:{dataset.id}:{dataset.content_hash or 'unhashed'}"


def training_reference(session: Session, version: ModelVersion) -> Reference:
    """The version's training data, checked against its registered sha256, with column roles."""
    dataset = training_dataset(session, version)
    if not dataset.uri:
        raise NotFound(
            f"Training dataset '{dataset.name}' v{dataset.version} has no file in the artifact store (uri is empty)."
        )
    path = (
        artifacts.verify_artifact(dataset.uri, dataset.content_hash)
        if dataset.content_hash
        else artifacts.resolve(dataset.uri)
    )
    frame = read_table(path, max_mb=REFERENCE_MAX_MB)
    roles = reference_roles(list(frame.columns), list(version.feature_names))
    description = f"training dataset {dataset.name} v{dataset.version} ({len(frame):,} rows)"
    return Reference(frame, roles, source_key(dataset), description, dataset.id)  # type: ignore[arg-type]


def reference_roles(columns: list[str], feature_names: list[str]) -> dict[str, str]:
    """feature for each registered feature (or every non-reserved column when none are
    registered), prediction for prediction/score columns present in the reference."""
    features = feature_names or [c for c in columns if c not in NOT_FEATURES]
    roles = dict.fromkeys(features, "feature")
    roles.update({c: "prediction" for c in PREDICTION_COLUMNS if c in columns})
    return roles


# --- current window --------------------------------------------------------------------------


def window_filter(version_id: int, period: Period) -> list:  # type: ignore[type-arg]
    return [
        PredictionLog.model_version_id == version_id,
        PredictionLog.ts >= period.start,
        PredictionLog.ts < period.end,
    ]


def count_window(session: Session, version_id: int, period: Period) -> int:
    """Logged predictions of the version in the period (an indexed count, not a scan of the log)."""
    return int(
        session.execute(
            select(func.count()).select_from(PredictionLog).where(*window_filter(version_id, period))
        ).scalar_one()
    )


def window_chunks(
    session: Session, version_id: int, period: Period, *, chunk_rows: int = CHUNK_ROWS, stride: int = 1
) -> Iterator[pd.DataFrame]:
    """The period's predictions as DataFrames of at most ``chunk_rows`` rows: one column per
    feature plus prediction and score. ``stride`` > 1 keeps every stride-th row (by id), a
    deterministic sample."""
    conditions = window_filter(version_id, period)
    if stride > 1:
        conditions.append(PredictionLog.id % stride == 0)  # type: ignore[operator]
    # The features as JSON text, decoded per chunk in one json.loads: about twice as fast as
    # letting the JSON column type decode row by row.
    stmt = select(cast(PredictionLog.features, Text), PredictionLog.prediction, PredictionLog.score).where(
        *conditions
    )
    result = session.execute(stmt, execution_options={"yield_per": chunk_rows})
    for part in result.partitions():
        yield log_frame(part)


def _feature_records(values: list) -> list[dict]:  # type: ignore[type-arg]
    if all(isinstance(v, str) for v in values):
        return json.loads("[" + ",".join(values) + "]")  # type: ignore[no-any-return]
    return [(json.loads(v) if isinstance(v, str) else v) or {} for v in values]


def log_frame(rows: list) -> pd.DataFrame:  # type: ignore[type-arg]
    """Rows of (features, prediction, score, ...) as a DataFrame of feature columns plus prediction and score.
    Features may come as dicts or as JSON text."""
    frame = pd.DataFrame.from_records([r or {} for r in _feature_records([r[0] for r in rows])])
    frame["prediction"] = np.array([r[1] for r in rows], dtype=float)
    frame["score"] = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=float)
    return frame


def versions_with_predictions(session: Session, model_id: int, period: Period) -> list[int]:
    """Versions of the model with predictions in the period, from the daily rollup (no log scan)."""
    rows = (
        session.execute(
            select(PredictionDaily.model_version_id)
            .join(ModelVersion, ModelVersion.id == PredictionDaily.model_version_id)
            .where(
                ModelVersion.model_id == model_id,
                PredictionDaily.day >= period.first,
                PredictionDaily.day <= period.last,
                PredictionDaily.n > 0,
            )
            .distinct()
        )
        .scalars()
        .all()
    )
    return sorted(int(r) for r in rows)


def first_prediction_day(session: Session, version_id: int) -> date | None:
    return session.execute(
        select(func.min(PredictionDaily.day)).where(
            PredictionDaily.model_version_id == version_id, PredictionDaily.n > 0
        )
    ).scalar_one_or_none()


def baseline_period(session: Session, version_id: int) -> Period | None:
    """The version's first ``BASELINE_DAYS`` days of predictions: the reference for prediction drift
    when the training data holds no predictions."""
    first = first_prediction_day(session, version_id)
    if first is None:
        return None
    return Period(first, first + timedelta(days=BASELINE_DAYS - 1))


def prediction_frame(
    session: Session, version_id: int, period: Period, *, max_rows: int = 2_000_000
) -> pd.DataFrame:
    """Prediction and score of the version's predictions in the period (no features), sampled
    by id stride when there are more than ``max_rows``."""
    n = count_window(session, version_id, period)
    conditions = window_filter(version_id, period)
    stride = -(-n // max_rows) if n > max_rows else 1
    if stride > 1:
        conditions.append(PredictionLog.id % stride == 0)  # type: ignore[operator]
    rows = session.execute(select(PredictionLog.prediction, PredictionLog.score).where(*conditions)).all()
    return pd.DataFrame(
        {
            "prediction": np.array([r[0] for r in rows], dtype=float),
            "score": np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=float),
        }
    )
