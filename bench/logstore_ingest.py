"""Ingest benchmark: prediction files into the log store, against a plain DuckDB COPY.

Generates (fixed seed) N rows x 30 features (20 numeric, 10 categorical) of predictions spread
over 30 days, as Parquet and as CSV, into a temporary directory, with a fresh SQLite registry
holding one model version. For each format it times, on the same file:

- reference: DuckDB ``COPY (SELECT * FROM read_parquet/read_csv_auto(file)) TO out.parquet``,
  the floor for turning that file into Parquet on this machine;
- end to end: what `steward log-predictions FILE` does (read the file, validate, write the
  Parquet files by day with their manifest and the daily rollup, audit) in one transaction;
- the store's write path alone (``core.logstore.write.log_validated``): validated columns in,
  files + manifest out.

Goal (issue 17 §1): >= 500,000 rows/s end to end for a 1M-row Parquet file.

    .venv/bin/python bench/logstore_ingest.py [--rows 1000000] [--formats parquet,csv]

Wall time on a shared machine depends on what else runs: CPU seconds and the load average
are printed too.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NUMERIC, CATEGORICAL, DAYS = 20, 10, 30


def make_frame(rows: int, seed: int = 17) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-10-01", tz="UTC")
    frame = pd.DataFrame(
        {"ts": start + pd.to_timedelta(np.sort(rng.integers(0, DAYS * 86_400, rows)), unit="s")}
    )
    for i in range(NUMERIC):
        frame[f"num_{i}"] = rng.normal(i, 1 + i / 10, rows).round(4)
    for i in range(CATEGORICAL):
        frame[f"cat_{i}"] = rng.choice(["a", "b", "c", "d", "e"], rows)
    frame["score"] = rng.random(rows).round(6)
    frame["prediction"] = (frame["score"] > 0.5).astype(float)
    frame["request_id"] = [f"q{i}" for i in range(rows)]
    return frame


def timed(label: str, rows: int, fn: Callable[[], Any]) -> float:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(f"  {label:<44} {wall:7.2f} s wall {cpu:7.2f} s CPU  {rows / wall:>12,.0f} rows/s")
    return rows / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="parquet,csv")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="steward-bench-ingest-"))
    os.environ["STEWARD_ARTIFACT_DIR"] = str(work / "artifacts")
    os.environ["STEWARD_LOG_STORE"] = str(work / "logs")
    os.environ["STEWARD_DATABASE_URL"] = f"sqlite:///{work / 'registry.db'}"

    from core.config import get_settings
    from core.db.engine import make_engine, write_session
    from core.db.migrate import upgrade
    from core.registry import services

    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    frame = make_frame(args.rows)
    features = [c for c in frame.columns if c.startswith(("num_", "cat_"))]
    with write_session(engine) as s:
        system = services.ensure_system_person(s)
        model_id = services.register_model(
            s,
            actor=system,
            name="Bench",
            business_unit="Bench",
            task="binary_classification",
            purpose="bench",
        )
        version_id = services.register_version(s, actor=system, model_id=model_id, feature_names=features)
    print(f"{args.rows:,} rows x {len(features)} features over {DAYS} days; load {os.getloadavg()[0]:.1f}")
    for kind in args.formats.split(","):
        path = work / f"predictions.{kind}"
        if kind == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        print(f"\n{kind}: {path.stat().st_size / 1e6:,.0f} MB")
        run_format(kind, path, work, args.rows, engine, system, model_id, version_id, features)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}; work directory {work}")


def run_format(
    kind: str,
    path: Path,
    work: Path,
    rows: int,
    engine: Any,
    system: Any,
    model_id: int,
    version_id: int,
    features: list[str],
) -> None:
    from core.db.engine import write_session
    from core.logstore import query
    from core.logstore import write as logstore
    from core.registry import ingest
    from core.registry.files import read_table

    con = query.connect()
    reader = "read_parquet" if kind == "parquet" else "read_csv_auto"
    out = work / f"copy-{kind}.parquet"
    copy = timed(
        "DuckDB COPY file -> Parquet (reference)",
        rows,
        lambda: con.execute(
            f"COPY (SELECT * FROM {reader}('{path}')) TO '{out}' (FORMAT parquet, COMPRESSION zstd)"
        ),
    )
    con.close()

    def end_to_end() -> None:
        table = read_table(path, max_mb=100_000)
        with write_session(engine) as s:
            ingest.log_predictions(s, actor=system, model_version_id=version_id, frame=table)

    whole = timed("steward log-predictions (read+validate+store)", rows, end_to_end)
    table = read_table(path, max_mb=100_000)
    ts = pd.to_datetime(table["ts"], utc=True, format="mixed")

    def write_only() -> None:
        with write_session(engine) as s:
            logstore.log_validated(
                s,
                model_id=model_id,
                version_id=version_id,
                ts=ts,
                prediction=table["prediction"].astype(float),
                score=table["score"].astype(float),
                label=pd.Series(np.nan, index=table.index),
                request_id=table["request_id"].astype(str),
                features=table[features],
            )

    timed("log store write path alone (files+manifest)", rows, write_only)
    print(
        f"  end to end is {whole / copy:.2f}x DuckDB COPY's speed; "
        f"goal >= 500,000 rows/s: {'met' if whole >= 500_000 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
