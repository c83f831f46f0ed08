"""Governance as code: `steward apply FILE.yaml` makes the registry say what a model's governance
file says (metadata, owners, model card, datasets, sources, features, processes, deployments,
lineage), through the same services as the forms, as the token's person, in one transaction.

steward apply governance.yaml --dry-run     # the changes it would make, rehearsed as you; writes nothing
steward apply governance.yaml               # make them (a second run changes nothing)
steward apply --schema                      # the file's JSON Schema
"""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import Engine

from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run, token_secret
from core.db.engine import read_session, write_session
from core.errors import InvalidInput
from core.registry import apply_schema
from core.registry.apply import Plan, execute, plan, removed_on_failure
from core.registry.apply_schema import Document

NOT_REHEARSED = (
    "Roles were not checked: no personal access token (STEWARD_TOKEN or STEWARD_TOKEN_FILE). "
    "With one, the dry run rehearses every change as its person."
)


class _Rehearsed(Exception):
    """Ends a rehearsal: its transaction is rolled back and the files it stored removed."""

    def __init__(self, planned: Plan) -> None:
        super().__init__("rehearsed")
        self.planned = planned


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
            planned, checked_as = _dry_run(eng, doc, as_email)
            note = (
                f"Rehearsed as {checked_as}: every change is allowed; nothing was written."
                if checked_as
                else NOT_REHEARSED
            )
            result = {**planned.as_dict(), "dry_run": True, "applied": 0, "roles_checked_as": checked_as}
            emit(result if as_json else planned.text() + "\n" + note, as_json=as_json)
            return
        who = actor(eng, as_email)
        with removed_on_failure() as stored, write_session(eng) as session:
            planned = plan(session, doc)
            count = execute(session, actor=who, plan=planned, stored=stored)
        result = {**planned.as_dict(), "dry_run": False, "applied": count}
        text = planned.text() + (f"\nApplied {count} change(s) to '{planned.model}'." if count else "")
        emit(result if as_json else text, as_json=as_json)

    run(body)


def _dry_run(eng: Engine, doc: Document, as_email: str | None) -> tuple[Plan, str | None]:
    """The plan, and (with a token) who it was rehearsed as: every change made as that person
    in a transaction that is then rolled back, so a role refusal shows now, with key and line."""
    if not token_secret():
        with read_session(eng) as session:
            return plan(session, doc), None
    who = actor(eng, as_email)
    try:
        with removed_on_failure() as stored, write_session(eng) as session:
            planned = plan(session, doc)
            execute(session, actor=who, plan=planned, stored=stored)
            raise _Rehearsed(planned)
    except _Rehearsed as done:
        return done.planned, f"{who.name} ({who.email})"
