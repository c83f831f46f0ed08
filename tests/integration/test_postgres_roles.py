"""PostgreSQL roles of deploy/postgres/ (issue 11, finding 3): the application role runs Steward
but cannot disable the append-only triggers, delete events, rewrite the stage history or move
the chain head. Before, the application role owned the tables and could do all of that.

The test creates both roles (unique names) and a database owned by the migration role, migrates
it as that role, applies grants.sql, then works and attacks as the application role.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from core import audit
from core.db.engine import make_engine, read_session, write_session
from core.db.migrate import upgrade
from core.db.models import AuditEvent
from core.governance import promotions
from tests.conftest import PG_URL
from tests.factories import make_promotable_model, make_world

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "postgres"

pytestmark = pytest.mark.postgres


def _statements(sql: str) -> list[str]:
    """The SQL statements of a deploy file (comments dropped; none of them contains a ';' inside)."""
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


@pytest.fixture
def roles() -> Iterator[tuple[Engine, Engine]]:
    """(migration engine, application engine) on a fresh database set up as deploy/ says."""
    if not PG_URL:
        pytest.skip("STEWARD_TEST_POSTGRES_URL is not set")
    suffix = uuid.uuid4().hex[:8]
    names = {
        "steward_migrate": f"stw_migrate_{suffix}",
        "steward_app": f"stw_app_{suffix}",
        "steward": f"stw_db_{suffix}",
    }

    def rename(sql: str) -> str:
        return re.sub(r"\b(steward_migrate|steward_app|steward)\b", lambda m: names[m.group(1)], sql)

    setup = rename((DEPLOY / "roles.sql").read_text())
    server_part, database_part = re.split(r"^\\connect \S+$", setup, flags=re.MULTILINE)
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    as_super = as_migrate = as_app = None
    try:
        with admin.connect() as conn:
            for statement in _statements(server_part):
                conn.execute(text(statement))
        as_super = create_engine(
            make_url(PG_URL).set(database=names["steward"]), isolation_level="AUTOCOMMIT"
        )
        with as_super.connect() as conn:
            for statement in _statements(database_part):
                conn.execute(text(statement))
        url = make_url(PG_URL).set(database=names["steward"])
        as_migrate = make_engine(
            url.set(username=names["steward_migrate"], password=None).render_as_string(hide_password=False)
        )
        upgrade(as_migrate)
        with as_migrate.begin() as conn:
            for statement in _statements(rename((DEPLOY / "grants.sql").read_text())):
                conn.execute(text(statement))
        as_app = make_engine(
            url.set(username=names["steward_app"], password=None).render_as_string(hide_password=False)
        )
        yield as_migrate, as_app
    finally:
        for eng in (as_app, as_migrate, as_super):
            if eng is not None:
                eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{names["steward"]}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{names["steward_app"]}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{names["steward_migrate"]}"'))
        admin.dispose()


def _refused(engine: Engine, statement: str, pattern: str) -> None:
    with pytest.raises(DBAPIError, match=pattern):
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)


def test_the_application_role_runs_steward_but_cannot_touch_history(roles):
    _, app = roles
    # Steward works as the application role: people, a model, a request and its approval.
    world = make_world(app)
    _, (v1, _) = make_promotable_model(app, world)
    with write_session(app) as s:
        request_id = promotions.request_promotion(
            s, actor=world.owner, version_id=v1, target_stage="production", justification="First release."
        )
    with write_session(app) as s:
        promotions.approve(s, actor=world.approver, request_id=request_id)
    with read_session(app) as s:
        last = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert audit.verify(s).ok
    # What an insider holding the application's credentials tries, and the database refuses.
    for statement in (
        "ALTER TABLE audit_event DISABLE TRIGGER USER",
        "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete",
        "DROP TRIGGER audit_event_no_update_delete ON audit_event",
        "ALTER TABLE audit_head DISABLE TRIGGER audit_head_guard",
        "ALTER TABLE stage_change DISABLE TRIGGER USER",
    ):
        _refused(app, statement, r"must be (the )?owner of (table|relation)")
    _refused(app, "DELETE FROM audit_event WHERE id > 3", "permission denied for table audit_event")
    _refused(app, "TRUNCATE audit_event", "permission denied for table audit_event")
    _refused(
        app, "UPDATE audit_event SET reason = 'x' WHERE id = 2", "permission denied for table audit_event"
    )
    _refused(app, "UPDATE stage_change SET changed_at = now()", "permission denied for table stage_change")
    _refused(app, "DELETE FROM audit_head", "permission denied for table audit_head")
    _refused(
        app,
        "UPDATE audit_head SET last_id = 3, last_hash = (SELECT hash FROM audit_event WHERE id = 3)",
        "audit_head must name the newest audit event",
    )
    _refused(
        app,
        "CREATE OR REPLACE FUNCTION steward_audit_head_guard() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql",
        "must be owner of function|permission denied for schema public",
    )
    _refused(
        app, "UPDATE alembic_version SET version_num = '0001'", "permission denied for table alembic_version"
    )
    with read_session(app) as s:
        assert s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first().id == last.id
        assert audit.verify(s).ok
