"""Data drift: reference profiles per model version, drift runs per model version and period,
and one result row per compared column.

A profile is the reference distribution of a version's inputs (and, where known, of its
predictions), computed once from its training data and kept, so that every later run bins
the current window against it instead of re-reading the training data. A run is unique per
model version and period key: running the same period again returns the stored run, or
replaces it when the window's row count or the reference changed (late data, new profile).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import UTCDateTime

__all__ = ["DriftProfile", "DriftRun", "DriftFeatureResult"]

PROFILE_SOURCES = ("training", "baseline")
RUN_KINDS = ("scheduled", "adhoc")
RUN_STATUSES = ("ok", "drift", "no_data", "not_computed")
COLUMN_ROLES = ("feature", "prediction")
COLUMN_KINDS = ("numeric", "categorical", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class DriftProfile(SQLModel, table=True):
    """The reference distribution of one model version's columns, from one source, computed once.

    ``columns`` holds the small per-column summary (kind, counts, mean, std, categories) that
    pages may read; ``payload`` holds the binned arrays (an ``.npz`` without pickles) that only
    the drift engine loads.
    """

    __tablename__ = "drift_profile"
    __table_args__ = (
        UniqueConstraint("model_version_id", "source_key"),
        CheckConstraint(_in("source", PROFILE_SOURCES), name="source"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    source: str = Field(
        max_length=20,
        description="training: the training dataset; baseline: the version's first weeks of predictions",
    )
    source_key: str = Field(
        max_length=200, description="what the profile was computed from, e.g. dataset:7:<sha256>"
    )
    dataset_id: int | None = Field(default=None, foreign_key="dataset.id")
    description: str = Field(
        default="", max_length=500, description="the source in words, shown with every run"
    )
    n_rows: int = 0
    columns: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    format_version: int = 1
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="person.id")


class DriftRun(SQLModel, table=True):
    """One comparison of a model version's inputs in a period (or an uploaded batch) with its reference."""

    __tablename__ = "drift_run"
    __table_args__ = (
        UniqueConstraint("model_version_id", "period_key"),
        CheckConstraint(_in("kind", RUN_KINDS), name="kind"),
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        CheckConstraint("drift_share IS NULL OR (drift_share >= 0 AND drift_share <= 1)", name="drift_share"),
        Index("ix_drift_run_model_period", "model_id", "kind", "period_end"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    kind: str = Field(default="scheduled", max_length=20)
    period_key: str = Field(
        max_length=120,
        description="scheduled: 'YYYY-MM-DD..YYYY-MM-DD' (end exclusive); adhoc: 'upload:<sha256>'",
    )
    period_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    period_end: datetime | None = Field(default=None, sa_type=UTCDateTime, description="exclusive")
    source_label: str = Field(default="", max_length=300, description="adhoc: the uploaded file's name")
    profile_id: int | None = Field(default=None, foreign_key="drift_profile.id")
    reference_description: str = Field(default="", max_length=500)
    reference_rows: int = 0
    current_rows: int = 0
    n_columns: int = 0
    n_computed: int = 0
    n_drifted: int = 0
    drift_share: float | None = Field(
        default=None, description="drifted / computed feature columns; NULL when none could be computed"
    )
    dataset_drift: bool = Field(
        default=False, description="drift share at or above the dataset threshold (Evidently's 0.5)"
    )
    prediction_drifted: bool | None = Field(
        default=None, description="NULL when the predictions could not be compared"
    )
    status: str = Field(default="ok", max_length=20, index=True)
    status_note: str = Field(default="", max_length=500)
    engine: str = Field(default="steward", max_length=40, description="steward (fast engine) or evidently")
    params: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="thresholds and sizes used"
    )
    report_path: str = Field(
        default="", max_length=1000, description="Evidently HTML, relative to settings.report_dir"
    )
    report_rows: int = Field(
        default=0, description="rows per side the Evidently report was computed on (sampled)"
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    created_by_id: int | None = Field(default=None, foreign_key="person.id")


class DriftFeatureResult(SQLModel, table=True):
    """One column of one run: the test used, its score, the threshold and the decision, or why not computed."""

    __tablename__ = "drift_feature_result"
    __table_args__ = (
        UniqueConstraint("run_id", "column_name"),
        CheckConstraint(_in("role", COLUMN_ROLES), name="role"),
        CheckConstraint(_in("kind", COLUMN_KINDS), name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(
        sa_column=Column(Integer, ForeignKey("drift_run.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    column_name: str = Field(max_length=200)
    role: str = Field(default="feature", max_length=20)
    kind: str = Field(default="numeric", max_length=20)
    test: str = Field(default="", max_length=40, description="ks, chisquare, z, wasserstein, jensenshannon")
    statistic: str = Field(
        default="", max_length=80, description="the score in words, e.g. 'Wasserstein distance (normed)'"
    )
    score: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    drifted: bool | None = Field(default=None, description="NULL when not computed")
    not_computed_reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    reference_rows: int = 0
    current_rows: int = 0
    reference_missing: float = Field(default=0.0, description="share of rows without a value")
    current_missing: float = 0.0
    stats: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="other statistics: ks, psi, wasserstein, js, means"
    )
    histogram: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="reference vs current shares for charts"
    )
