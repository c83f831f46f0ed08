"""The delivery worker: outbox events -> deliveries -> attempts, at least once, never from a page.

``run_once`` (``steward notify deliver``, every minute from cron; optionally a background thread
of the app) does three things, each in short transactions of its own:

1. **dispatch**: every event not yet dispatched gets one delivery per recipient (see
   ``recipients``), and is marked dispatched in the same transaction. On PostgreSQL the events
   are taken with ``FOR UPDATE SKIP LOCKED``, on SQLite the write lock serialises workers, so two
   workers never dispatch one event twice.
2. **claim**: due deliveries are claimed one by one with a compare-and-set lease
   (``locked_until``), so a second worker running at the same moment skips them; a worker that
   dies mid-send loses its lease after ``LEASE`` and another one sends again (at least once:
   receivers de-duplicate on the event id).
3. **send and record**: outside any transaction (a slow mail server never holds the database's
   write lock), then one transaction records every attempt (time, outcome, response code, error,
   duration) and schedules a retry after ``base * 2^(n-1)`` seconds (at most six hours), until
   ``STEWARD_NOTIFY_MAX_ATTEMPTS`` tries have failed: then the delivery is "failed" and shows on
   the Admin page, where an admin can send it again.

Deliveries that wait for a digest or the end of quiet hours are "held"; when due, all of one
person's held e-mails go out as one message.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, delete, func, or_, update
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, require
from core.config import Settings, get_settings
from core.db.engine import read_session, write_session
from core.db.models import Model, NotifyAttempt, NotifyDelivery, NotifySubscription, OutboxEvent, Person
from core.db.types import changed_rows, saved_id
from core.errors import Conflict, InvalidInput, NotFound
from core.notify import channels, messages
from core.notify.recipients import Directory, recipients

LEASE = timedelta(minutes=5)
DISPATCH_BATCH = 200
MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class RunReport:
    events_dispatched: int = 0
    deliveries_created: int = 0
    sent: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    waiting: int = 0  # held for a digest or quiet hours, or waiting for a retry

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    def summary(self) -> str:
        return (
            f"{self.events_dispatched} events dispatched into {self.deliveries_created} deliveries; "
            f"{self.sent} sent, {self.failed_attempts} failed attempts ({self.given_up} given up); "
            f"{self.waiting} waiting."
        )


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Wait after the ``attempts``-th failed try: base, 2 x base, 4 x base ... at most six hours."""
    return min(timedelta(seconds=settings.notify_retry_base_s * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def run_once(engine: Engine, *, actor: Actor, now: datetime | None = None, limit: int = 100) -> RunReport:
    """Dispatch new events and send what is due (at most ``limit`` deliveries). ``now`` is the
    worker's clock (tests move it forward to see retries)."""
    settings = get_settings()
    with read_session(engine) as session:
        require(session, actor, "notify.deliver")
    now = now or clock.now()
    events, created = dispatch(engine, now=now, settings=settings)
    claimed = _claim(engine, now=now, limit=limit)
    jobs, skipped = _prepare(engine, claimed, settings=settings)
    results = [(job, _send(job, settings)) for job in jobs]
    given_up = _record(engine, results, skipped, now=now, settings=settings)
    with read_session(engine) as session:
        waiting = int(
            session.exec(
                select(func.count())
                .select_from(NotifyDelivery)
                .where(col(NotifyDelivery.status).in_(("pending", "held")))
            ).one()
        )
    return RunReport(
        events_dispatched=events,
        deliveries_created=created,
        sent=sum(len(job.delivery_ids) for job, outcome in results if outcome.ok),
        failed_attempts=sum(len(job.delivery_ids) for job, outcome in results if not outcome.ok)
        + len(skipped),
        given_up=given_up,
        waiting=waiting,
    )


# --- 1. dispatch ---------------------------------------------------------------------------------------


def dispatch(engine: Engine, *, now: datetime, settings: Settings | None = None) -> tuple[int, int]:
    """Turn undispatched events into deliveries. Returns (events, deliveries created)."""
    settings = settings or get_settings()
    email = channels.email_configured(settings)
    events_total = deliveries_total = 0
    while True:
        with write_session(engine) as session:
            events = session.exec(
                select(OutboxEvent)
                .where(col(OutboxEvent.dispatched_at).is_(None))
                .order_by(col(OutboxEvent.id))
                .limit(DISPATCH_BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            known = Directory.load(session)
            for event in events:
                for r in recipients(session, event, now=now, email=email, directory=known):
                    session.add(
                        NotifyDelivery(
                            outbox_event_id=saved_id(event),
                            channel=r.channel,
                            target=r.target,
                            person_id=r.person_id,
                            subscription_id=r.subscription_id,
                            why=r.why[:200],
                            status="held" if r.held else "pending",
                            next_attempt_at=r.release_at,
                            created_at=now,
                        )
                    )
                    deliveries_total += 1
                event.dispatched_at = now
                session.add(event)
            events_total += len(events)
        if len(events) < DISPATCH_BATCH:
            return events_total, deliveries_total


def mark_history_dispatched(session: Session, *, note_time: datetime | None = None) -> int:
    """Mark every undispatched event as dispatched without delivering it (the demo's made-up
    history is not news to anyone). Returns how many."""
    result = session.execute(
        update(OutboxEvent)
        .where(col(OutboxEvent.dispatched_at).is_(None))
        .values(dispatched_at=note_time or clock.now())
        .execution_options(synchronize_session=False)
    )
    return changed_rows(result)


# --- 2. claim ------------------------------------------------------------------------------------------


def _claim(engine: Engine, *, now: datetime, limit: int) -> list[int]:
    """Take a lease on up to ``limit`` due deliveries; returns the ids this worker now owns."""
    with write_session(engine) as session:
        due = session.exec(
            select(NotifyDelivery.id)
            .where(
                col(NotifyDelivery.status).in_(("pending", "held")),
                NotifyDelivery.next_attempt_at <= now,
                col(NotifyDelivery.locked_until).is_(None) | (col(NotifyDelivery.locked_until) < now),
            )
            .order_by(col(NotifyDelivery.next_attempt_at), col(NotifyDelivery.id))
            .limit(limit)
        ).all()
        mine = []
        for delivery_id in due:
            taken = session.execute(
                update(NotifyDelivery)
                .where(
                    col(NotifyDelivery.id) == delivery_id,
                    col(NotifyDelivery.status).in_(("pending", "held")),
                    col(NotifyDelivery.locked_until).is_(None) | (col(NotifyDelivery.locked_until) < now),
                )
                .values(locked_until=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            if changed_rows(taken) == 1 and delivery_id is not None:
                mine.append(int(delivery_id))
    return mine


# --- 3. send -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One message to send: one delivery, or a digest of one person's held deliveries."""

    delivery_ids: list[int]
    channel: str
    email: channels.Email | None = None
    url: str = ""
    body: bytes = b""
    headers: dict[str, str] | None = None


def _event_view(event: OutboxEvent, actors: dict[Any, str]) -> messages.EventView:
    return messages.EventView(
        id=saved_id(event),
        event_id=event.event_id,
        type=event.type,
        occurred_at=event.occurred_at,
        model_id=event.model_id,
        urgent=event.urgent,
        data=dict(event.data),
        actor=actors.get(event.actor_id, ""),
    )


def _prepare(engine: Engine, claimed: list[int], *, settings: Settings) -> tuple[list[Job], dict[int, str]]:
    """Build the messages of the claimed deliveries (reads only). Returns the jobs, and the
    deliveries that cannot be sent any more with why (endpoint removed, person left)."""
    if not claimed:
        return [], {}
    base = settings.base_url
    settings_link = messages.page_url(base, "admin")
    jobs: list[Job] = []
    skipped: dict[int, str] = {}
    with read_session(engine) as session:
        rows = session.exec(
            select(NotifyDelivery, OutboxEvent)
            .join(OutboxEvent, col(OutboxEvent.id) == col(NotifyDelivery.outbox_event_id))
            .where(col(NotifyDelivery.id).in_(claimed))
            .order_by(col(NotifyDelivery.id))
        ).all()
        actors = {p.id: p.name for p in session.exec(select(Person))}
        active = {p.id for p in session.exec(select(Person).where(col(Person.active).is_(True)))}
        digests: dict[str, list[tuple[NotifyDelivery, messages.EventView, messages.Message]]] = defaultdict(
            list
        )
        for delivery, event in rows:
            view = _event_view(event, actors)
            message = messages.compose(view, base)
            if delivery.channel == "email":
                if delivery.person_id is not None and delivery.person_id not in active:
                    skipped[saved_id(delivery)] = "the recipient has left; not sent"
                elif delivery.status == "held":
                    digests[delivery.target].append((delivery, view, message))
                else:
                    ids = [delivery.id] if delivery.id is not None else []
                    jobs.append(_email_job(ids, delivery.target, delivery.why, view, message, settings_link))
                continue
            sub = session.get(NotifySubscription, delivery.subscription_id)
            if sub is None or not sub.active:
                skipped[saved_id(delivery)] = "the endpoint was removed before delivery; not sent"
                continue
            jobs.append(_endpoint_job(delivery, sub, view, message, base))
        for target, items in digests.items():
            ids = [d.id for d, _, _ in items if d.id is not None]
            if len(items) == 1:
                delivery, view, message = items[0]
                jobs.append(_email_job(ids, target, delivery.why, view, message, settings_link))
                continue
            whys = sorted({d.why for d, _, _ in items})
            subject, text = messages.digest_text(
                [(v, m) for _, v, m in items], why="; ".join(whys), settings_link=settings_link
            )
            jobs.append(
                Job(
                    ids,
                    "email",
                    email=channels.Email(
                        to=target,
                        subject=messages.SUBJECT_PREFIX + subject,
                        text=text,
                        headers=(("X-Steward-Digest", str(len(items))),),
                    ),
                )
            )
    return jobs, skipped


def _email_job(
    ids: list[int], to: str, why: str, view: messages.EventView, message: messages.Message, settings_link: str
) -> Job:
    prefix = messages.SUBJECT_PREFIX + ("URGENT: " if message.urgent else "")
    email = channels.Email(
        to=to,
        subject=prefix + message.subject,
        text=messages.email_text(message, why=why, settings_link=settings_link, event=view),
        html=messages.email_html(message, why=why, settings_link=settings_link, event=view),
        headers=(("X-Steward-Event", view.type), ("X-Steward-Event-Id", view.event_id)),
    )
    return Job(ids, "email", email=email)


def _endpoint_job(
    delivery: NotifyDelivery,
    sub: NotifySubscription,
    view: messages.EventView,
    message: messages.Message,
    base: str,
) -> Job:
    if sub.channel == "slack":
        payload = messages.slack_payload(message)
    elif sub.channel == "teams":
        payload = messages.teams_payload(message)
    else:
        payload = messages.envelope(view, message, base)
    body = messages.body_bytes(payload)
    headers = messages.webhook_headers(
        view,
        delivery_id=delivery.id or 0,
        timestamp=int(time.time()),
        secret=sub.secret,
        body=body,
    )
    return Job([saved_id(delivery)], sub.channel, url=sub.url, body=body, headers=headers)


def _send(job: Job, settings: Settings) -> channels.Outcome:
    """One try; whatever goes wrong becomes a recorded failed attempt, never a stopped worker."""
    try:
        return _try(job, settings)
    except Exception as exc:  # a bug in one message must not keep the others from going out
        return channels.Outcome(False, None, f"unexpected {type(exc).__name__}: {exc}")


def _try(job: Job, settings: Settings) -> channels.Outcome:
    if job.channel == "email":
        assert job.email is not None
        if not channels.email_configured(settings):
            return channels.Outcome(False, None, "e-mail is not configured (STEWARD_SMTP_HOST is empty)")
        return channels.send_email(settings, job.email)
    return channels.post_json(job.url, job.body, job.headers or {}, timeout=settings.webhook_timeout_s)


# --- 4. record -----------------------------------------------------------------------------------------


def _record(
    engine: Engine,
    results: list[tuple[Job, channels.Outcome]],
    skipped: dict[int, str],
    *,
    now: datetime,
    settings: Settings,
) -> int:
    """Write every attempt and the deliveries' new state; returns how many were given up."""
    given_up = 0
    with write_session(engine) as session:
        for job, outcome in results:
            for delivery_id in job.delivery_ids:
                given_up += _apply(session, delivery_id, outcome, len(job.delivery_ids), now, settings)
        for delivery_id, why in skipped.items():
            delivery = session.get(NotifyDelivery, delivery_id)
            if delivery is not None:
                delivery.status, delivery.last_error, delivery.locked_until = "failed", why, None
                session.add(delivery)
                given_up += 1
    return given_up


def _apply(
    session: Session,
    delivery_id: int,
    outcome: channels.Outcome,
    digest_of: int,
    now: datetime,
    settings: Settings,
) -> int:
    delivery = session.get(NotifyDelivery, delivery_id)
    if delivery is None:
        return 0
    session.add(
        NotifyAttempt(
            delivery_id=delivery_id,
            attempted_at=now,
            ok=outcome.ok,
            status_code=outcome.status_code,
            error=outcome.error[:4000],
            duration_ms=outcome.duration_ms,
            digest_of=digest_of,
        )
    )
    delivery.attempts += 1
    delivery.locked_until = None
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:4000]
    gave_up = 0
    if outcome.ok:
        delivery.status, delivery.sent_at = "sent", now
    elif delivery.attempts >= settings.notify_max_attempts:
        delivery.status = "failed"
        gave_up = 1
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts, settings)
    session.add(delivery)
    return gave_up


# --- what the Admin page shows, and sending again ---------------------------------------------------------

DELIVERY_COLUMNS = [
    "id",
    "status",
    "channel",
    "recipient",
    "event",
    "model",
    "occurred_at",
    "attempts",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "sent_at",
    "why",
]


def deliveries_table(
    session: Session, *, problems_only: bool = True, event_type: str | None = None, limit: int = 500
) -> pd.DataFrame:
    """Deliveries, newest first: with ``problems_only``, those given up and those retrying after a failure."""
    query = (
        select(NotifyDelivery, OutboxEvent, Model.name, NotifySubscription.name)
        .join(OutboxEvent, col(OutboxEvent.id) == col(NotifyDelivery.outbox_event_id))
        .join(Model, col(Model.id) == col(OutboxEvent.model_id), isouter=True)
        .join(
            NotifySubscription,
            col(NotifySubscription.id) == col(NotifyDelivery.subscription_id),
            isouter=True,
        )
        .order_by(col(NotifyDelivery.id).desc())
        .limit(limit)
    )
    if problems_only:
        query = query.where(
            or_(
                col(NotifyDelivery.status) == "failed",
                and_(col(NotifyDelivery.status) != "sent", col(NotifyDelivery.attempts) > 0),
            )
        )
    if event_type:
        query = query.where(OutboxEvent.type == event_type)
    rows = [
        {
            "id": d.id,
            "status": "retrying" if d.status in ("pending", "held") and d.attempts else d.status,
            "channel": d.channel,
            "recipient": d.target if d.channel == "email" else f"{sub_name} (#{d.subscription_id})",
            "event": e.type,
            "model": model or "",
            "occurred_at": e.occurred_at,
            "attempts": d.attempts,
            "last_status_code": d.last_status_code,
            "last_error": d.last_error,
            "next_attempt_at": d.next_attempt_at if d.status in ("pending", "held") else None,
            "sent_at": d.sent_at,
            "why": d.why,
        }
        for d, e, model, sub_name in session.exec(query)
    ]
    return pd.DataFrame(rows, columns=DELIVERY_COLUMNS)


def attempts_table(session: Session, *, delivery_id: int) -> pd.DataFrame:
    """Every attempt of one delivery, oldest first."""
    rows = session.exec(
        select(NotifyAttempt).where(NotifyAttempt.delivery_id == delivery_id).order_by(col(NotifyAttempt.id))
    ).all()
    return pd.DataFrame(
        [
            {
                "attempted_at": a.attempted_at,
                "ok": a.ok,
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
                "digest_of": a.digest_of,
            }
            for a in rows
        ],
        columns=["attempted_at", "ok", "status_code", "error", "duration_ms", "digest_of"],
    )


@dataclass(frozen=True)
class Health:
    """The worker's state in numbers, for the Admin page."""

    email_configured: bool
    undispatched: int
    oldest_undispatched_at: datetime | None
    pending: int
    held: int
    retrying: int
    failed: int
    sent_last_day: int
    last_sent_at: datetime | None


def health(session: Session, *, now: datetime | None = None) -> Health:
    now = now or clock.now()

    def count(*where: Any) -> int:
        return int(session.exec(select(func.count()).select_from(NotifyDelivery).where(*where)).one())

    oldest = session.exec(
        select(func.min(OutboxEvent.occurred_at)).where(col(OutboxEvent.dispatched_at).is_(None))
    ).one()
    undispatched = int(
        session.exec(
            select(func.count()).select_from(OutboxEvent).where(col(OutboxEvent.dispatched_at).is_(None))
        ).one()
    )
    last_sent = session.exec(select(func.max(NotifyDelivery.sent_at))).one()
    return Health(
        email_configured=channels.email_configured(get_settings()),
        undispatched=undispatched,
        oldest_undispatched_at=_aware(oldest),
        pending=count(NotifyDelivery.status == "pending", NotifyDelivery.attempts == 0),
        held=count(NotifyDelivery.status == "held", NotifyDelivery.attempts == 0),
        retrying=count(col(NotifyDelivery.status).in_(("pending", "held")), NotifyDelivery.attempts > 0),
        failed=count(NotifyDelivery.status == "failed"),
        sent_last_day=count(
            NotifyDelivery.status == "sent", col(NotifyDelivery.sent_at) >= now - timedelta(days=1)
        ),
        last_sent_at=_aware(last_sent),
    )


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # an aggregate over SQLite may come back as text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def send_again(session: Session, *, actor: Actor, delivery_id: int) -> None:
    """Put a failed delivery back in the queue for another round of tries (admins; audited)."""
    require(session, actor, "notify.deliver")
    delivery = session.get(NotifyDelivery, delivery_id)
    if delivery is None:
        raise NotFound(f"No notification delivery with id {delivery_id}.")
    if delivery.status != "failed":
        raise Conflict(
            f"Delivery #{delivery_id} is {delivery.status}, not failed; there is nothing to send again."
        )
    event = session.get(OutboxEvent, delivery.outbox_event_id)
    before = {"status": delivery.status, "attempts": delivery.attempts, "last_error": delivery.last_error}
    delivery.status, delivery.attempts, delivery.next_attempt_at, delivery.locked_until = (
        "pending",
        0,
        clock.now(),
        None,
    )
    session.add(delivery)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.NOTIFY_DELIVERY_RETRIED,
        object_type="notify_delivery",
        object_id=delivery_id,
        model_id=event.model_id if event is not None else None,
        before=before,
        after={"status": "pending", "attempts": 0},
    )


def purge(
    session: Session, *, actor: Actor, older_than_days: int, now: datetime | None = None
) -> dict[str, int]:
    """Delete events dispatched more than ``older_than_days`` ago whose every delivery is finished
    (sent or failed), with those deliveries and their attempts. The audit log keeps what changed;
    this is the delivery record only. Returns the counts removed."""
    require(session, actor, "notify.deliver")
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int) or older_than_days < 7:
        raise InvalidInput(f"keep at least 7 days of delivery records, got {older_than_days!r}.")
    cutoff = (now or clock.now()) - timedelta(days=older_than_days)
    unfinished = select(NotifyDelivery.outbox_event_id).where(
        col(NotifyDelivery.status).in_(("pending", "held"))
    )
    finished = select(OutboxEvent.id).where(
        col(OutboxEvent.dispatched_at) < cutoff, col(OutboxEvent.id).not_in(unfinished)
    )
    deliveries = select(NotifyDelivery.id).where(col(NotifyDelivery.outbox_event_id).in_(finished))
    counts = {
        "attempts": changed_rows(
            session.execute(delete(NotifyAttempt).where(col(NotifyAttempt.delivery_id).in_(deliveries)))
        ),
        "deliveries": changed_rows(
            session.execute(delete(NotifyDelivery).where(col(NotifyDelivery.id).in_(deliveries)))
        ),
    }
    counts["events"] = changed_rows(
        session.execute(delete(OutboxEvent).where(col(OutboxEvent.id).in_(finished)))
    )
    audit.record(
        session,
        actor=actor,
        action=events.NOTIFY_PURGED,
        object_type="outbox",
        object_id="",
        after={**counts, "dispatched_before": cutoff.isoformat()},
    )
    return {k: int(v or 0) for k, v in counts.items()}
