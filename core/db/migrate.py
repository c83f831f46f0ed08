"""Run Alembic from code and check, at start-up, that the schema is current."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from core.db.engine import check_connection, redact
from core.errors import SchemaOutOfDate

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads ({heads}); merge them")
    return heads[0]


def previous_revision(revision: str) -> str:
    """The revision ``revision`` follows in the chain (the ids are labels, not an order)."""
    down = ScriptDirectory.from_config(alembic_config()).get_revision(revision).down_revision
    assert isinstance(down, str), f"revision {revision} has no single predecessor"
    return down


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest)."""
    check_connection(engine)
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    """Run ``step`` in one transaction. On SQLite, foreign keys are off meanwhile: batch mode
    recreates a changed table (copy, drop, rename), and dropping a table other rows refer to
    would fail with them on. SQLite only honours the switch outside a transaction; before the
    commit, ``foreign_key_check`` proves every reference still holds, or everything rolls back."""
    sqlite = engine.dialect.name == "sqlite"
    cfg = alembic_config()
    with engine.connect() as conn:
        # On the driver's connection: SQLAlchemy would begin a transaction first, and SQLite
        # ignores the switch inside one.
        driver = conn.connection.dbapi_connection
        if sqlite and driver is not None:
            driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg, revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        table, row, parent, _ = broken[0]
                        raise RuntimeError(
                            f"migration to {revision} left {len(broken)} broken references "
                            f"(first: {table} row {row} -> {parent}); nothing was changed"
                        )
        finally:
            if sqlite and driver is not None:
                driver.execute("PRAGMA foreign_keys=ON")


def is_known_revision(revision: str) -> bool:
    """Whether this Steward's migrations contain ``revision`` (an unknown one was written by a newer Steward)."""
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown or malformed id
        return False


def newer_schema_message(url: str, current: str) -> str:
    """The one message for a registry whose schema this Steward does not know (used everywhere)."""
    return (
        f"The registry at {url} is at schema revision {current}, which this Steward does not know: it was "
        f"written by a newer Steward. Upgrade Steward (pip install --upgrade) to use it; `steward init` "
        "cannot migrate a schema backwards."
    )


def check_schema(engine: Engine) -> None:
    """Raise SchemaOutOfDate (with how to fix it) unless the database is at the newest revision."""
    check_connection(engine)
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    url = redact(engine.url.render_as_string(hide_password=False))
    if current is None:
        raise SchemaOutOfDate(
            f"The registry at {url} has no Steward schema yet. Create it with `steward init` "
            "(or `make run`, which also loads the demo)."
        )
    if not is_known_revision(current):
        raise SchemaOutOfDate(newer_schema_message(url, current))
    raise SchemaOutOfDate(
        f"The registry at {url} is at schema revision {current}, this Steward needs {head}. "
        "Back it up (`steward backup --out FILE`), then migrate with `steward init`."
    )
