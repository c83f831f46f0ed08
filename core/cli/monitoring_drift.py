"""`steward drift`: compute and store drift runs from cron or by hand.

Idempotent per model version and period: running the same period again prints the stored
run ("unchanged") unless predictions arrived since or ``--force`` is given (then the run is
recomputed and replaced).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import typer
from sqlalchemy import select
from sqlmodel import col

from core import clock
from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, fail, run
from core.db.engine import read_session
from core.db.models import Model, ModelVersion
from core.db.types import saved_id
from core.errors import InvalidInput, StewardError
from core.monitoring.drift.runs import RunSummary, VersionFailure, run_model_drift
from core.monitoring.drift.sources import Period, month_periods
from core.registry import services

DEFAULT_DAYS = 7


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{option} '{value}' is not a date; use YYYY-MM-DD.") from None


def periods(first: date | None, last: date | None, *, monthly: bool, today: date) -> list[Period]:
    """The periods to run: the given days (default: the 7 complete days before today), or their calendar months."""
    yesterday = today - timedelta(days=1)
    last = last or yesterday
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last > yesterday:
        raise InvalidInput(f"--to {last} is not a complete day yet; the last complete day is {yesterday}.")
    period = Period(first, last)
    return month_periods(period.first, period.last) if monthly else [period]


def _table(results: list[RunSummary]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model": r.model_name,
                "version": r.version,
                "period": r.period_key,
                "status": r.status,
                "drift share": "-" if r.drift_share is None else f"{r.drift_share:.0%}",
                "drifted": f"{r.n_drifted}/{r.n_computed}",
                "prediction drift": {True: "yes", False: "no", None: "-"}[r.prediction_drifted],
                "rows": r.current_rows,
                "drifted features": ", ".join(r.drifted_features),
                "run": r.outcome,
            }
            for r in results
        ]
    )


@app.command("drift")
def drift_command(
    model: str | None = typer.Option(None, "--model", help="Name of the model to check."),
    all_models: bool = typer.Option(False, "--all", help="Check every model that has a production version."),
    from_day: str | None = typer.Option(
        None, "--from", help="First day (YYYY-MM-DD, UTC). Default: 7 days ago."
    ),
    to_day: str | None = typer.Option(
        None, "--to", help="Last day, inclusive (YYYY-MM-DD, UTC). Default: yesterday."
    ),
    monthly: bool = typer.Option(False, "--monthly", help="One run per calendar month of the range."),
    force: bool = typer.Option(
        False, "--force", help="Recompute and replace runs already stored for these periods."
    ),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Compare production inputs and predictions with the training data, per model and period, and store the runs."""

    def body() -> None:
        if bool(model) == all_models:
            raise InvalidInput("give either --model NAME or --all.")
        wanted = periods(_day(from_day, "--from"), _day(to_day, "--to"), monthly=monthly, today=clock.today())
        eng = engine()
        who = actor(eng, as_email)
        with read_session(eng) as session:
            targets = (
                [saved_id(services.model_by_name(session, model))] if model else _production_models(session)
            )
        results: list[RunSummary] = []
        failed: list[VersionFailure] = []
        errors: list[str] = []
        for model_id in targets:
            for period in wanted:
                try:
                    done = run_model_drift(eng, actor=who, model_id=model_id, period=period, force=force)
                except StewardError as exc:
                    if not all_models:
                        raise
                    errors.append(f"model id {model_id}, {period.key}: {exc}")
                    continue
                results.extend(done.runs)
                failed.extend(done.failures)
        # One version whose data cannot be read is reported for that version; the runs of the
        # others are stored and printed all the same.
        if not all_models and len(failed) == 1 and not results:
            raise failed[0].error  # the model's only version: its error, as one line
        errors.extend(f.message for f in failed)
        if as_json:
            emit(
                {
                    "runs": [r.as_dict() for r in results],
                    "failed": [f.as_dict() for f in failed],
                    "errors": errors,
                },
                as_json=True,
            )
        elif results:
            emit(_table(results), as_json=False)
        for message in errors:
            typer.echo(f"Error: {message}", err=True)
        if errors:
            fail(f"{len(errors)} model(s) or version(s) could not be checked (see above).")

    run(body)


def _production_models(session) -> list[int]:
    return list(
        session.execute(
            select(col(Model.id))
            .join(ModelVersion, col(ModelVersion.model_id) == col(Model.id))
            .where(col(ModelVersion.stage) == "production")
            .order_by(col(Model.name))
        )
        .scalars()
        .all()
    )
