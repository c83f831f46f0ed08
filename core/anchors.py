"""Anchors: checkpoints of the audit log kept OUTSIDE the database.

The hash chain shows that rows were edited, and the head row that the end was cut, but someone
who can write every table can also delete events and move the head back, wipe both, restore an
older backup, or (without the HMAC key) recompute the whole chain from any point. None of that
can change a file that was written earlier somewhere they cannot write. ``steward audit anchor``
writes such a file: the number of events, the id and hash of the newest one, hashes of a spread
of earlier events (so a rewrite can be located), the key check, the time, and a signature (HMAC
with STEWARD_AUDIT_HMAC_KEY when one is set; a plain SHA-256 otherwise, which only detects
accidental damage). Put the directory on write-once storage (object lock, WORM share, or at
least another machine's file system) and anchor nightly; then ``steward audit verify --anchors
DIR`` and ``steward check`` detect truncation, a wipe, a rollback, a forged tail and a rewritten
chain relative to every anchor, naming the first missing or changed event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from core import audit, clock
from core.config import get_settings
from core.db.models import AuditEvent
from core.errors import InvalidInput

FORMAT = "steward-audit-anchor/1"
TAIL_POINTS = 64  # the newest events are anchored one by one: a forged tail is named exactly
SPREAD_POINTS = 256  # plus evenly spread events, to locate a rewrite deeper in the chain
PATTERN = "anchor-*.json"


@dataclass(frozen=True)
class Anchor:
    path: Path
    created_at: datetime
    events: int
    last_id: int
    last_hash: str
    key_check: str | None
    keyed_from: int | None
    points: dict[int, str]  # event id -> hash
    signed_with_key: bool


def anchor_dir(directory: Path | str | None = None) -> Path | None:
    """The anchor directory: ``directory`` if given, else STEWARD_AUDIT_ANCHOR_DIR, else None."""
    chosen = directory if directory not in (None, "") else get_settings().audit_anchor_dir
    return Path(chosen) if chosen else None


def _point_ids(last_id: int) -> list[int]:
    tail = range(max(1, last_id - TAIL_POINTS + 1), last_id + 1)
    step = max(1, last_id // SPREAD_POINTS)
    spread = range(step, last_id + 1, step)
    powers = [1 << k for k in range(last_id.bit_length()) if (1 << k) <= last_id]
    return sorted({*tail, *spread, *powers})


def _signature(payload: dict, key: str) -> dict[str, str]:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    if key:
        return {"method": "hmac-sha256", "value": hmac.new(key.encode(), body, hashlib.sha256).hexdigest()}
    return {"method": "sha256", "value": hashlib.sha256(body).hexdigest()}


def _hashes(session: Session, ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.exec(
            select(col(AuditEvent.id), col(AuditEvent.hash)).where(col(AuditEvent.id).in_(chunk))
        ).all()
        found.update({int(i): str(h) for i, h in rows if i is not None})
    return found


def write_anchor(session: Session, directory: Path | str | None = None) -> Anchor:
    """Write a new anchor file for the log as it is now; returns it. Never overwrites a file."""
    target = anchor_dir(directory)
    if target is None:
        raise InvalidInput("no anchor directory: pass --out DIR or set STEWARD_AUDIT_ANCHOR_DIR.")
    verdict = audit.verify(session)
    if not verdict.ok:  # anchoring a broken chain would bless the tampering
        raise InvalidInput(f"the audit log does not verify, so it is not anchored: {verdict.message()}")
    events = int(session.exec(select(func.count()).select_from(AuditEvent)).one())
    head = audit.read_head(session)
    last_id = head.last_id if head is not None else 0
    points = _hashes(session, _point_ids(last_id)) if last_id else {}
    now = clock.now()
    payload = {
        "format": FORMAT,
        "created_at": now.isoformat(timespec="microseconds"),
        "events": events,
        "last_id": last_id,
        "last_hash": head.last_hash if head is not None else audit.GENESIS,
        "key_check": head.key_check if head is not None else None,
        "keyed_from": head.keyed_from if head is not None else None,
        "points": {str(i): h for i, h in sorted(points.items())},
    }
    document = {**payload, "signature": _signature(payload, get_settings().audit_hmac_key)}
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"anchor-{now:%Y%m%dT%H%M%S%fZ}-{last_id}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=1, sort_keys=True)
    return _parse(path, document, get_settings().audit_hmac_key)


def _parse(path: Path, document: dict, key: str) -> Anchor:
    signature = document.get("signature") or {}
    payload = {k: v for k, v in document.items() if k != "signature"}
    if payload.get("format") != FORMAT:
        raise ValueError(f"it is not a Steward audit anchor ({FORMAT})")
    method = signature.get("method")
    if method == "hmac-sha256":
        if not key:
            raise ValueError("it is signed with the audit key, which is not set (STEWARD_AUDIT_HMAC_KEY)")
        expected = _signature(payload, key)["value"]
    elif method == "sha256":
        expected = _signature(payload, "")["value"]
    else:
        raise ValueError(f"its signature method {method!r} is unknown")
    if not hmac.compare_digest(str(signature.get("value", "")), expected):
        raise ValueError(
            "its signature does not match its content (edited, forged, or signed with another key)"
        )
    return Anchor(
        path=path,
        created_at=datetime.fromisoformat(payload["created_at"]),
        events=int(payload["events"]),
        last_id=int(payload["last_id"]),
        last_hash=str(payload["last_hash"]),
        key_check=payload.get("key_check"),
        keyed_from=payload.get("keyed_from"),
        points={int(i): str(h) for i, h in (payload.get("points") or {}).items()},
        signed_with_key=method == "hmac-sha256",
    )


def read_anchors(directory: Path) -> tuple[list[Anchor], list[str]]:
    """The directory's anchors, oldest first, and a problem line for each file that is not a valid one."""
    if not directory.is_dir():
        return [], [f"the anchor directory {directory} does not exist."]
    key = get_settings().audit_hmac_key
    anchors: list[Anchor] = []
    problems: list[str] = []
    for path in sorted(directory.glob(PATTERN)):
        try:
            anchors.append(_parse(path, json.loads(path.read_text(encoding="utf-8")), key))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"anchor {path.name} cannot be trusted: {exc}.")
    return sorted(anchors, key=lambda a: (a.created_at, a.last_id)), problems


