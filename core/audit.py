"""The hash-chained audit log.

Every change Steward makes appends one event in the same transaction as the change. Each
event stores the hash of its canonical content together with the previous event's hash, so
editing, deleting, reordering or inserting a row breaks the chain at that row. With
``STEWARD_AUDIT_HMAC_KEY`` set the hash is an HMAC, so a chain recomputed without the key
no longer verifies; the head keeps a check value of the key, so a writer without the key (or
with another) is refused and verify tells "key missing or wrong" from "row edited". A one-row
``audit_head`` table (id and hash of the newest event, written in the same transaction) makes
cutting events off the end detectable to the extent the head is trusted; anchors written
outside the database (core/anchors.py) make truncation, wipes and rewrites detectable even by
someone who can change every row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from core import clock, events, outbox
from core.access import Actor
from core.config import get_settings
from core.db.models import AuditEvent, Model, Person, StageChange
from core.db.types import saved_id
from core.errors import IntegrityViolation
from core.events import EventKind

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
    fields: list[Any] = [
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
    ]
    if e.token_id is not None:  # events before tokens existed keep their original content
        fields.append({"token_id": e.token_id})
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def compute_hash(event: AuditEvent, prev_hash: str, key: str | None = None) -> str:
    """The event's hash: HMAC-SHA256 with ``key`` when it is non-empty, else plain SHA-256.
    ``key=None`` means the configured STEWARD_AUDIT_HMAC_KEY."""
    payload = (prev_hash + _content(event)).encode()
    secret = get_settings().audit_hmac_key if key is None else key
    if secret:
        return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()


KEY_CHECK_LABEL = b"steward audit key check v1"
KEY_MISSING = "this registry's audit log is keyed; set STEWARD_AUDIT_HMAC_KEY (the key it was written with)."
KEY_WRONG = (
    "STEWARD_AUDIT_HMAC_KEY is not the key this registry's audit log is keyed with; "
    "set the key it was written with."
)


def key_check_of(key: str) -> str:
    """A value that identifies the key without revealing it (stored in audit_head)."""
    return hmac.new(key.encode(), KEY_CHECK_LABEL, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Head:
    last_id: int
    last_hash: str
    key_check: str | None
    keyed_from: int | None


def read_head(session: Session) -> Head | None:
    row = session.execute(
        text("SELECT last_id, last_hash, key_check, keyed_from FROM audit_head WHERE id = 1")
    ).first()
    return None if row is None else Head(int(row[0]), str(row[1]), row[2], row[3])


def _newest(session: Session) -> AuditEvent | None:
    return session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()


def _first_keyed_id(session: Session, key: str) -> int:
    """The first event of a chain keyed before key checks existed (walks it once)."""
    prev_hash = GENESIS
    for event in _iter_events(session):
        if (
            compute_hash(event, prev_hash, "") != event.hash
            and compute_hash(event, prev_hash, key) == event.hash
        ):
            return saved_id(event)
        prev_hash = event.hash
    return 1


def _writing_key(session: Session, head: Head | None, last: AuditEvent | None) -> tuple[str, Head | None]:
    """The key the next event is hashed with ('' = none), refusing a writer whose key does not fit
    the chain; and the key check to store when this write starts (or first records) a keyed chain."""
    key = get_settings().audit_hmac_key
    if head is not None and head.key_check:
        if not key:
            raise IntegrityViolation(KEY_MISSING)
        if not hmac.compare_digest(key_check_of(key), head.key_check):
            raise IntegrityViolation(KEY_WRONG)
        return key, None
    next_id = (saved_id(last) + 1) if last is not None else 1
    if last is None or compute_hash(last, last.prev_hash, "") == last.hash:
        # A plain chain (or none yet): a key set now starts keying it from the next event.
        start = Head(0, "", key_check_of(key), next_id) if key else None
        return key, start
    # The newest event is not a plain hash: a chain keyed before key checks were stored.
    if not key:
        raise IntegrityViolation(KEY_MISSING)
    if compute_hash(last, last.prev_hash, key) != last.hash:
        raise IntegrityViolation(KEY_WRONG)
    return key, Head(0, "", key_check_of(key), _first_keyed_id(session, key))


def record(
    session: Session,
    *,
    actor: Actor,
    action: EventKind,
    object_id: Any,
    object_type: str | None = None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
    model_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's (write) transaction.

    ``action`` is an entry of the catalogue (``core.events``); anything else is refused, as is an
    ``object_type`` the entry does not declare (default: the entry's own object type). Refuses
    (IntegrityViolation) when the chain is keyed and this process has no key or another one: an
    event it wrote could never be verified, so nothing is written.
    """
    if not isinstance(action, EventKind) or events.CATALOGUE.get(action.name) != action:
        raise ValueError(f"audit action {action!r} is not in the catalogue (core/events.py)")
    object_type = object_type or action.object_type
    if object_type not in action.object_types:
        raise ValueError(
            f"audit action {action.name!r} concerns {' or '.join(action.object_types)}, not {object_type!r}"
        )
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    last = _newest(session)
    head = read_head(session)
    key, starts = _writing_key(session, head, last)
    event = AuditEvent(
        id=(saved_id(last) + 1) if last else 1,
        ts=clock.now(),
        actor_id=actor.id,
        actor_email=actor.email,
        action=action.name,
        object_type=object_type,
        object_id=str(object_id),
        model_id=model_id,
        before=canonical(before),
        after=canonical(after),
        reason=reason or "",
        token_id=actor.token_id,
        prev_hash=last.hash if last else GENESIS,
        hash="",
    )
    event.hash = compute_hash(event, event.prev_hash, key)
    session.add(event)
    session.flush()
    _set_head(session, event, head, starts)
    outbox.capture(session, event)  # the outbound event, if any, commits or rolls back with this one
    return event


