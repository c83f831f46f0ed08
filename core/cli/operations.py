"""Operations commands: backup, restore and the registry check (after a restore or a crash)."""

from __future__ import annotations

from pathlib import Path

import typer

from core import backup as backups
from core.cli.app import app
from core.cli.common import JSON_OPTION, emit, engine, fail, run
from core.db.engine import make_engine, redact


@app.command("backup")
def backup_command(
    out: Path = typer.Option(..., "--out", help="Backup file to write (must not exist)."),
) -> None:
    """Back up the registry while it is in use (SQLite online backup; pg_dump for PostgreSQL)."""

    def body() -> None:
        path = backups.backup(engine(check=False), out)
        typer.echo(f"Backup written to {path} ({path.stat().st_size:,} bytes).")

    run(body)


@app.command("restore")
def restore_command(
    backup_file: Path = typer.Argument(..., help="A file written by `steward backup`."),
    to: str = typer.Option(
        ..., "--to", help="URL of the NEW registry to restore into (empty database or new file)."
    ),
) -> None:
    """Restore a backup into a new registry, then check it."""

    def body() -> None:
        backups.restore(backup_file, to)
        result = backups.check_registry(make_engine(to))
        typer.echo(f"Restored into {redact(to)}.")
        for line in result.lines():
            typer.echo(line)
        if not result.ok:
            fail("the restored registry failed its check (see above).")

    run(body)


@app.command("check")
def check_command(
    anchors_dir: Path | None = typer.Option(
        None, "--anchors", help="Directory of audit anchors (default STEWARD_AUDIT_ANCHOR_DIR)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check the registry: database integrity, schema revision, audit chain, stage history and
    anchors; row counts with --json."""

    def body() -> None:
        result = backups.check_registry(engine(check=False), anchor_dir=anchors_dir)
        if as_json:
            emit(
                {
                    "ok": result.ok,
                    "integrity": result.integrity_detail,
                    "schema_revision": result.schema_revision,
                    "schema_current": result.schema_current,
                    "audit": result.audit.message(),
                    "stage_history": result.stage_history,
                    "anchors": result.anchors.message(),
                    "anchor_first_bad_id": result.anchors.first_bad_id,
                    "row_counts": result.row_counts,
                },
                as_json=True,
            )
        else:
            for line in result.lines():
                typer.echo(line)
        if not result.ok:
            raise typer.Exit(1)

    run(body)
