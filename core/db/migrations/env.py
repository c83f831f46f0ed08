"""Alembic environment: runs on the connection Steward hands it, or on STEWARD_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from core.config import get_settings
from core.db.engine import make_engine
from core.db.models import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(get_settings().database_url)
        with engine.connect() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