@dataclass(frozen=True)
class AnchorVerdict:
    """The log compared with the anchors of a directory."""

    ok: bool
    directory: Path | None
    anchors: int = 0
    newest: Anchor | None = None
    first_bad_id: int | None = None
    problem: str = ""
    warnings: list[str] = field(default_factory=list)

    def message(self) -> str:
        if self.directory is None:
            return (
                "Audit anchors: none configured (set STEWARD_AUDIT_ANCHOR_DIR and run `steward audit anchor` "
                "nightly): cutting or wiping the log would go unnoticed."
            )
        if not self.ok:
            return f"Audit log does not match its anchors: {self.problem}"
        if self.newest is None:
            return f"Audit anchors: none yet in {self.directory} (run `steward audit anchor`)."
        return (
            f"Audit log matches its {self.anchors} anchor(s); newest {self.newest.created_at:%Y-%m-%d %H:%M} UTC "
            f"at event {self.newest.last_id}."
        )


def verify_against_anchors(session: Session, directory: Path | str | None = None) -> AnchorVerdict:
    """Compare the log with every anchor in the directory; name the first missing or changed event."""
    where = anchor_dir(directory)
    if where is None:
        return AnchorVerdict(True, None)
    anchors, problems = read_anchors(where)
    if problems:
        return AnchorVerdict(
            False, where, len(anchors), anchors[-1] if anchors else None, None, " ".join(problems)
        )
    if not anchors:
        return AnchorVerdict(True, where)
    newest = anchors[-1]
    known: dict[int, tuple[str, Anchor]] = {}
    for anchor in anchors:
        for event_id, digest in {**anchor.points, anchor.last_id: anchor.last_hash}.items():
            if event_id == 0:
                continue
            if event_id in known and known[event_id][0] != digest:
                return AnchorVerdict(
                    False,
                    where,
                    len(anchors),
                    newest,
                    event_id,
                    f"anchors {known[event_id][1].path.name} and {anchor.path.name} disagree about event "
                    f"{event_id}: one of them was forged, or they belong to different registries.",
                )
            known.setdefault(event_id, (digest, anchor))
    events = int(session.exec(select(func.count()).select_from(AuditEvent)).one())
    last_id = int(session.exec(select(func.max(AuditEvent.id))).one() or 0)
    hashes = _hashes(session, sorted(known))
    changed = sorted(i for i in known if i in hashes and hashes[i] != known[i][0])
    furthest = max(anchors, key=lambda a: a.last_id)

    def verdict(first_bad: int, problem: str) -> AnchorVerdict:
        return AnchorVerdict(False, where, len(anchors), newest, first_bad, problem)

    def when(anchor: Anchor) -> str:
        return f"the anchor of {anchor.created_at:%Y-%m-%d %H:%M:%S} UTC ({anchor.path.name})"

    if changed:
        first = changed[0]
        good = max((i for i in known if i < first and hashes.get(i) == known[i][0]), default=0)
        where_text = (
            f"event {first} is the first changed event"
            if good == first - 1
            else f"the first changed event lies between event {good + 1} and event {first}"
        )
        return verdict(
            first,
            f"event {first}'s hash differs from {when(known[first][1])}: the chain was rewritten or a tail "
            f"forged; {where_text}.",
        )
    if furthest.last_id > 0 and events == 0:
        return verdict(
            1,
            f"the log is empty but {when(furthest)} recorded {furthest.events} events up to event "
            f"{furthest.last_id}: the log was wiped; the first missing event is event 1.",
        )
    if last_id < furthest.last_id:
        return verdict(
            last_id + 1,
            f"the log ends at event {last_id} but {when(furthest)} recorded events up to {furthest.last_id}: "
            f"events {last_id + 1} to {furthest.last_id} are missing (cut off, or an older backup was restored); "
            f"the first missing event is event {last_id + 1}.",
        )
    missing = sorted(i for i in known if i not in hashes)
    if missing:
        return verdict(
            missing[0], f"event {missing[0]}, anchored by {when(known[missing[0]][1])}, is missing."
        )
    head = audit.read_head(session)
    if newest.key_check and (head is None or head.key_check != newest.key_check):
        return verdict(
            newest.keyed_from or 1,
            f"the chain head's key check differs from {when(newest)}: the key check was removed or replaced.",
        )
    warnings = []
    if get_settings().audit_hmac_key and not newest.signed_with_key:
        warnings.append("the newest anchor is not signed with the audit key; anchor again with the key set.")
    return AnchorVerdict(True, where, len(anchors), newest, warnings=warnings)


def newest_anchor_age(
    directory: Path | str | None = None, *, now: datetime | None = None
) -> timedelta | None:
    """How long ago the newest valid anchor was written (None: no directory or no anchor)."""
    where = anchor_dir(directory)
    if where is None:
        return None
    anchors, _ = read_anchors(where)
    if not anchors:
        return None
    return (now or clock.now()) - anchors[-1].created_at
