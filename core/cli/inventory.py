"""Keeping the inventory true: the same services as the forms of the Owners, Model and Lineage
pages. Names follow the registry commands (verb-noun: register-model, add-person, mark-left).

steward update-model "Credit scoring" --purpose "..." --kpi "..." --reason "annual review"
steward retire-model "Credit scoring" --reason "replaced by Credit scoring 2"
steward assign-owner "Credit scoring" --person anna@bank.example --role business_owner --reason "..."
steward remove-owner "Credit scoring" --person tom@bank.example --role backup --reason "..."
steward hand-over --from tom@bank.example --to anna@bank.example [--model M] [--role R] --reason "..."
steward revise-card "Credit scoring" --version 3 --limitations "..." --reason "validation findings"
steward card-history "Credit scoring" --version 3
steward add-source "Core banking" --kind database --location "db://core" --owner-team "IT core"
steward update-source "Core banking" --location "db://core2"
steward add-process "Loan origination" --unit "Credit risk" --kpi "approval rate"
steward update-process "Loan origination" --kpi "time to decision"
steward add-feature --dataset applications@2024-06 --name income --dtype float
steward add-deployment "Credit scoring" --version 3 --environment production --endpoint https://...
steward deployments "Credit scoring"
steward end-deployment 12 [--on 2026-11-30]
steward link-lineage --from "data_source:Core banking" --to "dataset:applications@2024-06"
"""

from __future__ import annotations

from datetime import date
from typing import Any

import typer

from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.db.engine import read_session, write_session
from core.db.models.registry import OWNERSHIP_ROLES
from core.db.types import saved_id
from core.errors import InvalidInput
from core.registry import services, stewardship
from core.registry import stewardship_reads as find
from core.registry.stewardship import effective_time

REASON = typer.Option(..., "--reason", help="Why (kept in the audit log with before and after).")


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} '{value}' is not a date; use YYYY-MM-DD.") from None


def _given(**options: str | None) -> dict[str, Any]:
    """Only the options the user gave (None means: leave as it is)."""
    return {k: v for k, v in options.items() if v is not None}


def _write(fn: Any, message: Any, *, as_email: str | None, as_json: bool = False) -> None:
    """Run ``fn(session, who)`` in one write transaction as the token's person; print ``message(result)``."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            result = fn(session, who)
        text = message(result)
        emit({"ok": True, "message": text, "result": result} if as_json else text, as_json=as_json)

    run(body)


# --- models ----------------------------------------------------------------------------------------


@app.command("update-model")
def update_model_command(
    model: str = typer.Argument(..., help="Model name."),
    purpose: str | None = typer.Option(None, "--purpose"),
    intended_use: str | None = typer.Option(None, "--intended-use"),
    out_of_scope: str | None = typer.Option(None, "--out-of-scope"),
    kpi: str | None = typer.Option(None, "--kpi", help="The business KPI it moves."),
    methodology: str | None = typer.Option(None, "--methodology"),
    target: str | None = typer.Option(None, "--target", help="What the model predicts, in words."),
    status: str | None = typer.Option(
        None, "--status", help="development, validation or production (retire with retire-model)."
    ),
    process: str | None = typer.Option(None, "--process", help="Business process it serves (by name)."),
    reason: str = REASON,
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Change a model's metadata (model owners of its business unit, admins)."""

    def change(session: Any, who: Any) -> dict[str, Any]:
        if status == "retired":
            raise InvalidInput("retire a model with `steward retire-model MODEL --reason ...`.")
        row = services.model_by_name(session, model)
        changes = _given(
            purpose=purpose,
            intended_use=intended_use,
            out_of_scope_uses=out_of_scope,
            kpi=kpi,
            methodology=methodology,
            target=target,
            status=status,
        )
        if process is not None:
            changes["business_process_id"] = (
                saved_id(find.process_by_name(session, process)) if process else None
            )
        if not changes:
            raise InvalidInput("give at least one field to change (see `steward update-model --help`).")
        services.update_model(session, actor=who, model_id=saved_id(row), reason=reason, **changes)
        return {"model": row.name, "changed": sorted(changes)}

    _write(
        change,
        lambda r: f"Updated {', '.join(r['changed'])} of '{r['model']}'.",
        as_email=as_email,
        as_json=as_json,
    )


