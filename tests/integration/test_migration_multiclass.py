"""Revision 0017 (multiclass classifiers) on SQLite and PostgreSQL: a registry filled under the
previous schema keeps its models and versions (which get no class names), the database accepts
the new task and still refuses unknown ones, and the downgrade removes the column and refuses
while a multiclass model would be lost."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from core.db.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from tests.factories import make_model, make_world

# the revision before 0017, whatever the chain it is merged into
BEFORE = ScriptDirectory.from_config(alembic_config()).get_revision("0017").down_revision


def _version_columns(engine) -> set[str]:  # type: ignore[no-untyped-def]
    return {c["name"] for c in inspect(engine).get_columns("model_version")}


def test_upgrade_keeps_versions_and_downgrade_removes_the_class_names(engine):
    world = make_world(engine)
    model_id, [version_id] = make_model(engine, world.owner)
    downgrade(engine, BEFORE)
    assert "class_names" not in _version_columns(engine)
    with engine.begin() as conn, pytest.raises(IntegrityError, match="(?i)check"):
        conn.execute(
            text("UPDATE model SET task = 'multiclass_classification' WHERE id = :i"), {"i": model_id}
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision() and "class_names" in _version_columns(engine)
    with engine.begin() as conn:
        stored = conn.execute(text("SELECT class_names FROM model_version WHERE id = :i"), {"i": version_id})
        assert stored.scalar_one() in ([], "[]")
        conn.execute(
            text("UPDATE model SET task = 'multiclass_classification' WHERE id = :i"), {"i": model_id}
        )
        with pytest.raises(IntegrityError, match="(?i)check"), conn.begin_nested():
            conn.execute(text("UPDATE model SET task = 'ranking' WHERE id = :i"), {"i": model_id})
    with pytest.raises(RuntimeError, match="1 multiclass model\\(s\\) are registered"):
        downgrade(engine, BEFORE)
    assert current_revision(engine) == head_revision()
    with engine.begin() as conn:
        conn.execute(text("UPDATE model SET task = 'binary_classification' WHERE id = :i"), {"i": model_id})
    downgrade(engine, BEFORE)
    assert "class_names" not in _version_columns(engine)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT name FROM model")).scalars().all() == ["Credit scoring"]
    upgrade(engine)
    assert current_revision(engine) == head_revision()
