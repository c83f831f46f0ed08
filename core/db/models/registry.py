"""The model inventory: models, versions, owners, data lineage, prediction logs and costs.

Fields follow what an inventory must hold (SR 11-7 inventory, EU AI Act Annex IV, Model
Cards): purpose and restrictions, owners and validators, data provenance, metrics, dates.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import Money, UTCDateTime

__all__ = [
    "BusinessProcess",
    "Model",
    "ModelVersion",
    "StageChange",
    "Ownership",
    "DataSource",
    "Dataset",
    "Feature",
    "Deployment",
    "LineageEdge",
    "LineageEvent",
    "PredictionLog",
    "PredictionDaily",
    "CostRecord",
    "BusinessRule",
]

MODEL_STATUSES = ("development", "validation", "production", "retired")
STAGES = ("none", "staging", "production", "archived")
TASKS = ("binary_classification", "multiclass_classification", "regression")
CLASSIFIER_TASKS = ("binary_classification", "multiclass_classification")
DATASET_ROLES = ("training", "evaluation", "reference", "background")
OWNERSHIP_ROLES = ("business_owner", "technical_owner", "validator", "backup")
COST_CATEGORIES = ("compute", "storage", "inference", "labelling")
LINEAGE_NODE_TYPES = ("data_source", "dataset", "feature", "model_version", "deployment", "business_process")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _text(**kw: Any) -> Any:
    """A long text column that is '' when empty (model-card sections, descriptions)."""
    return Field(default="", sa_column=Column(Text, nullable=False, server_default=""), **kw)


class BusinessProcess(SQLModel, table=True):
    __tablename__ = "business_process"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    business_unit: str = Field(max_length=200, index=True)
    description: str = _text()
    kpi: str = Field(default="", max_length=200, description="the KPI the process is steered on")
    kpi_unit: str = Field(default="", max_length=40)


class Model(SQLModel, table=True):
    __tablename__ = "model"
    __table_args__ = (
        CheckConstraint(_in("status", MODEL_STATUSES), name="status"),
        CheckConstraint(_in("task", TASKS), name="task"),
        CheckConstraint(
            "outcome_horizon_days IS NULL OR outcome_horizon_days BETWEEN 0 AND 3660",
            name="outcome_horizon_days",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    purpose: str = _text()
    intended_use: str = _text()
    out_of_scope_uses: str = _text()
    business_unit: str = Field(max_length=200, index=True)
    business_process_id: int | None = Field(default=None, foreign_key="business_process.id", index=True)
    kpi: str = Field(default="", max_length=200)
    task: str = Field(default="binary_classification", max_length=40)
    methodology: str = Field(default="", max_length=200, description="e.g. gradient boosted trees")
    target: str = Field(default="", max_length=200, description="what the model predicts, in words")
    status: str = Field(default="development", max_length=20, index=True)
    is_vendor: bool = Field(default=False)
    vendor_name: str = Field(default="", max_length=200)
    primary_metric: str = Field(default="", max_length=40, description="the metric validation is judged on")
    metric_thresholds: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description='minimums/maximums, e.g. {"roc_auc": {"min": 0.7}}'
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    case_link_template: str = Field(
        default="",
        max_length=1000,
        description="address of a case in the system where it lives, with {request_id}; '' = no link",
    )
    outcome_horizon_days: int | None = Field(
        default=None, description="days after a prediction until its outcome is known (labelling asks then)"
    )


class ModelVersion(SQLModel, table=True):
    __tablename__ = "model_version"
    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        CheckConstraint(_in("stage", STAGES), name="stage"),
        CheckConstraint("version >= 1", name="version_positive"),
        # At most one production version per model, enforced by the database itself.
        Index(
            "uq_model_version_one_production",
            "model_id",
            unique=True,
            sqlite_where=text("stage = 'production'"),
            postgresql_where=text("stage = 'production'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    version: int
    stage: str = Field(default="none", max_length=20, index=True)
    row_version: int = Field(default=1, description="bumped on every update; compare-and-set guard")
    description: str = _text()
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    git_commit: str = Field(default="", max_length=64)
    artifact_uri: str = Field(default="", max_length=1000)
    artifact_sha256: str = Field(default="", max_length=64)
    artifact_format: str = Field(default="", max_length=40, description="e.g. pickle, joblib, onnx")
    source_uri: str = Field(
        default="",
        max_length=1000,
        description="where the model lives outside Steward, e.g. an MLflow run's artifact location",
    )
    source_sha256: str = Field(
        default="",
        max_length=64,
        description="content hash of the files at source_uri when they were imported (see mlflow_source.hash_tree)",
    )
    training_dataset_id: int | None = Field(default=None, foreign_key="dataset.id")
    evaluation_dataset_id: int | None = Field(default=None, foreign_key="dataset.id")
    reference_dataset_id: int | None = Field(
        default=None, foreign_key="dataset.id", description="drift reference (default: the training data)"
    )
    background_dataset_id: int | None = Field(
        default=None, foreign_key="dataset.id", description="SHAP background (default: the training data)"
    )
    feature_names: list[str] = Field(default_factory=list, sa_type=JSON)
    class_names: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default="[]"),
        description="a multiclass classifier's classes in order: logged predictions and labels hold "
        "their index; [] for binary classifiers and regressions",
    )
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    card_training_data: str = _text()
    card_evaluation: str = _text()
    card_limitations: str = _text()
    card_ethical_considerations: str = _text()
    card_caveats: str = _text()


class StageChange(SQLModel, table=True):
    """Every stage transition of a version: answers "what was in production on date D"."""

    __tablename__ = "stage_change"

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    from_stage: str = Field(max_length=20)
    to_stage: str = Field(max_length=20)
    changed_at: datetime = Field(sa_type=UTCDateTime, index=True)
    changed_by_id: int = Field(foreign_key="person.id")
    reason: str = _text()


class Ownership(SQLModel, table=True):
    """Who answers for a model: accountable business owner, technical owner, validator, backup."""

    __tablename__ = "ownership"
    __table_args__ = (
        UniqueConstraint("model_id", "role", "person_id"),
        CheckConstraint(_in("role", OWNERSHIP_ROLES), name="role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=40)
    since: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    reason: str = _text()  # why this person was named (a hand-over says from whom)


class DataSource(SQLModel, table=True):
    __tablename__ = "data_source"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(default="database", max_length=40, description="database, api, file, stream")
    location: str = Field(default="", max_length=1000)
    owner_team: str = Field(default="", max_length=200)
    description: str = _text()


class Dataset(SQLModel, table=True):
    __tablename__ = "dataset"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    version: str = Field(max_length=60)
    data_source_id: int | None = Field(default=None, foreign_key="data_source.id", index=True)
    content_hash: str = Field(default="", max_length=64)
    row_count: int = Field(default=0)
    date_from: date | None = None
    date_to: date | None = None
    data_schema: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="column -> dtype")
    uri: str = Field(default="", max_length=1000)
    role: str = Field(
        default="", max_length=20, description="training, evaluation, reference or background ('' unsaid)"
    )
    storage: str = Field(
        default="",
        max_length=20,
        description="store: a file in the artifact store; external: a verified location; '' a location only",
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Feature(SQLModel, table=True):
    __tablename__ = "feature"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="dataset.id", index=True)
    name: str = Field(max_length=200)
    dtype: str = Field(default="", max_length=40)
    description: str = _text()


class Deployment(SQLModel, table=True):
    __tablename__ = "deployment"

    id: int | None = Field(default=None, primary_key=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    environment: str = Field(max_length=40, description="production, staging, batch, ...")
    endpoint: str = Field(default="", max_length=1000)
    business_process_id: int | None = Field(default=None, foreign_key="business_process.id")
    since: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LineageEdge(SQLModel, table=True):
    """A directed edge between two lineage nodes, e.g. dataset -> model_version."""

    __tablename__ = "lineage_edge"
    __table_args__ = (
        UniqueConstraint("src_type", "src_id", "dst_type", "dst_id"),
        CheckConstraint(_in("src_type", LINEAGE_NODE_TYPES), name="src_type"),
        CheckConstraint(_in("dst_type", LINEAGE_NODE_TYPES), name="dst_type"),
        Index("ix_lineage_edge_dst", "dst_type", "dst_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    src_type: str = Field(max_length=40)
    src_id: int
    dst_type: str = Field(max_length=40)
    dst_id: int
    relation: str = Field(default="feeds", max_length=40)


class LineageEvent(SQLModel, table=True):
    """An OpenLineage event as it was ingested, whole: its facets (known or not) are kept here.

    ``event_hash`` (sha256 of the event's canonical JSON) makes ingesting a file again a no-op."""

    __tablename__ = "lineage_event"

    id: int | None = Field(default=None, primary_key=True)
    event_hash: str = Field(max_length=64, unique=True)
    event_type: str = Field(default="", max_length=20)
    event_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    run_id: str = Field(default="", max_length=100, index=True)
    job_namespace: str = Field(default="", max_length=500)
    job_name: str = Field(default="", max_length=500)
    producer: str = Field(default="", max_length=1000)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="the event as received")
    ingested_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    ingested_by_id: int = Field(foreign_key="person.id")


