"""Fleet forecasts: every model's, every business unit's and the whole fleet's monthly costs,
computed by `steward forecast --all` (cron) and stored, so pages only read them.

A model forecast takes a fraction of a second; hundreds of models take minutes, which is why
this never runs while someone waits for a page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, require
from core.costs.forecast import KEPT_PATHS, MIN_HISTORY_DAYS, MonthlyForecast, add_up, forecast_months
from core.costs.queries import daily_totals_by_model, main_currency
from core.db.engine import read_session, write_session
from core.db.models import CostForecast, Model
from core.db.models.insight import FORECAST_SCOPES
from core.db.types import saved_id
from core.errors import InvalidInput, NotFound

FLEET_KEY = "all"


@dataclass(frozen=True)
class ScopedForecast:
    scope: str  # model, business_unit, fleet
    key: str  # model id, unit name, "all"
    label: str
    model_id: int | None
    currency: str
    forecast: MonthlyForecast


@dataclass(frozen=True)
class FleetRun:
    stored: int
    skipped: dict[str, str]  # label -> why
    seconds: float
    currency: str | None


def scope_series(
    session: Session, *, currency: str, model_ids: list[int] | None = None
) -> tuple[dict[int, pd.Series], dict[int, Model]]:
    """Daily totals per model, each extended with zero-cost days up to the fleet's last cost day."""
    series = daily_totals_by_model(session, currency=currency)
    models = {int(m.id): m for m in session.exec(select(Model)) if m.id is not None}
    if not series:
        return {}, models
    last = max(s.index[-1] for s in series.values())
    wanted = set(model_ids) if model_ids is not None else set(series)
    extended = {}
    for model_id, s in series.items():
        if model_id in wanted:
            extended[model_id] = s.reindex(pd.date_range(s.index[0], last, freq="D"), fill_value=0.0)
    return extended, models


def _sum(series: list[pd.Series]) -> pd.Series:
    return pd.concat(series, axis=1).fillna(0.0).sum(axis=1)


def run_fleet_forecast(
    engine: Engine,
    *,
    actor: Actor,
    horizon_months: int = 12,
    model_names: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    computed_at: datetime | None = None,
) -> FleetRun:
    """Forecast every model (or the named ones), every business unit and the fleet; store them.

    Business-unit and fleet forecasts are only made for a full run (all models), because they
    add up every model of the unit."""
    started = time.perf_counter()
    with read_session(engine) as session:
        require(session, actor, "costs.forecast")
        currency = main_currency(session)
        if currency is None:
            return FleetRun(0, {}, time.perf_counter() - started, None)
        ids = _model_ids(session, model_names)
        series, models = scope_series(session, currency=currency, model_ids=ids)
    jobs: list[tuple[str, str, str, int | None, pd.Series]] = [
        ("model", str(m), models[m].name, m, s)
        for m, s in sorted(series.items(), key=lambda kv: models[kv[0]].name)
    ]
    if model_names is None and series:
        by_unit: dict[str, list[pd.Series]] = {}
        for model_id, s in series.items():
            by_unit.setdefault(models[model_id].business_unit, []).append(s)
        jobs += [("business_unit", unit, unit, None, _sum(parts)) for unit, parts in sorted(by_unit.items())]
        jobs.append(("fleet", FLEET_KEY, "All models", None, _sum(list(series.values()))))
    results, skipped = _forecast_all(jobs, currency, horizon_months, progress)
    results = _added_up(results, models)
    with write_session(engine) as session:
        store_forecasts(session, actor=actor, forecasts=results, computed_at=computed_at)
    return FleetRun(len(results), skipped, time.perf_counter() - started, currency)


def _added_up(results: list[ScopedForecast], models: dict[int, Model]) -> list[ScopedForecast]:
    """Business-unit and fleet forecasts as the sums of their models' (``forecast.add_up``): a
    unit's projection is then never below one of its own models'."""
    members: dict[tuple[str, str], list[MonthlyForecast]] = {}
    for r in results:
        if r.scope == "model" and r.model_id is not None:
            members.setdefault(("business_unit", models[r.model_id].business_unit), []).append(r.forecast)
            members.setdefault(("fleet", FLEET_KEY), []).append(r.forecast)
    return [
        replace(r, forecast=add_up(members[(r.scope, r.key)], whole=r.forecast))
        if r.scope != "model" and members.get((r.scope, r.key))
        else r
        for r in results
    ]


def _model_ids(session: Session, names: list[str] | None) -> list[int] | None:
    if names is None:
        return None
    ids = []
    for name in names:
        model = session.exec(select(Model).where(col(Model.name) == name)).first()
        if model is None:
            raise NotFound(f"No model named '{name}'. `steward ls` lists the registered models.")
        ids.append(saved_id(model))
    return ids


