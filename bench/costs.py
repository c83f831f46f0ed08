"""Cost forecast benchmark: forecasting a fleet of models from two years of daily costs.

Times ``core.costs.forecast.forecast_months`` (12 months ahead, 90% interval from 500 simulated
paths, plus the 3-month backtest that refits the model) on synthetic daily series with a trend,
a weekly cycle and noise, and extrapolates to the fleet size asked for; with --full it runs the
whole fleet. One model's forecast on the Costs page's detail view (computed on demand, cached) is
one of these calls. The fleet total is why fleet forecasts are computed by `steward forecast
--all` (cron) and stored, never while a page is open.

    .venv/bin/python bench/costs.py [--models 500] [--days 730] [--sample 40] [--full]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--sample", type=int, default=40, help="series actually timed unless --full")
    parser.add_argument("--full", action="store_true", help="forecast every one of --models series")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from core.costs.forecast import forecast_months
    from tests.insight_factories import daily_costs

    rng = np.random.default_rng(0)
    count = args.models if args.full else min(args.sample, args.models)
    series = [
        daily_costs(
            date(2024, 1, 1),
            args.days,
            level=float(rng.uniform(5, 500)),
            slope=float(rng.uniform(-0.05, 0.5)),
            weekly=float(rng.uniform(0, 20)),
            noise=float(rng.uniform(0.5, 10)),
            seed=i,
        )
        for i in range(count)
    ]
    print(
        f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs; {count} of {args.models} series "
        f"x {args.days} days timed"
    )
    walls, cpus, fits, mapes = [], [], [], []
    for s in series:
        wall, cpu = time.perf_counter(), time.process_time()
        result = forecast_months(s, horizon_months=12)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        mapes.append(result.backtest_mape)
        wall = time.perf_counter()
        forecast_months(s, horizon_months=12, backtest=False)
        fits.append(time.perf_counter() - wall)
    walls_a, cpus_a = np.array(walls), np.array(cpus)
    print(
        f"per series, forecast + backtest: mean {walls_a.mean():.3f} s, p95 {np.percentile(walls_a, 95):.3f} s "
        f"(CPU {cpus_a.mean():.3f} s); forecast only: mean {np.mean(fits):.3f} s"
    )
    print(
        f"backtest MAPE over the series: median {np.median(mapes):.1f}%, p90 {np.percentile(mapes, 90):.1f}%"
    )
    total = walls_a.mean() * args.models
    label = "measured" if args.full else "extrapolated"
    print(
        f"fleet of {args.models} models x {args.days} days: {walls_a.sum() if args.full else total:.0f} s ({label}), "
        f"CPU {cpus_a.mean() * args.models:.0f} s; plus business units and the fleet total (one series each)"
    )


if __name__ == "__main__":
    main()
