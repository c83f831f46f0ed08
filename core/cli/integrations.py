"""`steward import-mlflow`: take MLflow's registry into Steward."""

from __future__ import annotations

import typer

from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.integrations.mlflow_import import import_mlflow


@app.command("import-mlflow")
def import_mlflow_command(
    tracking_uri: str = typer.Option(
        ...,
        "--tracking-uri",
        help="MLflow tracking URI: sqlite:///mlflow.db, postgresql://…, http://mlflow:5000 or "
        "file:///path/mlruns. Read only: the store is never written or migrated.",
    ),
    model: str | None = typer.Option(None, "--model", help="Import only this registered model."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Import registered models, versions (MLflow's numbers), runs, logged models, datasets and
    artifact hashes from MLflow. Idempotent: the same store through any URI is one store."""

    def body() -> None:
        eng = engine()
        report = import_mlflow(eng, actor=actor(eng, as_email), tracking_uri=tracking_uri, model_name=model)
        if as_json:
            emit(report.as_dict(), as_json=True)
            return
        typer.echo(report.summary())
        typer.echo(f"  store: {report.store} ({report.schema})")
        for line in report.versions_skipped:
            typer.echo(f"  not imported: {line}")
        for line in report.stages_set:
            typer.echo(f"  stage: {line}")
        for line in report.not_mapped:
            typer.echo(f"  not mapped: {line}")

    run(body)
