"""Migrations keep what registries already hold, and produce exactly the schema the models declare.

``data_0001.json`` is a registry as Steward wrote it at revision 0001 (see make_0001_data.py).
It is loaded into an empty database at 0001, upgraded to head, and every row must still be
there with its values, the audit chain must still verify, and the registry must still be read
and written by today's services. Then the migrated schema is compared with the SQLModel
metadata: any table, column, type, nullability, index or constraint that differs fails.
Both run on SQLite and, with STEWARD_TEST_POSTGRES_URL set, on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Date, DateTime, Engine, LargeBinary, MetaData, select, text, type_coerce
from sqlalchemy.engine import make_url

from core import audit
from core.db.engine import make_engine, read_session, write_session
from core.db.migrate import check_schema, current_revision, head_revision, upgrade
from core.db.models import SQLModel
from core.db.types import Money
from core.governance import promotions
from core.registry import reads, services
from tests.conftest import BACKENDS, PG_URL, _drop_pg, _pg_admin

DATA = json.loads(Path(__file__).with_name("data_0001.json").read_text(encoding="utf-8"))


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database (no schema at all), per backend."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    name = f"steward_m_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    _drop_pg(name)


def _load_0001(engine: Engine) -> MetaData:
    """Migrate to 0001 and insert the stored rows; returns the 0001 tables."""
    upgrade(engine, "0001")
    old = MetaData()
    old.reflect(engine)
    with engine.begin() as conn:
        for table in old.sorted_tables:
            rows = DATA["tables"].get(table.name)
            if rows:
                conn.execute(table.insert(), [_typed(table, row) for row in rows])
        if engine.dialect.name == "postgresql":  # the app's inserts would have moved the sequences
            for table in old.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement and DATA["tables"].get(table.name):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"
                        )
                    )
    return old


def _typed(table: Any, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in row.items():
        kind = table.c[name].type
        if value is None or isinstance(kind, JSON):
            out[name] = value
        elif isinstance(kind, DateTime):
            out[name] = datetime.fromisoformat(value)
        elif isinstance(kind, Date):
            out[name] = date.fromisoformat(value)
        elif isinstance(kind, LargeBinary):
            out[name] = base64.b64decode(value["base64"])
        else:
            out[name] = value
    return out


def _rows(engine: Engine, table_name: str, columns: list[str]) -> list[dict[str, Any]]:
    new = MetaData()
    new.reflect(engine, only=[table_name])
    table = new.tables[table_name]
    declared = SQLModel.metadata.tables[table_name].c
    # Money is stored in a backend's own way (integer ten-thousandths on SQLite): read it as the model does.
    read = [
        type_coerce(table.c[c], Money())
        if c in declared and isinstance(declared[c].type, Money)
        else table.c[c]
        for c in columns
    ]
    with engine.connect() as conn:
        result = conn.execute(select(*read).order_by(*table.primary_key.columns))
        return [dict(r) for r in result.mappings()]


def test_a_filled_0001_registry_upgrades_to_head_with_its_data(empty_engine: Engine) -> None:
    old = _load_0001(empty_engine)
    assert current_revision(empty_engine) == "0001"

    upgrade(empty_engine)

    assert current_revision(empty_engine) == head_revision()
    check_schema(empty_engine)
    for table in old.sorted_tables:
        stored = DATA["tables"].get(table.name)
        if not stored:
            continue
        now = MetaData()
        now.reflect(empty_engine, only=[table.name])
        kept = [c for c in stored[0] if c in now.tables[table.name].c]
        assert kept, f"{table.name}: every column of 0001 is gone"
        expected = [{c: _typed(table, row)[c] for c in kept} for row in stored]
        assert _comparable(_rows(empty_engine, table.name, kept)) == _comparable(expected), table.name

    with read_session(empty_engine) as s:
        verdict = audit.verify(s)
        assert verdict.ok and verdict.checked == len(DATA["tables"]["audit_event"]), verdict.message()
        inventory = reads.inventory(s)
        assert set(inventory["name"]) == {r["name"] for r in DATA["tables"]["model"]}
        requests = promotions.list_requests(s)
        assert requests["status"].tolist() == ["approved"]
    with write_session(empty_engine) as s:  # today's services write to the migrated registry
        system = services.ensure_system_person(s)
        model_id = services.register_model(
            s, actor=system, name="Added after the upgrade", business_unit="Credit risk"
        )
    with read_session(empty_engine) as s:
        assert model_id > max(r["id"] for r in DATA["tables"]["model"])
        assert audit.verify(s).ok


def _comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with datetimes as naive UTC (SQLite hands them back naive) and floats rounded."""
    out = []
    for row in rows:
        clean = {}
        for key, value in row.items():
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            if isinstance(value, Decimal):
                value = float(value)
            if isinstance(value, float):
                value = round(value, 9)
            clean[key] = value
        out.append(clean)
    return out


def test_the_migrated_schema_is_what_the_models_declare(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert differences == [], (
        "the migrations and the SQLModel tables disagree; write a revision (or fix the model): "
        + "; ".join(map(str, differences))
    )
