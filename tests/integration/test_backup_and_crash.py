"""Backups taken while writers run restore into a registry that checks out; a writer killed
with SIGKILL mid-write leaves an intact database with every acknowledged change present."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import select

from core import backup
from core.db.engine import make_engine, read_session, write_session
from core.db.models import AuditEvent, Person
from core.errors import InvalidInput
from core.registry import services
from tests.conftest import PG_URL, _drop_pg, _pg_admin
from tests.factories import make_model, make_world

ROOT = Path(__file__).resolve().parents[2]


def _target_url(db_url: str, tmp_path: Path) -> tuple[str, str | None]:
    """A URL for a new, empty registry on the same backend (and the PG database name to drop)."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.db'}", None
    name = f"steward_r_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), name


def test_backup_while_writers_run_restores_intact(engine, db_url, tmp_path):
    world = make_world(engine)
    make_model(engine, world.owner, versions=2)
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        i = 0
        while not stop.is_set():
            with write_session(engine) as s:
                services.create_person(s, actor=world.admin, name=f"W {i}", email=f"w{i}@example.com")
            written.append(i)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5:
            pass
        out = backup.backup(engine, tmp_path / "registry.backup")
    finally:
        stop.set()
        thread.join()
    target_url, pg_name = _target_url(db_url, tmp_path)
    try:
        backup.restore(out, target_url)
        restored = make_engine(target_url)
        result = backup.check_registry(restored)
        assert result.ok, result.lines()
        source_counts = backup.row_counts(engine)
        # The snapshot is a consistent prefix of the source: never more rows, never an unknown event.
        assert all(result.row_counts[t] <= source_counts[t] for t in source_counts)
        assert result.row_counts["person"] >= 7 + 5
        with read_session(restored) as r, read_session(engine) as s:
            restored_hashes = [e.hash for e in r.exec(select(AuditEvent).order_by(AuditEvent.id))]
            source_hashes = [e.hash for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
        assert source_hashes[: len(restored_hashes)] == restored_hashes
        restored.dispose()
    finally:
        if pg_name:
            _drop_pg(pg_name)


def test_backup_of_idle_registry_has_equal_row_counts(engine, db_url, tmp_path):
    world = make_world(engine)
    make_model(engine, world.owner, versions=3)
    out = backup.backup(engine, tmp_path / "idle.backup")
    target_url, pg_name = _target_url(db_url, tmp_path)
    try:
        backup.restore(out, target_url)
        restored = make_engine(target_url)
        result = backup.check_registry(restored)
        assert result.ok, result.lines()
        assert result.row_counts == backup.row_counts(engine)
        restored.dispose()
    finally:
        if pg_name:
            _drop_pg(pg_name)


def test_backup_refuses_to_overwrite(engine, tmp_path):
    existing = tmp_path / "exists.backup"
    existing.write_text("x")
    with pytest.raises(InvalidInput, match="already exists"):
        backup.backup(engine, existing)


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(
        Exception, match="(?i)not an intact SQLite backup|not a database|file is not a database"
    ):
        backup.restore(junk, f"sqlite:///{tmp_path / 'r.db'}")
    assert not (tmp_path / "r.db").exists()


KILLS = 12


@pytest.mark.slow
def test_kill_9_mid_write_loses_no_acknowledged_change(db_url):
    engine = make_engine(db_url)
    rng = random.Random(7)
    acknowledged: set[int] = set()
    next_id = 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.crash_writer", db_url, str(next_id)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        wait_for = rng.randint(1, 25)
        seen = 0
        for line in proc.stdout:
            if line.startswith("ACK "):
                acknowledged.add(int(line.split()[1]))
                seen += 1
                if seen >= wait_for:
                    break
        os.kill(proc.pid, signal.SIGKILL)
        rest, err = proc.communicate(timeout=30)
        acknowledged |= {int(line.split()[1]) for line in rest.splitlines() if line.startswith("ACK ")}
        assert seen >= wait_for, f"writer ended early: {err[-2000:]}"
        next_id = max(acknowledged) + 100  # skip ids a killed, unacknowledged write may have used
        result = backup.check_registry(engine)
        assert result.ok, result.lines()
        with read_session(engine) as s:
            present = {
                int(p.email[5:].split("@")[0])
                for p in s.exec(select(Person).where(Person.email.like("crash%")))
            }
        assert acknowledged <= present
    assert len(acknowledged) >= KILLS
    engine.dispose()
