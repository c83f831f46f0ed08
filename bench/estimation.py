"""Performance-estimation (CBPE) benchmark: the Performance page's estimate from scores alone.

Logs ``--rows`` predictions of one calibrated classifier over twelve months into a fresh SQLite
registry (through the ingest service, like `steward log-predictions`), then times
``core.monitoring.estimation.estimate_report``: the indexed read of the version's scores and the
computation per month (expected confusion matrix, expected ROC AUC, calibration check, score
shift). The page caches the result for a minute; this is the cost of a cold read.

    .venv/bin/python bench/estimation.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from core.db.engine import make_engine, read_session
    from core.db.migrate import upgrade
    from core.monitoring import estimation
    from tests.estimation_factories import calibrated_traffic, logged_classifier
    from tests.factories import make_world

    per_month = args.rows // 12
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        world = make_world(engine)
        frame = calibrated_traffic(months=12, per_month=per_month, labelled_share=0.1)
        started = time.perf_counter()
        model_id, version_id = logged_classifier(engine, world, frame)
        logged = time.perf_counter() - started
        started = time.perf_counter()
        with read_session(engine) as session:
            predictions = estimation.version_predictions(session, version_id)
        read = time.perf_counter() - started
        started = time.perf_counter()
        estimation.estimate(predictions)
        computed = time.perf_counter() - started
        started = time.perf_counter()
        with read_session(engine) as session:
            report = estimation.estimate_report(session, model_id=model_id)
        total = time.perf_counter() - started
        engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"rows: {len(frame):,} over 12 months ({per_month:,} a month, 10% labelled); logged in {logged:.1f} s"
    )
    print(
        f"read of scores: {read:.2f} s; estimation of 12 months: {computed:.2f} s; estimate_report: {total:.2f} s"
    )
    print(f"peak memory of the process: {peak:,.0f} MiB; reference {report.reference_period}")


if __name__ == "__main__":
    main()
