"""Personal access tokens: the operator's bootstrap, listing and revoking.

A person creates their own token on the People and roles page (signed in); an admin creates
one for a service account there. The CLI never creates a token with a token. The one way in
without a token is `steward token bootstrap`, for someone who already has direct access to the
database (and so could do anything): it mints a token for an admin or a service account, acting
as the system account, and the audit log records it with the operating-system user who ran it.
"""

from __future__ import annotations

import getpass
import os
import socket
from pathlib import Path

import pandas as pd
import typer

from core.access import actor_by_email
from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.db.engine import read_session, write_session
from core.errors import InvalidInput
from core.identity import DEFAULT_TOKEN_DAYS, NewToken, TokenView, bootstrap_token, list_tokens, revoke_token
from core.registry.services import ensure_system_person

token_app = typer.Typer(help="Personal access tokens for the CLI and pipelines.", no_args_is_help=True)
app.add_typer(token_app, name="token")


def _operator() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no login name (a container without /etc/passwd entry)
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def _write_secret(path: Path, secret: str) -> None:
    """Write the secret to a new file only its owner can read."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(
            f"{path} already exists; choose a new file (tokens are never overwritten)."
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")


def _row(view: TokenView) -> dict:
    return {
        "id": view.id,
        "person": view.email,
        "service_account": view.is_service_account,
        "name": view.name,
        "prefix": view.prefix,
        "status": view.status,
        "created_at": view.created_at.isoformat(timespec="seconds"),
        "created_by": view.created_by,
        "expires_at": view.expires_at.isoformat(timespec="seconds"),
        "last_used_at": view.last_used_at.isoformat(timespec="seconds") if view.last_used_at else None,
    }


@token_app.command("bootstrap")
def bootstrap_command(
    email: str = typer.Option(..., "--person", help="Email of an admin or a service account."),
    name: str = typer.Option(..., "--name", help="What the token is for, e.g. 'nightly cron'."),
    days: int = typer.Option(DEFAULT_TOKEN_DAYS, "--days", help="Days until it expires (1-366)."),
    out: Path = typer.Option(..., "--out", help="New file to write the token to (created with mode 600)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Mint the first token for an admin or a service account (needs only database access; audited)."""

    def body() -> None:
        eng = engine()
        if out.exists():
            raise InvalidInput(f"{out} already exists; choose a new file (tokens are never overwritten).")
        with write_session(eng) as session:
            system = ensure_system_person(session)
            minted: NewToken = bootstrap_token(
                session, system=system, email=email, name=name, days=days, operator=_operator()
            )
            _write_secret(out, minted.secret)  # inside the transaction: no file, no token
        view = minted.view
        emit(
            _row(view)
            if as_json
            else f"Token {view.id} ({view.prefix}…) for {view.person} <{view.email}> written "
            f"to {out}; it expires on {view.expires_at:%Y-%m-%d}. Use it with --token-file {out}.",
            as_json=as_json,
        )

    run(body)


@token_app.command("list")
def list_command(
    email: str | None = typer.Option(None, "--person", help="Only this person's tokens."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List tokens (never their secrets): person, name, status, expiry, last use."""

    def body() -> None:
        with read_session(engine()) as session:
            person_id = actor_by_email(session, email).id if email else None
            rows = [_row(v) for v in list_tokens(session, person_id=person_id)]
        emit(rows if as_json else pd.DataFrame(rows), as_json=as_json)

    run(body)


@token_app.command("revoke")
def revoke_command(
    token_id: int = typer.Argument(..., help="Id of the token (steward token list)."),
    reason: str = typer.Option("", "--reason", help="Why (recorded in the audit log)."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Revoke a token: your own, or (admins) anyone's."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            view = revoke_token(session, actor=who, token_id=token_id, reason=reason)
        emit(f"Token {view.id} ({view.prefix}…) of {view.person} revoked.", as_json=False)

    run(body)
