"""Production periods from the stage history: which version was in production from when to when.

Answered from ``stage_change`` (written by every stage transition, in the same transaction,
together with a chained audit event that records the row's id and time), after checking it
against those events: an edited, inserted or deleted stage change raises IntegrityViolation
instead of giving a wrong answer (``core.audit.stage_history_problems``). The single-instant question ("which version on date
D") is ``core.registry.reads.production_version_on``; ``as_instant`` turns a date into the
end of that day in UTC for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlmodel import Session, col, select

from core import audit
from core.db.models import ModelVersion, StageChange


@dataclass(frozen=True)
class ProductionPeriod:
    version: int
    version_id: int
    since: datetime
    until: datetime | None  # None = still in production


def production_periods(session: Session, model_id: int) -> list[ProductionPeriod]:
    """The model's production versions in order, each with when it entered and left production."""
    audit.ensure_stage_history(session, model_id)
    changes = session.exec(
        select(StageChange, col(ModelVersion.version))
        .join(ModelVersion, col(ModelVersion.id) == col(StageChange.model_version_id))
        .where(col(StageChange.model_id) == model_id)
        .order_by(col(StageChange.changed_at), col(StageChange.id))
    ).all()
    periods: list[ProductionPeriod] = []
    open_period: ProductionPeriod | None = None
    for change, number in changes:
        if change.to_stage == "production":
            open_period = ProductionPeriod(number, change.model_version_id, change.changed_at, None)
        elif (
            change.from_stage == "production"
            and open_period
            and open_period.version_id == change.model_version_id
        ):
            periods.append(
                ProductionPeriod(
                    open_period.version, open_period.version_id, open_period.since, change.changed_at
                )
            )
            open_period = None
    if open_period is not None:
        periods.append(open_period)
    return sorted(periods, key=lambda p: p.since)


def as_instant(on: date | datetime) -> datetime:
    """A date means the end of that day (UTC); a naive datetime is refused."""
    if isinstance(on, datetime):
        if on.tzinfo is None:
            raise ValueError("a naive datetime has no time zone; pass an aware UTC datetime")
        return on.astimezone(UTC)
    return datetime.combine(on, time.max, tzinfo=UTC)


def previous_production_version(session: Session, model_id: int) -> ProductionPeriod | None:
    """The version in production before the current one: the candidate for a rollback."""
    periods = [p for p in production_periods(session, model_id) if p.until is not None]
    current = session.exec(
        select(col(ModelVersion.id)).where(
            col(ModelVersion.model_id) == model_id, col(ModelVersion.stage) == "production"
        )
    ).first()
    for period in reversed(periods):
        if period.version_id != current:
            return period
    return None
