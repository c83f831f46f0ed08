"""People, role grants and the hash-chained audit log: under every service."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow

__all__ = ["Person", "RoleGrant", "AuditEvent", "AuditHead"]


class Person(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320, unique=True, index=True)
    team: str = Field(default="", max_length=200)
    active: bool = Field(default=True)
    left_on: date | None = None
    is_system: bool = Field(default=False, description="service account used by pipelines and cron")
    oidc_issuer: str | None = Field(default=None, max_length=500)
    oidc_subject: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RoleGrant(SQLModel, table=True):
    """A role held by a person, globally (business_unit == "") or for one business unit."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("person_id", "role", "business_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=40)
    business_unit: str = Field(default="", max_length=200)
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    granted_by_id: int | None = Field(default=None, foreign_key="person.id")


class AuditEvent(SQLModel, table=True):
    """One change, chained to the previous event by hash. Append-only."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    actor_email: str = Field(max_length=320)
    action: str = Field(max_length=80, index=True)
    object_type: str = Field(max_length=60, index=True)
    object_id: str = Field(max_length=120, index=True)
    model_id: int | None = Field(
        default=None, index=True, description="model this event concerns, for filtering"
    )
    before: str | None = Field(default=None, sa_column=Column(Text))
    after: str | None = Field(default=None, sa_column=Column(Text))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """One row: id and hash of the newest audit event, written with it (detects truncation)."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_id: int
    last_hash: str = Field(max_length=64)