def adopt_key(session: Session) -> bool:
    """Store the key check of a chain keyed before key checks existed (run by ``steward init``).

    Returns whether a key check was stored. Refuses, like a writer, a key that does not fit."""
    head = read_head(session)
    last = _newest(session)
    if head is None or head.key_check or last is None:
        return False
    _, starts = _writing_key(session, head, last)
    if starts is None or starts.keyed_from is None or starts.keyed_from > saved_id(last):
        return False  # a plain chain stays plain until the next keyed write
    session.execute(
        text("UPDATE audit_head SET key_check = :c, keyed_from = :f WHERE id = 1"),
        {"c": starts.key_check, "f": starts.keyed_from},
    )
    return True


def _set_head(session: Session, event: AuditEvent, head: Head | None, starts: Head | None) -> None:
    values = {"i": event.id, "h": event.hash}
    if head is None:
        session.execute(
            text(
                "INSERT INTO audit_head (id, last_id, last_hash, key_check, keyed_from) VALUES (1, :i, :h, :c, :f)"
            ),
            {**values, "c": starts.key_check if starts else None, "f": starts.keyed_from if starts else None},
        )
    elif starts is not None:
        session.execute(
            text(
                "UPDATE audit_head SET last_id = :i, last_hash = :h, key_check = :c, keyed_from = :f WHERE id = 1"
            ),
            {**values, "c": starts.key_check, "f": starts.keyed_from},
        )
    else:
        session.execute(text("UPDATE audit_head SET last_id = :i, last_hash = :h WHERE id = 1"), values)


@dataclass(frozen=True)
class ChainVerdict:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""
    key_problem: bool = False  # the key is missing or wrong (not: a row was edited)

    def message(self) -> str:
        if self.ok:
            return f"Audit chain intact: {self.checked} events verified."
        if self.key_problem:
            return f"Audit chain not verified: {self.problem}"
        return f"Audit chain broken at event {self.first_bad_id}: {self.problem}"


def _iter_events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(col(AuditEvent.id) > last_id).order_by(col(AuditEvent.id)).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = saved_id(rows[-1])


