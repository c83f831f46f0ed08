"""Stored drift runs on SQLite and PostgreSQL: computing, idempotence, audit, permissions,
prediction drift, the read models health and pages use, Evidently reports and the promotion gate."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, Dataset, DriftFeatureResult, DriftProfile, DriftRun, ModelVersion
from core.errors import IntegrityViolation, NotFound, PermissionDenied
from core.monitoring.drift import reads
from core.monitoring.drift.report import build_run_report, read_report
from core.monitoring.drift.runs import run_drift, run_model_drift
from core.monitoring.drift.sources import Period, month_periods
from core.monitoring.gates import promotion_gate
from core.registry import artifacts, services
from tests.drift_data import log, make_drift_model, production_batch, training_sample
from tests.factories import World, make_world

MARCH = Period(date(2024, 3, 1), date(2024, 3, 31))
APRIL = Period(date(2024, 4, 1), date(2024, 4, 30))
MAY = Period(date(2024, 5, 1), date(2024, 5, 31))


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def _count(engine: Engine, table, *where) -> int:  # type: ignore[no-untyped-def]
    with read_session(engine) as s:
        return int(s.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _actions(engine: Engine) -> list[str]:
    with read_session(engine) as s:
        return list(s.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


@pytest.fixture
def drifting(engine: Engine, world: World, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Stable inputs in March, none in April, income and region shifted in May."""
    model = make_drift_model(engine, world.owner, tmp_path)
    log(engine, world.owner, model.version_id, production_batch(2500, date(2024, 3, 5), seed=2))
    log(
        engine,
        world.owner,
        model.version_id,
        production_batch(
            2500,
            date(2024, 5, 5),
            seed=3,
            income_shift=1.3,
            region_probs=[0.1, 0.2, 0.3, 0.4],
            score_shift=0.2,
        ),
    )
    return model


def test_runs_find_drift_where_it_was_injected_and_store_every_column(
    engine: Engine, world: World, drifting
) -> None:  # type: ignore[no-untyped-def]
    [march] = run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MARCH)
    [may] = run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MAY)
    assert march.status == "ok" and march.drift_share == 0.0 and march.current_rows == 2500
    assert may.status == "drift" and may.drifted_features == ("income", "region")
    assert may.drift_share == pytest.approx(0.5) and may.n_computed == 4
    assert may.prediction_drifted is True  # scores shifted against the first 28 days of predictions
    with read_session(engine) as s:
        detail = reads.run_detail(s, may.id)
    rows = detail.columns.set_index("column")
    assert list(detail.columns["column"][:2]) == ["income", "region"]  # drifted first
    assert rows.loc["income", "test"] == "wasserstein" and rows.loc["income", "threshold"] == 0.1
    assert rows.loc["region", "test"] == "jensenshannon"
    assert rows.loc["score", "role"] == "prediction" and bool(rows.loc["score", "drifted"]) is True
    assert "first 28 days" not in rows.loc["score", "reason"]
    assert detail.histograms["income"]["type"] == "numeric"
    assert sum(detail.histograms["region"]["current"]) == pytest.approx(100.0)
    assert detail.reference_description == "training dataset Credit scoring training v1 (2,000 rows)"
    assert _actions(engine).count("drift.run") == 2
    assert (
        _actions(engine).count("drift.profile_built") == 2
    )  # the training profile and the predictions' baseline


def test_first_weeks_are_the_prediction_reference_so_they_are_not_compared(
    engine: Engine, world: World, drifting
) -> None:  # type: ignore[no-untyped-def]
    [march] = run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MARCH)
    with read_session(engine) as s:
        detail = reads.run_detail(s, march.id)
    prediction = detail.columns.set_index("column").loc["prediction"]
    assert prediction["drifted"] is None
    assert "overlaps the first 28 days of this version's predictions" in prediction["reason"]
    assert march.prediction_drifted is None


def test_a_period_without_predictions_is_recorded_as_no_data(engine: Engine, world: World, drifting) -> None:  # type: ignore[no-untyped-def]
    [april] = run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=APRIL)
    assert april.status == "no_data" and april.drift_share is None and april.current_rows == 0
    assert "No rows in the current data" in april.status_note


def test_running_a_period_again_is_idempotent(engine: Engine, world: World, drifting) -> None:  # type: ignore[no-untyped-def]
    [first] = run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MAY)
    events = len(_actions(engine))
    [again] = run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MAY)
    assert again.outcome == "unchanged" and again.id == first.id
    assert len(_actions(engine)) == events  # nothing written
    assert _count(engine, DriftRun) == 1
    assert _count(engine, DriftProfile) == 2


