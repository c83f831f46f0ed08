"""Promotion requests with their frozen evidence, the decisions on them and their comments.

A request is decided by compare-and-set on (status, row_version): two approvers acting at the
same moment cannot both win. Decided requests never change again; the database refuses a
second pending request for the same version and a second approval by the same person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, Text, text
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import UTCDateTime

__all__ = ["PromotionRequest", "PromotionDecision", "PromotionComment"]

REQUEST_STATUSES = ("pending", "approved", "rejected", "cancelled")
TARGET_STAGES = ("staging", "production")
DECISIONS = ("approve", "reject", "cancel")
GATE_STATUSES = ("pass", "warn", "fail", "na")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PromotionRequest(SQLModel, table=True):
    """A request to move one version to staging or production, with the evidence frozen at request time."""

    __tablename__ = "promotion_request"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),
        CheckConstraint(_in("target_stage", TARGET_STAGES), name="target_stage"),
        CheckConstraint("required_approvals >= 1", name="required_approvals_positive"),
        # One open request per version at a time.
        Index(
            "uq_promotion_request_one_pending",
            "model_version_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    from_stage: str = Field(max_length=20, description="the version's stage when requested")
    target_stage: str = Field(max_length=20)
    justification: str = Field(sa_column=Column(Text, nullable=False))
    requested_by_id: int = Field(foreign_key="person.id", index=True)
    requested_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    status: str = Field(default="pending", max_length=20, index=True)
    row_version: int = Field(default=1, description="bumped on every decision; compare-and-set guard")
    required_approvals: int = Field(default=1, description="2 for a high-risk model (frozen at request time)")
    risk_tier: str = Field(
        default="", max_length=40, description="risk tier at request time; '' = not assessed"
    )
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="gates and diff, frozen")
    evidence_status: str = Field(
        default="pass", max_length=10, description="worst gate status: pass, warn, fail"
    )
    version_row_version: int = Field(description="the version's row_version the evidence was taken from")
    production_version_id: int | None = Field(
        default=None, foreign_key="model_version.id", description="production version when requested"
    )
    decided_by_id: int | None = Field(default=None, foreign_key="person.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    override_reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    overridden_by_id: int | None = Field(default=None, foreign_key="person.id")


class PromotionDecision(SQLModel, table=True):
    """One approve, reject or cancel on a request. An approver approves a request at most once."""

    __tablename__ = "promotion_decision"
    __table_args__ = (
        CheckConstraint(_in("decision", DECISIONS), name="decision"),
        Index(
            "uq_promotion_decision_one_approval",
            "request_id",
            "person_id",
            unique=True,
            sqlite_where=text("decision = 'approve'"),
            postgresql_where=text("decision = 'approve'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="promotion_request.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    decision: str = Field(max_length=10)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    override_reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    decided_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class PromotionComment(SQLModel, table=True):
    __tablename__ = "promotion_comment"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="promotion_request.id", index=True)
    author_id: int = Field(foreign_key="person.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
