"""The portfolio's past: stage timelines, production traffic with delayed labels, and daily costs.

Everything is expressed in days before the build's ``today`` and drawn from generators
seeded by the caller, so the same seed and the same ``today`` give the same history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd

from core.demo.catalogue import ModelPlan
from core.demo.training import LABEL, generate_rows, predict, seconds_of_day
from core.demo.worlds import World

LABEL_SHARE = 0.15  # share of predictions that get a label
LABEL_QUIET_DAYS = 14  # labels of the last two weeks have not arrived yet
LABEL_DELAY_DAYS = (1, 13)
COST_DAYS = 580  # a little over 19 months of daily cost records per model
LOG_DAYS = 400  # prediction logs cover the last 13 months (older production months are not logged)


def at(today: date, days_ago: int, hour: int = 9, minute: int = 0) -> datetime:
    """A UTC moment ``days_ago`` days before ``today``."""
    return datetime.combine(today - timedelta(days=int(days_ago)), time(hour, minute), tzinfo=UTC)


# --- stage timeline ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StageEvent:
    days_ago: int
    version: int  # 1-based version number
    stage: str


@dataclass(frozen=True)
class Interval:
    """A version in production from ``start`` (days ago, inclusive) until ``end`` (exclusive; 0 = today)."""

    version: int
    start: int
    end: int


def stage_events(plan: ModelPlan) -> list[StageEvent]:
    """Every planned stage change of the model, oldest first."""
    events = [
        StageEvent(days, number, stage)
        for number, v in enumerate(plan.versions, start=1)
        for days, stage in v.events
    ]
    return sorted(events, key=lambda e: -e.days_ago)


def production_intervals(plan: ModelPlan) -> list[Interval]:
    intervals: list[Interval] = []
    current: tuple[int, int] | None = None
    for event in stage_events(plan):
        if event.stage == "production":
            if current is not None:
                intervals.append(Interval(current[0], current[1], event.days_ago))
            current = (event.version, event.days_ago)
        elif current is not None and event.version == current[0]:
            intervals.append(Interval(current[0], current[1], event.days_ago))
            current = None
    if current is not None:
        intervals.append(Interval(current[0], current[1], 0))
    return intervals


def final_stages(plan: ModelPlan) -> dict[int, str]:
    stages = {number: "none" for number in range(1, len(plan.versions) + 1)}
    for event in stage_events(plan):
        if event.stage == "production":
            stages.update({n: "archived" for n, s in stages.items() if s == "production"})
        stages[event.version] = event.stage
    return stages


def first_production_day(plan: ModelPlan) -> int | None:
    intervals = production_intervals(plan)
    return intervals[0].start if intervals else None


# --- production traffic -------------------------------------------------------------------------


@dataclass
class Traffic:
    frame: pd.DataFrame  # ts, request_id, prediction, score, label + feature columns
    labelled_at: dict[str, datetime]  # request_id -> when its label arrived


def traffic(
    world: World,
    plan: ModelPlan,
    pipeline: Any,
    features: list[str],
    interval: Interval,
    *,
    today: date,
    per_day: int,
    rng: np.random.Generator,
    request_prefix: str,
) -> Traffic | None:
    """``per_day`` scored requests for every day of ``interval`` within the last ``LOG_DAYS`` days (less the
    outage), ~15% of them labelled later; None when no day remains."""
    last = interval.end
    if interval.end == 0 and plan.outage_days:
        last = plan.outage_days  # the endpoint stopped reporting predictions
    days = np.arange(min(interval.start, LOG_DAYS), last, -1)
    if len(days) == 0:
        return None
    days_ago = np.repeat(days, per_day)
    seconds = seconds_of_day(rng, len(days_ago))
    order = np.lexsort((seconds, -days_ago))
    days_ago, seconds = days_ago[order], seconds[order]
    midnight = pd.Timestamp(today, tz=UTC)
    ts = midnight - pd.to_timedelta(days_ago, unit="D") + pd.to_timedelta(seconds, unit="s")
    inputs, labels = generate_rows(world, plan, rng, days_ago, timestamps=pd.DatetimeIndex(ts))
    prediction, score = predict(pipeline, world.task, inputs[features])
    labelled = (rng.random(len(days_ago)) < LABEL_SHARE) & (days_ago > LABEL_QUIET_DAYS)
    delay = rng.integers(LABEL_DELAY_DAYS[0] * 86400, LABEL_DELAY_DAYS[1] * 86400, size=len(days_ago))
    request_ids = [f"{request_prefix}-{i:07d}" for i in range(len(days_ago))]
    frame = pd.DataFrame(
        {
            "ts": ts,
            "request_id": request_ids,
            "prediction": prediction,
            "score": score if score is not None else np.nan,
            LABEL: np.where(labelled, labels.astype(float), np.nan),
        }
    )
    frame = pd.concat([frame, inputs[features].reset_index(drop=True)], axis=1)
    arrived = ts[labelled] + pd.to_timedelta(delay[labelled], unit="s")
    labelled_at = {
        rid: t.to_pydatetime() for rid, t in zip(np.asarray(request_ids)[labelled], arrived, strict=True)
    }
    return Traffic(frame=frame, labelled_at=labelled_at)


# --- costs ---------------------------------------------------------------------------------------


def cost_records(plan: ModelPlan, *, today: date, rng: np.random.Generator) -> pd.DataFrame:
    """Daily EUR costs by category over the last ``COST_DAYS`` days, with trend, weekly and yearly cycles.

    Compute spikes when a version is trained; inference runs only while a version is in
    production (and idles during an outage); labelling is paid on working days while
    labels are collected; storage stays after retirement (archives are kept).
    """
    days_ago = np.arange(COST_DAYS, 0, -1)
    dates = pd.DatetimeIndex([today - timedelta(days=int(d)) for d in days_ago])
    years = (COST_DAYS - days_ago) / 365.0
    c = plan.costs
    trend = (1 + c.growth) ** years
    month = dates.month.to_numpy() - 1 + (dates.day.to_numpy() - 1) / 31
    yearly = 1 + c.amplitude * np.cos(2 * np.pi * (month - (c.peak_month - 1)) / 12)
    weekend = dates.dayofweek.to_numpy() >= 5
    online = plan.endpoint.startswith("https://")
    retired = days_ago < plan.retired_days if plan.retired_days else np.zeros(len(days_ago), bool)
    in_production = np.zeros(len(days_ago), bool)
    for interval in production_intervals(plan):
        in_production |= (days_ago <= interval.start) & (days_ago > interval.end)
    outage = (days_ago <= plan.outage_days) if plan.outage_days else np.zeros(len(days_ago), bool)

    def noise() -> np.ndarray:
        return np.exp(rng.normal(0, 0.08, len(days_ago)))

    training = np.zeros(len(days_ago))
    for version in plan.versions:
        training += 2.5 * ((days_ago <= version.created) & (days_ago > version.created - 4))
    versions_so_far = np.array([sum(v.created >= d for v in plan.versions) for d in days_ago])
    amounts = {
        "compute": c.compute
        * trend
        * yearly
        * np.where(weekend, 0.6, 1.0)
        * (1 + training)
        * noise()
        * ~retired,
        "storage": c.storage * trend * (1 + 0.15 * versions_so_far) * np.where(retired, 0.6, 1.0) * noise(),
        "inference": c.inference
        * trend
        * yearly
        * np.where(weekend, 0.7 if online else 0.85, 1.0)
        * np.where(outage, 0.1, 1.0)
        * in_production
        * noise(),
        "labelling": c.labelling * trend * ~weekend * in_production * noise(),
    }
    frames = [
        pd.DataFrame(
            {
                "day": dates.date,
                "model": plan.name,
                "category": category,
                "amount": np.round(values, 2),
                "currency": "EUR",
            }
        )
        for category, values in amounts.items()
    ]
    frame = pd.concat(frames, ignore_index=True)
    return frame[frame["amount"] > 0].reset_index(drop=True)
