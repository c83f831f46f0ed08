"""The manifest of the prediction-log store and the retention policy of each model.

Logged predictions live as Parquet files outside the registry (``STEWARD_LOG_STORE``), one
directory per model, version and UTC day. The registry keeps only what proves and finds them:
one ``log_file`` row per file (its rows, the row ids it holds, its sha256 and a content
checksum, its schema). ``log_row_id`` hands out row ids, so a logged prediction has one id
wherever it is read from (the store, or the labelled sample kept in ``prediction_log``).
A version may instead read its logs where they already are (``log_source``: a Parquet file,
directory or glob, or a Delta table, with a column mapping); nothing is then copied into the store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, Integer
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import UTCDateTime

__all__ = ["LogFile", "LogRowId", "LogRetention", "LogSource", "LOG_FILE_SOURCES", "LOG_SOURCE_KINDS"]

LOG_FILE_SOURCES = ("ingest", "migrate")
LOG_SOURCE_KINDS = ("parquet", "delta")


class LogFile(SQLModel, table=True):
    """One Parquet file of the store: the predictions of one model version on one UTC day
    written by one batch."""

    __tablename__ = "log_file"
    __table_args__ = (
        Index("ix_log_file_version_day", "model_version_id", "day"),
        CheckConstraint("source IN ('ingest', 'migrate')", name="source"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    model_version_id: int = Field(foreign_key="model_version.id")
    day: date
    path: str = Field(max_length=500, unique=True, description="relative to the store's root")
    rows: int
    first_row_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_row_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64, description="of the file's bytes")
    checksum: str = Field(
        max_length=32, description="of the rows' content, independent of their order (see core.logstore)"
    )
    columns: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=JSON, description="the schema: [{name, type}]"
    )
    source: str = Field(default="ingest", max_length=10)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class LogRowId(SQLModel, table=True):
    """One row: the next free row id of logged predictions (ranges are taken under its row lock)."""

    __tablename__ = "log_row_id"

    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    next_id: int = Field(sa_column=Column(BigInteger, nullable=False))


class LogRetention(SQLModel, table=True):
    """How long a model's raw logged rows are kept. Daily aggregates, drift runs and the
    labelled sample are kept for ever whatever this says."""

    __tablename__ = "log_retention"
    __table_args__ = (CheckConstraint("raw_days >= 1", name="raw_days"),)

    model_id: int = Field(foreign_key="model.id", primary_key=True)
    raw_days: int = Field(description="raw rows older than this many days are deleted")
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_by_id: int | None = Field(default=None, foreign_key="person.id")
    last_applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LogSource(SQLModel, table=True):
    """Where a version's logged predictions already live, read in place (nothing is copied):
    a Parquet file, directory or glob, local or at a URL, or a Delta table; and which of its
    columns is which."""

    __tablename__ = "log_source"
    __table_args__ = (CheckConstraint("kind IN ('parquet', 'delta')", name="kind"),)

    model_version_id: int = Field(foreign_key="model_version.id", primary_key=True)
    kind: str = Field(default="parquet", max_length=20)
    location: str = Field(max_length=1000, description="path, directory or glob; or a URL")
    mapping: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=JSON,
        description="ts, request_id, prediction, score, label: column names (score and label may be "
        "empty); features: {feature: column}",
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="person.id")
    synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    synced_rows: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
