"""`steward segments MODEL` and `steward attach-attributes FILE --model MODEL`: performance and
outcome rates per segment with their intervals, group disparities and findings; and sensitive
attributes attached to logged requests from a join file keyed by request id."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import typer

from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.config import get_settings
from core.db.engine import read_session, write_session
from core.db.types import saved_id
from core.monitoring import segments
from core.registry import attributes, services
from core.registry.files import read_table


@app.command("segments")
def segments_command(
    model: str = typer.Argument(..., help="Name of the model."),
    version: int | None = typer.Option(
        None, "--version", help="Version number (default: the production version)."
    ),
    segment: str | None = typer.Option(
        None, "--segment", help="Only this segment (a categorical input or sensitive attribute)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Performance and outcome rates per segment (categorical features and sensitive attributes)
    over the last 90 days of labels, with 95% intervals, disparities and findings; a multiclass
    classifier's per class, by class name."""

    def body() -> None:
        with read_session(engine()) as session:
            row = services.model_by_name(session, model)
            version_id = services.version_by_number(session, saved_id(row), version).id if version else None
            report = segments.segment_report(
                session, model_id=saved_id(row), version_id=version_id, segment=segment
            )
        if as_json:
            emit(report.as_dict(), as_json=True)
            return
        typer.echo(
            f"{report.model_name} v{report.version}: {report.n_labelled:,} labelled predictions from "
            f"{report.start:%Y-%m-%d} to {report.end:%Y-%m-%d}; groups under "
            f"{report.thresholds.min_group_size} cases show 'too few cases'."
        )
        emit(None, as_json=False, table=_groups_table(report))
        if not report.disparities.empty:
            typer.echo("")
            emit(
                None,
                as_json=False,
                table=report.disparities[
                    [
                        "segment",
                        "measure",
                        *(["class"] if report.classes else []),
                        "value",
                        "lower",
                        "upper",
                        "level",
                    ]
                ]
                .round(3)
                .fillna({"class": "-"}),
            )
        for finding in report.findings:
            typer.echo(f"{finding.level.upper()} ({finding.kind}): {finding.message}")

    run(body)


def _groups_table(report: segments.SegmentReport) -> pd.DataFrame:
    metric = {"binary_classification": "error_rate", "multiclass_classification": "accuracy"}.get(
        report.task, "mae"
    )
    rows = report.groups[report.groups["metric"] == metric]
    return pd.DataFrame(
        {
            "segment": rows["segment"],
            "group": rows["group"],
            "n": rows["n"],
            segments.RATE_LABELS[metric].lower(): [
                f"{v:.3f} ({lo:.3f}-{hi:.3f})"
                if ok and not math.isnan(v)
                else ("too few cases" if not ok else "-")
                for v, lo, hi, ok in zip(
                    rows["value"], rows["lower"], rows["upper"], rows["enough"], strict=True
                )
            ],
        }
    )


@app.command("attach-attributes")
def attach_attributes_command(
    file: Path = typer.Argument(
        ..., help="CSV or Parquet: request_id and one column per sensitive attribute."
    ),
    model: str = typer.Option(..., "--model", help="Name of the model whose logged requests they describe."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Attach sensitive attributes (e.g. age band) to a model's logged requests, by request id
    (all rows or none); they are measured as segments, and need not be model inputs."""

    def body() -> None:
        frame = read_table(file, max_mb=get_settings().upload_max_mb)
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            row = services.model_by_name(session, model)
            result = attributes.attach_attributes(session, actor=who, model_id=saved_id(row), frame=frame)
        emit(
            result
            if as_json
            else f"Attached {', '.join(result['attributes'])} to {result['rows']:,} requests of '{result['model']}' "
            f"({result['replaced']:,} values replaced).",
            as_json=as_json,
        )

    run(body)
