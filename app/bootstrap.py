"""Start-up: settings, the one engine of the process, and the schema check.

When the registry cannot be used (bad URL, server down, schema behind) the app shows one
message saying which database, what failed and how to fix it, and stops: never a traceback.
"""

from __future__ import annotations

import ipaddress
import logging
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
_LOG = logging.getLogger("steward")
LOCAL_MODE_BANNER = (
    "**Local mode: no sign-in.** Anyone who can reach this address can pick any person, admins "
    "included. STEWARD_ALLOW_NETWORK_LOCAL_MODE=1 serves it beyond this machine; use sign-in "
    "(STEWARD_AUTH_MODE=oidc) for anything but a closed demo."
)


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


def serving_address() -> str:
    """The address Streamlit listens on (``server.address``; empty: every interface)."""
    return str(st.get_option("server.address") or "")


def is_loopback(address: str) -> bool:
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # "" (every interface), a host name, a LAN address


def guard_local_mode() -> bool:
    """In local mode, refuse to serve anything but this machine unless the operator allowed it.

    Local mode has no sign-in: whoever reaches the app picks who they are, an admin included. So
    on any address but a loopback one (Streamlit's default listens on every interface) the app
    shows why and serves no data, unless STEWARD_ALLOW_NETWORK_LOCAL_MODE=1. Returns whether
    every page must carry the local-mode banner.
    """
    settings = get_settings()
    if settings.auth_mode != "local":
        return False
    address = serving_address()
    allowed = settings.allow_network_local_mode
    _announce(address or "every network interface", is_loopback(address), allowed)
    if not is_loopback(address) and not allowed:
        st.error(
            "**Local mode is served on the network, so Steward shows no data.** Local mode has no "
            f"sign-in, and this server listens on {address or 'every network interface'}: anyone who "
            "reaches it could act as anyone. Start it on this machine only "
            "(`streamlit run app/main.py --server.address 127.0.0.1`, which `make run` does), set up "
            "sign-in (STEWARD_AUTH_MODE=oidc), or, for a demo on a closed network, set "
            "STEWARD_ALLOW_NETWORK_LOCAL_MODE=1.",
            icon=":material/wifi_tethering_error:",
        )
        st.stop()
    return allowed


@st.cache_resource(show_spinner=False)
def _announce(address: str, loopback: bool, allowed: bool) -> None:
    """Say once per server (in its log) what local mode serves."""
    if loopback:
        _LOG.warning("Steward local mode (no sign-in): serving %s only.", address)
    elif allowed:
        _LOG.warning(
            "Steward local mode (no sign-in) served on %s because STEWARD_ALLOW_NETWORK_LOCAL_MODE=1: "
            "anyone who reaches it can act as anyone.",
            address,
        )
    else:
        _LOG.error(
            "Steward local mode (no sign-in) refuses to serve data on %s: start it with "
            "--server.address 127.0.0.1, use STEWARD_AUTH_MODE=oidc, or set STEWARD_ALLOW_NETWORK_LOCAL_MODE=1.",
            address,
        )


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
