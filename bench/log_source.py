"""Logs read in place (issue 17 §2) against the same rows in Steward's own log store.

Generates (fixed seed, as bench/logstore_ingest.py) N predictions x 30 features over 30 days and
writes them twice: as a team's lake would hold them (one Parquet file per day, its own column
names) and into the log store through `steward log-predictions`. Version 1 reads the store,
version 2 the lake (`steward log-source attach`). For each it times, on the same rows:

- attach: checking the mapping against the files and reading the daily figures (lake only);
- the month's drift window, every feature streamed in Arrow batches (what a drift run reads);
- the daily aggregates (counts, sums and score histogram per day);
- 200 newest rows (what explanations read).

    .venv/bin/python bench/log_source.py [--rows 1000000]

Prints wall and CPU seconds, rows/s and the process's peak RSS; no goal is graded (the issue
sets none for this path). Wall time on a shared machine depends on what else runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.logstore_ingest import DAYS, make_frame  # noqa: E402


def timed(label: str, rows: int, fn: Callable[[], Any]) -> Any:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    rate = f"{rows / wall:>12,.0f} rows/s" if rows else ""
    print(f"  {label:<46} {wall:7.2f} s wall {cpu:7.2f} s CPU {rate}")
    return result


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="steward-bench-source-"))
    os.environ["STEWARD_ARTIFACT_DIR"] = str(work / "artifacts")
    os.environ["STEWARD_LOG_STORE"] = str(work / "logs")
    os.environ["STEWARD_DATABASE_URL"] = f"sqlite:///{work / 'registry.db'}"
    os.environ["STEWARD_LOG_SOURCE_ROOTS"] = str(work / "lake")

    from core.config import get_settings
    from core.db.engine import make_engine, read_session, write_session
    from core.db.migrate import upgrade
    from core.logstore import reads, sources
    from core.logstore.external import ColumnMapping
    from core.registry import ingest, services

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
        stored = services.register_version(s, actor=system, model_id=model_id, feature_names=features)
        in_place = services.register_version(s, actor=system, model_id=model_id, feature_names=features)
    lake = work / "lake"
    renamed = frame.rename(columns={"ts": "event_time", "request_id": "case_id", "prediction": "pred"})
    for day, part in renamed.groupby(renamed["event_time"].dt.date):
        (lake / f"day={day}").mkdir(parents=True)
        part.to_parquet(lake / f"day={day}" / "part-0.parquet", index=False)
    print(f"{args.rows:,} rows x {len(features)} features over {DAYS} days; load {os.getloadavg()[0]:.1f}")

    print("\nstore (version 1)")

    def log() -> None:
        with write_session(engine) as s:
            ingest.log_predictions(s, actor=system, model_version_id=stored, frame=frame)

    timed("steward log-predictions (copy into the store)", args.rows, log)

    print("\nlake (version 2)")

    def attach() -> Any:
        with write_session(engine) as s:
            return sources.attach_source(
                s,
                actor=system,
                model_version_id=in_place,
                location=str(lake / "day=*" / "*.parquet"),
                mapping=ColumnMapping(
                    ts="event_time", request_id="case_id", prediction="pred", score="score"
                ),
            )

    summary = timed("steward log-source attach (check + daily figures)", args.rows, attach)
    assert summary.rows == args.rows, summary

    first, last = date(2026, 10, 1), date(2026, 10, 30)
    for label, version_id in (("store", stored), ("lake", in_place)):
        print(f"\nreads, {label}")
        with read_session(engine) as s:

            def window(version_id: int = version_id) -> int:
                return sum(len(f) for f in reads.window_frames(s, version_id, first, last))

            n = timed("drift window, 30 features streamed", args.rows, window)
            assert n == args.rows, n
            days = timed("daily aggregates", args.rows, lambda v=version_id: reads.daily_aggregates(s, v))
            assert int(days["n"].sum()) == args.rows
            timed("200 newest rows", 0, lambda v=version_id: reads.rows(s, v, newest_first=True, limit=200))
    print(f"\npeak RSS of this process: {peak_mb():,.0f} MB; load average after: {os.getloadavg()[0]:.1f}")
    print(f"work directory {work}")


if __name__ == "__main__":
    main()
