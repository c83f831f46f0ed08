"""Revision 0009 (ownership periods and model card revisions) on SQLite and PostgreSQL: a registry
filled under the previous schema keeps its owners and cards through the upgrade, every existing
version gets revision 1 holding its card, and the downgrade removes exactly what was added."""

from __future__ import annotations

import json

from sqlalchemy import inspect, text

from core.db.engine import write_session
from core.db.migrate import current_revision, downgrade, head_revision, previous_revision, upgrade
from core.registry import services
from tests.factories import make_model, make_world

NEW_TABLES = {"ownership_period", "model_card_revision"}
BEFORE = previous_revision("0009")


def test_upgrade_backfills_card_revisions_and_downgrade_undoes_it(engine):
    world = make_world(engine)
    model_id, (v1,) = make_model(engine, world.owner)
    with write_session(engine) as s:
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.viewer.id, role="backup"
        )
    downgrade(engine, BEFORE)
    assert NEW_TABLES.isdisjoint(inspect(engine).get_table_names())
    assert "reason" not in {c["name"] for c in inspect(engine).get_columns("ownership")}
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE model_version SET card_limitations = 'Not for SME loans' WHERE id = :v"), {"v": v1}
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert NEW_TABLES <= set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        (row,) = conn.execute(
            text("SELECT model_version_id, revision, sections, created_by_id FROM model_card_revision")
        ).all()
        owners = conn.execute(text("SELECT person_id, role, reason FROM ownership")).all()
    sections = row.sections if isinstance(row.sections, dict) else json.loads(row.sections)
    assert (row.model_version_id, row.revision, row.created_by_id) == (v1, 1, world.owner.id)
    assert sections["card_limitations"] == "Not for SME loans" and sections["card_caveats"] == ""
    assert [tuple(o) for o in owners] == [(world.viewer.id, "backup", "")]
    with write_session(engine) as s:  # the next edit continues from the backfilled revision
        assert services.update_model_card(s, actor=world.owner, version_id=v1, card_caveats="Yearly") == 2
    downgrade(engine, BEFORE)
    assert NEW_TABLES.isdisjoint(inspect(engine).get_table_names())
    with engine.begin() as conn:
        assert conn.execute(text("SELECT role FROM ownership")).scalars().all() == ["backup"]
    upgrade(engine)
    assert current_revision(engine) == head_revision()