def test_late_predictions_replace_the_run_and_the_old_summary_is_audited(
    engine: Engine, world: World, drifting
) -> None:  # type: ignore[no-untyped-def]
    [first] = run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MAY)
    log(engine, world.owner, drifting.version_id, production_batch(500, date(2024, 5, 20), seed=9))
    [late] = run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MAY)
    assert late.outcome == "replaced" and late.id == first.id and late.current_rows == 3000
    assert _count(engine, DriftRun) == 1
    assert _count(engine, DriftFeatureResult, DriftFeatureResult.run_id == first.id) == 6
    with read_session(engine) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "drift.run_replaced")).scalar_one()
    assert '"current_rows":2500' in (event.before or "") and '"current_rows":3000' in (event.after or "")
    [forced] = run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MAY, force=True)
    assert forced.outcome == "replaced" and _actions(engine).count("drift.run_replaced") == 2


def test_people_without_the_monitoring_role_cannot_run_and_nothing_is_written(
    engine: Engine, world: World, drifting
) -> None:  # type: ignore[no-untyped-def]
    events = len(_actions(engine))
    for person in (world.viewer, world.labeller):
        with pytest.raises(PermissionDenied, match="may not monitoring run"):
            run_drift(engine, actor=person, model_id=drifting.model_id, period=MAY)
    assert _count(engine, DriftRun) == 0 and len(_actions(engine)) == events
    [run] = run_drift(engine, actor=world.approver, model_id=drifting.model_id, period=MAY)
    assert run.status == "drift"


def test_a_version_without_training_data_has_no_reference(engine: Engine, world: World) -> None:
    with write_session(engine) as s:
        model_id = services.register_model(
            s, actor=world.owner, name="Vendor model", business_unit="Ops", purpose="x"
        )
        version_id = services.register_version(s, actor=world.owner, model_id=model_id, feature_names=["a"])
        services.apply_stage_change(
            s, actor=world.owner, version_id=version_id, to_stage="production", reason="t"
        )
    with pytest.raises(NotFound, match="Vendor model v1 has no training dataset registered"):
        run_drift(engine, actor=world.owner, model_id=model_id, period=MAY)
    assert _count(engine, DriftRun) == 0


def test_a_changed_training_file_is_refused(engine: Engine, world: World, drifting) -> None:  # type: ignore[no-untyped-def]
    with read_session(engine) as s:
        version = s.get(ModelVersion, drifting.version_id)
        uri = s.get(Dataset, version.training_dataset_id).uri  # type: ignore[union-attr]
    training_sample(50, seed=99).to_parquet(artifacts.resolve(uri), index=False)
    with pytest.raises(IntegrityViolation, match="was changed after registration"):
        run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MAY)


def test_latest_drift_by_model_and_history_for_health_and_pages(
    engine: Engine, world: World, drifting
) -> None:  # type: ignore[no-untyped-def]
    for period in month_periods(date(2024, 3, 1), date(2024, 5, 31)):
        run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=period)
    with read_session(engine) as s:
        latest = reads.latest_drift_by_model(s)
        history = reads.drift_history(s, drifting.model_id)
        portfolio = reads.portfolio_drift(s)
        runs = reads.drift_runs(s, drifting.model_id)
    assert list(latest.columns[:2]) == ["model_id", "version_id"]
    row = latest.iloc[0]
    assert row["model_id"] == drifting.model_id and row["version_id"] == drifting.version_id
    assert row["period"] == "May 2024" and row["status"] == "drift" and row["n_drifted"] == 2
    assert row["drift_share"] == pytest.approx(0.5) and row["drifted_features"] == ["income", "region"]
    assert history["period"].tolist() == ["March 2024", "April 2024", "May 2024"]
    assert history["status"].tolist() == ["ok", "no_data", "drift"]
    assert (
        portfolio.iloc[0]["model"] == "Credit scoring"
        and portfolio.iloc[0]["drifted_features"] == "income, region"
    )
    assert runs["label"].tolist()[0] == "May 2024"


def test_evidently_report_is_stored_with_the_run(engine: Engine, world: World, drifting) -> None:  # type: ignore[no-untyped-def]
    [may] = run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MAY)
    with pytest.raises(PermissionDenied, match="may not monitoring run"):
        build_run_report(engine, actor=world.viewer, run_id=may.id)
    path = build_run_report(engine, actor=world.owner, run_id=may.id, max_rows=1000)
    assert path.startswith("drift/Credit_scoring/run-") and path.endswith(".html")
    html = read_report(path)
    assert b"<html" in html[:2000].lower() and len(html) > 100_000
    with read_session(engine) as s:
        detail = reads.run_detail(s, may.id)
    assert detail.report_path == path and detail.report_rows == 1000
    evidently = detail.params["evidently"]
    assert 800 <= evidently["current_rows"] <= 1000 and set(evidently["columns"]) >= {
        "income",
        "region",
        "age",
        "channel",
    }
    assert evidently["columns"]["income"]["drifted"] is True
    assert "drift.report_built" in _actions(engine)


