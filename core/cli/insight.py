"""Insight commands: lineage impact and trace back, cost forecasts and budgets, explanations.

steward lineage --downstream "Core banking DB" [--json] [--all]
steward lineage --upstream "Consumer loan origination" [--json]
steward lineage ingest events.jsonl                    # OpenLineage run events -> lineage
steward forecast --all [--horizon 12] [--json]          # cron: store fleet forecasts
steward forecast --model "Credit scoring" [--json]
steward set-budget --unit "Credit risk" --year 2026 --amount 250000 [--currency EUR]
steward explain --model "Credit scoring" --version 3    # precompute global explanations
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from core import clock
from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, fail, run
from core.config import get_settings
from core.costs import budgets
from core.costs.budgets import budget_statuses
from core.costs.fleet import run_fleet_forecast
from core.db.engine import read_session, write_session
from core.db.types import saved_id
from core.errors import InvalidInput, NotFound
from core.explain.loading import version_context
from core.explain.summaries import class_explanations, ensure_global_explanations, stored_explanations
from core.lineage import openlineage
from core.lineage.graph import build_graph, filtered
from core.lineage.impact import find_node, impact, trace_back
from core.registry.services import model_by_name, version_by_number

# --- lineage -----------------------------------------------------------------------------------


lineage_app = typer.Typer(
    help="Impact analysis (--downstream SOURCE), trace back (--upstream PROCESS), or `ingest` OpenLineage events.",
    invoke_without_command=True,
)
app.add_typer(lineage_app, name="lineage")


@lineage_app.callback()
def lineage(
    ctx: typer.Context,
    downstream: str = typer.Option(
        None, "--downstream", help="Data source (or dataset) name: what depends on it."
    ),
    upstream: str = typer.Option(None, "--upstream", help="Business process name: what it depends on."),
    include_all: bool = typer.Option(False, "--all", help="Include archived versions and ended deployments."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Impact analysis (--downstream SOURCE) or trace back (--upstream PROCESS)."""
    if ctx.invoked_subcommand is not None:
        return
    if bool(downstream) == bool(upstream):
        fail("give --downstream SOURCE or --upstream PROCESS (one of them).")

    def body() -> None:
        with read_session(engine()) as session:
            graph = build_graph(session)
        graph = graph if include_all else filtered(graph, live_only=True)
        if downstream:
            try:
                start = find_node(graph, "data_source", downstream)
            except NotFound:
                try:
                    start = find_node(graph, "dataset", downstream)
                except NotFound:
                    sources = ", ".join(n.label for n in graph.of_type("data_source")[:12]) or "none"
                    raise NotFound(
                        f"No data source or dataset named '{downstream}'. Data sources: {sources}."
                    ) from None
            reach = impact(graph, start.key)
        else:
            start = find_node(graph, "business_process", upstream)
            reach = trace_back(graph, start.key)
        _emit_reach(reach, as_json=as_json)

    run(body)


