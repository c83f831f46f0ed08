"""Retention of raw prediction rows: per model, keep the raw rows of the last N days.

What retention deletes is the store's files of days before the cut-off (today - N days) and
their manifest rows. What it never deletes: the daily aggregates (``prediction_daily``), the
drift runs and every other stored result, and the labelled sample in ``prediction_log``
(labelled rows and rows drawn for labelling). Without a policy a model's rows are kept for ever.

The files are deleted only after the transaction that removed their manifest rows commits: a
failed run leaves every file readable; a crash after the commit leaves at most unreferenced
files, which no read ever opens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, func, select
from sqlmodel import Session, col

from core import audit, clock, events
from core.access import Actor, require
from core.db.models import LogFile, LogRetention, LogSource, Model, ModelVersion
from core.db.types import saved_id
from core.errors import InvalidInput, NotFound
from core.logstore.store import Store, open_store

MAX_DAYS = 36_500


@dataclass(frozen=True)
class RetentionView:
    """What the model page shows: the policy and what the store holds."""

    model_id: int
    raw_days: int | None  # None: raw rows kept for ever
    updated_at: datetime | None
    updated_by_id: int | None
    last_applied_at: datetime | None
    stored_rows: int
    stored_files: int
    oldest_day: date | None
    newest_day: date | None
    # versions that read their logs where they live: (version, location, rows last read, read at);
    # retention never deletes those files
    sources: tuple[tuple[int, str, int | None, datetime | None], ...] = ()

    @property
    def policy_text(self) -> str:
        if self.raw_days is None:
            return "Raw rows kept for ever (no retention policy)."
        return (
            f"Raw rows kept {self.raw_days} days; daily aggregates, drift results and the labelled "
            "sample kept for ever."
        )


def _model(session: Session, model_id: int) -> Model:
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    return model


def retention_of(session: Session, model_id: int) -> RetentionView:
    _model(session, model_id)
    policy = session.get(LogRetention, model_id)
    rows, files, oldest, newest = session.execute(
        select(
            func.coalesce(func.sum(col(LogFile.rows)), 0),
            func.count(col(LogFile.id)),
            func.min(col(LogFile.day)),
            func.max(col(LogFile.day)),
        ).where(col(LogFile.model_id) == model_id)
    ).one()
    read_in_place = session.execute(
        select(
            col(ModelVersion.version),
            col(LogSource.location),
            col(LogSource.synced_rows),
            col(LogSource.synced_at),
        )
        .join(ModelVersion, col(ModelVersion.id) == col(LogSource.model_version_id))
        .where(col(ModelVersion.model_id) == model_id)
        .order_by(col(ModelVersion.version))
    ).all()
    return RetentionView(
        model_id=model_id,
        raw_days=policy.raw_days if policy else None,
        updated_at=policy.updated_at if policy else None,
        updated_by_id=policy.updated_by_id if policy else None,
        last_applied_at=policy.last_applied_at if policy else None,
        stored_rows=int(rows),
        stored_files=int(files),
        oldest_day=oldest,
        newest_day=newest,
        sources=tuple((int(v), str(loc), n, at) for v, loc, n, at in read_in_place),
    )


def set_retention(session: Session, *, actor: Actor, model_id: int, raw_days: int | None) -> RetentionView:
    """Keep the model's raw rows ``raw_days`` days (None: for ever). Its owners decide."""
    model = _model(session, model_id)
    require(session, actor, "retention.set", business_unit=model.business_unit)
    if raw_days is not None and (
        isinstance(raw_days, bool) or not isinstance(raw_days, int) or not 1 <= raw_days <= MAX_DAYS
    ):
        raise InvalidInput(
            f"days to keep raw rows must be a whole number from 1 to {MAX_DAYS}, got {raw_days!r}."
        )
    policy = session.get(LogRetention, model_id)
    before = policy.raw_days if policy else None
    if before == raw_days:
        return retention_of(session, model_id)
    if raw_days is None:
        assert policy is not None
        session.delete(policy)
    else:
        policy = policy or LogRetention(model_id=model_id, raw_days=raw_days)
        policy.raw_days = raw_days
        policy.updated_at = clock.now()
        policy.updated_by_id = actor.id
        session.add(policy)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.LOG_RETENTION_SET,
        object_id=model_id,
        model_id=model_id,
        before={"raw_days": before},
        after={"raw_days": raw_days},
    )
    return retention_of(session, model_id)


@dataclass(frozen=True)
class Applied:
    model_id: int
    model: str
    raw_days: int
    cutoff: date
    files: int
    rows: int


def apply_retention(
    session: Session, *, actor: Actor, today: date | None = None, store: Store | None = None
) -> list[Applied]:
    """Delete, for every model with a policy, the raw rows of days before today - N days.
    One audit event per model that lost rows; files go once the transaction commits."""
    require(session, actor, "retention.apply")
    today = today or clock.today()
    store = store or open_store()
    done: list[Applied] = []
    doomed: list[str] = []
    policies = session.execute(select(LogRetention).order_by(col(LogRetention.model_id))).scalars().all()
    for policy in policies:
        model = _model(session, policy.model_id)
        cutoff = today - timedelta(days=policy.raw_days)
        old = (
            session.execute(
                select(LogFile).where(col(LogFile.model_id) == policy.model_id, col(LogFile.day) < cutoff)
            )
            .scalars()
            .all()
        )
        policy.last_applied_at = clock.now()
        session.add(policy)
        if not old:
            continue
        rows = sum(f.rows for f in old)
        session.execute(
            delete(LogFile).where(col(LogFile.id).in_([saved_id(f) for f in old])),
            execution_options={"synchronize_session": False},
        )
        doomed.extend(f.path for f in old)
        applied = Applied(saved_id(model), model.name, policy.raw_days, cutoff, len(old), rows)
        audit.record(
            session,
            actor=actor,
            action=events.LOG_RETENTION_APPLIED,
            object_id=saved_id(model),
            model_id=saved_id(model),
            after=_summary(applied, old),
        )
        done.append(applied)
    session.flush()
    if doomed:
        event.listen(session, "after_commit", lambda _s: _delete_files(store, doomed), once=True)
    return done


def _summary(applied: Applied, files: Sequence[LogFile]) -> dict[str, Any]:
    return {
        "raw_days": applied.raw_days,
        "cutoff": applied.cutoff.isoformat(),
        "files": applied.files,
        "rows": applied.rows,
        "first_day": min(f.day for f in files).isoformat(),
        "last_day": max(f.day for f in files).isoformat(),
    }


def _delete_files(store: Store, paths: list[str]) -> None:
    for relative in paths:
        try:
            store.filesystem.delete_file(store.path(relative))
        except (FileNotFoundError, OSError):
            continue  # already gone: nothing references it any more either way
