"""Human feedback and alerting: labelling campaigns, their items and labels, per-model
monitoring thresholds (versioned) and the alerts raised from them.

A campaign samples production predictions of one model version; labellers answer each item
once (unique per item and labeller). ``CampaignItem.n_labels`` counts real answers (not
"unsure" or "skip") and is raised with a compare-and-set update, so concurrent labellers can
never give an item more than ``labels_per_item`` labels.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel, col

from core import clock
from core.db.models.registry import PredictionLog
from core.db.types import UTCDateTime

__all__ = ["LabellingCampaign", "CampaignItem", "Label", "MonitoringThresholds", "Alert", "SegmentAttribute"]

CAMPAIGN_STRATEGIES = ("random", "stratified", "uncertainty", "disagreement")
CAMPAIGN_STATUSES = ("open", "closed")
ITEM_STATUSES = ("open", "final", "disagreement")
# segment: a segment's error rate beyond the rest's; fairness: a disparity between the groups of a
# sensitive attribute (core.monitoring.segments).
ALERT_KINDS = ("drift", "performance", "outage", "label_coverage", "segment", "fairness")
ALERT_LEVELS = ("warning", "alert")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class LabellingCampaign(SQLModel, table=True):
    """A sample of one model version's production predictions, to be labelled by domain experts."""

    __tablename__ = "labelling_campaign"
    __table_args__ = (
        CheckConstraint(_in("strategy", CAMPAIGN_STRATEGIES), name="strategy"),
        CheckConstraint(_in("status", CAMPAIGN_STATUSES), name="status"),
        CheckConstraint("labels_per_item BETWEEN 1 AND 3", name="labels_per_item"),
        CheckConstraint("size >= 1 AND size <= size_requested", name="size"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    name: str = Field(max_length=200)
    instructions: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    strategy: str = Field(max_length=20)
    segment_feature: str = Field(
        default="", max_length=200, description="stratified: feature to stratify by ('' = predicted class)"
    )
    decision_threshold: float | None = Field(
        default=None, description="uncertainty/disagreement: threshold used"
    )
    business_rule_id: int | None = Field(default=None, foreign_key="business_rule.id")
    period_from: date | None = None
    period_to: date | None = None
    size_requested: int
    size: int
    sampling_note: str = Field(default="", max_length=1000, description="e.g. why fewer items than requested")
    seed: int = 0
    labels_per_item: int = 1
    hide_prediction: bool = Field(
        default=True, description="hide the model's answer from labellers (anchoring)"
    )
    status: str = Field(default="open", max_length=20, index=True)
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CampaignItem(SQLModel, table=True):
    """One sampled prediction in a campaign, in the order labellers see it."""

    __tablename__ = "campaign_item"
    __table_args__ = (
        UniqueConstraint("campaign_id", "prediction_log_id"),
        UniqueConstraint("campaign_id", "position"),
        CheckConstraint(_in("status", ITEM_STATUSES), name="status"),
        CheckConstraint("n_labels >= 0", name="n_labels"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="labelling_campaign.id", index=True)
    prediction_log_id: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),
            ForeignKey("prediction_log.id"),
            nullable=False,
            index=True,
        )
    )
    position: int
    n_labels: int = Field(
        default=0, description="real answers so far (unsure/skip excluded); compare-and-set guarded"
    )
    status: str = Field(default="open", max_length=20)
    final_label: float | None = None


class Label(SQLModel, table=True):
    """One labeller's answer to one item: a value, or 'unsure', or 'skip'. Never edited."""

    __tablename__ = "label"
    __table_args__ = (
        UniqueConstraint("item_id", "labeller_id"),
        CheckConstraint("(value IS NOT NULL) OR unsure OR skipped", name="answer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="campaign_item.id", index=True)
    campaign_id: int = Field(foreign_key="labelling_campaign.id", index=True)
    labeller_id: int = Field(foreign_key="person.id", index=True)
    value: float | None = None
    unsure: bool = False
    skipped: bool = False
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class MonitoringThresholds(SQLModel, table=True):
    """Alerting thresholds of one model; every change is a new version (the newest applies)."""

    __tablename__ = "monitoring_thresholds"
    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        CheckConstraint("drift_share > 0 AND drift_share <= 1", name="drift_share"),
        CheckConstraint("performance_drop >= 0", name="performance_drop"),
        CheckConstraint("outage_days >= 1", name="outage_days"),
        CheckConstraint("min_label_coverage >= 0 AND min_label_coverage <= 1", name="min_label_coverage"),
        CheckConstraint("min_group_size >= 1", name="min_group_size"),
        CheckConstraint("segment_gap >= 0 AND segment_gap <= 1", name="segment_gap"),
        CheckConstraint("disparity_limit >= 0 AND disparity_limit <= 1", name="disparity_limit"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    version: int = 1
    drift_share: float = Field(description="alert when this share of features drifts (warning at half)")
    performance_drop: float = Field(
        description="allowed drop below validation: absolute for 0-1 scores, relative for errors"
    )
    outage_days: int = Field(description="alert after this many days without predictions")
    min_label_coverage: float = Field(description="warn when fewer predictions than this share are labelled")
    min_group_size: int = Field(
        default=30,
        sa_column_kwargs={"server_default": "30"},
        description="segments with fewer labelled cases show 'too few cases', never a number",
    )
    segment_gap: float = Field(
        default=0.1,
        sa_column_kwargs={"server_default": "0.1"},
        description="how far a segment's error rate may exceed the rest's (absolute)",
    )
    disparity_limit: float = Field(
        default=0.1,
        sa_column_kwargs={"server_default": "0.1"},
        description="largest demographic-parity or equalised-odds difference of a sensitive attribute",
    )
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Alert(SQLModel, table=True):
    """A warning or alert about one model; open until the condition clears (closed_at set)."""

    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint(_in("kind", ALERT_KINDS), name="kind"),
        CheckConstraint(_in("level", ALERT_LEVELS), name="level"),
        # At most one open alert per model, kind and subject, enforced by the database.
        Index(
            "uq_alert_open_per_kind",
            "model_id",
            "kind",
            "subject",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    kind: str = Field(max_length=20)
    subject: str = Field(
        default="",
        max_length=300,
        sa_column_kwargs={"server_default": ""},
        description="what the alert is about within its kind, e.g. a segment 'channel = broker'",
    )
    level: str = Field(max_length=20)
    message: str = Field(sa_column=Column(Text, nullable=False))
    opened_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the reported condition began (may be days before the job opened the alert); None: unknown.
    condition_since: datetime | None = Field(default=None, sa_type=UTCDateTime)


# Realised performance reads only the labelled rows of a version; this partial index keeps
# that read small when labels are a few percent of millions of logged predictions.
Index(
    "ix_prediction_log_labelled",
    col(PredictionLog.model_version_id),
    col(PredictionLog.ts),
    sqlite_where=text("label IS NOT NULL"),
    postgresql_where=text("label IS NOT NULL"),
)


class SegmentAttribute(SQLModel, table=True):
    """A sensitive attribute of one request (e.g. age band), which need not be a model input: it
    comes with the prediction log or in a join file keyed by request id, and is read only to
    measure performance and disparities per group (``core.monitoring.segments``)."""

    __tablename__ = "segment_attribute"
    __table_args__ = (UniqueConstraint("model_id", "request_id", "name"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    model_id: int = Field(foreign_key="model.id", index=True)
    request_id: str = Field(max_length=120)
    name: str = Field(max_length=100)
    value: str = Field(max_length=200)
    attached_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