@lineage_app.command("ingest")
def lineage_ingest(
    file: Path = typer.Argument(..., help="OpenLineage run events, one JSON object per line."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Map OpenLineage run events (Airflow, Spark, dbt, Feast...) onto data sources, datasets and
    lineage edges; safe to run again on the same file (nothing changes)."""

    def body() -> None:
        found = openlineage.read_events(file, max_mb=get_settings().upload_max_mb)
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            report = openlineage.ingest(session, actor=who, events_=found, source_name=file.name)
        if as_json:
            emit(report.as_dict(), as_json=True)
            return
        emit(
            f"{report.events} event(s) read from {file.name}, {report.events_new} new: "
            f"{len(report.sources_created)} data source(s), {len(report.datasets_created)} dataset(s) and "
            f"{report.edges_created} edge(s) added"
            + ("" if report.changed else " (nothing changed: the file was ingested before)")
            + ".",
            as_json=False,
        )

    run(body)


def _emit_reach(reach: Any, *, as_json: bool) -> None:
    table = reach.table.drop(columns=["key"])
    if not as_json:
        emit(reach.sentence, as_json=False)
        emit(table, as_json=False)
        return
    groups: dict[str, list[dict[str, Any]]] = {}
    plurals = {
        "data_source": "data_sources",
        "dataset": "datasets",
        "feature": "features",
        "model_version": "model_versions",
        "deployment": "deployments",
        "business_process": "business_processes",
    }
    for node_type, plural in plurals.items():
        rows = reach.table[reach.table["key"].str.startswith(node_type + ":")]
        groups[plural] = [
            {
                "id": int(r["key"].split(":")[1]),
                "name": r["name"],
                "business_unit": r["business unit"],
                "detail": r["detail"],
                **({"health": r["health"]} if r["health"] else {}),
            }
            for _, r in rows.iterrows()
        ]
    emit(
        {
            "start": {"type": reach.start.type, "name": reach.start.label},
            "direction": "downstream" if reach.direction == "down" else "upstream",
            "sentence": reach.sentence,
            **groups,
        },
        as_json=True,
    )


# --- costs -------------------------------------------------------------------------------------


@app.command("forecast")
def forecast(
    all_models: bool = typer.Option(
        False, "--all", help="Every model, business unit and the fleet (for cron)."
    ),
    model: list[str] = typer.Option(None, "--model", help="Only this model (repeatable)."),
    horizon: int = typer.Option(12, "--horizon", help="Months ahead (1-24)."),
    as_email: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Forecast monthly costs with 90% intervals and backtest errors, and store them."""
    if all_models == bool(model):
        fail("give --all or --model NAME.")

    def body() -> None:
        eng = engine()
        result = run_fleet_forecast(
            eng,
            actor=actor(eng, as_email),
            horizon_months=horizon,
            model_names=None if all_models else list(model),
        )
        data = {
            "stored": result.stored,
            "skipped": result.skipped,
            "seconds": round(result.seconds, 2),
            "currency": result.currency,
        }
        if as_json:
            emit(data, as_json=True)
            return
        emit(f"Stored {result.stored} forecasts in {result.seconds:.1f} s.", as_json=False)
        for label, why in result.skipped.items():
            emit(f"Skipped {label}: {why}", as_json=False)

    run(body)


@app.command("set-budget")
def set_budget(
    unit: str = typer.Option(..., "--unit", help="Business unit."),
    amount: float = typer.Option(..., "--amount", help="Budget for the period."),
    year: int = typer.Option(None, "--year", help="Calendar year (default: this year)."),
    currency: str = typer.Option("EUR", "--currency"),
    note: str = typer.Option("", "--note"),
    as_email: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Set a business unit's cost budget for a calendar year (approver or admin)."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        chosen = year or clock.today().year
        if not 2000 <= chosen <= 2100:
            raise InvalidInput(f"year {chosen} is out of range.")
        with write_session(eng) as session:
            budget_id = budgets.set_budget(
                session,
                actor=who,
                business_unit=unit,
                period_start=date(chosen, 1, 1),
                period_end=date(chosen, 12, 31),
                amount=amount,
                currency=currency,
                note=note,
            )
        emit(
            {
                "id": budget_id,
                "business_unit": unit,
                "year": chosen,
                "amount": amount,
                "currency": currency.upper(),
            }
            if as_json
            else f"Budget of {unit} for {chosen}: {currency.upper()} {amount:,.0f}.",
            as_json=as_json,
        )

    run(body)


@app.command("budgets")
def budget_status(as_json: bool = JSON_OPTION) -> None:
    """Budgets per business unit: spent, projected, projected month of overrun."""

    def body() -> None:
        with read_session(engine()) as session:
            statuses = budget_statuses(session)
        rows = [
            {
                "business_unit": b.business_unit,
                "period_start": b.period_start,
                "period_end": b.period_end,
                "budget": b.amount,
                "currency": b.currency,
                "spent": round(b.spent, 2),
                "projected": None if b.projected is None else round(b.projected, 2),
                "overrun_month": b.overrun_month,
                "overrun_probability": b.overrun_probability,
            }
            for b in statuses
        ]
        if as_json:
            emit(rows, as_json=True)
            return
        for b in statuses:
            emit(b.sentence(), as_json=False)
        if not statuses:
            emit("No budgets set (steward set-budget).", as_json=False)

    run(body)


# --- explanations --------------------------------------------------------------------------------


@app.command("explain")
def explain(
    model: str = typer.Option(..., "--model", help="Model name."),
    version: int = typer.Option(..., "--version", help="Version number."),
    refresh_production: bool = typer.Option(
        True,
        "--refresh-production/--keep-production",
        help="Recompute the recent production window's explanation.",
    ),
    class_name: str | None = typer.Option(
        None, "--class", help="Multiclass classifiers: only this class (default: every class)."
    ),
    as_email: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Precompute and store a version's global explanation (validation sample, once) and that of
    its recent production window. A multiclass classifier is explained per class (every class, or
    --class NAME), over the same samples, and reported: per-class summaries are not stored (the
    Explanations page computes them when asked)."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with read_session(eng) as session:
            row = version_by_number(session, saved_id(model_by_name(session, model)), version)
            multiclass = bool(version_context(session, saved_id(row)).class_names)
        if multiclass:
            _explain_classes(eng, who, saved_id(row), model, version, class_name, as_json=as_json)
            return
        if class_name:
            raise InvalidInput(
                f"{model} v{version} is not a multiclass classifier; there is no class to choose."
            )
        outcome = ensure_global_explanations(
            eng,
            actor=who,
            version_id=saved_id(row),
            refresh_production=refresh_production,
        )
        with read_session(eng) as session:
            stored = stored_explanations(session, saved_id(row))
        data = {
            source: {
                "status": status,
                **(
                    {
                        "explainer": stored[source].method,
                        "space": stored[source].space,
                        "rows": stored[source].n_rows,
                        "seconds": stored[source].seconds,
                        "importance": stored[source].importance,
                    }
                    if source in stored
                    else {}
                ),
            }
            for source, status in outcome.items()
        }
        if as_json:
            emit(data, as_json=True)
            return
        for source, info in data.items():
            importance: dict[str, float] = info.get("importance", {})  # type: ignore[assignment]
            top = ", ".join(list(importance)[:3])
            emit(
                f"{model} v{version} {source}: {info['status']}"
                + (f" ({info['rows']} rows, top: {top})" if top else ""),
                as_json=False,
            )

    run(body)


def _explain_classes(
    eng: Any, who: Any, version_id: int, model: str, version: int, class_name: str | None, *, as_json: bool
) -> None:
    """`steward explain` for a multiclass classifier: global importance per class, named by class."""
    found = class_explanations(eng, actor=who, version_id=version_id, class_name=class_name)
    data = {
        name: {
            source: (
                {"status": "no predictions logged"}
                if summary is None
                else {
                    "status": "computed",
                    "explainer": summary.method,
                    "space": summary.space,
                    "rows": summary.n_rows,
                    "seconds": round(summary.seconds, 4),
                    "importance": {f: round(v, 10) for f, v in summary.importance.items()},
                }
            )
            for source, summary in sources.items()
        }
        for name, sources in found.items()
    }
    if as_json:
        emit({"model": model, "version": version, "stored": False, "classes": data}, as_json=True)
        return
    emit(
        f"{model} v{version} is a multiclass classifier: explained per class (not stored; the Explanations "
        "page computes a class when asked).",
        as_json=False,
    )
    for name, sources in data.items():
        for source, info in sources.items():
            importance: dict[str, float] = info.get("importance", {})  # type: ignore[assignment]
            top = ", ".join(list(importance)[:3])
            emit(
                f"{model} v{version} {source}, class {name}: {info['status']}"
                + (f" ({info['rows']} rows, top: {top})" if top else ""),
                as_json=False,
            )