def test_promotion_gate_compares_candidate_training_data_with_recent_production(
    engine: Engine, world: World, drifting, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with read_session(engine) as s:
        gate = promotion_gate(s, model_id=drifting.model_id, version_id=drifting.version_id)
    assert gate is not None and gate["status"] == "fail"  # May's inputs (the latest 30 days) drifted by half
    assert gate["figure"] == "2 of 4 features drifted (50%)"
    assert "Drifted: income" in gate["detail"] and "latest 2,500 predictions of v1" in gate["detail"]
    with write_session(engine) as s:
        bare = services.register_version(
            s, actor=world.owner, model_id=drifting.model_id, feature_names=["income"]
        )
    with read_session(engine) as s:
        assert promotion_gate(s, model_id=drifting.model_id, version_id=bare)["figure"] == "not checked"  # type: ignore[index]
    quiet = make_drift_model(engine, world.owner, tmp_path, name="Quiet model")
    with read_session(engine) as s:
        assert promotion_gate(s, model_id=quiet.model_id, version_id=quiet.version_id) is None
    log(engine, world.owner, quiet.version_id, production_batch(1500, date(2024, 6, 1), seed=4))
    with read_session(engine) as s:
        gate = promotion_gate(s, model_id=quiet.model_id, version_id=quiet.version_id)
    assert gate is not None and gate["status"] == "pass" and gate["figure"] == "0 of 4 features drifted (0%)"


def test_profiles_of_two_registries_are_never_confused(
    engine: Engine, world: World, tmp_path: Path, sqlite_template: Path
) -> None:
    """Decoded profiles are cached per process: the same profile id in another registry, made from
    other training data, must give that registry's answer."""
    import shutil

    from core.db.engine import make_engine

    shifted = training_sample()
    shifted["income"] = shifted["income"] * 1.5
    first = make_drift_model(engine, world.owner, tmp_path)
    path = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, path)
    other_engine = make_engine(f"sqlite:///{path}")
    try:
        other_world = make_world(other_engine)
        second = make_drift_model(
            other_engine, other_world.owner, tmp_path, name="Scoring B", training=shifted
        )
        batch = production_batch(2000, date(2024, 5, 5), seed=3)
        log(engine, world.owner, first.version_id, batch)
        log(other_engine, other_world.owner, second.version_id, batch)
        [ours] = run_drift(engine, actor=world.owner, model_id=first.model_id, period=MAY)
        [theirs] = run_drift(other_engine, actor=other_world.owner, model_id=second.model_id, period=MAY)
    finally:
        other_engine.dispose()
    assert "income" not in ours.drifted_features
    assert "income" in theirs.drifted_features


def test_one_unreadable_version_is_reported_and_the_others_are_computed(
    engine: Engine, world: World, drifting, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A challenger whose training file is gone fails alone: production's run is still stored."""
    challenger_file = tmp_path / "challenger_train.parquet"
    training_sample(500, seed=5).to_parquet(challenger_file, index=False)
    uri, sha = artifacts.store_artifact(challenger_file, model_name="Credit scoring", version=2)
    with write_session(engine) as s:
        dataset_id = services.create_dataset(
            s, actor=world.owner, name="challenger training", version="1", content_hash=sha, uri=uri
        )
        challenger = services.register_version(
            s,
            actor=world.owner,
            model_id=drifting.model_id,
            training_dataset_id=dataset_id,
            feature_names=["income", "age", "region", "channel"],
        )
    log(engine, world.owner, challenger, production_batch(300, date(2024, 5, 7), seed=8))
    artifacts.resolve(uri).unlink()
    done = run_model_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MAY)
    assert [r.version_id for r in done.runs] == [drifting.version_id] and done.runs[0].status == "drift"
    [failure] = done.failures
    assert failure.version_id == challenger and failure.version == 2
    assert "is missing from the artifact store" in str(failure.error)
    assert failure.message.startswith("Credit scoring v2, May 2024: ")
    assert _count(engine, DriftRun) == 1
    # run_drift returns the runs it could store; it raises only when no version could be computed
    assert [
        r.version_id for r in run_drift(engine, actor=world.owner, model_id=drifting.model_id, period=MAY)
    ] == [drifting.version_id]
