"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite gets WAL, foreign keys and a busy timeout on every connection. Write sessions on
SQLite start with ``BEGIN IMMEDIATE`` so that two writers never both read-then-write on a
stale snapshot; on PostgreSQL writers serialise through row locks and, for the audit chain,
an advisory lock (see core/audit.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from core.errors import DatabaseUnavailable

_WRITE_OPTION = "steward_write"
# Seconds a PostgreSQL connection attempt may take (TCP connect and the server's first answer)
# before the app or the CLI gives up with one message, instead of hanging for minutes.
CONNECT_TIMEOUT_S = 10


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def redact(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def make_engine(url: str, *, busy_timeout_ms: int = 15000) -> Engine:
    """Create an engine for ``url`` without connecting. Raises DatabaseUnavailable on a malformed URL."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(
            f"STEWARD_DATABASE_URL '{url}' is not a database URL ({exc}). "
            "Use sqlite:///data/steward.db or postgresql+psycopg://user@host:5432/dbname."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            # One connection per checkout keeps pragmas and transaction state simple across
            # Streamlit's threads; opening an SQLite file is cheap.
            poolclass=NullPool,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", "psycopg2"):
            raise DatabaseUnavailable(
                f"STEWARD_DATABASE_URL '{redact(url)}' uses driver '{parsed.get_driver_name()}'. "
                "Use postgresql+psycopg://user@host:5432/dbname."
            )
        return create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
    raise DatabaseUnavailable(
        f"STEWARD_DATABASE_URL '{redact(url)}' names the unsupported database '{backend}'. "
        "Steward runs on SQLite (sqlite:///data/steward.db) or PostgreSQL (postgresql+psycopg://...)."
    )


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself, so we can choose IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get(_WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def check_connection(engine: Engine) -> None:
    """Connect once; raise DatabaseUnavailable with the URL, the cause and the fix."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        cause = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        url = engine.url.render_as_string(hide_password=True)
        if "timeout expired" in cause or "timed out" in cause:
            cause = f"no answer within {CONNECT_TIMEOUT_S} s"
        if is_sqlite(engine):
            fix = "Check that the directory exists and is writable."
        else:
            fix = (
                "Check that PostgreSQL is running and reachable, the database exists and the "
                "user may connect (e.g. pg_isready -h HOST -p PORT)."
            )
        raise DatabaseUnavailable(f"Cannot open the registry at {url}: {cause}. {fix}") from None


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads; nothing it does is committed."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One write transaction: committed when the block ends, rolled back on any error.

    On SQLite it starts with BEGIN IMMEDIATE, taking the write lock before the first read.
    """
    bound = engine.execution_options(**{_WRITE_OPTION: True}) if is_sqlite(engine) else engine
    with Session(bound, expire_on_commit=False) as session:
        with session.begin():
            yield session
