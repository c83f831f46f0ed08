"""What every CLI command shares: the engine, the acting person, output and error handling."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import typer
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from core.access import Actor, actor_by_email
from core.config import get_settings
from core.db.engine import make_engine, read_session
from core.db.migrate import check_schema
from core.errors import StewardError

T = TypeVar("T")


def engine(*, check: bool = True) -> Engine:
    """The registry engine from STEWARD_DATABASE_URL; checks the schema is current unless told not to."""
    settings = get_settings()
    eng = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    if check:
        check_schema(eng)
    return eng


def actor(eng: Engine, email: str | None = None) -> Actor:
    """The person this command acts as: --as EMAIL, else STEWARD_CLI_ACTOR (default the system account)."""
    with read_session(eng) as session:
        return actor_by_email(session, email or get_settings().cli_actor)


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
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
AS_OPTION = typer.Option(None, "--as", help="Email of the person to act as (default STEWARD_CLI_ACTOR).")


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()
