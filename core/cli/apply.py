"""Governance as code: `steward apply FILE.yaml` makes the registry say what a model's governance
file says (metadata, owners, model card, datasets, sources, features, processes, deployments,
lineage), through the same services as the forms, as the token's person, in one transaction.

steward apply governance.yaml --dry-run     # the changes it would make; writes nothing
steward apply governance.yaml               # make them (a second run changes nothing)
steward apply --schema                      # the file's JSON Schema
"""

from __future__ import annotations

from pathlib import Path

import typer

from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.db.engine import read_session, write_session
from core.errors import InvalidInput
from core.registry import apply_schema
from core.registry.apply import execute, plan, removed_on_failure


@app.command("apply")
def apply_command(
    file: Path | None = typer.Argument(None, help="The model's governance file (YAML)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the changes without making them."),
    schema: bool = typer.Option(False, "--schema", help="Print the file's JSON Schema and stop."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Make the registry say what a model's governance file says: only what differs is changed,
    each change role-checked and audited as you; any refusal changes nothing."""

    def body() -> None:
        if schema:
            typer.echo(apply_schema.schema_text(), nl=False)
            return
        if file is None:
            raise InvalidInput("give the FILE to apply (or --schema for its JSON Schema).")
        doc = apply_schema.load_file(file)
        eng = engine()
        if dry_run:
            with read_session(eng) as session:
                planned = plan(session, doc)
            result = {**planned.as_dict(), "dry_run": True, "applied": 0}
            emit(result if as_json else planned.text(), as_json=as_json)
            return
        who = actor(eng, as_email)
        with removed_on_failure() as stored, write_session(eng) as session:
            planned = plan(session, doc)
            count = execute(session, actor=who, plan=planned, stored=stored)
        result = {**planned.as_dict(), "dry_run": False, "applied": count}
        text = planned.text() + (f"\nApplied {count} change(s) to '{planned.model}'." if count else "")
        emit(result if as_json else text, as_json=as_json)

    run(body)
