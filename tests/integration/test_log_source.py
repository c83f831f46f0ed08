"""Logs read where they already live (issue 17, point 2): a version points at Parquet files with
a column mapping; nothing is copied, and every read (counts, daily figures, drift, rows for
labelling and explanations) gives what the same rows give from Steward's own store. Bad
locations and mappings are refused with the problem named and nothing written. On SQLite and
PostgreSQL, and through the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, LogFile, LogSource, PredictionDaily, PredictionLog
from core.errors import InvalidInput, PermissionDenied
from core.logstore import reads, sources
from core.logstore.external import ColumnMapping
from core.monitoring.drift.sources import Period
from core.registry import services
from tests.cli_auth import TokenRunner
from tests.drift_data import log, make_drift_model
from tests.factories import make_world
from tests.integration.test_logstore import DAY, _batch, _numbers, _store_outcome

MAPPING = ColumnMapping(
    ts="event_time",
    request_id="case_id",
    prediction="pred",
    score="proba",
    label="outcome",
    features={"income": "applicant_income"},  # age, region, channel: found under their own names
)


def _lake(frame: pd.DataFrame, root: Path) -> str:
    """The frame as a team's lake holds it: its own column names, one Parquet file per day in
    day=... directories. Returns a glob over them."""
    renamed = frame.rename(
        columns={
            "ts": "event_time",
            "request_id": "case_id",
            "prediction": "pred",
            "score": "proba",
            "label": "outcome",
            "income": "applicant_income",
        }
    )
    renamed["extra_column_nobody_maps"] = 1
    for day, part in renamed.groupby(renamed["event_time"].dt.date):
        folder = root / f"day={day}"
        folder.mkdir(parents=True)
        part.to_parquet(folder / "part-0.parquet", index=False)
    return str(root / "day=*" / "*.parquet")


def _second_version(engine, world, model) -> int:
    """Version 2 of the drift model, same training data and features."""
    with read_session(engine) as s:
        v1 = services.version_by_number(s, model.model_id, 1)
        spec = {
            "training_dataset_id": v1.training_dataset_id,
            "feature_names": list(v1.feature_names),
            "artifact_uri": v1.artifact_uri,
            "artifact_sha256": v1.artifact_sha256,
            "artifact_format": v1.artifact_format,
        }
    with write_session(engine) as s:
        return services.register_version(
            s,
            actor=world.owner,
            model_id=model.model_id,
            metrics={"roc_auc": 0.8},
            **spec,
        )


@pytest.fixture(autouse=True)
def lake_allowed(monkeypatch, tmp_path):
    """The test's directory is where logs may be read in place (its artifact and log stores excepted)."""
    monkeypatch.setenv("STEWARD_LOG_SOURCE_ROOTS", f"{tmp_path}, s3://team-bucket/preds")
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture
def two_versions(engine, tmp_path):
    """v1 holds a batch in Steward's store; v2 reads the same rows from a lake."""
    world = make_world(engine)
    model = make_drift_model(engine, world.owner, tmp_path)
    frame = _batch(days=3, n=40, labelled=9, seed=3)
    frame.loc[5, "income"] = np.nan
    log(engine, world.owner, model.version_id, frame)
    v2 = _second_version(engine, world, model)
    location = _lake(frame, tmp_path / "lake")
    return world, model, v2, location, frame


