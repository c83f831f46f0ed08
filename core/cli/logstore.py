"""`steward migrate-logs` and `steward retention`: the prediction-log store from cron or by hand."""

from __future__ import annotations

import pandas as pd
import typer

from core import clock
from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.db.engine import read_session, write_session
from core.db.types import saved_id
from core.errors import InvalidInput
from core.logstore import migrate, retention, store
from core.registry import services

retention_app = typer.Typer(
    help="How long each model's raw prediction rows are kept in the log store.", no_args_is_help=True
)
app.add_typer(retention_app, name="retention")


@app.command("migrate-logs")
def migrate_logs_command(as_email: str | None = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Move the registry's logged predictions into the log store (STEWARD_LOG_STORE), checking every file."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            done = migrate.migrate_logs(session, actor=who)
        summary = {
            "store": store.address(),
            "rows": done.rows,
            "files": done.files,
            "versions": [
                {
                    "version_id": v.version_id,
                    "rows": v.rows,
                    "files": v.files,
                    "kept_in_registry": v.kept_in_registry,
                    "partitions": v.partitions,
                }
                for v in done.versions
            ],
        }
        if as_json:
            emit(summary, as_json=True)
            return
        if not done.versions:
            typer.echo(f"Nothing to move: every logged prediction is in the log store ({store.address()}).")
            return
        emit(
            pd.DataFrame(
                [
                    {
                        "version id": v.version_id,
                        "rows moved": v.rows,
                        "files": v.files,
                        "days checked": len(v.partitions),
                        "kept in registry (labelled sample)": v.kept_in_registry,
                    }
                    for v in done.versions
                ]
            ),
            as_json=False,
        )
        typer.echo(
            f"Moved {done.rows:,} rows into {done.files:,} files under {store.address()}; every file was read "
            "back and its row count and checksum match the registry rows, day by day."
        )

    run(body)


@retention_app.command("set")
def retention_set_command(
    model: str = typer.Option(..., "--model", help="Name of the model."),
    days: int | None = typer.Option(None, "--days", help="Keep raw rows this many days."),
    forever: bool = typer.Option(False, "--forever", help="Keep raw rows for ever (remove the policy)."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Set how many days a model's raw prediction rows are kept (aggregates and the labelled sample stay)."""

    def body() -> None:
        if (days is None) == (not forever):
            raise InvalidInput("give either --days N or --forever.")
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            model_id = saved_id(services.model_by_name(session, model))
            view = retention.set_retention(session, actor=who, model_id=model_id, raw_days=days)
        if as_json:
            emit({"model": model, "raw_days": view.raw_days}, as_json=True)
        else:
            typer.echo(f"{model}: {view.policy_text}")

    run(body)


@retention_app.command("show")
def retention_show_command(
    model: str = typer.Option(..., "--model", help="Name of the model."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The model's retention policy and what the log store holds for it."""

    def body() -> None:
        with read_session(engine()) as session:
            view = retention.retention_of(session, saved_id(services.model_by_name(session, model)))
        data = {
            "model": model,
            "raw_days": view.raw_days,
            "last_applied_at": view.last_applied_at,
            "stored_rows": view.stored_rows,
            "stored_files": view.stored_files,
            "oldest_day": view.oldest_day,
            "newest_day": view.newest_day,
        }
        if as_json:
            emit(data, as_json=True)
        else:
            typer.echo(f"{model}: {view.policy_text}")
            typer.echo(
                f"Stored: {view.stored_rows:,} rows in {view.stored_files:,} files, "
                f"{view.oldest_day or '-'} to {view.newest_day or '-'}."
            )

    run(body)


@retention_app.command("apply")
def retention_apply_command(as_email: str | None = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Delete raw rows older than each model's policy allows (run daily from cron)."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            done = retention.apply_retention(session, actor=who, today=clock.today())
        rows = [
            {
                "model": a.model,
                "keep days": a.raw_days,
                "deleted before": a.cutoff.isoformat(),
                "files": a.files,
                "rows": a.rows,
            }
            for a in done
        ]
        if as_json:
            emit(rows, as_json=True)
        elif not rows:
            typer.echo("Nothing to delete: no model has raw rows older than its policy.")
        else:
            emit(pd.DataFrame(rows), as_json=False)

    run(body)
