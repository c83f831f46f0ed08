"""Who answered for a model when, and every revision of every model card.

``ownership`` (core/db/models/registry.py) holds who answers for a model *now*; when an owner
hands over, is replaced or removed, their period moves here with its end and the reason, so
"who was the accountable owner on date D" has an answer. A model card is never overwritten: each
edit is a new ``model_card_revision``; the version's card columns show the newest revision and
a promotion request's evidence names the revision its approvers saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlalchemy import CheckConstraint as Check
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import UTCDateTime

__all__ = ["OwnershipPeriod", "ModelCardRevision"]

_ROLES = ("business_owner", "technical_owner", "validator", "backup")


def _long_text() -> Any:
    return Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class OwnershipPeriod(SQLModel, table=True):
    """A finished ownership: a person held ``role`` for a model from ``since`` until ``until``."""

    __tablename__ = "ownership_period"
    __table_args__ = (
        Check(f"role IN ({', '.join(repr(r) for r in _ROLES)})", name="role"),
        Check("until >= since", name="ordered"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=40)
    since: datetime = Field(sa_type=UTCDateTime)
    until: datetime = Field(sa_type=UTCDateTime)
    reason: str = _long_text()  # why they were named
    end_reason: str = _long_text()  # why it ended (hand-over, left, replaced)
    ended_by_id: int = Field(foreign_key="person.id")


class ModelCardRevision(SQLModel, table=True):
    """One revision of a version's model card: the five sections as they were written."""

    __tablename__ = "model_card_revision"
    __table_args__ = (
        UniqueConstraint("model_version_id", "revision"),
        Check("revision >= 1", name="revision_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    revision: int
    sections: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    reason: str = _long_text()
