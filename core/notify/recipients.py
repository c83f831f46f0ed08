"""Who receives an outbound event, on which channel, and when.

By default the people who must act or answer for the model: its owners (business and technical
owner, validators, backups) and the approvers of its business unit, plus the person the event is
about (the requester of a decided promotion, the owner of a retraining request). Never the person
who caused the event, the system account or people who have left. Preferences change when: an
urgent event (an alert opened, a warning escalated) goes at once; the rest waits for the end of
the person's quiet hours, or for their daily digest. Subscriptions add e-mail recipients and
endpoints (webhook, Slack, Teams), which always receive at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from core.db.models import (
    NotifySubscription,
    OutboxEvent,
    Ownership,
    Person,
    PromotionRequest,
    RetrainingRequest,
    RoleGrant,
)
from core.db.types import saved_id
from core.notify.subscriptions import Preference, preference_of

OWNERSHIP_WHY = {
    "business_owner": "business owner of the model",
    "technical_owner": "technical owner of the model",
    "validator": "validator of the model",
    "backup": "backup owner of the model",
}


@dataclass(frozen=True)
class Recipient:
    channel: str
    target: str  # an e-mail address, or "subscription:<id>" for an endpoint
    person_id: int | None
    subscription_id: int | None
    why: str
    release_at: datetime  # not before this (quiet hours, digest)
    held: bool  # waits for a digest or the end of quiet hours


def release_time(pref: Preference, *, urgent: bool, now: datetime) -> datetime:
    """When a notification to a person with ``pref`` may go out (``now`` when it need not wait)."""
    if urgent:
        return now
    zone = ZoneInfo(pref.timezone)
    local = now.astimezone(zone)
    if pref.mode == "digest":
        due = local.replace(hour=pref.digest_hour, minute=0, second=0, microsecond=0)
        if due <= local:
            due += timedelta(days=1)
        return due.astimezone(now.tzinfo)
    if pref.has_quiet_hours:
        start, end = pref.quiet_start, pref.quiet_end
        assert start is not None and end is not None
        hour = local.hour
        quiet = start <= hour < end if start < end else (hour >= start or hour < end)
        if quiet:
            due = local.replace(hour=end, minute=0, second=0, microsecond=0)
            if due <= local:
                due += timedelta(days=1)
            return due.astimezone(now.tzinfo)
    return now


@dataclass(frozen=True)
class Directory:
    """Who exists and what they asked for, read once per dispatch batch (not once per event)."""

    people: dict[int, Person]  # active, not the system account
    preferences: dict[int, Preference]
    subscriptions: list[NotifySubscription]  # active, oldest first
    owners: dict[int, list[tuple[int, str]]]  # model id -> (person id, ownership role)
    approvers: list[tuple[int, str]]  # (person id, business unit or "")

    @classmethod
    def load(cls, session: Session) -> Directory:
        people = {
            p.id: p
            for p in session.exec(
                select(Person).where(col(Person.active).is_(True), col(Person.is_system).is_(False))
            )
            if p.id is not None
        }
        owners: dict[int, list[tuple[int, str]]] = {}
        for model_id, person_id, role in session.exec(
            select(Ownership.model_id, Ownership.person_id, Ownership.role).order_by(col(Ownership.id))
        ):
            owners.setdefault(model_id, []).append((person_id, role))
        approvers = [
            (person_id, unit)
            for person_id, unit in session.exec(
                select(RoleGrant.person_id, RoleGrant.business_unit)
                .where(RoleGrant.role == "approver")
                .order_by(col(RoleGrant.id))
            )
        ]
        subs = list(
            session.exec(
                select(NotifySubscription)
                .where(col(NotifySubscription.active).is_(True))
                .order_by(col(NotifySubscription.id))
            )
        )
        return cls(people, {pid: preference_of(session, pid) for pid in people}, subs, owners, approvers)


def recipients(
    session: Session,
    event: OutboxEvent,
    *,
    now: datetime,
    email: bool = True,
    directory: Directory | None = None,
) -> list[Recipient]:
    """Everyone and everything ``event`` goes to (one entry per address or endpoint)."""
    known = directory or Directory.load(session)
    found: dict[tuple[str, str], Recipient] = {}

    def add_person(person_id: int | None, why: str, *, subscribed: bool) -> None:
        person = known.people.get(person_id) if person_id is not None else None
        if person is None or person.id == event.actor_id or not email:
            return
        pref = known.preferences[saved_id(person)]
        if pref.mode == "off" and not subscribed:
            return
        key = ("email", person.email)
        if key in found:
            earlier = found[key]
            if why not in earlier.why:
                found[key] = Recipient(**{**earlier.__dict__, "why": f"{earlier.why}; {why}"})
            return
        release = release_time(pref, urgent=event.urgent, now=now)
        found[key] = Recipient("email", person.email, person.id, None, why, release, release > now)

    for person_id, why in default_audience(session, event, known):
        add_person(person_id, why, subscribed=False)
    for sub in matching_subscriptions(event, known):
        if sub.channel == "email":
            add_person(sub.person_id, f"a subscriber to {_scope(sub)}", subscribed=True)
        else:
            key = (sub.channel, f"subscription:{sub.id}")
            found.setdefault(
                key, Recipient(sub.channel, key[1], None, sub.id, f"endpoint '{sub.name}'", now, False)
            )
    return list(found.values())


def default_audience(session: Session, event: OutboxEvent, known: Directory) -> list[tuple[int, str]]:
    """(person id, why) of the people told without subscribing: owners, the unit's approvers and
    the person the event is about."""
    audience: list[tuple[int, str]] = []
    if event.model_id is None:
        return audience
    for person_id, role in known.owners.get(event.model_id, []):
        audience.append((person_id, OWNERSHIP_WHY.get(role, f"{role} of the model")))
    for person_id, unit in known.approvers:
        if unit in (event.business_unit, ""):
            audience.append((person_id, f"approver for {unit or 'every business unit'}"))
    kind = event.type.split(".")[0]
    if kind == "promotion" and event.type != "promotion.requested":
        request = session.get(PromotionRequest, (event.data.get("request") or {}).get("id"))
        if request is not None:
            audience.append((request.requested_by_id, "requester of the promotion"))
    if kind == "retraining":
        retrain = session.get(RetrainingRequest, (event.data.get("retraining") or {}).get("id"))
        if retrain is not None:
            audience.append((retrain.owner_id, "owner of the retraining request"))
            audience.append((retrain.requested_by_id, "requester of the retraining"))
    return audience


def matching_subscriptions(event: OutboxEvent, known: Directory) -> list[NotifySubscription]:
    """Active subscriptions whose scope (model, unit or everything) and event types cover ``event``."""
    matched = []
    for sub in known.subscriptions:
        if sub.model_id is not None:
            in_scope = sub.model_id == event.model_id
        else:
            in_scope = sub.business_unit in ("", event.business_unit)
        if in_scope and (not sub.event_types or event.type in sub.event_types):
            matched.append(sub)
    return matched


def _scope(sub: NotifySubscription) -> str:
    if sub.model_id is not None:
        return "this model"
    return f"business unit {sub.business_unit}" if sub.business_unit else "every model"
