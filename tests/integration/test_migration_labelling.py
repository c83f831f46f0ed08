"""Revision 0013 (case link template and outcome horizon of a model) on SQLite and PostgreSQL: a
registry filled under the previous schema keeps its models through the upgrade, which gives them no
link and no horizon; the horizon is checked by the database; the downgrade removes exactly the two
columns."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from core.db.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from tests.factories import make_model, make_world

NEW_COLUMNS = {"case_link_template", "outcome_horizon_days"}
# the revision before 0013, whatever the chain it is merged into
BEFORE = ScriptDirectory.from_config(alembic_config()).get_revision("0013").down_revision


def _columns(engine) -> set[str]:  # type: ignore[no-untyped-def]
    return {c["name"] for c in inspect(engine).get_columns("model")}


def test_upgrade_keeps_models_and_downgrade_removes_the_columns(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    downgrade(engine, BEFORE)
    assert NEW_COLUMNS.isdisjoint(_columns(engine))
    upgrade(engine)
    assert current_revision(engine) == head_revision() and NEW_COLUMNS <= _columns(engine)
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT name, case_link_template, outcome_horizon_days FROM model WHERE id = :i"),
            {"i": model_id},
        ).one()
        assert tuple(row) == ("Credit scoring", "", None)
        conn.execute(text("UPDATE model SET outcome_horizon_days = 365 WHERE id = :i"), {"i": model_id})
        with pytest.raises(IntegrityError, match="(?i)check"), conn.begin_nested():
            conn.execute(text("UPDATE model SET outcome_horizon_days = -1 WHERE id = :i"), {"i": model_id})
    downgrade(engine, BEFORE)
    assert NEW_COLUMNS.isdisjoint(_columns(engine))
    with engine.begin() as conn:
        assert conn.execute(text("SELECT name FROM model")).scalars().all() == ["Credit scoring"]
    upgrade(engine)
    assert current_revision(engine) == head_revision()