@app.command("retire-model")
def retire_model_command(
    model: str = typer.Argument(..., help="Model name."),
    reason: str = REASON,
    on: str | None = typer.Option(None, "--on", help="YYYY-MM-DD (default now)."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Retire a model: status retired, its open deployments ended (its versions keep their stages)."""

    def change(session: Any, who: Any) -> int:
        row = services.model_by_name(session, model)
        return stewardship.retire_model(
            session, actor=who, model_id=saved_id(row), reason=reason, at=effective_time(_day(on, "--on"))
        )

    _write(change, lambda n: f"Retired '{model.strip()}'; {n} open deployment(s) ended.", as_email=as_email)


# --- owners ----------------------------------------------------------------------------------------

ROLE_HELP = ", ".join(OWNERSHIP_ROLES)


@app.command("assign-owner")
def assign_owner_command(
    model: str = typer.Argument(..., help="Model name."),
    email: str = typer.Option(..., "--person", help="Email of the person."),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    reason: str = REASON,
    since: str | None = typer.Option(None, "--since", help="YYYY-MM-DD the role starts (default now)."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Name an owner of a model; a new business or technical owner replaces the previous one."""

    def change(session: Any, who: Any) -> str:
        row = services.model_by_name(session, model)
        person = find.person_by_email(session, email)
        services.assign_owner(
            session,
            actor=who,
            model_id=saved_id(row),
            person_id=saved_id(person),
            role=role,
            since=effective_time(_day(since, "--since")),
            reason=reason,
        )
        return f"{person.name} is now {role.replace('_', ' ')} of '{row.name}'."

    _write(change, lambda text: text, as_email=as_email)


@app.command("remove-owner")
def remove_owner_command(
    model: str = typer.Argument(..., help="Model name."),
    email: str = typer.Option(..., "--person", help="Email of the person."),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    reason: str = REASON,
    on: str | None = typer.Option(None, "--on", help="YYYY-MM-DD the role ends (default now)."),
    as_email: str | None = AS_OPTION,
) -> None:
    """End a person's owner role of a model (kept as a former owner)."""

    def change(session: Any, who: Any) -> str:
        row = services.model_by_name(session, model)
        person = find.person_by_email(session, email)
        services.remove_owner(
            session,
            actor=who,
            model_id=saved_id(row),
            person_id=saved_id(person),
            role=role,
            reason=reason,
            until=effective_time(_day(on, "--on")),
        )
        return f"{person.name} is no longer {role.replace('_', ' ')} of '{row.name}'."

    _write(change, lambda text: text, as_email=as_email)


@app.command("hand-over")
def hand_over_command(
    from_email: str = typer.Option(..., "--from", help="Email of the person handing over."),
    to_email: str = typer.Option(..., "--to", help="Email of the person taking over."),
    reason: str = REASON,
    model: str | None = typer.Option(None, "--model", help="Only this model's roles."),
    role: str | None = typer.Option(None, "--role", help=f"Only this role: {ROLE_HELP}."),
    on: str | None = typer.Option(None, "--on", help="YYYY-MM-DD the hand-over takes effect (default now)."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Hand a person's owner roles (all, one model's or one role) to someone else."""

    def change(session: Any, who: Any) -> str:
        giver = find.person_by_email(session, from_email)
        taker = find.person_by_email(session, to_email)
        model_id = saved_id(services.model_by_name(session, model)) if model else None
        count = stewardship.hand_over(
            session,
            actor=who,
            from_person_id=saved_id(giver),
            to_person_id=saved_id(taker),
            reason=reason,
            model_id=model_id,
            role=role,
            effective=effective_time(_day(on, "--on")),
        )
        return f"Handed {count} owner role(s) from {giver.name} to {taker.name}."

    _write(change, lambda text: text, as_email=as_email)


# --- model cards -----------------------------------------------------------------------------------


@app.command("revise-card")
def revise_card_command(
    model: str = typer.Argument(..., help="Model name."),
    version: int = typer.Option(..., "--version", help="Version number."),
    training_data: str | None = typer.Option(None, "--training-data"),
    evaluation: str | None = typer.Option(None, "--evaluation"),
    limitations: str | None = typer.Option(None, "--limitations"),
    ethical: str | None = typer.Option(None, "--ethical-considerations"),
    caveats: str | None = typer.Option(None, "--caveats"),
    reason: str = REASON,
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a new revision of a version's model card (sections not given are carried over)."""

    def change(session: Any, who: Any) -> dict[str, Any]:
        row = services.model_by_name(session, model)
        target = services.version_by_number(session, saved_id(row), version)
        sections = _given(
            card_training_data=training_data,
            card_evaluation=evaluation,
            card_limitations=limitations,
            card_ethical_considerations=ethical,
            card_caveats=caveats,
        )
        if not sections:
            raise InvalidInput("give at least one section (see `steward revise-card --help`).")
        number = services.update_model_card(
            session, actor=who, version_id=saved_id(target), reason=reason, **sections
        )
        return {"model": row.name, "version": version, "revision": number}

    _write(
        change,
        lambda r: f"Model card of '{r['model']}' v{r['version']}: revision {r['revision']} written.",
        as_email=as_email,
        as_json=as_json,
    )


@app.command("card-history")
def card_history_command(
    model: str = typer.Argument(..., help="Model name."),
    version: int = typer.Option(..., "--version", help="Version number."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Every revision of a version's model card, newest first."""

    def body() -> None:
        with read_session(engine()) as session:
            row = services.model_by_name(session, model)
            target = services.version_by_number(session, saved_id(row), version)
            frame = find.card_revisions(session, saved_id(target))
        emit(frame, as_json=as_json, table=frame[["revision", "written_at", "written_by", "reason"]])

    run(body)


# --- data sources, processes, features -------------------------------------------------------------


@app.command("add-source")
def add_source_command(
    name: str = typer.Argument(..., help="Unique data source name."),
    kind: str = typer.Option("database", "--kind", help="database, api, file, stream ..."),
    location: str = typer.Option("", "--location", help="Where it lives (connection, URL, path)."),
    owner_team: str = typer.Option("", "--owner-team", help="The team that runs it."),
    description: str = typer.Option("", "--description"),
    as_email: str | None = AS_OPTION,
) -> None:
    """Record a data source that datasets are extracted from."""

    def change(session: Any, who: Any) -> int:
        return services.create_data_source(
            session,
            actor=who,
            name=name,
            kind=kind,
            location=location,
            owner_team=owner_team,
            description=description,
        )

    _write(change, lambda i: f"Added data source '{name.strip()}' (id {i}).", as_email=as_email)


@app.command("update-source")
def update_source_command(
    name: str = typer.Argument(..., help="Data source name."),
    kind: str | None = typer.Option(None, "--kind"),
    location: str | None = typer.Option(None, "--location"),
    owner_team: str | None = typer.Option(None, "--owner-team"),
    description: str | None = typer.Option(None, "--description"),
    as_email: str | None = AS_OPTION,
) -> None:
    """Change a data source's kind, location, owner team or description."""

    def change(session: Any, who: Any) -> None:
        row = find.source_by_name(session, name)
        changes = _given(kind=kind, location=location, owner_team=owner_team, description=description)
        if not changes:
            raise InvalidInput("give at least one field to change (see `steward update-source --help`).")
        stewardship.update_data_source(session, actor=who, source_id=saved_id(row), **changes)

    _write(change, lambda _: f"Updated data source '{name.strip()}'.", as_email=as_email)


@app.command("add-process")
def add_process_command(
    name: str = typer.Argument(..., help="Unique business process name."),
    unit: str = typer.Option(..., "--unit", help="Business unit that runs the process."),
    description: str = typer.Option("", "--description"),
    kpi: str = typer.Option("", "--kpi", help="The KPI the process is steered on."),
    kpi_unit: str = typer.Option("", "--kpi-unit", help="e.g. %, EUR, days."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Record a business process that models serve."""

    def change(session: Any, who: Any) -> int:
        return services.create_business_process(
            session,
            actor=who,
            name=name,
            business_unit=unit,
            description=description,
            kpi=kpi,
            kpi_unit=kpi_unit,
        )

    _write(change, lambda i: f"Added business process '{name.strip()}' (id {i}).", as_email=as_email)


@app.command("update-process")
def update_process_command(
    name: str = typer.Argument(..., help="Business process name."),
    description: str | None = typer.Option(None, "--description"),
    kpi: str | None = typer.Option(None, "--kpi"),
    kpi_unit: str | None = typer.Option(None, "--kpi-unit"),
    as_email: str | None = AS_OPTION,
) -> None:
    """Change a business process's description, KPI or KPI unit."""

    def change(session: Any, who: Any) -> None:
        row = find.process_by_name(session, name)
        changes = _given(description=description, kpi=kpi, kpi_unit=kpi_unit)
        if not changes:
            raise InvalidInput("give at least one field to change (see `steward update-process --help`).")
        stewardship.update_business_process(session, actor=who, process_id=saved_id(row), **changes)

    _write(change, lambda _: f"Updated business process '{name.strip()}'.", as_email=as_email)


@app.command("add-feature")
def add_feature_command(
    dataset: str = typer.Option(..., "--dataset", help="NAME@VERSION of the dataset that provides it."),
    name: str = typer.Option(..., "--name", help="Feature (column) name."),
    dtype: str = typer.Option("", "--dtype", help="e.g. float, int, category."),
    description: str = typer.Option("", "--description"),
    as_email: str | None = AS_OPTION,
) -> None:
    """Record a feature a dataset provides (lineage dataset -> feature)."""

    def change(session: Any, who: Any) -> int:
        row = find.dataset_by_ref(session, dataset)
        return stewardship.create_feature(
            session, actor=who, dataset_id=saved_id(row), name=name, dtype=dtype, description=description
        )

    _write(change, lambda i: f"Added feature '{name.strip()}' (id {i}).", as_email=as_email)


# --- deployments and lineage -----------------------------------------------------------------------


@app.command("add-deployment")
def add_deployment_command(
    model: str = typer.Argument(..., help="Model name."),
    version: int = typer.Option(..., "--version", help="Version number."),
    environment: str = typer.Option(..., "--environment", help="production, staging, batch ..."),
    endpoint: str = typer.Option("", "--endpoint", help="URL, job or queue it serves from."),
    process: str | None = typer.Option(None, "--process", help="Business process it serves (by name)."),
    since: str | None = typer.Option(None, "--since", help="YYYY-MM-DD it started (default now)."),
    until: str | None = typer.Option(None, "--until", help="YYYY-MM-DD it ended, for a past deployment."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Record where a version runs."""

    def change(session: Any, who: Any) -> int:
        row = services.model_by_name(session, model)
        target = services.version_by_number(session, saved_id(row), version)
        process_id = saved_id(find.process_by_name(session, process)) if process else None
        start, end = _day(since, "--since"), _day(until, "--until")
        return stewardship.add_deployment(
            session,
            actor=who,
            version_id=saved_id(target),
            environment=environment,
            endpoint=endpoint,
            business_process_id=process_id,
            since=effective_time(start),
            until=effective_time(end) if end is not None else None,
        )

    _write(change, lambda i: f"Recorded deployment {i} of '{model.strip()}' v{version}.", as_email=as_email)


@app.command("deployments")
def deployments_command(
    model: str = typer.Argument(..., help="Model name."), as_json: bool = JSON_OPTION
) -> None:
    """A model's deployments (open first), with the ids end-deployment takes."""

    def body() -> None:
        with read_session(engine()) as session:
            row = services.model_by_name(session, model)
            frame = find.deployments_of(session, saved_id(row))
        emit(frame, as_json=as_json)

    run(body)


@app.command("end-deployment")
def end_deployment_command(
    deployment_id: int = typer.Argument(..., help="Deployment id (`steward deployments MODEL`)."),
    on: str | None = typer.Option(None, "--on", help="YYYY-MM-DD it ended (default now)."),
    as_email: str | None = AS_OPTION,
) -> None:
    """End a deployment: the version no longer runs there."""

    def change(session: Any, who: Any) -> None:
        stewardship.end_deployment(
            session, actor=who, deployment_id=deployment_id, until=effective_time(_day(on, "--on"))
        )

    _write(change, lambda _: f"Deployment {deployment_id} ended.", as_email=as_email)


@app.command("link-lineage")
def link_lineage_command(
    source: str = typer.Option(..., "--from", help="TYPE:REFERENCE, e.g. 'data_source:Core banking'."),
    target: str = typer.Option(..., "--to", help="TYPE:REFERENCE, e.g. 'dataset:applications@2024-06'."),
    relation: str = typer.Option(
        "feeds", "--relation", help="How they relate, e.g. feeds, extracts, serves."
    ),
    as_email: str | None = AS_OPTION,
) -> None:
    """Draw a lineage link between two recorded objects. References: data_source:NAME,
    dataset:NAME@VERSION, feature:FEATURE@DATASET@VERSION, model_version:MODEL@N,
    deployment:ID, business_process:NAME."""

    def change(session: Any, who: Any) -> None:
        src_type, src_id = find.node_by_ref(session, source)
        dst_type, dst_id = find.node_by_ref(session, target)
        stewardship.link_lineage(
            session,
            actor=who,
            src_type=src_type,
            src_id=src_id,
            dst_type=dst_type,
            dst_id=dst_id,
            relation=relation,
        )

    _write(change, lambda _: f"Linked {source.strip()} -> {target.strip()}.", as_email=as_email)
