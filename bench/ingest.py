"""Ingest benchmark: reading and validating a prediction log of 1M rows (Parquet and CSV).

Times what happens before anything is written: ``core.registry.files.read_records`` (the
file into a frame) and ``core.registry.ingest_validation.validate_predictions`` (every check of
the README's file-format rules, vectorised), on a synthetic log with a fixed seed: ts (ISO with
Z), prediction, score, label (a third labelled), request_id and four numeric features. Prints
wall and CPU seconds and rows per second for each step and file format. The database write is
not timed here (it is the log store's; see bench/load.py).

``--code DIR`` imports Steward from another checkout, e.g. a checkout of an older commit: when
it has no ``ingest_validation`` module, the checks of the old ``core.registry.ingest`` are timed
instead (its timestamp and number checks and its per-row feature conversion), for a
before/after comparison.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--code DIR]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FEATURES = ("income", "age", "loan_amount", "debt_ratio")


def synthetic_log(rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-01", tz="UTC")
    ts = start + pd.to_timedelta(np.sort(rng.integers(0, 300 * 86400, rows)), unit="s")
    score = rng.random(rows).round(4)
    label = np.where(rng.random(rows) < 1 / 3, (rng.random(rows) < score).astype(float), np.nan)
    return pd.DataFrame(
        {
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "prediction": (score > 0.5).astype(int),
            "score": score,
            "label": label,
            "request_id": [f"req-{i:08d}" for i in range(rows)],
            "income": rng.lognormal(10.4, 0.4, rows).round(0).astype(int),
            "age": rng.integers(19, 75, rows),
            "loan_amount": rng.gamma(2.0, 6000.0, rows).round(2),
            "debt_ratio": rng.beta(2, 5, rows).round(3),
        }
    )


def timed(step: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = step()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    warnings.filterwarnings("ignore")
    files = importlib.import_module("core.registry.files")
    try:
        checks: Any = importlib.import_module("core.registry.ingest_validation")
    except ModuleNotFoundError:
        checks = None
    legacy = importlib.import_module("core.registry.ingest")
    print(f"code: {args.code} ({'ingest_validation' if checks else 'legacy core.registry.ingest checks'})")

    log = synthetic_log(args.rows)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="steward-bench-") as tmp:
        paths = {"parquet": Path(tmp) / "log.parquet", "csv": Path(tmp) / "log.csv"}
        log.to_parquet(paths["parquet"], index=False)
        log.to_csv(paths["csv"], index=False)
        for kind, path in paths.items():
            size = path.stat().st_size / 1024 / 1024
            if checks is not None:
                table, read_wall, read_cpu = timed(lambda p=path: files.read_records(p, max_mb=10_000))

                def validate(t: Any = table) -> Any:
                    schema = checks.PredictionSchema(
                        task="binary_classification", label="bench", features=FEATURES
                    )
                    return checks.validate_predictions(
                        t.frame, schema=schema, rules=checks.TimeRules(), source=t.source, now=now
                    )

            else:
                table, read_wall, read_cpu = timed(lambda p=path: files.read_table(p, max_mb=10_000))

                def validate(t: Any = table) -> Any:
                    frame = t.reset_index(drop=True)
                    legacy._timestamps(frame)
                    for column, required in (("prediction", True), ("score", False), ("label", False)):
                        legacy._numeric(frame, column, required=required)
                    for column in FEATURES:
                        legacy._refuse_unstorable_numbers(frame[column], column)
                    return legacy._feature_records(frame[list(FEATURES)])

            _, check_wall, check_cpu = timed(validate)
            total_wall, total_cpu = read_wall + check_wall, read_cpu + check_cpu
            print(
                f"{kind:8s} {args.rows:,} rows, {size:.0f} MB: read {read_wall:.2f}s wall / {read_cpu:.2f}s cpu, "
                f"validate {check_wall:.2f}s / {check_cpu:.2f}s; "
                f"{args.rows / check_cpu:,.0f} rows/s validating, {args.rows / total_cpu:,.0f} rows/s read+validate "
                f"(cpu; wall: {args.rows / total_wall:,.0f})"
            )


if __name__ == "__main__":
    main()
