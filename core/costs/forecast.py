"""Monthly cost forecasts with prediction intervals, from daily cost series.

Method: an ETS state-space model (statsmodels ETSModel: additive error, damped additive trend,
no seasonality) fitted to log(1 + weekly cost), weekly totals spread back over the days by the
recent weekday profile. Why this one:

- Costs grow by a percentage a year, so the model works on the log scale; log1p keeps weeks
  without cost (before a model went live) usable.
- Weekly totals take out the weekday pattern and most day-to-day noise. The same ETS on daily
  costs (weekly seasonality) gave 90% intervals as wide as the monthly cost itself on the demo
  series; on weekly totals they are about a quarter of it, and the 6-month backtest error fell
  (median MAPE 12% -> 9% over the demo's 18 series).
- A damped trend does not extrapolate a few months of growth for ever (undamped: 90th
  percentile 6-month error 41% against 17%).
- Intervals come from 500 simulated future paths summed per calendar month, so a month's
  interval is that of the monthly total and a budget's overrun odds can be read off the paths.
  18-24 months of history are too short to estimate a yearly cycle, so intervals can be too
  narrow around seasonal peaks: the backtest error is shown beside every forecast.

Each forecast is backtested: the model is refitted without the last three full months and its
forecast of those months' totals is compared with what was spent (MAPE).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from core.errors import InvalidInput

METHOD = "ETS(A,Ad,N) on log(1 + weekly cost), spread over days by weekday profile; 90% interval from 500 simulated paths"
SUM_METHOD = "Sum of its models' forecasts (each: " + METHOD + ")"
MIN_HISTORY_DAYS = 84  # twelve weeks
PROFILE_DAYS = 56
PATHS = 500
LEVEL = 0.9
BACKTEST_MONTHS = 3
KEPT_PATHS = 200  # paths stored for business-unit and fleet forecasts (budget overrun odds)


@dataclass(frozen=True)
class MonthlyForecast:
    """Monthly totals ahead: the first month is completed from the actual spend so far."""

    months: pd.DataFrame  # month (YYYY-MM), mean, lower, upper
    paths: np.ndarray  # (paths, months) simulated monthly totals
    history_from: date
    history_to: date
    level: float = LEVEL
    method: str = METHOD
    seconds: float = 0.0
    backtest_mape: float | None = None
    backtest_months: int = 0
    backtest: pd.DataFrame = field(default_factory=pd.DataFrame)  # month, actual, forecast
    horizon_months: int = 12  # full months after the month the history ends in


def as_daily(series: pd.Series) -> pd.Series:
    """A daily series without gaps (days without a record cost nothing)."""
    if series.empty:
        return series.astype(float)
    index = pd.DatetimeIndex(pd.to_datetime(series.index))
    daily = pd.Series(series.to_numpy(dtype=float), index=index).groupby(level=0).sum()
    return daily.asfreq("D", fill_value=0.0)


def _weekly(daily: pd.Series) -> pd.Series:
    """Totals of whole 7-day blocks ending on the last day (a leading part-week is dropped)."""
    n = len(daily) // 7 * 7
    blocks = daily.iloc[-n:]
    totals = blocks.groupby(np.arange(n) // 7).sum()
    totals.index = pd.date_range(end=blocks.index[-1], periods=len(totals), freq="7D")
    return totals


def _weekday_shares(daily: pd.Series) -> np.ndarray:
    """Share of a week's cost falling on each weekday (Monday first), from the last eight weeks."""
    recent = daily.iloc[-PROFILE_DAYS:]
    profile = recent.groupby(recent.index.dayofweek).mean().reindex(range(7), fill_value=0.0).to_numpy()
    total = profile.sum()
    return profile / total if total > 0 else np.full(7, 1 / 7)


