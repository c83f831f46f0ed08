"""Preferences, e-mail subscriptions and outbound endpoints (webhook, Slack, Teams).

Everyone is told by default about the models they own and, as approvers, about the models of
their business units; a preference changes *how* (at once, in a daily digest, or not by default)
and sets quiet hours. A subscription adds more: e-mail about another model, a whole unit or
everything, optionally only some event types. Endpoints send events out of Steward, so only an
admin or a model owner of the unit (for a model or a unit) may add one; an endpoint for every
unit needs a global grant. A generic webhook gets a random secret that signs every body; it is
shown once, when it is made or rotated, and never written to the audit log.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, require
from core.db.models import Model, NotifyPreference, NotifySubscription, Person
from core.db.models.notify import PREFERENCE_MODES
from core.db.types import saved_id
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.outbox import EVENT_TYPES
from core.registry.validation import clean_choice, clean_text

ENDPOINT_CHANNELS = ("webhook", "slack", "teams")
CHANNEL_LABELS = {"email": "E-mail", "webhook": "Webhook (signed JSON)", "slack": "Slack", "teams": "Teams"}
MODE_LABELS = {
    "immediate": "At once (non-urgent ones wait for the end of quiet hours)",
    "digest": "Urgent at once, the rest in one daily digest",
    "off": "Only what I subscribe to below",
}


@dataclass(frozen=True)
class Preference:
    person_id: int
    mode: str
    digest_hour: int
    quiet_start: int | None
    quiet_end: int | None
    timezone: str
    is_default: bool  # never set: immediate, no quiet hours, UTC

    @property
    def has_quiet_hours(self) -> bool:
        return (
            self.quiet_start is not None and self.quiet_end is not None and self.quiet_start != self.quiet_end
        )


@dataclass(frozen=True)
class Endpoint:
    """A new or re-keyed endpoint; ``secret`` is shown to its creator once and never again."""

    id: int
    secret: str


def preference_of(session: Session, person_id: int) -> Preference:
    row = session.get(NotifyPreference, person_id)
    if row is None:
        return Preference(person_id, "immediate", 8, None, None, "UTC", is_default=True)
    return Preference(
        person_id, row.mode, row.digest_hour, row.quiet_start, row.quiet_end, row.timezone, is_default=False
    )


def set_preference(
    session: Session,
    *,
    actor: Actor,
    mode: str,
    digest_hour: int = 8,
    quiet_start: int | None = None,
    quiet_end: int | None = None,
    timezone: str = "UTC",
) -> Preference:
    """Set how the acting person is told (their own preference only)."""
    require(session, actor, "notify.subscribe")
    mode = clean_choice(mode, "delivery mode", PREFERENCE_MODES)
    digest_hour = _hour(digest_hour, "digest hour")
    if (quiet_start is None) != (quiet_end is None):
        raise InvalidInput("quiet hours need both a start and an end hour (or neither).")
    if quiet_start is not None and quiet_end is not None:
        quiet_start, quiet_end = _hour(quiet_start, "quiet hours start"), _hour(quiet_end, "quiet hours end")
        if quiet_start == quiet_end:
            raise InvalidInput("quiet hours must not start and end at the same hour.")
    timezone = _zone(timezone)
    before = preference_of(session, actor.id)
    row = session.get(NotifyPreference, actor.id) or NotifyPreference(person_id=actor.id)
    row.mode, row.digest_hour, row.quiet_start, row.quiet_end = mode, digest_hour, quiet_start, quiet_end
    row.timezone, row.updated_at = timezone, clock.now()
    session.add(row)
    session.flush()
    after = preference_of(session, actor.id)
    audit.record(
        session,
        actor=actor,
        action=events.NOTIFY_PREFERENCE_SET,
        object_type="person",
        object_id=actor.id,
        before=_pref_dict(before),
        after=_pref_dict(after),
    )
    return after


def subscribe_email(
    session: Session,
    *,
    actor: Actor,
    model_id: int | None = None,
    business_unit: str = "",
    event_types: list[str] | None = None,
) -> int:
    """Subscribe the acting person's e-mail to a model, a unit or (neither) everything."""
    require(session, actor, "notify.subscribe")
    person = session.get(Person, actor.id)
    assert person is not None  # require() checked it
    model, unit = _scope(session, model_id, business_unit)
    types = _event_types(event_types)
    for existing in session.exec(
        select(NotifySubscription).where(
            NotifySubscription.channel == "email",
            NotifySubscription.person_id == actor.id,
            col(NotifySubscription.active).is_(True),
        )
    ):
        if (existing.model_id, existing.business_unit, sorted(existing.event_types)) == (
            model_id,
            unit,
            types,
        ):
            raise Conflict(
                f"You already subscribed to {_scope_text(model, unit)} (subscription #{existing.id})."
            )
    row = NotifySubscription(
        channel="email",
        person_id=actor.id,
        name=person.email,
        model_id=model_id,
        business_unit=unit,
        event_types=types,
        created_by_id=actor.id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.NOTIFY_SUBSCRIBED,
        object_type="notify_subscription",
        object_id=row.id,
        model_id=model_id,
        after=_sub_dict(row),
    )
    return saved_id(row)


