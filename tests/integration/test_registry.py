"""Registry services on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core import audit
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, LogFile, ModelVersion, PredictionDaily, PredictionLog
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.registry import ingest, services
from tests.factories import make_model, make_world


def test_register_model_and_versions_writes_audit(engine):
    world = make_world(engine)
    model_id, versions = make_model(engine, world.owner, versions=3)
    with read_session(engine) as s:
        rows = s.exec(
            select(ModelVersion).where(ModelVersion.model_id == model_id).order_by(ModelVersion.version)
        ).all()
        assert [r.version for r in rows] == [1, 2, 3]
        assert rows[0].created_at.tzinfo is not None
        actions = [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.model_id == model_id))]
        assert actions.count("version.registered") == 3
        assert audit.verify(s).ok


def test_duplicate_model_name_is_a_conflict_and_writes_nothing(engine):
    world = make_world(engine)
    make_model(engine, world.owner)
    with read_session(engine) as s:
        before = len(s.exec(select(AuditEvent)).all())
    with pytest.raises(Conflict, match="already exists"):
        make_model(engine, world.owner)
    with read_session(engine) as s:
        assert len(s.exec(select(AuditEvent)).all()) == before


def test_viewer_cannot_register(engine):
    world = make_world(engine)
    with pytest.raises(PermissionDenied, match="model_owner"):
        make_model(engine, world.viewer)


def test_one_production_version_enforced_by_database(engine):
    world = make_world(engine)
    model_id, (v1, v2) = make_model(engine, world.owner, versions=2)
    with write_session(engine) as s:
        services.apply_stage_change(
            s, actor=world.system, version_id=v1, to_stage="production", reason="first"
        )
    with write_session(engine) as s:
        services.apply_stage_change(
            s, actor=world.system, version_id=v2, to_stage="production", reason="second"
        )
    with read_session(engine) as s:
        stages = {
            v.id: v.stage for v in s.exec(select(ModelVersion).where(ModelVersion.model_id == model_id))
        }
    assert stages == {v1: "archived", v2: "production"}
    with pytest.raises(IntegrityError, match="(?i)unique|duplicate"):
        with write_session(engine) as s:
            row = s.get(ModelVersion, v1)
            row.stage = "production"
            s.add(row)
            s.flush()


def test_log_predictions_updates_rollup(engine):
    world = make_world(engine)
    _, (v1,) = make_model(engine, world.owner)
    start = datetime(2025, 3, 1, 10, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            "ts": [start + timedelta(hours=h) for h in range(30)],
            "income": range(30),
            "age": [40] * 30,
            "prediction": [h % 2 for h in range(30)],
            "score": [0.05 + (h % 10) / 10 for h in range(30)],
            "label": [h % 2 if h < 10 else None for h in range(30)],
        }
    )
    with write_session(engine) as s:
        assert ingest.log_predictions(s, actor=world.owner, model_version_id=v1, frame=frame) == 30
    with read_session(engine) as s:
        daily = s.exec(select(PredictionDaily).order_by(PredictionDaily.day)).all()
        assert [d.n for d in daily] == [14, 16]
        assert sum(d.n_labelled for d in daily) == 10
        assert sum(d.n_correct for d in daily) == 10
        assert sum(sum(d.score_hist) for d in daily) == 30
        assert sum(f.rows for f in s.exec(select(LogFile)).all()) == 30  # in the log store
        assert len(s.exec(select(PredictionLog)).all()) == 10  # the labelled sample stays in the registry


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["age"]), "missing feature column.*age"),
        (lambda f: f.assign(extra=1), "unexpected column.*extra"),
        (lambda f: f.assign(score=["x"] + [0.5] * 2), r"data row 1, column 'score': 'x' is not a number"),
        (
            lambda f: f.assign(ts=["2025-01-01T00:00:00Z", "not a date", "2025-01-01T00:00:00Z"]),
            r"data row 2, column 'ts': 'not a date' is not an ISO 8601 date/time",
        ),
        (
            lambda f: f.assign(score=[0.5, 1.5, 0.5]),
            r"data row 2, column 'score': '1.5' must lie between 0 and 1",
        ),
        (lambda f: f.assign(ts=["2099-01-01T00:00:00Z"] * 3), "in the future"),
        (lambda f: f.assign(ts=["2999-01-01T00:00:00Z"] * 3), "outside the supported years"),
        (lambda f: f.iloc[0:0], "no rows"),
    ],
)
def test_log_predictions_rejects_bad_input_and_writes_nothing(engine, change, message):
    world = make_world(engine)
    _, (v1,) = make_model(engine, world.owner)
    frame = pd.DataFrame(
        {
            "ts": ["2025-01-01T00:00:00Z"] * 3,
            "income": [1, 2, 3],
            "age": [4, 5, 6],
            "prediction": [0, 1, 0],
            "score": [0.1, 0.9, 0.2],
        }
    )
    with pytest.raises(InvalidInput, match=message):
        with write_session(engine) as s:
            ingest.log_predictions(s, actor=world.owner, model_version_id=v1, frame=change(frame))
    with read_session(engine) as s:
        assert s.exec(select(PredictionLog)).first() is None
        assert s.exec(select(LogFile)).first() is None
        assert s.exec(select(PredictionDaily)).first() is None


def test_log_costs_validates_every_row(engine):
    world = make_world(engine)
    make_model(engine, world.owner)
    good = pd.DataFrame(
        {
            "day": ["2025-01-01", "2025-01-02"],
            "model": ["Credit scoring"] * 2,
            "category": ["compute", "storage"],
            "amount": [10.5, 3],
            "currency": ["EUR", "EUR"],
        }
    )
    with write_session(engine) as s:
        assert ingest.log_costs(s, actor=world.owner, frame=good) == 2
    cases = [
        (good.assign(model=["Nope", "Credit scoring"]), r"data row 1, column 'model': unknown model 'Nope'"),
        (good.assign(amount=[1, -2]), r"data row 2, column 'amount': '-2' is negative"),
        (good.assign(amount=["abc", 1]), r"data row 1, column 'amount': 'abc' is not an amount"),
        (good.assign(currency=["EUR", "XXX"]), r"data row 2, column 'currency': unknown currency 'XXX'"),
        (
            good,
            r"data row 1: a cost for 2025-01-01, 'Credit scoring' and compute is already recorded; 1 more row too",
        ),
        (
            pd.concat([good, good]).assign(day=["2026-02-01", "2026-02-02"] * 2),
            "day \\+ model \\+ category appears more than once",
        ),
    ]
    for frame, message in cases:
        with pytest.raises(InvalidInput, match=message):
            with write_session(engine) as s:
                ingest.log_costs(s, actor=world.owner, frame=frame)


def test_lineage_refuses_cycles_and_unknown_nodes(engine):
    world = make_world(engine)
    with write_session(engine) as s:
        src = services.create_data_source(s, actor=world.owner, name="Core banking")
        d1 = services.create_dataset(s, actor=world.owner, name="loans", version="1", data_source_id=src)
        d2 = services.create_dataset(s, actor=world.owner, name="loans_clean", version="1")
        services.add_lineage_edge(
            s, actor=world.owner, src_type="dataset", src_id=d1, dst_type="dataset", dst_id=d2
        )
    with pytest.raises(InvalidInput, match="cycle"):
        with write_session(engine) as s:
            services.add_lineage_edge(
                s, actor=world.owner, src_type="dataset", src_id=d2, dst_type="data_source", dst_id=src
            )
    with pytest.raises(NotFound, match="No dataset with id 999"):
        with write_session(engine) as s:
            services.add_lineage_edge(
                s, actor=world.owner, src_type="dataset", src_id=999, dst_type="dataset", dst_id=d2
            )


def test_audit_chain_detects_edit(engine):
    world = make_world(engine)
    make_model(engine, world.owner)
    with write_session(engine) as s:
        s.exec(select(AuditEvent)).first()
        if engine.dialect.name == "postgresql":  # the append-only triggers (migration 0002) refuse edits
            s.connection().exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
        s.connection().exec_driver_sql("UPDATE audit_event SET reason = 'tampered' WHERE id = 3")
    with read_session(engine) as s:
        verdict = audit.verify(s)
    assert not verdict.ok
    assert verdict.first_bad_id == 3