def verify(session: Session, *, key: str | None = None) -> ChainVerdict:
    """Walk the chain from the first event; report the first event that does not verify.

    ``key=None`` uses STEWARD_AUDIT_HMAC_KEY. A keyed chain checked without its key (or with
    another) is reported as "key missing or wrong", never as an edited row."""
    key = get_settings().audit_hmac_key if key is None else key
    head = read_head(session)
    keyed_from: int | None = None
    if head is not None and head.key_check:
        keyed_from = head.keyed_from or 1
        if not key or not hmac.compare_digest(key_check_of(key), head.key_check):
            state = "not set" if not key else "not the key it was written with"
            return ChainVerdict(
                False,
                0,
                keyed_from,
                f"the audit log is keyed from event {keyed_from} on and STEWARD_AUDIT_HMAC_KEY is {state} "
                "(key missing or wrong). Set the key the log was written with and verify again.",
                key_problem=True,
            )
    prev_hash = GENESIS
    expected_id = 1
    checked = 0
    legacy_keyed = False  # a chain keyed before key checks were stored: keyed from its first keyed event
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
        if keyed_from is not None:
            expected = compute_hash(event, prev_hash, key if saved_id(event) >= keyed_from else "")
        elif legacy_keyed:
            expected = compute_hash(event, prev_hash, key)
        else:
            expected = compute_hash(event, prev_hash, "")
            if expected != event.hash and key and compute_hash(event, prev_hash, key) == event.hash:
                legacy_keyed, expected = True, event.hash
        if expected != event.hash:
            hint = ""
            if keyed_from is None and not key and not legacy_keyed:
                hint = " (or the log is keyed and STEWARD_AUDIT_HMAC_KEY is not set)"
            return ChainVerdict(
                False, checked, event.id, f"its content does not match its hash (the row was edited){hint}."
            )
        prev_hash = event.hash
        expected_id += 1
        checked += 1
    if checked == 0 and head is None and _holds_records(session):
        return ChainVerdict(
            False,
            0,
            1,
            "the registry holds people and models but no audit events at all (the log was wiped).",
        )
    if head is None and checked:
        return ChainVerdict(False, checked, checked, "the chain head record is missing.")
    if head is not None and head.last_id < checked:
        return ChainVerdict(
            False,
            checked,
            head.last_id + 1,
            f"the chain head ends at event {head.last_id}, so event {head.last_id + 1} onwards were appended outside Steward.",
        )
    if head is not None and head.last_id > checked:
        return ChainVerdict(
            False,
            checked,
            checked + 1,
            f"the chain ends at event {checked} but the head says {head.last_id} (events were cut off the end).",
        )
    if head is not None and head.last_hash != prev_hash:
        return ChainVerdict(
            False, checked, checked, "its hash differs from the one recorded in the chain head."
        )
    return ChainVerdict(True, checked)


def _holds_records(session: Session) -> bool:
    """Whether anything that is only ever created with an audit event exists (people: the first
    one, the system account, is created with the first event)."""
    return session.exec(select(col(Person.id)).limit(1)).first() is not None


# --- the stage history, checked against the chain ----------------------------------------------


def stage_history_problems(session: Session, model_id: int | None = None) -> list[str]:
    """Where ``stage_change`` (which answers "what was in production on date D") disagrees with
    the chained ``version.stage_changed`` events: a row edited, inserted or deleted outside Steward.

    Events written since stage changes carry their row's id and time are compared exactly; older
    ones are paired with their rows in order per version (stage and version must match, and the
    change cannot be dated after the event that recorded it)."""
    events_query = select(AuditEvent).where(AuditEvent.action == "version.stage_changed")
    rows_query = select(StageChange)
    if model_id is not None:
        events_query = events_query.where(AuditEvent.model_id == model_id)
        rows_query = rows_query.where(StageChange.model_id == model_id)
    recorded = session.exec(events_query.order_by(col(AuditEvent.id))).all()
    rows = {saved_id(row): row for row in session.exec(rows_query.order_by(col(StageChange.id))).all()}
    problems: list[str] = []
    legacy_events: dict[int, list[tuple[AuditEvent, dict, dict]]] = {}
    for event in recorded:
        after, before = json.loads(event.after or "{}"), json.loads(event.before or "{}")
        change_id = after.get("stage_change_id")
        if change_id is None:
            legacy_events.setdefault(int(event.object_id), []).append((event, before, after))
            continue
        row = rows.pop(int(change_id), None)
        if row is None:
            problems.append(
                f"stage change #{change_id} recorded by audit event {event.id} is missing (deleted)."
            )
            continue
        stamped = datetime.fromisoformat(after["changed_at"])
        if (
            row.model_version_id != int(event.object_id)
            or row.from_stage != before.get("stage")
            or row.to_stage != after.get("stage")
            or row.changed_at != stamped
        ):
            problems.append(
                f"stage change #{row.id} ({row.from_stage} -> {row.to_stage} at {row.changed_at.isoformat()}) "
                f"differs from audit event {event.id} ({before.get('stage')} -> {after.get('stage')} at "
                f"{stamped.isoformat()}): the stage history was edited."
            )
    legacy_rows: dict[int, list[Any]] = {}
    for row in rows.values():
        legacy_rows.setdefault(row.model_version_id, []).append(row)
    for version_id in sorted(set(legacy_rows) | set(legacy_events)):
        paired = zip(legacy_rows.get(version_id, []), legacy_events.get(version_id, []), strict=False)
        for row, (event, before, after) in paired:
            if (
                row.from_stage != before.get("stage")
                or row.to_stage != after.get("stage")
                or row.changed_at > event.ts
            ):
                problems.append(
                    f"stage change #{row.id} of version id {version_id} does not match audit event {event.id}: "
                    "the stage history was edited."
                )
        extra_rows = legacy_rows.get(version_id, [])[len(legacy_events.get(version_id, [])) :]
        extra_events = legacy_events.get(version_id, [])[len(legacy_rows.get(version_id, [])) :]
        problems += [
            f"stage change #{r.id} has no audit event (written outside Steward)." for r in extra_rows
        ]
        problems += [
            f"the stage change recorded by audit event {e.id} is missing from the stage history (deleted)."
            for e, _, _ in extra_events
        ]
    return problems