def test_a_version_reads_its_logs_in_place_exactly_as_from_the_store(engine, two_versions, tmp_path):
    world, model, v2, location, frame = two_versions
    with write_session(engine) as s:
        summary = sources.attach_source(
            s, actor=world.owner, model_version_id=v2, location=location, mapping=MAPPING
        )
    assert (summary.rows, summary.days, summary.labelled) == (120, 3, 9)
    assert summary.mapping["features"] == {
        "income": "applicant_income",
        "age": "age",
        "region": "region",
        "channel": "channel",
    }
    with read_session(engine) as s:
        # nothing copied: no manifest row, no registry row for v2
        assert (
            s.execute(
                select(func.count()).select_from(LogFile).where(col(LogFile.model_version_id) == v2)
            ).scalar_one()
            == 0
        )
        assert (
            s.execute(
                select(func.count())
                .select_from(PredictionLog)
                .where(col(PredictionLog.model_version_id) == v2)
            ).scalar_one()
            == 0
        )
        v1 = model.version_id
        assert reads.count_rows(s, v2) == reads.count_rows(s, v1) == 120
        assert reads.count_rows(s, v2, DAY + timedelta(days=1), DAY + timedelta(days=1)) == 40
        assert reads.has_rows(s, v2)
        assert reads.newest_ts(s, v2) == reads.newest_ts(s, v1)
        stored, external = reads.daily_aggregates(s, v1), reads.daily_aggregates(s, v2)
        pd.testing.assert_frame_equal(stored.drop(columns="score_hist"), external.drop(columns="score_hist"))
        assert [list(h) for h in stored["score_hist"]] == [list(h) for h in external["score_hist"]]
        # the daily figures the pages read were written from the source
        daily = {
            d.day: d
            for d in s.execute(
                select(PredictionDaily).where(col(PredictionDaily.model_version_id) == v2)
            ).scalars()
        }
        mine = {
            d.day: d
            for d in s.execute(
                select(PredictionDaily).where(col(PredictionDaily.model_version_id) == v1)
            ).scalars()
        }
        assert daily.keys() == mine.keys()
        for day, row in mine.items():
            assert (daily[day].n, daily[day].n_labelled, daily[day].n_correct, daily[day].score_hist) == (
                row.n,
                row.n_labelled,
                row.n_correct,
                row.score_hist,
            )
            assert daily[day].score_sum == pytest.approx(row.score_sum, abs=1e-9)
        columns = ["request_id", "ts", "prediction", "score", "label", "income", "region"]
        a = reads.rows(s, v1, columns=columns).sort_values("request_id").reset_index(drop=True)
        b = reads.rows(s, v2, columns=columns).sort_values("request_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
        newest = reads.rows(s, v2, newest_first=True, limit=5)
        assert len(newest) == 5 and newest["ts"].is_monotonic_decreasing
        first_id = int(reads.rows(s, v2, columns=("row_id",)).iloc[0, 0])
        one = reads.row(s, v2, first_id)
        assert one is not None and set(one["features"]) >= {"income", "age", "region", "channel"}
        assert one["id"] >= 2**62  # above every id the store hands out
    period = Period(DAY, DAY + timedelta(days=2))
    want, got = (
        _numbers(_store_outcome(engine, model.version_id, period)),
        _numbers(_store_outcome(engine, v2, period)),
    )
    assert want.keys() == got.keys() and want
    for column, stats in want.items():
        for key, value in stats.items():
            assert got[column][key] == pytest.approx(value, abs=1e-9, rel=0), (column, key)
    with read_session(engine) as s:
        (event,) = s.execute(
            select(AuditEvent).where(col(AuditEvent.action) == "log_source.attached")
        ).scalars()
        after = json.loads(event.after) if isinstance(event.after, str) else event.after
        assert after["location"] == location and after["rows"] == 120 and event.actor_id == world.owner.id


def test_labels_given_in_steward_count_for_a_source_and_sync_reads_new_files(engine, two_versions, tmp_path):
    world, model, v2, location, frame = two_versions
    with write_session(engine) as s:
        sources.attach_source(s, actor=world.owner, model_version_id=v2, location=location, mapping=MAPPING)
    with read_session(engine) as s:
        unlabelled = reads.rows(
            s, v2, columns=("row_id", "ts", "request_id", "prediction"), where="label IS NULL", limit=2
        )
    # a row drawn for labelling is copied into the labelled sample under its id, then labelled
    from core.logstore import write as logstore_write  # noqa: PLC0415 (test-local)

    with write_session(engine) as s:
        assert (
            logstore_write.keep_in_sample(s, version_id=v2, row_ids=[int(i) for i in unlabelled["row_id"]])
            == 2
        )
        for row_id in unlabelled["row_id"]:
            kept = s.get(PredictionLog, int(row_id))
            assert kept is not None and kept.model_version_id == v2
            kept.label = 1.0
            s.add(kept)
    # new day's file lands in the lake
    extra = _batch(days=1, n=15, seed=11)
    extra["ts"] = extra["ts"] + timedelta(days=10)
    extra["request_id"] = [f"new{i}" for i in range(len(extra))]
    extra["label"] = np.nan
    _lake(extra, tmp_path / "lake")
    with write_session(engine) as s:
        synced = sources.sync_source(s, actor=world.owner, model_version_id=v2)
    assert (synced.rows, synced.days, synced.labelled) == (135, 4, 11)
    assert synced.last_day == DAY + timedelta(days=10)


def test_bad_locations_and_mappings_are_named_and_write_nothing(engine, two_versions, tmp_path):
    world, model, v2, location, frame = two_versions

    def refused(
        match: str, *, at: str = location, mapping: ColumnMapping = MAPPING, version: int = v2
    ) -> None:
        with write_session(engine) as s, pytest.raises(InvalidInput, match=match):
            sources.attach_source(
                s, actor=world.owner, model_version_id=version, location=at, mapping=mapping
            )

    refused("names no Parquet file: nothing matches it", at=str(tmp_path / "nowhere" / "*.parquet"))
    (tmp_path / "not-parquet").mkdir()
    (tmp_path / "not-parquet" / "x.parquet").write_text("ts,prediction\n")
    refused("cannot be read as Parquet", at=str(tmp_path / "not-parquet" / "x.parquet"))
    refused(
        r"has no column for score 'probability'",
        mapping=ColumnMapping(**{**MAPPING.__dict__, "score": "probability"}),
    )
    refused(
        r"name the column holding request_id",
        mapping=ColumnMapping(**{**MAPPING.__dict__, "request_id": " "}),
    )
    refused(
        r"no column holds Credit scoring v2's feature\(s\) income; map each with FEATURE=COLUMN",
        mapping=ColumnMapping(**{**MAPPING.__dict__, "features": {}}),
    )
    refused(
        r"'salary' is not a feature|salary is not a feature",
        mapping=ColumnMapping(
            **{**MAPPING.__dict__, "features": {"income": "applicant_income", "salary": "age"}}
        ),
    )
    refused(
        r"does not read as expected", mapping=ColumnMapping(**{**MAPPING.__dict__, "prediction": "region"})
    )
    # request id and time must identify a row
    twice = pd.concat([frame, frame.iloc[:3]], ignore_index=True)
    dup = _lake(twice, tmp_path / "dup-lake")
    refused(r"3 row\(s\) repeat another row's request id and time", at=dup)
    # a version with rows in the store reads from one place only
    refused("already has predictions in Steward's log store", version=model.version_id)
    with write_session(engine) as s, pytest.raises(PermissionDenied):
        sources.attach_source(s, actor=world.viewer, model_version_id=v2, location=location, mapping=MAPPING)
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(LogSource)).scalar_one() == 0
        assert (
            s.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(col(AuditEvent.action).like("log_source.%"))
            ).scalar_one()
            == 0
        )
        assert (
            s.execute(
                select(func.count())
                .select_from(PredictionDaily)
                .where(col(PredictionDaily.model_version_id) == v2)
            ).scalar_one()
            == 0
        )


