"""Per-model monitoring thresholds: the limits health and alerts judge against, versioned.

A model owner or approver sets them (``set_thresholds``, audited); each change is a new version
and ``current_thresholds`` reads the newest, or the defaults for a model never configured.
Alerts (``core.monitoring.alerts``) and realised performance (``core.monitoring.performance``)
both read them, so they live apart from either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session, col

from core import audit, events
from core.access import Actor, require
from core.db.models import Model, MonitoringThresholds
from core.errors import InvalidInput, NotFound
from core.registry.validation import clean_text

DEFAULTS = {
    "drift_share": 0.3,
    "performance_drop": 0.05,
    "outage_days": 3,
    "min_label_coverage": 0.05,
    # Segments (core.monitoring.segments): below 30 cases a group's rate is shown as "too few
    # cases" (a Wilson interval from fewer is wider than +-0.15 around 0.5); a segment alerts when
    # its error rate exceeds the rest's by 10 points, a sensitive attribute when its demographic
    # parity or equalised-odds difference exceeds 0.1 (the usual rule of thumb, fairlearn's docs).
    "min_group_size": 30,
    "segment_gap": 0.1,
    "disparity_limit": 0.1,
}


# --- thresholds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    model_id: int
    version: int  # 0: the defaults, never set for this model
    drift_share: float
    performance_drop: float
    outage_days: int
    min_label_coverage: float
    min_group_size: int = int(DEFAULTS["min_group_size"])
    segment_gap: float = DEFAULTS["segment_gap"]
    disparity_limit: float = DEFAULTS["disparity_limit"]

    @property
    def is_default(self) -> bool:
        return self.version == 0


def current_thresholds(session: Session, *, model_id: int) -> Thresholds:
    """The newest thresholds version of a model, or the defaults when none was ever set."""
    row = session.execute(
        select(MonitoringThresholds)
        .where(col(MonitoringThresholds.model_id) == model_id)
        .order_by(col(MonitoringThresholds.version).desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return Thresholds(
            model_id=model_id,
            version=0,
            drift_share=DEFAULTS["drift_share"],
            performance_drop=DEFAULTS["performance_drop"],
            outage_days=int(DEFAULTS["outage_days"]),
            min_label_coverage=DEFAULTS["min_label_coverage"],
        )
    return Thresholds(
        model_id=model_id,
        version=row.version,
        drift_share=row.drift_share,
        performance_drop=row.performance_drop,
        outage_days=row.outage_days,
        min_label_coverage=row.min_label_coverage,
        min_group_size=row.min_group_size,
        segment_gap=row.segment_gap,
        disparity_limit=row.disparity_limit,
    )


def set_thresholds(
    session: Session,
    *,
    actor: Actor,
    model_id: int,
    reason: str,
    drift_share: float | None = None,
    performance_drop: float | None = None,
    outage_days: int | None = None,
    min_label_coverage: float | None = None,
    min_group_size: int | None = None,
    segment_gap: float | None = None,
    disparity_limit: float | None = None,
) -> Thresholds:
    """Store a new thresholds version; values not given are carried over from the current one."""
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    require(session, actor, "thresholds.set", business_unit=model.business_unit)
    current = current_thresholds(session, model_id=model_id)
    values = {
        "drift_share": _fraction(drift_share, "drift share", current.drift_share, allow_zero=False),
        "performance_drop": _non_negative(performance_drop, "performance drop", current.performance_drop),
        "outage_days": _days(outage_days, current.outage_days),
        "min_label_coverage": _fraction(
            min_label_coverage, "minimum label coverage", current.min_label_coverage
        ),
        "min_group_size": _count(min_group_size, "minimum group size", current.min_group_size),
        "segment_gap": _fraction(segment_gap, "segment gap", current.segment_gap),
        "disparity_limit": _fraction(disparity_limit, "disparity limit", current.disparity_limit),
    }
    reason = clean_text(reason, "reason", max_len=2000)
    if not reason:
        raise InvalidInput("reason must not be empty: say why the thresholds change.")
    row = MonitoringThresholds(
        model_id=model_id,
        version=current.version + 1,
        reason=reason,
        created_by_id=actor.id,
        drift_share=values["drift_share"],
        performance_drop=values["performance_drop"],
        outage_days=int(values["outage_days"]),
        min_label_coverage=values["min_label_coverage"],
        min_group_size=int(values["min_group_size"]),
        segment_gap=values["segment_gap"],
        disparity_limit=values["disparity_limit"],
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.THRESHOLDS_SET,
        object_id=model_id,
        model_id=model_id,
        before={k: getattr(current, k) for k in values} | {"version": current.version},
        after=values | {"version": row.version},
        reason=reason,
    )
    return current_thresholds(session, model_id=model_id)


def _number(value: Any, field_name: str) -> float:
    if isinstance(value, bool):
        raise InvalidInput(f"{field_name} must be a number, got {value!r}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field_name} must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise InvalidInput(f"{field_name} must be a finite number, got {value!r}.")
    return number


def _fraction(value: Any, field_name: str, default: float, *, allow_zero: bool = True) -> float:
    if value is None:
        return default
    number = _number(value, field_name)
    if not (0 <= number <= 1) or (not allow_zero and number == 0):
        low = "0" if allow_zero else "just above 0"
        raise InvalidInput(f"{field_name} must lie between {low} and 1 (a share), got {value!r}.")
    return number


def _non_negative(value: Any, field_name: str, default: float) -> float:
    if value is None:
        return default
    number = _number(value, field_name)
    if number < 0:
        raise InvalidInput(f"{field_name} must not be negative, got {value!r}.")
    return number


def _days(value: Any, default: int) -> int:
    if value is None:
        return default
    number = _number(value, "outage days")
    if number != int(number) or number < 1:
        raise InvalidInput(f"outage days must be a whole number of at least 1, got {value!r}.")
    return int(number)


def _count(value: Any, field_name: str, default: int) -> int:
    if value is None:
        return default
    number = _number(value, field_name)
    if number != int(number) or number < 1:
        raise InvalidInput(f"{field_name} must be a whole number of at least 1, got {value!r}.")
    return int(number)


def thresholds_history(session: Session, *, model_id: int) -> pd.DataFrame:
    rows = session.execute(
        select(
            col(MonitoringThresholds.version),
            col(MonitoringThresholds.drift_share),
            col(MonitoringThresholds.performance_drop),
            col(MonitoringThresholds.outage_days),
            col(MonitoringThresholds.min_label_coverage),
            col(MonitoringThresholds.min_group_size),
            col(MonitoringThresholds.segment_gap),
            col(MonitoringThresholds.disparity_limit),
            col(MonitoringThresholds.reason),
            col(MonitoringThresholds.created_at),
        )
        .where(col(MonitoringThresholds.model_id) == model_id)
        .order_by(col(MonitoringThresholds.version).desc())
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "version",
            "drift_share",
            "performance_drop",
            "outage_days",
            "min_label_coverage",
            "min_group_size",
            "segment_gap",
            "disparity_limit",
            "reason",
            "created_at",
        ],
    )
