"""Inventory benchmark: 10,000 models, 50,000 versions, 1,000,000 logged predictions on SQLite.

Builds the registry in a temporary SQLite file (schema through the real migrations, rows by
bulk insert), then times, and prints:

- the inventory page's queries (``core.registry.reads``) and their SQLite query plans,
  checking that no plan touches the raw ``prediction_log``;
- the Inventory page rendered server-side with AppTest: the first render in a fresh process
  (imports included), the first render of a new session with empty caches, and reruns after a
  filter, a search and a sort.

Goals (issue 2 §7): cold render <= 1.5 s, reruns <= 0.1 s, no raw prediction-log scan.

    .venv/bin/python bench/inventory.py [--keep PATH] [--reuse PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_MODELS = 10_000
VERSIONS_PER_MODEL = 5
N_PREDICTIONS = 1_000_000
LOGGING_VERSIONS = 2_000  # production versions that log predictions
LOG_DAYS = 50  # 2,000 versions x 50 days x 10 predictions a day = 1,000,000 rows
N_PEOPLE = 2_000
COST_DAYS = 35
UNITS = [
    "Credit risk",
    "Retail banking",
    "Fraud",
    "Marketing",
    "Claims",
    "Pricing",
    "Supply chain",
    "Collections",
    "Treasury",
    "Compliance",
    "HR analytics",
    "Customer service",
]
GOALS = {"cold": 1.5, "rerun": 0.1}


def insert(conn: sqlite3.Connection, table: str, columns: str, rows: list[tuple]) -> None:
    """Bulk insert; columns the bench leaves out get the default the table model declares,
    so the bench keeps working when tables gain columns."""
    from sqlmodel import SQLModel

    import core.db.models  # noqa: F401  (registers every table)

    given = [c.strip() for c in columns.split(",")]
    extra, values = [], []
    for column in SQLModel.metadata.tables[table].columns:
        if column.name in given or column.nullable or column.server_default is not None or column.primary_key:
            continue
        default = (
            column.default.arg if column.default is not None and not callable(column.default.arg) else None
        )
        if default is None and column.default is not None:
            default = column.default.arg({})  # e.g. default_factory=list
        extra.append(column.name)
        values.append(json.dumps(default) if isinstance(default, (dict, list)) else default)
    names = given + extra
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    conn.executemany(sql, [tuple(row) + tuple(values) for row in rows])


def ts(value: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite (naive, microseconds)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


# --- building the registry -------------------------------------------------------------------


def build(path: Path) -> dict[str, int]:
    from core.db.engine import make_engine
    from core.db.migrate import upgrade

    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    rng = random.Random(7)
    now = datetime.now(UTC)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    counts = {}
    with conn:
        counts["person"] = _people(conn, rng, now)
        counts["business_process"] = _processes(conn)
        counts["model"], production = _models(conn, rng, now)
        counts["model_version"], counts["stage_change"], prod_versions = _versions(conn, rng, now, production)
        counts["ownership"] = _owners(conn, rng, now)
        counts["prediction_log"], counts["prediction_daily"] = _predictions(conn, rng, now, prod_versions)
        counts["cost_record"] = _costs(conn, rng, now)
        counts["model_health"] = _health(conn, rng, now)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return counts


def _people(conn: sqlite3.Connection, rng: random.Random, now: datetime) -> int:
    rows = []
    for i in range(1, N_PEOPLE + 1):
        left = rng.random() < 0.05
        rows.append(
            (
                i,
                f"Person {i:04d}",
                f"person{i:04d}@example.com",
                f"Team {i % 40:02d}",
                0 if left else 1,
                (now.date() - timedelta(days=rng.randint(1, 300))).isoformat() if left else None,
                0,
                ts(now - timedelta(days=900)),
            )
        )
    insert(conn, "person", "id, name, email, team, active, left_on, is_system, created_at", rows)
    grants = [(i, "model_owner", "", ts(now)) for i in range(1, 201)] + [(1, "admin", "", ts(now))]
    insert(conn, "role_grant", "person_id, role, business_unit, granted_at", grants)
    return len(rows)


def _processes(conn: sqlite3.Connection) -> int:
    rows = [(i, f"Process {i:03d}", UNITS[i % len(UNITS)], "", f"KPI {i}", "%") for i in range(1, 201)]
    insert(conn, "business_process", "id, name, business_unit, description, kpi, kpi_unit", rows)
    return len(rows)


def _models(conn: sqlite3.Connection, rng: random.Random, now: datetime) -> tuple[int, set[int]]:
    rows, production = [], set()
    for i in range(1, N_MODELS + 1):
        status = rng.choices(["production", "validation", "development", "retired"], [60, 10, 25, 5])[0]
        if status == "production":
            production.add(i)
        rows.append(
            (
                i,
                f"Model {i:05d}",
                f"Purpose of model {i}",
                "",
                "",
                UNITS[i % len(UNITS)],
                (i % 200) + 1,
                "",
                "binary_classification",
                "gbm",
                "",
                status,
                0,
                "",
                "roc_auc",
                "{}",
                ts(now - timedelta(days=rng.randint(400, 900))),
            )
        )
    insert(
        conn,
        "model",
        "id, name, purpose, intended_use, out_of_scope_uses, business_unit, business_process_id, "
        "kpi, task, methodology, target, status, is_vendor, vendor_name, primary_metric, metric_thresholds, "
        "created_at",
        rows,
    )
    return len(rows), production


def _versions(
    conn: sqlite3.Connection, rng: random.Random, now: datetime, production: set[int]
) -> tuple[int, int, list[int]]:
    versions, changes, prod_versions = [], [], []
    vid = 0
    for model_id in range(1, N_MODELS + 1):
        live = VERSIONS_PER_MODEL - rng.randint(0, 1) if model_id in production else 0
        for number in range(1, VERSIONS_PER_MODEL + 1):
            vid += 1
            created = now - timedelta(days=(VERSIONS_PER_MODEL - number) * 60 + rng.randint(1, 50))
            stage = "production" if number == live else ("archived" if number < live else "none")
            if model_id not in production and number == VERSIONS_PER_MODEL and rng.random() < 0.3:
                stage = "staging"
            metrics = json.dumps({"roc_auc": round(0.7 + rng.random() / 5, 3)})
            versions.append(
                (
                    vid,
                    model_id,
                    number,
                    stage,
                    1,
                    "",
                    1 + (model_id % 200),
                    ts(created),
                    f"{vid:07x}",
                    "",
                    "",
                    "",
                    "[]",
                    metrics,
                    "{}",
                    "",
                    "",
                    "",
                    "",
                    "",
                )
            )
            if stage in ("production", "archived"):
                changes.append(
                    (model_id, vid, "none", "production", ts(created + timedelta(days=5)), 1, "release")
                )
            if stage == "archived":
                changes.append(
                    (model_id, vid, "production", "archived", ts(created + timedelta(days=65)), 1, "replaced")
                )
            if stage == "production":
                prod_versions.append(vid)
    insert(
        conn,
        "model_version",
        "id, model_id, version, stage, row_version, description, created_by_id, "
        "created_at, git_commit, artifact_uri, artifact_sha256, artifact_format, feature_names, metrics, params, "
        "card_training_data, card_evaluation, card_limitations, card_ethical_considerations, card_caveats",
        versions,
    )
    insert(
        conn,
        "stage_change",
        "model_id, model_version_id, from_stage, to_stage, changed_at, changed_by_id, reason",
        changes,
    )
    return len(versions), len(changes), prod_versions


def _owners(conn: sqlite3.Connection, rng: random.Random, now: datetime) -> int:
    rows = []
    for model_id in range(1, N_MODELS + 1):
        for role, share in (
            ("business_owner", 0.97),
            ("technical_owner", 0.95),
            ("backup", 0.7),
            ("validator", 0.5),
        ):
            if rng.random() < share:
                rows.append((model_id, rng.randint(1, N_PEOPLE), role, ts(now)))
    insert(conn, "ownership", "model_id, person_id, role, since", rows)
    return len(rows)


def _predictions(
    conn: sqlite3.Connection, rng: random.Random, now: datetime, prod_versions: list[int]
) -> tuple[int, int]:
    per_day = N_PREDICTIONS // (LOGGING_VERSIONS * LOG_DAYS)
    logging_versions = rng.sample(prod_versions, LOGGING_VERSIONS)
    today = now.date()
    logged = rolled = 0
    for vid in logging_versions:
        stop = rng.choice([0, 0, 0, 0, 3, 10])  # some models stopped sending predictions
        log, daily = [], []
        for back in range(stop, stop + LOG_DAYS):
            day = today - timedelta(days=back)
            base = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
            stamps = [base + timedelta(minutes=37 * k) for k in range(per_day)]
            for stamp in stamps:
                score = rng.random()
                log.append((vid, ts(stamp), "", '{"x1": 0.5, "x2": "a"}', float(score > 0.5), score))
            daily.append(
                (
                    vid,
                    day.isoformat(),
                    per_day,
                    float(per_day // 2),
                    per_day * 0.5,
                    "[1,1,1,1,1,1,1,1,1,1]",
                    0,
                    0.0,
                    0,
                    0.0,
                    0.0,
                    ts(stamps[-1]),
                )
            )
        insert(conn, "prediction_log", "model_version_id, ts, request_id, features, prediction, score", log)
        insert(
            conn,
            "prediction_daily",
            "model_version_id, day, n, pred_sum, score_sum, score_hist, n_labelled, "
            "label_sum, n_correct, abs_err_sum, sq_err_sum, last_ts",
            daily,
        )
        logged += len(log)
        rolled += len(daily)
    return logged, rolled


def _costs(conn: sqlite3.Connection, rng: random.Random, now: datetime) -> int:
    rows = [
        (
            (now.date() - timedelta(days=back)).isoformat(),
            model_id,
            "compute",
            round(rng.uniform(1, 40), 2),
            "EUR",
        )
        for model_id in range(1, N_MODELS + 1)
        for back in range(COST_DAYS)
    ]
    insert(conn, "cost_record", "day, model_id, category, amount, currency", rows)
    return len(rows)


def _health(conn: sqlite3.Connection, rng: random.Random, now: datetime) -> int:
    rows = []
    for model_id in range(1, N_MODELS + 1):
        status = rng.choices(["ok", "warning", "alert", "unknown"], [75, 12, 8, 5])[0]
        reasons = (
            []
            if status in ("ok", "unknown")
            else [{"kind": "drift", "level": status, "message": "Input drift"}]
        )
        rows.append((model_id, status, json.dumps(reasons), ts(now)))
    insert(conn, "model_health", "model_id, status, reasons, updated_at", rows)
    return len(rows)


# --- timing ----------------------------------------------------------------------------------


Figure = tuple[float, float]  # (wall seconds, CPU seconds of this process)


def timed(fn: Callable[[], object], repeat: int = 5) -> tuple[Figure, object]:
    """Median wall and CPU seconds over ``repeat`` calls, and the last result.

    CPU time is reported too because this machine is shared: under load, wall time
    measures the queue for the CPU as much as the work. SQLite and AppTest's script
    thread run inside this process, so their work is in its CPU time.
    """
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return (statistics.median(walls), statistics.median(cpus)), result


def query_figures(url: str) -> dict[str, Figure]:
    from core.db.engine import make_engine, read_session
    from core.registry import reads

    engine = make_engine(url)
    figures: dict[str, Figure] = {}
    with read_session(engine) as s:
        figures["inventory() query"], frame = timed(lambda: reads.inventory(s))
        figures["inventory_kpis() queries"], _ = timed(lambda: reads.inventory_kpis(s))
        figures["model_choices() query"], _ = timed(lambda: reads.model_choices(s))
        figures["owners_overview() queries"], _ = timed(lambda: reads.owners_overview(s), repeat=3)
        model_id = int(frame.loc[frame["stage"] == "production", "model_id"].iloc[0])
        figures["model_detail() queries"], _ = timed(lambda: reads.model_detail(s, model_id))
        figures["prediction_volume() query"], _ = timed(lambda: reads.prediction_volume(s, model_id))
    figures["filter_inventory() search + unit + sort"], view = timed(
        lambda: reads.filter_inventory(
            frame,
            reads.InventoryFilter(search="model 01", units=("Fraud",), sort="Monthly cost (highest first)"),
        )
    )
    assert len(frame) == N_MODELS, f"inventory returned {len(frame)} rows"
    engine.dispose()
    return figures


def query_plans(url: str) -> list[tuple[str, list[str]]]:
    """EXPLAIN QUERY PLAN of every statement the inventory page runs."""
    from sqlalchemy import event

    from core.db.engine import make_engine, read_session
    from core.registry import reads

    engine = make_engine(url)
    statements: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    with read_session(engine) as s:
        reads.inventory(s)
        reads.inventory_kpis(s)
    event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as conn:
        for statement, parameters in statements:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plans.append((statement, [f"{'  ' * _depth(rows, r[0])}{r[3]}" for r in rows]))
    engine.dispose()
    return plans


def _depth(rows: list, node_id: int) -> int:
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, parents.get(node_id, 0)
    while parent:
        depth, parent = depth + 1, parents.get(parent, 0)
    return depth


def _apptest_cold_in_fresh_process(url: str) -> Figure:
    """First render of the Inventory page in a new Python process (imports included)."""
    code = (
        "import time; t, c = time.perf_counter(), time.process_time()\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(ROOT / 'app' / 'main.py')!r}, default_timeout=120).run()\n"
        "assert not at.exception, at.exception\n"
        "print(time.perf_counter() - t, time.process_time() - c)\n"
    )
    env = {**os.environ, "STEWARD_DATABASE_URL": url, "STEWARD_AUTH_MODE": "local", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def page_figures(url: str) -> dict[str, Figure]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from core.config import reset_settings_cache

    os.environ["STEWARD_DATABASE_URL"] = url
    os.environ["STEWARD_AUTH_MODE"] = "local"
    reset_settings_cache()
    figures = {"render, fresh process (imports + empty caches)": _apptest_cold_in_fresh_process(url)}
    main = ROOT / "app" / "main.py"
    warm = AppTest.from_file(main, default_timeout=120).run()  # imports done once in this process
    assert not warm.exception, warm.exception
    colds = []
    for _ in range(3):
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(main, default_timeout=120)
        # A Streamlit server scans installed packages for components once, at start-up;
        # AppTest does it for every new instance (~1 s of CPU). Reuse the warm instance's scan.
        at._bidi_component_manager = warm._bidi_component_manager
        figure, _ = timed(at.run, repeat=1)
        colds.append(figure)
        assert not at.exception, at.exception
    figures["render, new session with empty caches (cold)"] = (
        statistics.median(f[0] for f in colds),
        statistics.median(f[1] for f in colds),
    )
    figures["rerun, same session (nothing changed)"], _ = timed(lambda: at.run())
    figures["rerun, business unit filter"] = _alternating(
        at,
        lambda v: at.multiselect(key="inventory.filter.unit").set_value(v),
        [["Fraud"], ["Claims", "Pricing"]],
    )
    at.multiselect(key="inventory.filter.unit").set_value([]).run()
    figures["rerun, search box"] = _alternating(
        at, lambda v: at.text_input(key="inventory.search").input(v), ["model 01", "model 002"]
    )
    at.text_input(key="inventory.search").input("").run()
    figures["rerun, sort"] = _alternating(
        at,
        lambda v: at.selectbox(key="inventory.sort").set_value(v),
        ["Monthly cost (highest first)", "Health (most urgent first)"],
    )
    at.selectbox(key="inventory.sort").set_value("Name (A to Z)").run()
    table = next(d for d in at.dataframe if d.key == "inventory.table")
    assert len(table.value) == N_MODELS, f"the page showed {len(table.value)} rows"
    return figures


def _alternating(
    at: object, change: Callable[[object], object], values: list[object], repeat: int = 6
) -> Figure:
    """Median wall and CPU time of reruns that each change a widget to the next of ``values``."""
    figures = []
    for i in range(repeat):
        change(values[i % len(values)])
        figure, _ = timed(at.run, repeat=1)  # type: ignore[attr-defined]
        figures.append(figure)
    return statistics.median(f[0] for f in figures), statistics.median(f[1] for f in figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the registry at this path and keep it")
    parser.add_argument("--reuse", type=Path, help="time an existing benchmark registry (skip the build)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.reuse or args.keep or Path(tmp) / "bench.db"
        if not args.reuse:
            start = time.perf_counter()
            counts = build(path)
            print(f"Built {path} in {time.perf_counter() - start:.1f} s:")
            for table, n in counts.items():
                print(f"  {table:18} {n:>10,} rows")
        url = f"sqlite:///{path}"
        print("\nQuery plans of the inventory page (EXPLAIN QUERY PLAN):")
        scans_log = False
        for statement, plan in query_plans(url):
            first_line = " ".join(statement.split())[:110]
            print(f"\n  {first_line}...")
            for line in plan:
                print(f"    {line}")
            scans_log = scans_log or any("prediction_log" in line for line in plan)
        print(f"\n  touches prediction_log: {'YES (bad)' if scans_log else 'no'}")
        print(
            f"\nLoad average before timing: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
            f"on {os.cpu_count()} CPUs (wall time includes waiting for a CPU; CPU time does not)"
        )
        print(f"\nCore reads (median of runs)             {'wall':>10} {'CPU':>10}")
        for label, (wall, cpu) in query_figures(url).items():
            print(f"  {label:45} {wall * 1000:8.1f} ms {cpu * 1000:8.1f} ms")
        print(f"\nInventory page, server-side (AppTest)        {'wall':>14} {'CPU':>10}")
        for label, (wall, cpu) in page_figures(url).items():
            goal = GOALS["rerun"] if label.startswith("rerun") else GOALS["cold"] if "cold" in label else None
            verdict = (
                ""
                if goal is None
                else (
                    f"  goal <= {goal:.1f} s: wall {'met' if wall <= goal else 'missed'}, "
                    f"CPU {'met' if cpu <= goal else 'missed'}"
                )
            )
            print(f"  {label:50} {wall * 1000:8.1f} ms {cpu * 1000:8.1f} ms{verdict}")
        print(f"\nLoad average after timing: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