def ensure_stage_history(session: Session, model_id: int) -> None:
    """Raise IntegrityViolation unless the model's stage history matches the audit log."""
    problems = stage_history_problems(session, model_id)
    if problems:
        raise IntegrityViolation(
            "This model's stage history does not match the audit log, so what was in production when "
            f"cannot be trusted: {problems[0]} Run `steward check` and restore from a backup."
        )


# --- reading the log (Audit page, CLI, exports) ------------------------------------------------

EVENT_COLUMNS = [
    "id",
    "ts",
    "actor",
    "actor_email",
    "action",
    "label",
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
    query = (
        select(AuditEvent, col(Person.name), col(Model.name))
        .join(Person, col(Person.id) == col(AuditEvent.actor_id), isouter=True)
        .join(Model, col(Model.id) == col(AuditEvent.model_id), isouter=True)
    )
    if model_id is not None:
        query = query.where(col(AuditEvent.model_id) == model_id)
    if actor_id is not None:
        query = query.where(col(AuditEvent.actor_id) == actor_id)
    if actions:
        query = query.where(col(AuditEvent.action).in_(actions))
    if date_from is not None:
        query = query.where(col(AuditEvent.ts) >= datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to is not None:
        query = query.where(
            col(AuditEvent.ts) < datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
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
    query = _event_query(
        model_id=model_id, actor_id=actor_id, actions=actions, date_from=date_from, date_to=date_to
    )
    query = query.order_by(col(AuditEvent.id).desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    records = [
        {
            "id": e.id,
            "ts": e.ts,
            "actor": person or e.actor_email,
            "actor_email": e.actor_email,
            "action": e.action,
            "label": events.label(e.action),
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
    """What the Audit page's filters can choose from: (id, label) pairs, action names (sorted by
    their labels) and the label of each action."""

    models: list[tuple[int, str]]
    actors: list[tuple[int, str]]
    actions: list[str]
    action_labels: dict[str, str]


def filter_options(session: Session) -> FilterOptions:
    models = [(saved_id(m), m.name) for m in session.exec(select(Model).order_by(col(Model.name))).all()]
    actor_ids = select(col(AuditEvent.actor_id)).distinct()
    actors = [
        (saved_id(p), f"{p.name} ({p.email})")
        for p in session.exec(
            select(Person).where(col(Person.id).in_(actor_ids)).order_by(col(Person.name))
        ).all()
    ]
    names = list(session.exec(select(col(AuditEvent.action)).distinct()).all())
    action_labels = events.labels(names)
    actions = sorted(names, key=lambda n: (action_labels[n].lower(), n))
    return FilterOptions(models=models, actors=actors, actions=actions, action_labels=action_labels)
