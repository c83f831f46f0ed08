"""Backups, restores and integrity checks of the registry.

SQLite: the online backup API copies a consistent snapshot while writers keep working (WAL
readers never block writers). PostgreSQL: ``pg_dump`` in custom format, restored with
``pg_restore`` into an empty database. ``check_registry`` is what you run after a restore or
a crash: the database's own integrity check, the schema revision and the audit chain.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from core import anchors, audit
from core.db.engine import is_sqlite, read_session
from core.db.migrate import current_revision, head_revision
from core.errors import InvalidInput, StewardError


def _libpq_url(engine: Engine) -> str:
    """The engine's URL as libpq understands it (no +driver), password included."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def backup(engine: Engine, out: Path) -> Path:
    """Write a consistent backup of the registry to ``out`` (SQLite file or pg_dump archive)."""
    out = Path(out)
    if out.exists():
        raise InvalidInput(f"{out} already exists; choose a new file name (backups are never overwritten).")
    out.parent.mkdir(parents=True, exist_ok=True)
    if is_sqlite(engine):
        source_path = engine.url.database
        if not source_path or source_path == ":memory:":
            raise InvalidInput("an in-memory SQLite registry cannot be backed up.")
        source = sqlite3.connect(source_path, timeout=30)
        try:
            target = sqlite3.connect(out)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
        return out
    if shutil.which("pg_dump") is None:
        raise StewardError(
            "pg_dump is not installed; install the PostgreSQL client tools to back up PostgreSQL."
        )
    result = subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={out}", _libpq_url(engine)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        out.unlink(missing_ok=True)
        raise StewardError(
            f"pg_dump failed: {result.stderr.strip().splitlines()[-1] if result.stderr else result.returncode}"
        )
    return out


def restore(backup_file: Path, target_url: str) -> None:
    """Restore ``backup_file`` into a new, empty registry at ``target_url``."""
    backup_file = Path(backup_file)
    if not backup_file.is_file():
        raise InvalidInput(f"backup file {backup_file} does not exist.")
    url = make_url(target_url)
    if url.get_backend_name() == "sqlite":
        target = Path(url.database or "")
        if target.exists():
            raise InvalidInput(f"{target} already exists; restore into a new file.")
        with sqlite3.connect(backup_file) as probe:
            if probe.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise InvalidInput(f"{backup_file} is not an intact SQLite backup.")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(backup_file, target)
        return
    if shutil.which("pg_restore") is None:
        raise StewardError("pg_restore is not installed; install the PostgreSQL client tools.")
    result = subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            f"--dbname={url.set(drivername='postgresql').render_as_string(hide_password=False)}",
            str(backup_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StewardError(
            f"pg_restore failed: {result.stderr.strip().splitlines()[-1] if result.stderr else result.returncode}"
        )


@dataclass
class RegistryCheck:
    integrity_ok: bool
    integrity_detail: str
    schema_revision: str | None
    schema_current: bool
    audit: audit.ChainVerdict
    row_counts: dict[str, int] = field(default_factory=dict)
    anchors: anchors.AnchorVerdict = field(default_factory=lambda: anchors.AnchorVerdict(True, None))
    stage_history: list[str] = field(default_factory=list)  # disagreements with the audit log

    @property
    def ok(self) -> bool:
        return (
            self.integrity_ok
            and self.schema_current
            and self.audit.ok
            and self.anchors.ok
            and not self.stage_history
        )

    def lines(self) -> list[str]:
        history = (
            "stage history: matches the audit log"
            if not self.stage_history
            else f"stage history: DOES NOT match the audit log: {self.stage_history[0]}"
            + (f" (and {len(self.stage_history) - 1} more)" if len(self.stage_history) > 1 else "")
        )
        return [
            f"database integrity: {'ok' if self.integrity_ok else 'FAILED: ' + self.integrity_detail}",
            f"schema revision: {self.schema_revision} ({'current' if self.schema_current else 'NOT current'})",
            self.audit.message(),
            history,
            self.anchors.message(),
            *self.anchors.warnings,
        ]


def row_counts(engine: Engine) -> dict[str, int]:
    names = sorted(n for n in inspect(engine).get_table_names() if n != "alembic_version")
    with engine.connect() as conn:
        return {
            name: int(conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()) for name in names
        }


def check_registry(engine: Engine, *, anchor_dir: Path | str | None = None) -> RegistryCheck:
    """Integrity check of the database, schema revision, audit chain (and the stage history and
    anchors against it; ``anchor_dir`` defaults to STEWARD_AUDIT_ANCHOR_DIR) and row counts."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
            fk = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            integrity_ok = rows == ["ok"] and not fk
            detail = "; ".join(rows[:5]) + (f"; {len(fk)} foreign-key violations" if fk else "")
        else:
            # PostgreSQL keeps its own invariants; reading every table proves the heap is readable.
            integrity_ok, detail = True, "ok"
    revision = current_revision(engine)
    current = revision == head_revision()
    with read_session(engine) as session:
        verdict = audit.verify(session)
        # The newer checks need the newer schema; a registry behind it is reported as such above.
        history = audit.stage_history_problems(session) if current else []
        anchored = (
            anchors.verify_against_anchors(session, anchor_dir)
            if current
            else anchors.AnchorVerdict(True, None)
        )
    counts = row_counts(engine)
    return RegistryCheck(integrity_ok, detail, revision, current, verdict, counts, anchored, history)
