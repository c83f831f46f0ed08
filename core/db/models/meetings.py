"""Review meetings: attendees, a generated agenda with frozen evidence, decisions and actions.

Decisions are written once and never changed. An action stays open, and comes back on
every later agenda, until someone closes it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlalchemy import CheckConstraint as Check
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import UTCDateTime

__all__ = ["Meeting", "MeetingAttendee", "AgendaItem", "Decision", "MeetingAction"]

MEETING_STATUSES = ("planned", "closed")
AGENDA_KINDS = (
    "promotion_request",
    "rule_change",
    "review_overdue",
    "alert",
    "reassessment",
    "cost_overrun",
    "campaign_finished",
    "open_action",
    "retraining",
)
DECISION_OUTCOMES = ("approve", "reject", "action", "noted", "close_action")
ACTION_STATUSES = ("open", "closed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _long_text() -> Any:
    return Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class Meeting(SQLModel, table=True):
    """A review meeting for the whole portfolio (business_unit "") or one business unit."""

    __tablename__ = "meeting"
    __table_args__ = (Check(_in("status", MEETING_STATUSES), name="status"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    business_unit: str = Field(default="", max_length=200, index=True)
    held_at: datetime = Field(sa_type=UTCDateTime, index=True, description="date and time of the meeting")
    status: str = Field(default="planned", max_length=10)
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    agenda_generated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by_id: int | None = Field(default=None, foreign_key="person.id")


class MeetingAttendee(SQLModel, table=True):
    __tablename__ = "meeting_attendee"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)


class AgendaItem(SQLModel, table=True):
    """One point on a meeting's agenda, with the evidence figures as they were when it was listed."""

    __tablename__ = "agenda_item"
    __table_args__ = (
        UniqueConstraint("meeting_id", "kind", "subject_id"),
        Check(_in("kind", AGENDA_KINDS), name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    position: int
    kind: str = Field(max_length=30)
    subject_id: str = Field(
        max_length=120, description="id of the request, rule, alert, action ... it is about"
    )
    model_id: int | None = Field(default=None, foreign_key="model.id", index=True)
    title: str = Field(max_length=300)
    reason: str = _long_text()
    link: str = Field(default="", max_length=500, description="app path of the evidence, e.g. /model?model=3")
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="frozen figures")
    listed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class Decision(SQLModel, table=True):
    """What the meeting decided on one agenda item, with who was present. Never changed."""

    __tablename__ = "decision"
    __table_args__ = (Check(_in("outcome", DECISION_OUTCOMES), name="outcome"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    agenda_item_id: int = Field(
        foreign_key="agenda_item.id",
        index=True,
        description="one decision per item; a high-risk promotion may take two approvals",
    )
    outcome: str = Field(max_length=20)
    comment: str = _long_text()
    present_person_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="evidence seen, frozen")
    effect: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="what the decision changed"
    )
    recorded_by_id: int = Field(foreign_key="person.id")
    recorded_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class MeetingAction(SQLModel, table=True):
    """A follow-up agreed in a meeting: an owner, a due date, open until closed."""

    __tablename__ = "meeting_action"
    __table_args__ = (Check(_in("status", ACTION_STATUSES), name="status"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    model_id: int | None = Field(default=None, foreign_key="model.id", index=True)
    title: str = Field(max_length=300)
    owner_id: int = Field(foreign_key="person.id", index=True)
    due_on: date
    status: str = Field(default="open", max_length=10, index=True)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by_id: int | None = Field(default=None, foreign_key="person.id")
    closing_note: str = _long_text()