class PredictionLog(SQLModel, table=True):
    """One logged production prediction, optionally with a human or pipeline label."""

    __tablename__ = "prediction_log"
    __table_args__ = (Index("ix_prediction_log_version_ts", "model_version_id", "ts"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    model_version_id: int = Field(foreign_key="model_version.id")
    ts: datetime = Field(sa_type=UTCDateTime)
    request_id: str = Field(default="", max_length=120)
    features: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prediction: float
    score: float | None = None
    label: float | None = None
    labelled_by_id: int | None = Field(default=None, foreign_key="person.id")
    labelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


SCORE_BINS = 10


class PredictionDaily(SQLModel, table=True):
    """Per version and day: volume, score histogram and label counts. Pages read this, never the raw log."""

    __tablename__ = "prediction_daily"
    # Covers "newest prediction per version" (inventory's last prediction seen).
    __table_args__ = (Index("ix_prediction_daily_version_last_ts", "model_version_id", "last_ts"),)

    model_version_id: int = Field(foreign_key="model_version.id", primary_key=True)
    day: date = Field(primary_key=True, index=True)
    n: int = 0
    pred_sum: float = 0.0
    score_sum: float = 0.0
    score_hist: list[int] = Field(default_factory=lambda: [0] * SCORE_BINS, sa_type=JSON)
    n_labelled: int = 0
    label_sum: float = 0.0
    n_correct: int = Field(default=0, description="classifiers: labelled rows where prediction == label")
    abs_err_sum: float = Field(default=0.0, description="regressors: sum |prediction - label|")
    sq_err_sum: float = 0.0
    last_ts: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CostRecord(SQLModel, table=True):
    __tablename__ = "cost_record"
    __table_args__ = (
        UniqueConstraint("day", "model_id", "category"),
        CheckConstraint(_in("category", COST_CATEGORIES), name="category"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        # Covers "cost per model over the last N days" (inventory) without reading the table.
        Index("ix_cost_record_day_model_cover", "day", "model_id", "currency", "amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    category: str = Field(max_length=20)
    amount: Decimal = Field(sa_type=Money, description="exact; NUMERIC(16, 4) on PostgreSQL (see Money)")
    currency: str = Field(default="EUR", max_length=3)


RULE_STATUSES = ("proposed", "active", "rejected", "superseded", "withdrawn")


class BusinessRule(SQLModel, table=True):
    """A versioned rule acting on a model's output, e.g. "approve if score > 0.69".

    An owner proposes a version (status proposed, created_by = proposer); another person,
    an approver, decides it (active or rejected). An approved version is in force from
    effective_from until effective_to, set when a later version takes over (superseded).
    See core/governance/rules.py.
    """

    __tablename__ = "business_rule"
    __table_args__ = (
        UniqueConstraint("model_id", "name", "version"),
        CheckConstraint("operator IN ('>', '>=', '<', '<=')", name="operator"),
        CheckConstraint(_in("status", RULE_STATUSES), name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    model_version_id: int | None = Field(default=None, foreign_key="model_version.id")
    name: str = Field(max_length=200)
    version: int = 1
    operator: str = Field(default=">", max_length=2)
    threshold: float
    outcome: str = Field(max_length=200, description="what happens when the condition holds, e.g. approve")
    description: str = _text()
    status: str = Field(
        default="proposed", max_length=20, description="proposed, active, rejected, superseded, withdrawn"
    )
    effective_from: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    effective_to: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="set when superseded"
    )
    created_by_id: int = Field(foreign_key="person.id", description="who proposed this version")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    decided_by_id: int | None = Field(default=None, foreign_key="person.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_comment: str = _text()
