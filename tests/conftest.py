"""Shared fixtures: a real, migrated registry per test on SQLite, and on PostgreSQL when
STEWARD_TEST_POSTGRES_URL is set (`.ci/run` sets it). Nothing here mocks the database.

The schema is migrated once per run into a template (an SQLite file; a PostgreSQL template
database), and every test gets its own copy, so tests are isolated and fast.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from core.config import reset_settings_cache
from core.db.engine import make_engine
from core.db.migrate import upgrade

PG_URL = os.environ.get("STEWARD_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Artifacts and reports of each test go to its own temporary directory."""
    monkeypatch.setenv("STEWARD_ARTIFACT_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("STEWARD_REPORT_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("STEWARD_AUDIT_HMAC_KEY", raising=False)
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _pg_admin() -> Engine:
    url = make_url(PG_URL).set(database="postgres")
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("STEWARD_TEST_POSTGRES_URL is not set")
    name = f"steward_tmpl_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_pg(template: str) -> tuple[str, str]:
    name = f"steward_t_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return name, make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg(name: str) -> None:
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a freshly migrated, empty registry (one per test, per backend)."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "steward.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
    else:
        template = request.getfixturevalue("pg_template")
        name, url = _fresh_pg(template)
        yield url
        _drop_pg(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite registry only (for tests of SQLite-specific behaviour)."""
    path = tmp_path / "steward.db"
    shutil.copyfile(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


# --- the demo portfolio, built once per run --------------------------------------------------------

DEMO_TODAY = date(2026, 11, 20)
DEMO_PER_DAY = 12


@dataclass(frozen=True)
class DemoTemplate:
    db: Path  # SQLite file holding the built demo (do not write to it; copy it)
    artifact_dir: Path  # the demo's artifact store (read-only for tests)
    today: date
    predictions_per_day: int
    summary: dict[str, Any]


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> DemoTemplate:
    """The demo portfolio (``core.demo.build_demo``, area steps included) built once per run into
    an SQLite file, with today = ``DEMO_TODAY`` and ``DEMO_PER_DAY`` predictions a day.

    Once per run, not per process: with pytest-xdist (``make test`` runs two workers) the first
    worker that needs it builds it into the run's shared temporary directory under a file lock,
    and the others wait for it and use the same files (read-only: tests copy the database)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's directory, shared by the workers
    directory = root / "demo-template"
    if os.environ.get("STEWARD_TEST_DEMO_DIR"):  # a template kept between runs (local iteration only)
        directory = Path(os.environ["STEWARD_TEST_DEMO_DIR"])
        directory.mkdir(parents=True, exist_ok=True)
    directory.mkdir(exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = directory / "summary.json"
        if not done.exists():
            summary = _build_demo_template(directory, sqlite_template)
            done.write_text(json.dumps(summary, default=str), encoding="utf-8")
        summary = json.loads(done.read_text(encoding="utf-8"))
    return DemoTemplate(
        db=directory / "demo.db",
        artifact_dir=directory / "artifacts",
        today=DEMO_TODAY,
        predictions_per_day=DEMO_PER_DAY,
        summary=summary,
    )


def _build_demo_template(directory: Path, sqlite_template: Path) -> dict[str, Any]:
    from core.demo import build_demo

    db = directory / "demo.db"
    shutil.copyfile(sqlite_template, db)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STEWARD_ARTIFACT_DIR", str(directory / "artifacts"))
        reset_settings_cache()
        eng = make_engine(f"sqlite:///{db}")
        summary = build_demo(eng, today=DEMO_TODAY, predictions_per_day=DEMO_PER_DAY)
        with eng.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        eng.dispose()
    reset_settings_cache()
    return summary


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that need the demo portfolio run last, the slow ones among them first (in their own
    order otherwise). With several workers, the first to reach one builds the demo while the others
    still have other tests to run, and the long ones (a second demo build) start as early as they can."""

    def order(item: pytest.Item) -> tuple[bool, bool]:
        needs_demo = "demo_template" in getattr(item, "fixturenames", ())
        return needs_demo, item.get_closest_marker("slow") is None

    items.sort(key=order)


@pytest.fixture
def demo_db_url(demo_template: DemoTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """URL of a private copy of the demo registry. Also points STEWARD_DATABASE_URL at it and
    STEWARD_ARTIFACT_DIR at the demo's artifact store (shared: load from it, never write to it)."""
    path = tmp_path / "demo.db"
    shutil.copyfile(demo_template.db, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("STEWARD_DATABASE_URL", url)
    monkeypatch.setenv("STEWARD_ARTIFACT_DIR", str(demo_template.artifact_dir))
    reset_settings_cache()
    return url


@pytest.fixture
def demo_engine(demo_db_url: str) -> Iterator[Engine]:
    eng = make_engine(demo_db_url)
    yield eng
    eng.dispose()