def add_endpoint(
    session: Session,
    *,
    actor: Actor,
    channel: str,
    url: str,
    name: str,
    model_id: int | None = None,
    business_unit: str = "",
    event_types: list[str] | None = None,
) -> Endpoint:
    """Add a webhook, Slack or Teams endpoint for a model, a unit or everything."""
    channel = clean_choice(channel, "channel", ENDPOINT_CHANNELS)
    model, unit = _scope(session, model_id, business_unit)
    require(session, actor, "webhook.manage", business_unit=(model.business_unit if model else unit) or None)
    name = clean_text(name, "endpoint name", max_len=200).strip()
    if not name:
        raise InvalidInput("endpoint name must not be empty: say what it is (e.g. 'CI deploy hook').")
    url = check_url(url)
    secret = secrets.token_hex(32) if channel == "webhook" else ""
    row = NotifySubscription(
        channel=channel,
        name=name,
        url=url,
        secret=secret,
        model_id=model_id,
        business_unit=unit,
        event_types=_event_types(event_types),
        created_by_id=actor.id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.NOTIFY_ENDPOINT_ADDED,
        object_type="notify_subscription",
        object_id=row.id,
        model_id=model_id,
        after=_sub_dict(row),
    )
    return Endpoint(id=saved_id(row), secret=secret)


def rotate_secret(session: Session, *, actor: Actor, subscription_id: int) -> Endpoint:
    """Give a webhook a new signing secret (the old one stops verifying at once)."""
    row = _subscription(session, subscription_id)
    if row.channel != "webhook":
        raise InvalidInput(
            f"subscription #{row.id} is a {CHANNEL_LABELS[row.channel]} endpoint; only webhooks are signed."
        )
    _require_endpoint(session, actor, row)
    before = _fingerprint(row.secret)
    row.secret, row.updated_at = secrets.token_hex(32), clock.now()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.NOTIFY_SECRET_ROTATED,
        object_type="notify_subscription",
        object_id=row.id,
        model_id=row.model_id,
        before={"secret_sha256_prefix": before},
        after={"secret_sha256_prefix": _fingerprint(row.secret)},
    )
    return Endpoint(id=saved_id(row), secret=row.secret)


def remove(session: Session, *, actor: Actor, subscription_id: int, reason: str = "") -> None:
    """Stop a subscription or endpoint (kept, inactive, for the record of what was sent where)."""
    row = _subscription(session, subscription_id)
    if not row.active:
        raise Conflict(f"Subscription #{row.id} was already removed.")
    if row.channel == "email":
        require(session, actor, "notify.subscribe")
        if row.person_id != actor.id:
            raise PermissionDenied(f"Subscription #{row.id} is someone else's; only they can remove it.")
        kind = events.NOTIFY_UNSUBSCRIBED
    else:
        _require_endpoint(session, actor, row)
        kind = events.NOTIFY_ENDPOINT_REMOVED
    row.active, row.updated_at = False, clock.now()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=kind,
        object_type="notify_subscription",
        object_id=row.id,
        model_id=row.model_id,
        before={"active": True},
        after={"active": False},
        reason=clean_text(reason, "reason"),
    )


# --- reads -----------------------------------------------------------------------------------------

SUBSCRIPTION_COLUMNS = [
    "id",
    "channel",
    "name",
    "person",
    "url",
    "scope",
    "event_types",
    "active",
    "created_by",
    "created_at",
]


