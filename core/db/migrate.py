"""Run Alembic from code and check, at start-up, that the schema is current."""

from __future__ import annotations

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


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest)."""
    check_connection(engine)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


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
    raise SchemaOutOfDate(
        f"The registry at {url} is at schema revision {current}, this Steward needs {head}. "
        "Back it up (`steward backup --out FILE`), then migrate with `steward init`."
    )
