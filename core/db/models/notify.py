"""Notifications: the transactional outbox, who subscribes to what, and every delivery attempt.

``outbox_event`` is written in the same transaction as the change it reports (next to its audit
event), so an event exists exactly when its change was committed. The delivery worker turns each
event into one ``notify_delivery`` per recipient (a person's e-mail, a webhook, a Slack or Teams
channel) and records each try in ``notify_attempt``. Nothing here is ever sent from a page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlalchemy import CheckConstraint as Check
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import UTCDateTime

__all__ = ["OutboxEvent", "NotifySubscription", "NotifyPreference", "NotifyDelivery", "NotifyAttempt"]

CHANNELS = ("email", "webhook", "slack", "teams")
PREFERENCE_MODES = ("immediate", "digest", "off")
DELIVERY_STATUSES = ("pending", "held", "sent", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _long_text() -> Any:
    return Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class OutboxEvent(SQLModel, table=True):
    """One outbound event (version registered, alert opened ...), written with its change."""

    __tablename__ = "outbox_event"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=36, unique=True, description="UUID receivers de-duplicate on")
    type: str = Field(
        max_length=60, index=True, description="e.g. alert.opened (see docs/events.schema.json)"
    )
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    audit_event_id: int | None = Field(default=None, description="the audit event it was written with")
    model_id: int | None = Field(default=None, foreign_key="model.id", index=True)
    business_unit: str = Field(default="", max_length=200, description="the model's unit when it happened")
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    urgent: bool = Field(default=False, description="urgent events ignore quiet hours and digests")
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="the payload's data")
    dispatched_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, index=True, description="when its deliveries were created"
    )


class NotifySubscription(SQLModel, table=True):
    """A person's extra e-mail subscription, or a webhook / Slack / Teams endpoint, for a model, a
    business unit or everything, optionally for some event types only."""

    __tablename__ = "notify_subscription"
    __table_args__ = (Check(_in("channel", CHANNELS), name="channel"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=10)
    person_id: int | None = Field(
        default=None, foreign_key="person.id", index=True, description="the subscriber (e-mail only)"
    )
    name: str = Field(default="", max_length=200, description="what the endpoint is, e.g. 'CI deploy hook'")
    url: str = Field(default="", max_length=1000, description="endpoint of a webhook, Slack or Teams channel")
    secret: str = Field(default="", max_length=128, description="HMAC key of a generic webhook")
    model_id: int | None = Field(default=None, foreign_key="model.id", index=True)
    business_unit: str = Field(default="", max_length=200, description="'' = every unit (when no model)")
    event_types: list[str] = Field(default_factory=list, sa_type=JSON, description="[] = every event type")
    active: bool = Field(default=True, index=True)
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class NotifyPreference(SQLModel, table=True):
    """How one person wants to be told: every event at once, non-urgent ones in a daily digest, or
    not by default; and quiet hours (in their time zone) during which non-urgent mail waits."""

    __tablename__ = "notify_preference"
    __table_args__ = (
        Check(_in("mode", PREFERENCE_MODES), name="mode"),
        Check("digest_hour >= 0 AND digest_hour <= 23", name="digest_hour"),
        Check("quiet_start IS NULL OR (quiet_start >= 0 AND quiet_start <= 23)", name="quiet_start"),
        Check("quiet_end IS NULL OR (quiet_end >= 0 AND quiet_end <= 23)", name="quiet_end"),
    )

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    mode: str = Field(default="immediate", max_length=10)
    digest_hour: int = Field(default=8, description="local hour at which the daily digest is sent")
    quiet_start: int | None = Field(default=None, description="local hour quiet hours begin")
    quiet_end: int | None = Field(default=None, description="local hour quiet hours end")
    timezone: str = Field(default="UTC", max_length=60, description="IANA zone, e.g. Europe/Amsterdam")
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class NotifyDelivery(SQLModel, table=True):
    """One event to one recipient on one channel, until it is sent or given up."""

    __tablename__ = "notify_delivery"
    __table_args__ = (
        UniqueConstraint("outbox_event_id", "channel", "target"),
        Check(_in("status", DELIVERY_STATUSES), name="status"),
        Check(_in("channel", CHANNELS), name="channel"),
    )

    id: int | None = Field(default=None, primary_key=True)
    outbox_event_id: int = Field(foreign_key="outbox_event.id", index=True)
    channel: str = Field(max_length=10)
    target: str = Field(max_length=1000, description="e-mail address, or webhook:<subscription id>")
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    subscription_id: int | None = Field(default=None, foreign_key="notify_subscription.id", index=True)
    why: str = Field(default="", max_length=200, description="why this recipient, e.g. 'owner of the model'")
    status: str = Field(default="pending", max_length=10, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, index=True)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime, description="a worker's claim")
    last_error: str = _long_text()
    last_status_code: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotifyAttempt(SQLModel, table=True):
    """One try to deliver: when, the outcome, the response code and the error."""

    __tablename__ = "notify_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="notify_delivery.id", index=True)
    attempted_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ok: bool
    status_code: int | None = Field(default=None, description="HTTP status or SMTP reply code")
    error: str = _long_text()
    duration_ms: int = Field(default=0)
    digest_of: int = Field(default=1, description="events sent together in this message (a digest > 1)")