def subscriptions_table(
    session: Session,
    *,
    person_id: int | None = None,
    endpoints: bool | None = None,
    include_inactive: bool = False,
) -> pd.DataFrame:
    """Subscriptions (never their secrets): a person's e-mail ones, or the endpoints, or all."""
    query = select(NotifySubscription).order_by(col(NotifySubscription.id))
    if person_id is not None:
        query = query.where(NotifySubscription.person_id == person_id)
    if endpoints is True:
        query = query.where(col(NotifySubscription.channel).in_(ENDPOINT_CHANNELS))
    elif endpoints is False:
        query = query.where(NotifySubscription.channel == "email")
    if not include_inactive:
        query = query.where(col(NotifySubscription.active).is_(True))
    models = {m.id: m.name for m in session.exec(select(Model))}
    people = {p.id: p.name for p in session.exec(select(Person))}
    rows = [
        {
            "id": s.id,
            "channel": s.channel,
            "name": s.name,
            "person": people.get(s.person_id, "") if s.person_id else "",
            "url": _redacted_url(s.url),
            "scope": _scope_text_ids(models, s.model_id, s.business_unit),
            "event_types": ", ".join(s.event_types) or "all events",
            "active": s.active,
            "created_by": people.get(s.created_by_id, ""),
            "created_at": s.created_at,
        }
        for s in session.exec(query)
    ]
    return pd.DataFrame(rows, columns=SUBSCRIPTION_COLUMNS)


def business_units(session: Session) -> list[str]:
    return sorted({u for u in session.exec(select(Model.business_unit).distinct()) if u})


# --- checks ------------------------------------------------------------------------------------------


def check_url(url: Any) -> str:
    """An absolute http(s) URL; plain http only to this machine (a local relay or test receiver),
    because the body carries registry data and its signature would be readable on the wire."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("endpoint URL must not be empty.")
    url = url.strip()
    if len(url) > 1000:
        raise InvalidInput("endpoint URL is longer than 1000 characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"endpoint URL '{url}' must be an absolute http:// or https:// address.")
    if parts.username or parts.password:
        raise InvalidInput(
            "endpoint URL must not contain a user name or password; webhooks are signed instead."
        )
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise InvalidInput(
            f"endpoint URL '{url}' must use https:// (plain http:// is accepted only for localhost)."
        )
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hour(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 23:
        raise InvalidInput(f"{what} must be a whole hour from 0 to 23, got {value!r}.")
    return value


def _zone(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("time zone must not be empty (e.g. Europe/Amsterdam or UTC).")
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"time zone '{name}' is not a known IANA zone (e.g. Europe/Amsterdam, UTC)."
        ) from None
    return name.strip()


def _event_types(values: list[str] | None) -> list[str]:
    types = sorted({v.strip() for v in values or [] if v and v.strip()})
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"unknown event type(s): {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}.")
    return types


def _scope(session: Session, model_id: int | None, business_unit: str) -> tuple[Model | None, str]:
    unit = clean_text(business_unit, "business unit", max_len=200).strip()
    if model_id is not None:
        if unit:
            raise InvalidInput("give a model or a business unit, not both.")
        model = session.get(Model, model_id)
        if model is None:
            raise NotFound(f"No model with id {model_id}.")
        return model, ""
    if unit and unit not in business_units(session):
        raise InvalidInput(
            f"business unit '{unit}' has no models; known: {', '.join(business_units(session))}."
        )
    return None, unit


def _require_endpoint(session: Session, actor: Actor, row: NotifySubscription) -> None:
    model = session.get(Model, row.model_id) if row.model_id is not None else None
    require(
        session,
        actor,
        "webhook.manage",
        business_unit=(model.business_unit if model else row.business_unit) or None,
    )


def _subscription(session: Session, subscription_id: int) -> NotifySubscription:
    row = session.get(NotifySubscription, subscription_id)
    if row is None:
        raise NotFound(f"No subscription with id {subscription_id}.")
    return row


def _scope_text(model: Model | None, unit: str) -> str:
    if model is not None:
        return f"model '{model.name}'"
    return f"business unit '{unit}'" if unit else "every model"


def _scope_text_ids(models: dict[Any, str], model_id: int | None, unit: str) -> str:
    if model_id is not None:
        return f"model {models.get(model_id, model_id)}"
    return f"unit {unit}" if unit else "every model"


def _redacted_url(url: str) -> str:
    """Slack and Teams URLs carry their credential in the path: show the host and a hint only."""
    if not url:
        return ""
    parts = urlsplit(url)
    path = parts.path if len(parts.path) <= 12 else parts.path[:8] + "…"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12] if secret else ""


def _pref_dict(p: Preference) -> dict[str, Any]:
    return {
        "mode": p.mode,
        "digest_hour": p.digest_hour,
        "quiet_start": p.quiet_start,
        "quiet_end": p.quiet_end,
        "timezone": p.timezone,
    }


def _sub_dict(row: NotifySubscription) -> dict[str, Any]:
    """What the audit log keeps of a subscription: never the secret, only its fingerprint."""
    return {
        "channel": row.channel,
        "person_id": row.person_id,
        "name": row.name,
        "url": _redacted_url(row.url),
        "model_id": row.model_id,
        "business_unit": row.business_unit,
        "event_types": row.event_types,
        "secret_sha256_prefix": _fingerprint(row.secret),
    }