def simulate_days(series: pd.Series, days: int, *, paths: int = PATHS, seed: int = 0) -> pd.DataFrame:
    """``paths`` simulated future daily costs (days x paths), on the cost scale."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    daily = as_daily(series)
    weekly = np.log1p(_weekly(daily).clip(lower=0.0))
    model = ETSModel(weekly, error="add", trend="add", damped_trend=True)
    weeks = -(-days // 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the backtest says how good the fit is
        fitted = model.fit(disp=False)
        simulated = fitted.simulate(weeks, repetitions=paths, anchor="end", rng=np.random.default_rng(seed))
    totals = np.expm1(np.asarray(simulated, dtype=float).reshape(weeks, paths)).clip(min=0.0)
    index = pd.date_range(daily.index[-1] + pd.Timedelta(days=1), periods=weeks * 7, freq="D")
    shares = _weekday_shares(daily)[index.dayofweek]  # each 7-day block holds every weekday once
    values = np.repeat(totals, 7, axis=0) * shares[:, None]
    return pd.DataFrame(values[:days], index=index[:days])


def _month_totals(days: pd.DataFrame, carried: float) -> tuple[list[str], np.ndarray]:
    """Sum simulated days per calendar month; ``carried`` (spent so far in the first month) is added to it."""
    months = days.index.to_period("M")
    grouped = days.groupby(months).sum()
    totals = grouped.to_numpy().T.copy()  # (paths, months)
    totals[:, 0] += carried
    return [str(p) for p in grouped.index], totals


def forecast_months(
    series: pd.Series,
    *,
    horizon_months: int = 12,
    level: float = LEVEL,
    paths: int = PATHS,
    seed: int = 0,
    backtest: bool = True,
) -> MonthlyForecast:
    """Forecast the rest of the month the history ends in (when it ends mid-month) and
    ``horizon_months`` full months more, with a ``level`` interval."""
    started = time.perf_counter()
    daily = as_daily(series)
    if len(daily) < MIN_HISTORY_DAYS:
        raise InvalidInput(
            f"a forecast needs at least {MIN_HISTORY_DAYS} days of costs; this series has {len(daily)}."
        )
    if not 1 <= horizon_months <= 24:
        raise InvalidInput(f"the forecast horizon must be 1 to 24 months, not {horizon_months}.")
    last = daily.index[-1]
    end = (last.to_period("M") + horizon_months).to_timestamp(how="end").normalize()
    days = simulate_days(daily, (end - last).days, paths=paths, seed=seed)
    carried = float(daily[daily.index.to_period("M") == last.to_period("M")].sum())
    if last == last.to_period("M").to_timestamp(how="end").normalize():
        carried = 0.0  # history ends on a month end: the first forecast month starts fresh
    labels, totals = _month_totals(days, carried)
    months = _summary(labels, totals, level)
    mape, detail = backtest_mape(daily, seed=seed) if backtest else (None, pd.DataFrame())
    return MonthlyForecast(
        months,
        totals,
        daily.index[0].date(),
        last.date(),
        level,
        METHOD,
        time.perf_counter() - started,
        mape,
        len(detail),
        detail,
        horizon_months,
    )


def add_up(parts: list[MonthlyForecast], *, whole: MonthlyForecast, seed: int = 0) -> MonthlyForecast:
    """A group's forecast (a business unit, the fleet) as the sum of its members' forecasts, so a
    group is never forecast below one of its members. The months and the backtest stay those of
    ``whole`` (the group's own series fitted directly); the paths are the members' paths added up,
    each member's shuffled with a fixed seed (members' costs vary independently around their
    trends), so the interval is that of the group's total."""
    labels = list(whole.months["month"])
    count = min((len(p.paths) for p in parts), default=0)
    if not parts or count == 0:
        return whole
    rng = np.random.default_rng(seed)
    totals = np.zeros((count, len(labels)))
    for part in parts:
        where = {m: i for i, m in enumerate(part.months["month"])}
        chosen = part.paths[rng.permutation(len(part.paths))[:count]]
        for column, month in enumerate(labels):
            if month in where:
                totals[:, column] += chosen[:, where[month]]
    return MonthlyForecast(
        _summary(labels, totals, whole.level),
        totals,
        whole.history_from,
        whole.history_to,
        whole.level,
        SUM_METHOD,
        whole.seconds + sum(p.seconds for p in parts),
        whole.backtest_mape,
        whole.backtest_months,
        whole.backtest,
        whole.horizon_months,
    )


def _summary(labels: list[str], totals: np.ndarray, level: float) -> pd.DataFrame:
    tail = (1 - level) / 2
    return pd.DataFrame(
        {
            "month": labels,
            "mean": totals.mean(axis=0),
            "lower": np.quantile(totals, tail, axis=0),
            "upper": np.quantile(totals, 1 - tail, axis=0),
        }
    )


def backtest_mape(
    series: pd.Series, *, months: int = BACKTEST_MONTHS, seed: int = 0
) -> tuple[float | None, pd.DataFrame]:
    """Refit without the last ``months`` full calendar months, forecast them, and return the mean
    absolute percentage error of the monthly totals (None when history is too short)."""
    daily = as_daily(series)
    periods = daily.index.to_period("M")
    complete = [p for p in periods.unique() if (periods == p).sum() == p.days_in_month]
    holdout = complete[-months:]
    if len(holdout) < months:
        return None, pd.DataFrame(columns=["month", "actual", "forecast"])
    train = daily[periods < holdout[0]]
    if len(train) < MIN_HISTORY_DAYS:
        return None, pd.DataFrame(columns=["month", "actual", "forecast"])
    horizon = int(sum(p.days_in_month for p in holdout))
    simulated = simulate_days(train, horizon, paths=PATHS, seed=seed)
    forecast = simulated.mean(axis=1).groupby(simulated.index.to_period("M")).sum()
    actual = daily[periods.isin(holdout)].groupby(periods[periods.isin(holdout)]).sum()
    detail = pd.DataFrame(
        {
            "month": [str(p) for p in holdout],
            "actual": actual.reindex(holdout).to_numpy(),
            "forecast": forecast.reindex(holdout).to_numpy(),
        }
    )
    spent = detail["actual"] > 0
    if not spent.any():
        return None, detail
    errors = (detail.loc[spent, "forecast"] - detail.loc[spent, "actual"]).abs() / detail.loc[spent, "actual"]
    return float(errors.mean() * 100), detail
