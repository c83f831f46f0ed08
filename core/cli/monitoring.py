"""`steward health`, `steward campaign ...`, `steward performance`, `steward thresholds ...`:
health and alerts for cron, labelling campaigns, realised performance and alert thresholds."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import pandas as pd
import typer

from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.db.engine import read_session, write_session
from core.db.types import saved_id
from core.errors import InvalidInput
from core.monitoring import alerts, estimation, labelling, performance, thresholds
from core.registry import services

campaign_app = typer.Typer(
    help="Labelling campaigns: samples of production predictions for domain experts.", no_args_is_help=True
)
thresholds_app = typer.Typer(
    help="Per-model alert thresholds (versioned; defaults until set).", no_args_is_help=True
)
app.add_typer(campaign_app, name="campaign")
app.add_typer(thresholds_app, name="thresholds")

MODEL_OPTION = typer.Option(..., "--model", help="Name of the model.")


def _model_id(eng: Any, name: str) -> int:
    with read_session(eng) as session:
        return saved_id(services.model_by_name(session, name))


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{option} '{value}' is not a date; use YYYY-MM-DD.") from None


@app.command("health")
def health_command(as_json: bool = JSON_OPTION, as_email: str | None = AS_OPTION) -> None:
    """Recompute alerts and health of every model (run it from cron, e.g. hourly)."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            results = alerts.evaluate_health(session, actor=who)
        if as_json:
            emit(
                [
                    {
                        "model": r.model_name,
                        "model_id": r.model_id,
                        "status": r.status,
                        "was": r.previous_status,
                        "reasons": r.reasons,
                    }
                    for r in results
                ],
                as_json=True,
            )
            return
        rows = [
            {
                "model": r.model_name,
                "status": r.status,
                "was": r.previous_status,
                "reasons": "; ".join(f"{x['level']}: {x['message']}" for x in r.reasons),
            }
            for r in results
        ]
        emit(None, as_json=False, table=pd.DataFrame(rows, columns=["model", "status", "was", "reasons"]))

    run(body)


@campaign_app.command("create")
def campaign_create_command(
    model: str = MODEL_OPTION,
    size: int = typer.Option(..., "--size", help="How many predictions to sample."),
    strategy: str = typer.Option(
        "random", "--strategy", help="random, stratified, uncertainty or disagreement."
    ),
    segment: str = typer.Option(
        "", "--segment", help="stratified: feature to stratify by (default: the predicted class)."
    ),
    labels_per_item: int = typer.Option(
        1, "--labels-per-item", help="How many labellers label each case (1-3)."
    ),
    show_prediction: bool = typer.Option(
        False, "--show-prediction", help="Show the model's answer to labellers (hidden by default)."
    ),
    name: str = typer.Option("", "--name", help="Campaign name (default: model, version and strategy)."),
    instructions: str = typer.Option("", "--instructions", help="What labellers should judge, in words."),
    period_from: str | None = typer.Option(
        None, "--from", help="Only predictions logged on or after this day (YYYY-MM-DD)."
    ),
    period_to: str | None = typer.Option(
        None, "--to", help="Only predictions logged on or before this day (YYYY-MM-DD)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed, for a reproducible sample."),
    as_json: bool = JSON_OPTION,
    as_email: str | None = AS_OPTION,
) -> None:
    """Sample production predictions of a model into a new labelling campaign."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        model_id = _model_id(eng, model)
        with write_session(eng) as session:
            created = labelling.create_campaign(
                session,
                actor=who,
                model_id=model_id,
                size=size,
                strategy=strategy,
                name=name,
                labels_per_item=labels_per_item,
                hide_prediction=not show_prediction,
                segment_feature=segment,
                period_from=_day(period_from, "--from"),
                period_to=_day(period_to, "--to"),
                instructions=instructions,
                seed=seed,
            )
        data = {
            "campaign_id": created.campaign_id,
            "size": created.size,
            "size_requested": created.size_requested,
            "note": created.note,
        }
        text = f"Campaign {created.campaign_id} created with {created.size} cases." + (
            f" {created.note}" if created.note else ""
        )
        emit(data if as_json else text, as_json=as_json)

    run(body)


@campaign_app.command("list")
def campaign_list_command(
    model: str | None = typer.Option(None, "--model", help="Only this model's campaigns."),
    status: str | None = typer.Option(None, "--status", help="open or closed."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Labelling campaigns with their progress."""

    def body() -> None:
        eng = engine()
        model_id = _model_id(eng, model) if model else None
        with read_session(eng) as session:
            frame = labelling.list_campaigns(session, model_id=model_id, status=status)
        shown = frame[
            ["id", "name", "model", "version", "strategy", "size", "items_done", "labels_per_item", "status"]
        ]
        emit(frame.drop(columns=["model_id"]) if as_json else None, as_json=as_json, table=shown)

    run(body)


