"""People, role grants and the hash-chained audit log: under every service."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import UTCDateTime

__all__ = ["Person", "RoleGrant", "AuditEvent", "AuditHead", "ApiToken"]


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
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class RoleGrant(SQLModel, table=True):
    """A role held by a person, globally (business_unit == "") or for one business unit."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("person_id", "role", "business_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=40)
    business_unit: str = Field(default="", max_length=200)
    granted_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
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
    # The personal access token a CLI or pipeline call was authenticated with (None: the browser,
    # or an event written before tokens existed). Part of the hashed content when set.
    token_id: int | None = Field(default=None, index=True)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """One row: id and hash of the newest audit event, written with it (detects truncation).

    ``key_check`` is HMAC(key, a fixed label), written with the first event hashed with
    STEWARD_AUDIT_HMAC_KEY (``keyed_from``): from then on a writer without the key, or with
    another one, is refused, and verify can tell "key missing or wrong" from "row edited".
    """

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_id: int
    last_hash: str = Field(max_length=64)
    key_check: str | None = Field(default=None, max_length=64)
    keyed_from: int | None = None


class ApiToken(SQLModel, table=True):
    """A personal access token: how the CLI and pipelines prove who they act as.

    Only the sha256 of the secret is stored; the secret is shown once, when it is created.
    A token acts as exactly one person (a human who created it while signed in, or a service
    account an admin created it for), until it expires or is revoked.
    """

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16, description="the secret's first characters, to recognise it")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    created_by_id: int = Field(foreign_key="person.id")
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by_id: int | None = Field(default=None, foreign_key="person.id")
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
