"""The hash-chained audit log.

Every change Steward makes appends one event in the same transaction as the change. Each
event stores the hash of its canonical content together with the previous event's hash, so
editing, deleting, reordering or inserting a row breaks the chain at that row. With
``STEWARD_AUDIT_HMAC_KEY`` set the hash is an HMAC, so a chain recomputed without the key
no longer verifies. A one-row ``audit_head`` table (id and hash of the newest event, written
in the same transaction) makes cutting events off the end detectable too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlmodel import Session, select

from core.access import Actor
from core.config import get_settings
from core.db.models import AuditEvent
from core.db.types import utcnow

if TYPE_CHECKING:
    import pandas as pd

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 0x5757_A0D1  # advisory lock key: one audit writer at a time on PostgreSQL


def canonical(value: Any) -> str | None:
    """Stable JSON for before/after snapshots (sorted keys, ISO dates)."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=_json_default, separators=(",", ":"), ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _content(e: AuditEvent) -> str:
    return json.dumps(
        [
            e.id,
            e.ts.isoformat(timespec="microseconds"),
            e.actor_id,
            e.actor_email,
            e.action,
            e.object_type,
            e.object_id,
            e.model_id,
            e.before,
            e.after,
            e.reason,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )


def compute_hash(event: AuditEvent, prev_hash: str, key: str | None = None) -> str:
    payload = (prev_hash + _content(event)).encode()
    secret = get_settings().audit_hmac_key if key is None else key
    if secret:
        return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any,
    before: Any = None,
    after: Any = None,
    reason: str = "",
    model_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's (write) transaction."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    last = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()  # type: ignore[union-attr]
    event = AuditEvent(
        id=(last.id + 1) if last else 1,  # type: ignore[operator]
        ts=utcnow(),
        actor_id=actor.id,
        actor_email=actor.email,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        model_id=model_id,
        before=canonical(before),
        after=canonical(after),
        reason=reason or "",
        prev_hash=last.hash if last else GENESIS,
        hash="",
    )
    event.hash = compute_hash(event, event.prev_hash)
    session.add(event)
    session.flush()
    _set_head(session, event)
    return event


def _set_head(session: Session, event: AuditEvent) -> None:
    updated = session.execute(
        text("UPDATE audit_head SET last_id = :i, last_hash = :h WHERE id = 1"),
        {"i": event.id, "h": event.hash},
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(
            text("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, :i, :h)"),
            {"i": event.id, "h": event.hash},
        )


@dataclass(frozen=True)
class ChainVerdict:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""

    def message(self) -> str:
        if self.ok:
            return f"Audit chain intact: {self.checked} events verified."
        return f"Audit chain broken at event {self.first_bad_id}: {self.problem}"


def _iter_events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)  # type: ignore[operator,arg-type]
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id  # type: ignore[assignment]


def verify(session: Session, *, key: str | None = None) -> ChainVerdict:
    """Walk the chain from the first event; report the first event that does not verify."""
    prev_hash = GENESIS
    expected_id = 1
    checked = 0
    for event in _iter_events(session):
        if event.id != expected_id:
            return ChainVerdict(
                False,
                checked,
                event.id,
                f"expected event {expected_id} next but found {event.id} (an event was deleted or inserted).",
            )
        if event.prev_hash != prev_hash:
            return ChainVerdict(
                False,
                checked,
                event.id,
                "its link to the previous event does not match (events reordered, deleted or inserted).",
            )
        if compute_hash(event, prev_hash, key) != event.hash:
            return ChainVerdict(
                False, checked, event.id, "its content does not match its hash (the row was edited)."
            )
        prev_hash = event.hash
        expected_id += 1
        checked += 1
    head = session.execute(text("SELECT last_id, last_hash FROM audit_head WHERE id = 1")).first()
    if head is None and checked:
        return ChainVerdict(False, checked, checked, "the chain head record is missing.")
    if head is not None and head[0] < checked:
        return ChainVerdict(
            False,
            checked,
            head[0] + 1,
            f"the chain head ends at event {head[0]}, so event {head[0] + 1} onwards were appended outside Steward.",
        )
    if head is not None and head[0] > checked:
        return ChainVerdict(
            False,
            checked,
            checked + 1,
            f"the chain ends at event {checked} but the head says {head[0]} (events were cut off the end).",
        )
    if head is not None and head[1] != prev_hash:
        return ChainVerdict(
            False, checked, checked, "its hash differs from the one recorded in the chain head."
        )
    return ChainVerdict(True, checked)


# --- reading the log (Audit page, CLI, exports) ------------------------------------------------

EVENT_COLUMNS = [
    "id",
    "ts",
    "actor",
    "actor_email",
    "action",
    "object_type",
    "object_id",
    "model_id",
    "model",
    "reason",
    "before",
    "after",
    "hash",
]


def _event_query(
    *,
    model_id: int | None = None,
    actor_id: int | None = None,
    actions: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Any:
    """The filtered select over audit events (dates inclusive, whole days in UTC)."""
    from core.db.models import Model, Person

    query = (
        select(AuditEvent, Person.name, Model.name)
        .join(Person, Person.id == AuditEvent.actor_id, isouter=True)  # type: ignore[arg-type]
        .join(Model, Model.id == AuditEvent.model_id, isouter=True)  # type: ignore[arg-type]
    )
    if model_id is not None:
        query = query.where(AuditEvent.model_id == model_id)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if actions:
        query = query.where(AuditEvent.action.in_(actions))  # type: ignore[attr-defined]
    if date_from is not None:
        query = query.where(AuditEvent.ts >= datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to is not None:
        query = query.where(
            AuditEvent.ts < datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
        )
    return query


def query_events(
    session: Session,
    *,
    model_id: int | None = None,
    actor_id: int | None = None,
    actions: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int | None = 500,
    offset: int = 0,
) -> pd.DataFrame:
    """Events matching the filters, newest first, as a table (``limit=None``: all of them)."""
    import pandas as pd

    query = _event_query(
        model_id=model_id, actor_id=actor_id, actions=actions, date_from=date_from, date_to=date_to
    )
    query = query.order_by(AuditEvent.id.desc()).offset(offset)  # type: ignore[union-attr]
    if limit is not None:
        query = query.limit(limit)
    records = [
        {
            "id": e.id,
            "ts": e.ts,
            "actor": person or e.actor_email,
            "actor_email": e.actor_email,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "model_id": e.model_id,
            "model": model or "",
            "reason": e.reason,
            "before": e.before,
            "after": e.after,
            "hash": e.hash,
        }
        for e, person, model in session.exec(query).all()
    ]
    return pd.DataFrame.from_records(records, columns=EVENT_COLUMNS)


def count_events(
    session: Session,
    *,
    model_id: int | None = None,
    actor_id: int | None = None,
    actions: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> int:
    """How many events match the filters."""
    from sqlalchemy import func

    query = _event_query(
        model_id=model_id, actor_id=actor_id, actions=actions, date_from=date_from, date_to=date_to
    )
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())


def events_csv(frame: pd.DataFrame) -> bytes:
    """The events as UTF-8 CSV (ISO-8601 UTC timestamps), for auditors' spreadsheets."""
    out = frame.copy()
    if "ts" in out:
        out["ts"] = out["ts"].map(lambda t: t.isoformat() if t is not None else "")
    return out.to_csv(index=False).encode("utf-8")


@dataclass(frozen=True)
class FilterOptions:
    """What the Audit page's filters can choose from: (id, label) pairs and action names."""

    models: list[tuple[int, str]]
    actors: list[tuple[int, str]]
    actions: list[str]


def filter_options(session: Session) -> FilterOptions:
    from core.db.models import Model, Person

    models = [
        (m_id, name) for m_id, name in session.exec(select(Model.id, Model.name).order_by(Model.name)).all()
    ]
    actor_ids = select(AuditEvent.actor_id).distinct()
    actors = [
        (p_id, f"{name} ({email})")
        for p_id, name, email in session.exec(
            select(Person.id, Person.name, Person.email).where(Person.id.in_(actor_ids)).order_by(Person.name)  # type: ignore[union-attr]
        ).all()
    ]
    actions = sorted(session.exec(select(AuditEvent.action).distinct()).all())
    return FilterOptions(models=models, actors=actors, actions=actions)  # type: ignore[arg-type]
