"""The prediction-log store (issue 17): Parquet by model, version and day with a manifest in the
registry; migrate-logs proves nothing is lost; drift reads the store and agrees with the
registry path; retention deletes only old raw rows. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Text, cast, func, insert, select
from sqlmodel import col

from core.config import reset_settings_cache
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, LogFile, LogRetention, ModelVersion, PredictionDaily, PredictionLog
from core.errors import InvalidInput, PermissionDenied
from core.logstore import migrate, query, reads, retention, store
from core.monitoring.drift.engine import compare
from core.monitoring.drift.runs import training_profile
from core.monitoring.drift.sources import Period, window_chunks
from core.monitoring.drift.window import WindowAccumulator
from tests.drift_data import log, make_drift_model, production_batch
from tests.factories import make_world

DAY = date(2026, 10, 1)


def _batch(days: int = 3, n: int = 40, *, labelled: int = 0, seed: int = 1) -> pd.DataFrame:
    frames = [production_batch(n, DAY + timedelta(days=i), seed=seed + i) for i in range(days)]
    frame = pd.concat(frames, ignore_index=True)
    frame["request_id"] = [f"r{i}" for i in range(len(frame))]
    if labelled:
        frame["label"] = np.nan
        frame.loc[: labelled - 1, "label"] = 1.0
    return frame


def test_ingest_writes_one_parquet_file_per_day_with_its_manifest(engine, tmp_path):
    world = make_world(engine)
    model = make_drift_model(engine, world.owner, tmp_path)
    frame = _batch(days=3, n=40, labelled=5)
    assert log(engine, world.owner, model.version_id, frame) == 120
    root = store.open_store()
    with read_session(engine) as s:
        files = s.exec(select(LogFile).order_by(col(LogFile.day))).scalars().all()
        kept = s.exec(select(func.count()).select_from(PredictionLog)).one()[0]
    assert [f.day for f in files] == [DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)]
    assert [f.rows for f in files] == [40, 40, 40]
    assert kept == 5  # only the labelled sample stays in the registry
    for f in files:
        assert (
            f.path
            == f"model={model.model_id}/version={model.version_id}/day={f.day}/{f.path.rsplit('/', 1)[1]}"
        )
        data = (tmp_path / "logs" / f.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.sha256 and len(data) == f.size_bytes
        table = pq.read_table(tmp_path / "logs" / f.path)
        assert table.num_rows == f.rows
        assert [c["name"] for c in f.columns] == table.column_names
        assert table.column_names[:6] == ["row_id", "ts", "request_id", "prediction", "score", "label"]
        con = query.connect()
        query.view(con, [f], store=root)
        assert query.checksums(con, "logs") == {None: (f.rows, f.checksum)}
    ids = np.concatenate([pq.read_table(tmp_path / "logs" / f.path)["row_id"].to_numpy() for f in files])
    assert len(set(ids.tolist())) == 120


def test_a_refused_batch_writes_nothing_to_the_registry(engine, tmp_path):
    world = make_world(engine)
    model = make_drift_model(engine, world.owner, tmp_path)
    frame = _batch(days=1, n=10)
    frame["prediction"] = frame["prediction"].astype(object)
    frame.loc[3, "prediction"] = "high"
    with pytest.raises(InvalidInput, match="column 'prediction': 'high' is not a number"):
        log(engine, world.owner, model.version_id, frame)
    with read_session(engine) as s:
        assert s.exec(select(func.count()).select_from(LogFile)).one()[0] == 0


def _json_value(value):
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _old_style_rows(engine, version_id: int, frame: pd.DataFrame, first_id: int = 1) -> None:
    """Rows as the registry held them before the store: features as JSON in prediction_log."""
    features = [c for c in frame.columns if c not in ("ts", "prediction", "score", "label", "request_id")]
    rows = [
        {
            "id": first_id + i,
            "model_version_id": version_id,
            "ts": r["ts"].to_pydatetime() if hasattr(r["ts"], "to_pydatetime") else r["ts"],
            "request_id": r.get("request_id", ""),
            "features": {f: _json_value(r[f]) for f in features},
            "prediction": float(r["prediction"]),
            "score": float(r["score"]),
            "label": None if pd.isna(r.get("label", np.nan)) else float(r["label"]),
        }
        for i, r in enumerate(frame.to_dict(orient="records"))
    ]
    with write_session(engine) as s:
        s.execute(insert(PredictionLog), rows)


def _registry_outcome(engine, version_id: int, period: Period):
    """The drift outcome computed the old way: JSON features of prediction_log rows."""
    with read_session(engine) as s:
        rows = s.execute(
            select(
                cast(col(PredictionLog.features), Text),
                col(PredictionLog.prediction),
                col(PredictionLog.score),
            ).where(
                col(PredictionLog.model_version_id) == version_id,
                col(PredictionLog.ts) >= period.start,
                col(PredictionLog.ts) < period.end,
            )
        ).all()
        profile = training_profile(s, s.get(ModelVersion, version_id))
    window = WindowAccumulator(profile.profile)
    window.add(migrate.log_frame(rows))
    return compare(window)


def _store_outcome(engine, version_id: int, period: Period):
    with read_session(engine) as s:
        profile = training_profile(s, s.get(ModelVersion, version_id))
        window = WindowAccumulator(profile.profile)
        for chunk in window_chunks(s, version_id, period, chunk_rows=37):
            window.add(chunk)
    return compare(window)


def _numbers(outcome) -> dict[str, dict[str, float]]:
    out = {}
    for c in outcome.columns:
        out[c.column] = {
            k: float(v) for k, v in c.stats.items() if isinstance(v, int | float) and not isinstance(v, bool)
        }
        if c.score is not None:
            out[c.column]["score"] = float(c.score)
    return out


def test_migrate_logs_moves_every_row_proves_it_and_drift_is_unchanged(engine, tmp_path):
    world = make_world(engine)
    model = make_drift_model(engine, world.owner, tmp_path)
    frame = _batch(days=4, n=50, labelled=7, seed=5)
    frame.loc[10, "income"] = np.nan
    _old_style_rows(engine, model.version_id, frame)
    period = Period(DAY, DAY + timedelta(days=3))
    before = _registry_outcome(engine, model.version_id, period)

    with write_session(engine) as s:
        done = migrate.migrate_logs(s, actor=world.admin)
    assert done.rows == 200 and done.files == 4
    (moved,) = done.versions
    assert moved.kept_in_registry == 7
    assert [p["rows"] for p in moved.partitions] == [50, 50, 50, 50]
    with read_session(engine) as s:
        assert s.exec(select(func.count()).select_from(PredictionLog)).one()[0] == 7
        assert reads.count_rows(s, model.version_id) == 200
        event = s.exec(select(AuditEvent).where(col(AuditEvent.action) == "logs.migrated")).scalars().one()
    after = json.loads(event.after) if isinstance(event.after, str) else event.after
    assert after["rows"] == 200 and after["kept_in_registry"] == 7

    moved_outcome = _store_outcome(engine, model.version_id, period)
    want, got = _numbers(before), _numbers(moved_outcome)
    assert want.keys() == got.keys() and want
    for column, stats in want.items():
        for key, value in stats.items():
            assert got[column][key] == pytest.approx(value, abs=1e-9, rel=0), (column, key)
    assert [c.drifted for c in before.columns] == [c.drifted for c in moved_outcome.columns]

    with write_session(engine) as s:
        again = migrate.migrate_logs(s, actor=world.admin)
    assert again.rows == 0 and again.versions == []


def test_migrate_logs_is_for_admins(engine, tmp_path):
    world = make_world(engine)
    with write_session(engine) as s, pytest.raises(PermissionDenied, match="registry admin"):
        migrate.migrate_logs(s, actor=world.owner)


def test_new_rows_after_a_migration_get_new_ids(engine, tmp_path):
    world = make_world(engine)
    model = make_drift_model(engine, world.owner, tmp_path)
    _old_style_rows(engine, model.version_id, _batch(days=1, n=10), first_id=500)
    with write_session(engine) as s:
        migrate.migrate_logs(s, actor=world.admin)
    log(engine, world.owner, model.version_id, _batch(days=1, n=10, seed=9))
    with read_session(engine) as s:
        frame = reads.rows(s, model.version_id, columns=("row_id",))
    assert sorted(frame["row_id"]) == list(range(500, 510)) + list(range(510, 520))


def test_daily_aggregates_from_the_store_equal_the_rollup(engine, tmp_path):
    world = make_world(engine)
    model = make_drift_model(engine, world.owner, tmp_path)
    log(engine, world.owner, model.version_id, _batch(days=3, n=30, labelled=12))
    with read_session(engine) as s:
        agg = reads.daily_aggregates(s, model.version_id).set_index("day")
        rollup = (
            s.exec(select(PredictionDaily).where(col(PredictionDaily.model_version_id) == model.version_id))
            .scalars()
            .all()
        )
    assert len(rollup) == 3
    for row in rollup:
        day = agg.loc[row.day]
        assert int(day["n"]) == row.n and int(day["n_labelled"]) == row.n_labelled
        assert float(day["pred_sum"]) == pytest.approx(row.pred_sum, abs=1e-9)
        assert float(day["score_sum"]) == pytest.approx(row.score_sum, abs=1e-9)
        assert list(day["score_hist"]) == row.score_hist
        assert int(day["n_equal"]) == row.n_correct


def test_retention_deletes_only_raw_rows_older_than_its_days(engine, tmp_path):
    world = make_world(engine)
    model = make_drift_model(engine, world.owner, tmp_path)
    log(engine, world.owner, model.version_id, _batch(days=5, n=20, labelled=3))
    with write_session(engine) as s:
        with pytest.raises(PermissionDenied, match="retention set"):
            retention.set_retention(s, actor=world.viewer, model_id=model.model_id, raw_days=2)
        with pytest.raises(InvalidInput, match="whole number from 1"):
            retention.set_retention(s, actor=world.owner, model_id=model.model_id, raw_days=0)
        view = retention.set_retention(s, actor=world.owner, model_id=model.model_id, raw_days=2)
    assert view.raw_days == 2 and view.stored_rows == 100
    paths = []
    with read_session(engine) as s:
        paths = [f.path for f in s.exec(select(LogFile).order_by(col(LogFile.day))).scalars()]
        rollup_before = s.exec(select(func.sum(col(PredictionDaily.n)))).one()[0]
    today = DAY + timedelta(days=5)  # keeps days >= today - 2: DAY+3 and DAY+4
    with write_session(engine) as s:
        (applied,) = retention.apply_retention(s, actor=world.system, today=today)
    assert applied.files == 3 and applied.rows == 60 and applied.cutoff == DAY + timedelta(days=3)
    with read_session(engine) as s:
        days = sorted(f.day for f in s.exec(select(LogFile)).scalars())
        assert days == [DAY + timedelta(days=3), DAY + timedelta(days=4)]
        assert s.exec(select(func.sum(col(PredictionDaily.n)))).one()[0] == rollup_before == 100
        assert s.exec(select(func.count()).select_from(PredictionLog)).one()[0] == 3  # the labelled sample
        assert s.exec(select(LogRetention)).scalars().one().last_applied_at is not None
        assert (
            s.exec(select(func.count()).where(col(AuditEvent.action) == "log_retention.applied")).one()[0]
            == 1
        )
    root = tmp_path / "logs"
    assert [(root / p).exists() for p in paths] == [False, False, False, True, True]
    with write_session(engine) as s:
        assert retention.apply_retention(s, actor=world.system, today=today) == []


def test_a_store_given_as_an_fsspec_url(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("STEWARD_LOG_STORE", f"memory://steward-test-logs/{tmp_path.name}")
    reset_settings_cache()
    world = make_world(engine)
    model = make_drift_model(engine, world.owner, tmp_path)
    log(engine, world.owner, model.version_id, _batch(days=2, n=15))
    with read_session(engine) as s:
        assert reads.count_rows(s, model.version_id) == 30
        chunks = list(window_chunks(s, model.version_id, Period(DAY, DAY + timedelta(days=1))))
        newest = reads.newest_ts(s, model.version_id)
    assert sum(len(c) for c in chunks) == 30
    assert newest is not None and newest.date() == DAY + timedelta(days=1)
    assert not (tmp_path / "logs").exists()


def test_campaign_sampling_with_a_period_reads_only_that_period(engine, tmp_path):
    world = make_world(engine)
    model = make_drift_model(engine, world.owner, tmp_path)
    log(engine, world.owner, model.version_id, _batch(days=3, n=10))
    with read_session(engine) as s:
        frame = reads.rows(
            s,
            model.version_id,
            columns=("row_id", "ts"),
            since=pd.Timestamp(DAY + timedelta(days=1), tz="UTC").to_pydatetime(),
            until=pd.Timestamp(DAY + timedelta(days=2), tz="UTC").to_pydatetime(),
            where="NOT list_contains(?::BIGINT[], row_id)",
            params=[[1, 2]],
        )
    assert len(frame) == 10 and (frame["ts"].dt.date == DAY + timedelta(days=1)).all()
