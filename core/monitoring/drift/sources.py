"""Where drift data comes from: a version's training data (the reference) and its logged
predictions in a period (the current window), read in chunks.

Only the drift run path reads the prediction log (the Parquet log store, through DuckDB); pages
read stored runs. Periods are whole
UTC days, end exclusive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session, col

from core.db.models import Dataset, Model, ModelVersion, PredictionDaily
from core.db.types import saved_id
from core.errors import InvalidInput, NotFound
from core.logstore import reads as logstore_reads
from core.registry import datasets

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
    """The version's drift reference (its reference dataset, else its training dataset), or
    NotFound saying how to register one."""
    model = session.get(Model, version.model_id)
    assert model is not None
    dataset = datasets.dataset_for(session, version, "reference")
    if dataset is None:
        raise NotFound(
            f"{model.name} v{version.version} has no training dataset registered, so there is no reference "
            "to compare with. Register the training sample with its file (steward register-dataset NAME "
            "--file train.csv --role training --model ... --model-version ...) or upload it on the Model page."
        )
    return dataset


def source_key(dataset: Dataset) -> str:
    """Identifies the reference data: a new file (new hash) means a new profile."""
    return f"dataset:{dataset.id}:{dataset.content_hash or 'unhashed'}"


def training_reference(session: Session, version: ModelVersion) -> Reference:
    """The version's reference data, checked against its registered sha256, with column roles."""
    dataset = training_dataset(session, version)
    if not dataset.uri:
        raise NotFound(
            f"Training dataset '{dataset.name}' v{dataset.version} has no file in the artifact store (uri is empty)."
        )
    frame = datasets.read_dataset(dataset, max_mb=REFERENCE_MAX_MB)
    roles = reference_roles(list(frame.columns), list(version.feature_names))
    used = "reference dataset" if version.reference_dataset_id else "training dataset"
    description = f"{used} {dataset.name} v{dataset.version} ({len(frame):,} rows)"
    return Reference(frame, roles, source_key(dataset), description, saved_id(dataset))


def reference_roles(columns: list[str], feature_names: list[str]) -> dict[str, str]:
    """feature for each registered feature (or every non-reserved column when none are
    registered), prediction for prediction/score columns present in the reference."""
    features = feature_names or [c for c in columns if c not in NOT_FEATURES]
    roles = dict.fromkeys(features, "feature")
    roles.update({c: "prediction" for c in PREDICTION_COLUMNS if c in columns})
    return roles


# --- current window --------------------------------------------------------------------------
# The window is read from the log store (Parquet, by version and day) through DuckDB: a count
# from the manifest, then the feature, prediction and score columns in Arrow batches.


def count_window(session: Session, version_id: int, period: Period) -> int:
    """Logged predictions of the version in the period (a sum over the store's manifest)."""
    return logstore_reads.count_rows(session, version_id, period.first, period.last)


def window_chunks(
    session: Session, version_id: int, period: Period, *, chunk_rows: int = CHUNK_ROWS, stride: int = 1
) -> Iterator[pd.DataFrame]:
    """The period's predictions as DataFrames of at most ``chunk_rows`` rows: one column per
    feature plus prediction and score. ``stride`` > 1 keeps every stride-th row (by id), a
    deterministic sample."""
    classes = class_names(session, version_id)
    for frame in logstore_reads.window_frames(
        session, version_id, period.first, period.last, chunk_rows=chunk_rows, stride=stride
    ):
        yield named_classes(frame, classes)


def class_names(session: Session, version_id: int) -> list[str]:
    """A multiclass classifier version's class names in order; [] for any other task."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        return []
    model = session.get(Model, version.model_id)
    if model is None or model.task != "multiclass_classification":
        return []
    return list(version.class_names or [])


def named_classes(frame: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """``frame`` with a multiclass prediction's class position replaced by its class name, so
    prediction drift compares the share of each class (a category), not the positions as numbers."""
    if not classes or "prediction" not in frame.columns:
        return frame
    names = dict(enumerate(classes))
    positions = pd.to_numeric(frame["prediction"], errors="coerce")
    return frame.assign(prediction=positions.map(lambda p: names.get(int(p)) if pd.notna(p) else None))


def versions_with_predictions(session: Session, model_id: int, period: Period) -> list[int]:
    """Versions of the model with predictions in the period, from the daily rollup (no log scan)."""
    rows = (
        session.execute(
            select(col(PredictionDaily.model_version_id))
            .join(ModelVersion, col(ModelVersion.id) == col(PredictionDaily.model_version_id))
            .where(
                col(ModelVersion.model_id) == model_id,
                col(PredictionDaily.day) >= period.first,
                col(PredictionDaily.day) <= period.last,
                col(PredictionDaily.n) > 0,
            )
            .distinct()
        )
        .scalars()
        .all()
    )
    return sorted(int(r) for r in rows)


def first_prediction_day(session: Session, version_id: int) -> date | None:
    return session.execute(
        select(func.min(col(PredictionDaily.day))).where(
            col(PredictionDaily.model_version_id) == version_id, col(PredictionDaily.n) > 0
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
    by id stride when there are more than ``max_rows``; a multiclass prediction by its class name."""
    frame = logstore_reads.prediction_values(
        session, version_id, period.first, period.last, max_rows=max_rows
    )
    return named_classes(frame, class_names(session, version_id))
