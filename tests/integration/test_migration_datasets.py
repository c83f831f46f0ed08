"""Revision 0010 (datasets within reach) on SQLite and PostgreSQL: a registry filled under 0003 (the head before it)
keeps its datasets and versions through the upgrade (the new columns empty), and the downgrade
removes exactly what the upgrade added."""

from __future__ import annotations

from sqlalchemy import inspect, text

from core.db.migrate import current_revision, downgrade, head_revision, previous_revision, upgrade
from tests.factories import make_model, make_world


def _columns(engine, table: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_upgrade_keeps_datasets_and_downgrade_undoes_it(engine):  # type: ignore[no-untyped-def]
    world = make_world(engine)
    _, [version_id] = make_model(engine, world.owner)
    downgrade(engine, previous_revision("0010"))
    assert {"role", "storage"}.isdisjoint(_columns(engine, "dataset"))
    assert {"reference_dataset_id", "background_dataset_id"}.isdisjoint(_columns(engine, "model_version"))
    assert "lineage_event" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        dataset_id = conn.execute(
            text(
                "INSERT INTO dataset (name, version, content_hash, row_count, data_schema, uri, created_at) "
                "VALUES ('applications', '1', '', 10, '{}', 's3://lake/a.parquet', CURRENT_TIMESTAMP) RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text("UPDATE model_version SET training_dataset_id = :d WHERE id = :v"),
            {"d": dataset_id, "v": version_id},
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert "lineage_event" in inspect(engine).get_table_names()
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT name, uri, role, storage FROM dataset WHERE id = :d"), {"d": dataset_id}
        ).one()
        assert tuple(row) == ("applications", "s3://lake/a.parquet", "", "")
        version = conn.execute(
            text(
                "SELECT training_dataset_id, reference_dataset_id, background_dataset_id "
                "FROM model_version WHERE id = :v"
            ),
            {"v": version_id},
        ).one()
        assert tuple(version) == (dataset_id, None, None)
        conn.execute(
            text("UPDATE model_version SET reference_dataset_id = :d WHERE id = :v"),
            {"d": dataset_id, "v": version_id},
        )
    downgrade(engine, previous_revision("0010"))
    assert {"role", "storage"}.isdisjoint(_columns(engine, "dataset"))
    assert "reference_dataset_id" not in _columns(engine, "model_version")
    assert "lineage_event" not in inspect(engine).get_table_names()
    upgrade(engine)
