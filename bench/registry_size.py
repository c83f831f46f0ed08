"""Registry size before and after moving the demo's prediction logs into the log store.

Builds the demo portfolio into a fresh SQLite registry (the default 40 predictions a day, or
``--per-day``), then puts every logged prediction back into ``prediction_log`` as the registry
held them before the store (features as JSON, one row each) and measures the file: that is
"before". Then runs ``migrate-logs`` (which reads every file back and checks counts and
checksums per day) and measures again: "after", with the store's size on disk beside it.
Sizes are after VACUUM, so freed pages do not count.

    .venv/bin/python bench/registry_size.py [--per-day 40]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=40)
    parser.add_argument(
        "--from-demo",
        type=Path,
        default=None,
        help="Start from a demo already built (a directory with demo.db and logs/, e.g. the test suite's "
        "demo-template) instead of building one.",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="steward-bench-size-"))
    db = work / "registry.db"
    os.environ["STEWARD_ARTIFACT_DIR"] = str(work / "artifacts")
    os.environ["STEWARD_LOG_STORE"] = str(work / "logs")
    os.environ["STEWARD_DATABASE_URL"] = f"sqlite:///{db}"

    from sqlmodel import col

    from core.config import get_settings
    from core.db.engine import make_engine, read_session, write_session
    from core.db.migrate import upgrade
    from core.db.models import LogFile, PredictionLog
    from core.demo import build_demo
    from core.logstore import migrate, reads
    from core.registry import services

    if args.from_demo is not None:
        source = sqlite3.connect(args.from_demo / "demo.db")
        target = sqlite3.connect(db)
        source.backup(target)  # with what is still in its write-ahead log
        source.close()
        target.close()
        shutil.copytree(args.from_demo / "logs", work / "logs")
        engine = make_engine(get_settings().database_url)
        print(f"demo copied from {args.from_demo}")
    else:
        engine = make_engine(get_settings().database_url)
        upgrade(engine)
        started = time.perf_counter()
        build_demo(engine, predictions_per_day=args.per_day)
        print(f"demo built in {time.perf_counter() - started:.0f} s ({args.per_day} predictions a day)")

    def vacuumed() -> int:
        engine.dispose()  # the engine opens a transaction on connect; VACUUM needs none
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        return db.stat().st_size

    with write_session(engine) as s:  # the registry as it was before the store
        versions = s.execute(select(col(LogFile.model_version_id)).distinct()).scalars().all()
        for version_id in versions:
            rows = reads.rows(s, version_id, columns=None)
            sample = reads.sample_ids(s, version_id)
            rows = rows[~rows["row_id"].isin(sample)]
            features = [c for c in rows.columns if c not in reads.BASE_COLUMNS]
            clean = rows.astype(object).where(rows.notna(), None)
            records = [
                {
                    "id": int(r["row_id"]),
                    "model_version_id": version_id,
                    "ts": pd.Timestamp(r["ts"]).to_pydatetime(),
                    "request_id": r["request_id"],
                    "features": {f: r[f] for f in features},
                    "prediction": float(r["prediction"]),
                    "score": None if r["score"] is None else float(r["score"]),
                    "label": None if r["label"] is None else float(r["label"]),
                }
                for r in clean.to_dict(orient="records")
            ]
            for start in range(0, len(records), 5000):
                s.execute(insert(PredictionLog), records[start : start + 5000])
        s.execute(delete(LogFile))
        s.execute(text("DELETE FROM log_row_id"))
        s.execute(
            text(
                "INSERT INTO log_row_id (id, next_id) SELECT 1, COALESCE(MAX(id), 0) + 1 FROM prediction_log"
            )
        )
    for path in sorted((work / "logs").rglob("*.parquet")):
        path.unlink()
    with read_session(engine) as s:
        logged = int(s.execute(select(func.count()).select_from(PredictionLog)).scalar_one())
    before = vacuumed()
    print(f"before: registry {before / 1e6:8.1f} MB, {logged:,} rows in prediction_log")

    with write_session(engine) as s:
        started = time.perf_counter()
        done = migrate.migrate_logs(s, actor=services.ensure_system_person(s))
    took = time.perf_counter() - started
    with read_session(engine) as s:
        kept = int(s.execute(select(func.count()).select_from(PredictionLog)).scalar_one())
    after = vacuumed()
    store = folder_size(work / "logs")
    print(
        f"after:  registry {after / 1e6:8.1f} MB, {kept:,} rows left in prediction_log (the labelled sample); "
        f"log store {store / 1e6:.1f} MB in {done.files:,} files"
    )
    print(
        f"migrate-logs moved {done.rows:,} rows in {took:.1f} s, each of {done.files:,} files read back and "
        f"checked; registry {before / after:.1f}x smaller"
    )


if __name__ == "__main__":
    main()
