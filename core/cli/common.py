"""What every CLI command shares: the engine, the acting person, output and error handling."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import typer
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from core.access import Actor
from core.config import get_settings
from core.db.engine import make_engine, write_session
from core.db.migrate import check_schema
from core.errors import InvalidInput, PermissionDenied, StewardError
from core.identity import authenticate
from core.registry.files import shown

T = TypeVar("T")


def engine(*, check: bool = True) -> Engine:
    """The registry engine from STEWARD_DATABASE_URL; checks the schema is current unless told not to."""
    settings = get_settings()
    eng = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    if check:
        check_schema(eng)
    return eng


# --- who is acting: a personal access token, never a claimed email ------------------------------

TOKEN_ENV = "STEWARD_TOKEN"
TOKEN_FILE_ENV = "STEWARD_TOKEN_FILE"
_token_file: Path | None = None  # --token-file, set by the app's callback for this invocation

NO_TOKEN = (
    "this command changes the registry, so it needs a personal access token: put it in a file "
    "(chmod 600) and pass --token-file FILE or set STEWARD_TOKEN_FILE, or set STEWARD_TOKEN. Create "
    "yours on the People and roles page; an admin creates tokens for service accounts."
)


def global_options(
    token_file: Path | None = typer.Option(
        None,
        "--token-file",
        help="File holding your personal access token (or set STEWARD_TOKEN_FILE / STEWARD_TOKEN).",
    ),
) -> None:
    """Steward: model governance and monitoring. Registry at STEWARD_DATABASE_URL (default data/steward.db)."""
    global _token_file
    _token_file = token_file


def _read_token_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
    except OSError:
        raise InvalidInput(f"token file '{path}' does not exist or cannot be read.") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            f"token file '{path}' can be read by other users; make it private (chmod 600 '{path}')."
        )
    return path.read_text(encoding="utf-8").strip()


def token_secret() -> str:
    """The token of this invocation: --token-file, else STEWARD_TOKEN_FILE, else STEWARD_TOKEN ('' if none)."""
    if _token_file is not None:
        return _read_token_file(_token_file)
    if os.environ.get(TOKEN_FILE_ENV):
        return _read_token_file(Path(os.environ[TOKEN_FILE_ENV]))
    return os.environ.get(TOKEN_ENV, "").strip()


def actor(eng: Engine, email: str | None = None) -> Actor:
    """The person this command acts as: the one its personal access token belongs to.

    ``--as EMAIL`` no longer chooses anyone: it only checks that the token is EMAIL's own (a
    script that names who it expects to act as fails loudly with someone else's token)."""
    secret = token_secret()
    if not secret:
        raise PermissionDenied(NO_TOKEN)
    with write_session(eng) as session:
        who = authenticate(session, secret)
    if email and email.strip().lower() != who.email:
        raise PermissionDenied(
            f"--as {email.strip()} does not match the token, which acts as {who.name} ({who.email}); "
            "a token only ever acts as its own person."
        )
    return who


def fail(message: str, code: int = 1) -> None:
    # One line whatever the message holds: a file name or value with a line break or another
    # control character is shown escaped, never split or stripped.
    typer.echo(f"Error: {shown(message, 2000)}", err=True)
    raise typer.Exit(code)


def run(fn: Callable[[], T]) -> T:
    """Run a command body; turn Steward's errors (and database errors) into one message and exit 1."""
    try:
        return fn()
    except typer.Exit:
        raise
    except StewardError as exc:
        fail(str(exc))
    except IntegrityError as exc:
        fail(f"the registry refused the change: {str(exc.orig).splitlines()[0] if exc.orig else exc}")
    except OperationalError as exc:
        fail(f"database error: {str(exc.orig).splitlines()[0] if exc.orig else exc}")
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        fail(f"{exc.strerror or exc}{where}.")
    except Exception as exc:  # the CLI's last line of defence: one line, never a traceback
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]
        fail(f"unexpected {type(exc).__name__}: {first_line}")
    raise AssertionError("unreachable")


def emit(data: Any, *, as_json: bool, table: pd.DataFrame | None = None) -> None:
    """Print ``data`` as JSON (``--json``) or as a readable table/text."""
    if as_json:
        if isinstance(data, pd.DataFrame):
            data = json.loads(data.to_json(orient="records", date_format="iso"))
        typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
        return
    shown = table if table is not None else data
    if isinstance(shown, pd.DataFrame):
        if shown.empty:
            typer.echo("(nothing)")
        else:
            with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 200):
                typer.echo(shown.to_string(index=False))
    else:
        typer.echo(shown)


JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")
AS_OPTION = typer.Option(
    None, "--as", help="Only a check: fail unless the token acts as this email (the token decides who acts)."
)


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()
