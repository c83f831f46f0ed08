"""Retraining requests: "retrain this model", with why, the evidence frozen, an owner and a due
date; answered by a new version and closed when that version reaches production."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlalchemy import CheckConstraint as Check
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import UTCDateTime

__all__ = ["RetrainingRequest"]

RETRAINING_SOURCES = ("alert", "reassessment", "meeting", "manual")
RETRAINING_STATUSES = ("open", "answered", "closed", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _long_text() -> Any:
    return Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class RetrainingRequest(SQLModel, table=True):
    """open -> answered (a new version names it) -> closed (that version reached production);
    or cancelled by its owner or requester with a reason."""

    __tablename__ = "retraining_request"
    __table_args__ = (
        Check(_in("source", RETRAINING_SOURCES), name="source"),
        Check(_in("status", RETRAINING_STATUSES), name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    source: str = Field(max_length=20, description="alert, reassessment, meeting or manual")
    source_ref: str = Field(
        default="", max_length=120, description="e.g. alert:12, decision:4, flag:drift_alert"
    )
    reason: str = _long_text()
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="frozen when opened")
    owner_id: int = Field(foreign_key="person.id", index=True, description="who sees that it is done")
    due_on: date
    status: str = Field(default="open", max_length=12, index=True)
    requested_by_id: int = Field(foreign_key="person.id")
    requested_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    answered_version_id: int | None = Field(default=None, foreign_key="model_version.id", index=True)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closing_note: str = _long_text()
    row_version: int = Field(default=1, description="bumped on every update; compare-and-set guard")