runner = TokenRunner()


def test_cli_attach_show_sync_detach(sqlite_engine, two_versions_cli, monkeypatch):
    world, model, v2, location = two_versions_cli
    base = ["log-source", "attach", "--model", model.name, "--version", "2", "--location", location]
    args = base + [
        "--ts",
        "event_time",
        "--request-id",
        "case_id",
        "--prediction",
        "pred",
        "--score",
        "proba",
    ]
    bad = runner.invoke(
        app, [*args, "--label", "outcome", "--feature", "income", "--as", "owner@example.com"]
    )
    assert bad.exit_code == 1 and "--feature 'income': write FEATURE=COLUMN" in bad.output
    done = runner.invoke(
        app,
        [
            *args,
            "--label",
            "outcome",
            "--feature",
            "income=applicant_income",
            "--as",
            "owner@example.com",
            "--json",
        ],
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["rows"] == 120
    shown = runner.invoke(app, ["log-source", "show"])
    assert shown.exit_code == 0 and location in shown.output and "120" in shown.output
    synced = runner.invoke(app, ["log-source", "sync", "--as", "owner@example.com"])
    assert (
        synced.exit_code == 0
        and "reads its logs at" in synced.output
        and "120 predictions on 3 days" in synced.output
    )
    gone = runner.invoke(
        app, ["log-source", "detach", "--model", model.name, "--version", "2", "--as", "owner@example.com"]
    )
    assert gone.exit_code == 0 and "no longer reads a log source" in gone.output
    with read_session(sqlite_engine) as s:
        assert not reads.has_rows(s, v2)
        assert s.execute(select(func.count()).select_from(LogSource)).scalar_one() == 0


@pytest.fixture
def two_versions_cli(monkeypatch, sqlite_engine, tmp_path):
    monkeypatch.setenv("STEWARD_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    reset_settings_cache()
    world = make_world(sqlite_engine)
    model = make_drift_model(sqlite_engine, world.owner, tmp_path)
    frame = _batch(days=3, n=40, labelled=9, seed=3)
    log(sqlite_engine, world.owner, model.version_id, frame)
    v2 = _second_version(sqlite_engine, world, model)
    return world, model, v2, _lake(frame, tmp_path / "lake")


def _delta(frame: pd.DataFrame, root: Path, mode: str = "error") -> str:
    """The frame as a Delta table with the team's column names (partitioned by day)."""
    from deltalake import write_deltalake  # noqa: PLC0415 (only these tests write Delta tables)

    renamed = frame.rename(
        columns={
            "ts": "event_time",
            "request_id": "case_id",
            "prediction": "pred",
            "score": "proba",
            "label": "outcome",
            "income": "applicant_income",
        }
    )
    renamed["day"] = renamed["event_time"].dt.strftime("%Y-%m-%d")
    write_deltalake(str(root), renamed, partition_by=["day"], mode=mode)
    return str(root)


def test_a_delta_table_is_read_at_its_current_version_only(engine, two_versions, tmp_path):
    world, model, v2, _, frame = two_versions
    table = _delta(frame, tmp_path / "delta")
    # a stray file in the table's directory that its log does not name is never read
    frame.iloc[:5].to_parquet(Path(table) / "day=2026-10-01" / "stray.parquet", index=False)
    with write_session(engine) as s:
        summary = sources.attach_source(
            s, actor=world.owner, model_version_id=v2, location=table, mapping=MAPPING
        )
    assert summary.kind == "delta" and (summary.rows, summary.days, summary.labelled) == (120, 3, 9)
    with read_session(engine) as s:
        stored, external = reads.daily_aggregates(s, model.version_id), reads.daily_aggregates(s, v2)
        pd.testing.assert_frame_equal(stored.drop(columns="score_hist"), external.drop(columns="score_hist"))
    period = Period(DAY, DAY + timedelta(days=2))
    want, got = (
        _numbers(_store_outcome(engine, model.version_id, period)),
        _numbers(_store_outcome(engine, v2, period)),
    )
    for column, stats in want.items():
        for key, value in stats.items():
            assert got[column][key] == pytest.approx(value, abs=1e-9, rel=0), (column, key)
    # the team overwrites the table: a sync reads its new version
    _delta(frame.iloc[:50], Path(table), mode="overwrite")
    with write_session(engine) as s:
        synced = sources.sync_source(s, actor=world.owner, model_version_id=v2)
    assert synced.rows == 50


def test_a_source_of_the_wrong_kind_is_named(engine, two_versions, tmp_path):
    world, model, v2, location, frame = two_versions
    with write_session(engine) as s, pytest.raises(InvalidInput, match="cannot be read as a Delta table"):
        sources.attach_source(
            s,
            actor=world.owner,
            model_version_id=v2,
            location=str(tmp_path / "lake"),
            mapping=MAPPING,
            kind="delta",
        )
    with (
        write_session(engine) as s,
        pytest.raises(InvalidInput, match="kind 'orc' is not one of auto, parquet, delta"),
    ):
        sources.attach_source(
            s, actor=world.owner, model_version_id=v2, location=location, mapping=MAPPING, kind="orc"
        )
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(LogSource)).scalar_one() == 0


def test_only_allowed_places_are_read_and_never_stewards_own_stores(
    engine, two_versions, tmp_path, monkeypatch
):
    """A model owner may not read another unit's logs through a log source: Steward's own stores,
    places outside STEWARD_LOG_SOURCE_ROOTS, ``..`` and symbolic links out of them are refused."""
    world, model, v2, location, frame = two_versions

    def refused(at: str, match: str) -> None:
        with write_session(engine) as s, pytest.raises(PermissionDenied, match=match):
            sources.attach_source(s, actor=world.owner, model_version_id=v2, location=at, mapping=MAPPING)

    store = tmp_path / "logs"  # Steward's log store in tests: v1's files are there
    assert list(store.rglob("*.parquet"))
    refused(str(store / "**" / "*.parquet"), "Steward's own artifact or log store")
    refused(str(tmp_path / "artifacts"), "Steward's own artifact or log store")
    refused(
        str(tmp_path / "lake" / ".." / "logs" / "*" / "*" / "*" / "*.parquet"),
        "Steward's own artifact or log store",
    )
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    frame.to_parquet(elsewhere / "p.parquet")
    refused(str(elsewhere / "p.parquet"), "is not under a directory STEWARD_LOG_SOURCE_ROOTS allows")
    refused("s3://other-bucket/preds/", "is not under a directory STEWARD_LOG_SOURCE_ROOTS allows")
    sneaky = tmp_path / "sneaky"
    sneaky.mkdir()
    (sneaky / "day.parquet").symlink_to(next(store.rglob("*.parquet")))
    refused(str(sneaky / "*.parquet"), "leads outside the allowed directories")
    monkeypatch.setenv("STEWARD_LOG_SOURCE_ROOTS", "")
    reset_settings_cache()
    refused(location, "reading logs in place is not enabled here")
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(LogSource)).scalar_one() == 0


def test_reads_stop_when_the_roots_no_longer_allow_a_source(engine, two_versions, monkeypatch):
    world, model, v2, location, frame = two_versions
    with write_session(engine) as s:
        sources.attach_source(s, actor=world.owner, model_version_id=v2, location=location, mapping=MAPPING)
    monkeypatch.setenv("STEWARD_LOG_SOURCE_ROOTS", "/somewhere/else")
    reset_settings_cache()
    with read_session(engine) as s, pytest.raises(PermissionDenied, match="is not under a directory"):
        reads.count_rows(s, v2)