@campaign_app.command("close")
def campaign_close_command(
    campaign_id: int = typer.Argument(..., help="Id of the campaign."),
    reason: str = typer.Option("", "--reason", help="Why it is closed."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Close a campaign: labellers no longer get its cases."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            labelling.close_campaign(session, actor=who, campaign_id=campaign_id, reason=reason)
        emit(f"Campaign {campaign_id} closed.", as_json=False)

    run(body)


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


@app.command("performance")
def performance_command(
    model: str = MODEL_OPTION,
    version: int | None = typer.Option(
        None, "--version", help="Version number (default: the production version)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Realised performance per month from labels, with 95% intervals, beside validation; for
    classifiers with calibrated scores, the estimate from scores alone (CBPE) and its error."""

    def body() -> None:
        eng = engine()
        model_id = _model_id(eng, model)
        with read_session(eng) as session:
            version_id = services.version_by_number(session, model_id, version).id if version else None
            report = performance.performance_report(session, model_id=model_id, version_id=version_id)
            estimated = estimation.estimate_report(session, model_id=model_id, version_id=report.version_id)
        if as_json:
            emit(
                {
                    "model": report.model_name,
                    "version": report.version,
                    "validation": report.validation,
                    "labelled": report.n_labelled,
                    "from_campaigns": report.n_from_campaigns,
                    "from_pipelines": report.n_from_pipelines,
                    "months": [
                        {k: _clean(v) for k, v in row.items()}
                        for row in report.table.to_dict(orient="records")
                    ],
                    "verdicts": [v.__dict__ for v in report.verdicts],
                    "estimated": _estimate_json(estimated),
                }
                | (_multiclass_json(report) if report.classes else {}),
                as_json=True,
            )
            return
        typer.echo(
            f"{report.model_name} v{report.version}: {report.n_labelled} labelled predictions "
            f"({report.n_from_campaigns} from campaigns, {report.n_from_pipelines} from pipelines)."
        )
        table = report.table.assign(
            interval=[
                f"{lo:.3f}-{hi:.3f}" if not math.isnan(lo) else "-"
                for lo, hi in zip(report.table["lower"], report.table["upper"], strict=True)
            ],
        )[["month", "metric", "value", "interval", "n", "validation", "limit"]]
        emit(None, as_json=False, table=table.round(3))
        for verdict in report.verdicts:
            typer.echo(f"{verdict.level.upper()}: {verdict.message}")
        if report.classes:
            typer.echo("Per class, over every labelled prediction:")
            emit(None, as_json=False, table=report.per_class.round(3))
            typer.echo("Confusion matrix (rows: actual class, columns: predicted class):")
            emit(None, as_json=False, table=report.confusion.reset_index())
        if estimated.applies:
            typer.echo(f"Estimated from scores alone (CBPE). {estimated.note}")
            wide = estimated.table.pivot(index="month", columns="metric", values="estimated")
            emit(None, as_json=False, table=wide[["accuracy", "roc_auc"]].round(3).reset_index())
            for line in estimation.error_text(estimated.errors):
                typer.echo(f"Estimate error: {line}")
            for warning in estimated.warnings:
                typer.echo(f"WARNING: {warning}")

    run(body)


def _multiclass_json(report: performance.PerformanceReport) -> dict[str, Any]:
    """A multiclass classifier's classes, per-class precision and recall, and confusion counts."""
    return {
        "classes": report.classes,
        "per_class": [
            {k: _clean(v) for k, v in row.items()} for row in report.per_class.to_dict(orient="records")
        ],
        "confusion_matrix": {
            "actual": report.classes,
            "predicted": report.classes,
            "counts": report.confusion.to_numpy().astype(int).tolist(),
        },
    }


def _estimate_json(report: estimation.EstimateReport) -> dict[str, Any]:
    calibration = report.calibration
    return {
        "applies": report.applies,
        "note": report.note,
        "reference_period": report.reference_period,
        "calibration": None
        if calibration is None
        else {
            "ece": calibration.ece,
            "z": calibration.z,
            "p_value": calibration.p_value,
            "n": calibration.n,
            "holds": calibration.holds,
        },
        "warnings": report.warnings,
        # pandas' own JSON keeps numbers numbers (numpy ints, bools) and writes NaN as null
        "months": json.loads(report.table.to_json(orient="records")),
        "error": json.loads(report.errors.to_json(orient="records")),
    }


@thresholds_app.command("show")
def thresholds_show_command(model: str = MODEL_OPTION, as_json: bool = JSON_OPTION) -> None:
    """The alert thresholds in force for a model, and their history."""

    def body() -> None:
        eng = engine()
        model_id = _model_id(eng, model)
        with read_session(eng) as session:
            current = thresholds.current_thresholds(session, model_id=model_id)
        emit(
            current.__dict__ | {"is_default": current.is_default},
            as_json=as_json,
            table=pd.DataFrame([current.__dict__]).drop(columns=["model_id"]),
        )

    run(body)


@thresholds_app.command("set")
def thresholds_set_command(
    model: str = MODEL_OPTION,
    reason: str = typer.Option(..., "--reason", help="Why the thresholds change."),
    drift_share: float | None = typer.Option(
        None, "--drift-share", help="Alert when this share of features drifts (0-1)."
    ),
    performance_drop: float | None = typer.Option(
        None,
        "--performance-drop",
        help="Allowed drop below validation (absolute for scores, relative for MAE/RMSE).",
    ),
    outage_days: int | None = typer.Option(
        None, "--outage-days", help="Alert after this many days without predictions."
    ),
    min_label_coverage: float | None = typer.Option(
        None, "--min-label-coverage", help="Warn below this labelled share (0-1)."
    ),
    min_group_size: int | None = typer.Option(
        None, "--min-group-size", help="Segments with fewer labelled cases show 'too few cases'."
    ),
    segment_gap: float | None = typer.Option(
        None, "--segment-gap", help="Alert when a segment's error rate exceeds the rest's by this much (0-1)."
    ),
    disparity_limit: float | None = typer.Option(
        None,
        "--disparity-limit",
        help="Alert when a sensitive attribute's parity or equalised-odds difference exceeds this (0-1).",
    ),
    as_json: bool = JSON_OPTION,
    as_email: str | None = AS_OPTION,
) -> None:
    """Store a new version of a model's alert thresholds (unset values carry over)."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        model_id = _model_id(eng, model)
        with write_session(eng) as session:
            new = thresholds.set_thresholds(
                session,
                actor=who,
                model_id=model_id,
                reason=reason,
                drift_share=drift_share,
                performance_drop=performance_drop,
                outage_days=outage_days,
                min_label_coverage=min_label_coverage,
                min_group_size=min_group_size,
                segment_gap=segment_gap,
                disparity_limit=disparity_limit,
            )
        emit(
            new.__dict__ if as_json else f"Thresholds of {model} are now version {new.version}.",
            as_json=as_json,
        )

    run(body)