def _forecast_all(
    jobs: list[tuple[str, str, str, int | None, pd.Series]],
    currency: str,
    horizon: int,
    progress: Callable[[str], None] | None,
) -> tuple[list[ScopedForecast], dict[str, str]]:
    results: list[ScopedForecast] = []
    skipped: dict[str, str] = {}
    for scope, key, label, model_id, s in jobs:
        if len(s) < MIN_HISTORY_DAYS:
            skipped[label] = f"only {len(s)} days of costs (a forecast needs {MIN_HISTORY_DAYS})"
            continue
        try:
            forecast = forecast_months(s, horizon_months=horizon)
        except (InvalidInput, ValueError, np.linalg.LinAlgError) as exc:
            skipped[label] = str(exc)
            continue
        results.append(ScopedForecast(scope, key, label, model_id, currency, forecast))
        if progress:
            progress(f"{label}: {forecast.seconds:.2f} s")
    return results, skipped


def store_forecasts(
    session: Session, *, actor: Actor, forecasts: list[ScopedForecast], computed_at: datetime | None = None
) -> int:
    """Replace the stored forecast of each scope given; one audit event for the run."""
    require(session, actor, "costs.forecast")
    for item in forecasts:
        if item.scope not in FORECAST_SCOPES:
            raise InvalidInput(f"forecast scope '{item.scope}' is not one of: {', '.join(FORECAST_SCOPES)}.")
        row = session.exec(
            select(CostForecast).where(
                col(CostForecast.scope) == item.scope, col(CostForecast.scope_key) == item.key
            )
        ).first()
        f = item.forecast
        row = row or CostForecast(
            scope=item.scope,
            scope_key=item.key,
            method="",
            history_from=f.history_from,
            history_to=f.history_to,
            horizon_months=0,
            interval_level=f.level,
        )
        row.model_id = item.model_id
        row.currency = item.currency
        row.method = f.method[:300]
        row.history_from, row.history_to = f.history_from, f.history_to
        row.horizon_months = f.horizon_months
        row.interval_level = f.level
        row.months = [
            {k: (round(float(v), 2) if k != "month" else v) for k, v in r.items()}
            for r in f.months.to_dict(orient="records")
        ]
        row.paths = (
            [[round(float(v), 2) for v in p] for p in f.paths[:KEPT_PATHS]] if item.scope != "model" else []
        )
        row.backtest_mape = None if f.backtest_mape is None else round(f.backtest_mape, 3)
        row.backtest_months = f.backtest_months
        row.seconds = round(f.seconds, 4)
        row.computed_at = computed_at or clock.now()
        session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.COSTS_FORECAST_STORED,
        object_id="run",
        after={
            "forecasts": len(forecasts),
            "scopes": sorted({f.scope for f in forecasts}),
            "models": sum(f.scope == "model" for f in forecasts),
        },
    )
    return len(forecasts)


def forecast_for_model(session: Session, model_id: int, *, horizon_months: int = 12) -> ScopedForecast | None:
    """One model's forecast computed now (the detail view; about a second). None without costs."""
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    currency = main_currency(session, model_id=model_id)
    if currency is None:
        return None
    series, _ = scope_series(session, currency=currency, model_ids=[model_id])
    if model_id not in series:
        return None
    forecast = forecast_months(series[model_id], horizon_months=horizon_months)
    return ScopedForecast("model", str(model_id), model.name, model_id, currency, forecast)


# --- reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredForecast:
    scope: str
    key: str
    model_id: int | None
    currency: str
    method: str
    history_from: object
    history_to: object
    level: float
    months: pd.DataFrame  # month, mean, lower, upper
    paths: np.ndarray  # (paths, months); empty for model scope
    backtest_mape: float | None
    backtest_months: int
    computed_at: datetime
    seconds: float


def stored_forecasts(session: Session, *, scope: str | None = None) -> dict[tuple[str, str], StoredForecast]:
    query = select(CostForecast)
    if scope:
        query = query.where(col(CostForecast.scope) == scope)
    return {(r.scope, r.scope_key): _stored(r) for r in session.exec(query)}


def stored_forecast(session: Session, scope: str, key: str) -> StoredForecast | None:
    row = session.exec(
        select(CostForecast).where(col(CostForecast.scope) == scope, col(CostForecast.scope_key) == key)
    ).first()
    return None if row is None else _stored(row)


def _stored(row: CostForecast) -> StoredForecast:
    months = pd.DataFrame(row.months, columns=["month", "mean", "lower", "upper"])
    paths = np.asarray(row.paths, dtype=float) if row.paths else np.empty((0, len(months)))
    return StoredForecast(
        row.scope,
        row.scope_key,
        row.model_id,
        row.currency,
        row.method,
        row.history_from,
        row.history_to,
        row.interval_level,
        months,
        paths,
        row.backtest_mape,
        row.backtest_months,
        row.computed_at,
        row.seconds,
    )


def total_ahead(
    months: pd.DataFrame, paths: np.ndarray, *, count: int = 12, level: float = 0.9
) -> tuple[float, float | None, float | None]:
    """Total of the last ``count`` forecast months (the full months ahead) with its interval, read
    from the simulated paths when they were kept (None bounds otherwise)."""
    mean = float(months["mean"].iloc[-count:].sum())
    if paths.size == 0:
        return mean, None, None
    totals = paths[:, -count:].sum(axis=1)
    tail = (1 - level) / 2
    return mean, float(np.quantile(totals, tail)), float(np.quantile(totals, 1 - tail))
