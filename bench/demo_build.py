"""Demo build benchmark: time ``core.demo.build_demo`` into a fresh SQLite registry.

Prints the wall-clock and CPU seconds of the base portfolio (models, logs, costs) and of each
area step, and the row counts. Goal (issue 2 §3): the whole build under 2 minutes on the
2-core reference machine at 40 predictions per day. CPU seconds are printed too because wall
time on a shared machine depends on what else runs.

    .venv/bin/python bench/demo_build.py [--per-day 40] [--base-only] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=40, help="predictions per day and production version")
    parser.add_argument("--base-only", action="store_true", help="skip the area steps (core/demo/steps.py)")
    parser.add_argument("--keep", type=Path, help="build into this directory and keep it")
    args = parser.parse_args()
    directory = args.keep or Path(tempfile.mkdtemp(prefix="steward-demo-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["STEWARD_ARTIFACT_DIR"] = str(directory / "artifacts")
    os.environ["STEWARD_DATABASE_URL"] = f"sqlite:///{directory / 'steward.db'}"

    from core.db.engine import make_engine
    from core.db.migrate import upgrade
    from core.demo import build

    engine = make_engine(os.environ["STEWARD_DATABASE_URL"])
    upgrade(engine)
    if args.base_only:
        build.AREA_STEPS = []  # type: ignore[attr-defined]
    wall, cpu = time.perf_counter(), time.process_time()
    result = build.build_demo(engine, predictions_per_day=args.per_day)
    result["cpu_seconds"] = round(time.process_time() - cpu, 1)
    result["wall_seconds"] = round(time.perf_counter() - wall, 1)
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=2, default=str))
    print(f"registry: {directory / 'steward.db'}" if args.keep else f"(scratch directory {directory})")


if __name__ == "__main__":
    main()
