"""Demo step: six months of monthly drift runs for every production model, as cron would have
made them, so the Drift page shows drift share over time (the injected covariate drift ramps
up over the last five to six months).

Each month's run is dated the first day of the following month (when a monthly cron job
would have run it). Evidently reports are left to the page's button: building one takes
Evidently seconds to import and run, too slow for the demo build's time budget.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from core.errors import NotFound
from core.monitoring.drift.runs import run_drift
from core.monitoring.drift.sources import Period, month_periods

MONTHS = 6


def populate(engine: Engine, context: dict[str, Any]) -> None:
    # An idle connection held open for the step: on SQLite, closing the last connection
    # checkpoints the WAL, which would otherwise happen after each of the ~170 runs.
    with engine.connect():
        _populate(engine, context)


def _populate(engine: Engine, context: dict[str, Any]) -> None:
    today: date = context["today"]
    periods = demo_periods(today)
    for name in sorted(context["production_versions"]):
        model_id = context["models"][name]
        for period in periods:
            days_ago = (today - (period.last + timedelta(days=1))).days
            try:
                with context["on"](days_ago, hour=3) as moment:
                    run_drift(engine, actor=context["system"], model_id=model_id, period=period, at=moment)
            except NotFound:  # no training data or no predictions: nothing to monitor for this model
                break


def demo_periods(today: date) -> list[Period]:
    """The last ``MONTHS`` calendar months up to yesterday (the current month cut at yesterday)."""
    yesterday = today - timedelta(days=1)
    first = yesterday.replace(day=1)
    for _ in range(MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return month_periods(first, yesterday)
