"""`steward migrate-logs`, `steward retention` and `steward log-source`: the prediction-log store,
and logs read where they already live, from cron or by hand."""

from __future__ import annotations

import pandas as pd
import typer

from core import clock
from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.db.engine import read_session, write_session
from core.db.types import saved_id
from core.errors import InvalidInput
from core.logstore import migrate, retention, sources, store
from core.logstore.external import ColumnMapping
from core.registry import services

retention_app = typer.Typer(
    help="How long each model's raw prediction rows are kept in the log store.", no_args_is_help=True
)
app.add_typer(retention_app, name="retention")
source_app = typer.Typer(
    help="Prediction logs read where they already live (Parquet files or a Delta table): nothing is copied.",
    no_args_is_help=True,
)
app.add_typer(source_app, name="log-source")


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


# --- logs read where they live ------------------------------------------------------------------


def _features(pairs: list[str]) -> dict[str, str]:
    """FEATURE=COLUMN options as a mapping; a bad one is named."""
    mapped: dict[str, str] = {}
    for pair in pairs:
        feature, sep, column = pair.partition("=")
        if not sep or not feature.strip() or not column.strip():
            raise InvalidInput(
                f"--feature '{pair}': write FEATURE=COLUMN, e.g. --feature income=applicant_income."
            )
        mapped[feature.strip()] = column.strip()
    return mapped


def _summary_text(model: str, version: int, summary: sources.SourceSummary) -> str:
    span = f"{summary.first_day} to {summary.last_day}" if summary.first_day else "no days"
    return (
        f"{model} v{version} reads its logs at {summary.location}: {summary.rows:,} predictions on "
        f"{summary.days:,} days ({span}), {summary.labelled:,} labelled."
    )


@source_app.command("attach")
def source_attach_command(
    model: str = typer.Option(..., "--model", help="Name of the model."),
    version: int = typer.Option(..., "--version", help="Version number."),
    location: str = typer.Option(
        ...,
        "--location",
        help="Parquet file, directory or glob (/lake/preds/*.parquet), a URL (s3://…), or a Delta table's directory.",
    ),
    kind: str = typer.Option(
        "auto", "--kind", help="parquet or delta (auto: delta for a directory with a _delta_log)."
    ),
    ts: str = typer.Option(..., "--ts", help="Column holding each prediction's time."),
    request_id: str = typer.Option(..., "--request-id", help="Column holding the request (case) id."),
    prediction: str = typer.Option(..., "--prediction", help="Column holding the prediction."),
    score: str = typer.Option("", "--score", help="Column holding the score, if any."),
    label: str = typer.Option("", "--label", help="Column holding the true outcome, if any."),
    feature: list[str] = typer.Option(
        [], "--feature", help="FEATURE=COLUMN, for features stored under another name (repeatable)."
    ),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Read a version's prediction logs where they already live, and their daily figures."""

    def body() -> None:
        mapping = ColumnMapping(
            ts=ts,
            request_id=request_id,
            prediction=prediction,
            score=score,
            label=label,
            features=_features(feature),
        )
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            row = services.version_by_number(
                session, saved_id(services.model_by_name(session, model)), version
            )
            summary = sources.attach_source(
                session,
                actor=who,
                model_version_id=saved_id(row),
                location=location,
                mapping=mapping,
                kind=kind,
            )
        if as_json:
            emit(summary.as_json(), as_json=True)
        else:
            typer.echo(_summary_text(model, version, summary))

    run(body)


@source_app.command("sync")
def source_sync_command(
    model: str | None = typer.Option(None, "--model", help="Name of the model (default: every source)."),
    version: int | None = typer.Option(None, "--version", help="Version number (with --model)."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Read the daily figures of versions that read their logs at a source again (run it from cron)."""

    def body() -> None:
        if (model is None) != (version is None):
            raise InvalidInput("give both --model and --version, or neither (every source).")
        eng = engine()
        who = actor(eng, as_email)
        done: list[tuple[str, int, sources.SourceSummary]] = []
        with write_session(eng) as session:
            if model is not None and version is not None:
                row = services.version_by_number(
                    session, saved_id(services.model_by_name(session, model)), version
                )
                targets = [saved_id(row)]
            else:
                targets = [s.model_version_id for s in sources.sources(session)]
            for version_id in targets:
                summary = sources.sync_source(session, actor=who, model_version_id=version_id)
                name, number = sources.label_of(session, version_id)
                done.append((name, number, summary))
        if as_json:
            emit([{"model": n, "version": v} | s.as_json() for n, v, s in done], as_json=True)
        elif not done:
            typer.echo("No version reads its logs at a source.")
        else:
            for name, number, summary in done:
                typer.echo(_summary_text(name, number, summary))

    run(body)


@source_app.command("show")
def source_show_command(as_json: bool = JSON_OPTION) -> None:
    """Every version that reads its logs at a source, with what was read when."""

    def body() -> None:
        with read_session(engine()) as session:
            listed = []
            for source in sources.sources(session):
                name, number = sources.label_of(session, source.model_version_id)
                summary = sources.summary_of(session, source.model_version_id)
                assert summary is not None
                listed.append({"model": name, "version": number} | summary.as_json())
        if as_json:
            emit(listed, as_json=True)
        elif not listed:
            typer.echo("No version reads its logs at a source.")
        else:
            emit(
                pd.DataFrame(
                    [
                        {
                            "model": r["model"],
                            "version": r["version"],
                            "location": r["location"],
                            "rows": r["rows"],
                            "days": r["days"],
                            "labelled": r["labelled"],
                            "read at": r["synced_at"],
                        }
                        for r in listed
                    ]
                ),
                as_json=False,
            )

    run(body)


@source_app.command("detach")
def source_detach_command(
    model: str = typer.Option(..., "--model", help="Name of the model."),
    version: int = typer.Option(..., "--version", help="Version number."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Stop reading a version's logs at its source (its daily figures stay)."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            row = services.version_by_number(
                session, saved_id(services.model_by_name(session, model)), version
            )
            sources.detach_source(session, actor=who, model_version_id=saved_id(row))
        typer.echo(f"{model} v{version} no longer reads a log source; its daily figures stay.")

    run(body)
