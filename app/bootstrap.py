"""Start-up: settings, the one engine of the process, and the schema check.

When the registry cannot be used (bad URL, server down, schema behind) the app shows one
message saying which database, what failed and how to fix it, and stops: never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from core.config import get_settings
from core.db.engine import make_engine, redact
from core.db.migrate import check_schema
from core.errors import DatabaseUnavailable, SchemaOutOfDate

_SCHEMA_CHECKED = "steward.schema_checked"  # session key: URL whose schema this session has checked


@st.cache_resource(show_spinner=False)
def _engine(url: str, busy_timeout_ms: int) -> Engine:
    return make_engine(url, busy_timeout_ms=busy_timeout_ms)


def engine() -> Engine:
    """The process-wide engine for STEWARD_DATABASE_URL (created once, shared by all sessions)."""
    settings = get_settings()
    return _engine(settings.database_url, settings.sqlite_busy_timeout_ms)


def database_url() -> str:
    """The registry URL with any password hidden (cache keys, messages)."""
    return redact(get_settings().database_url)


def start() -> Engine:
    """The engine, once the registry is known to be reachable and at the current schema.

    Checked once per browser session; on failure shows the reason and stops the run.
    """
    url = get_settings().database_url
    try:
        eng = engine()
        if st.session_state.get(_SCHEMA_CHECKED) != url:
            check_schema(eng)
            st.session_state[_SCHEMA_CHECKED] = url
        return eng
    except (DatabaseUnavailable, SchemaOutOfDate) as exc:
        _stop(str(exc))
    except OSError as exc:  # e.g. the SQLite file's directory cannot be created
        _stop(
            f"Cannot open the registry at {redact(url)}: {exc.strerror or exc}. "
            "Check that the directory exists and is writable, or set STEWARD_DATABASE_URL to another location."
        )
    raise AssertionError("unreachable")  # _stop() ends the run


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn a registry that fails mid-session (server gone, file locked) into one message."""
    try:
        yield
    except OperationalError as exc:
        st.session_state.pop(_SCHEMA_CHECKED, None)  # check again on the next run
        cause = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        _stop(
            f"The registry at {database_url()} stopped answering: {cause}. "
            "Check that the database is running and reachable, then reload the page."
        )


def _stop(message: str) -> None:
    st.error(
        f"**Steward cannot use its registry.**\n\n{message}\n\n"
        "The registry is chosen with the STEWARD_DATABASE_URL setting (environment variable or .env file).",
        icon=":material/database:",
    )
    st.stop()
