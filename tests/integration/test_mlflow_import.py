"""MLflow import against a tracking store written by the real mlflow package."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from core import audit
from core.db.engine import read_session
from core.db.models import Dataset, ExternalRef, LineageEdge, Model, ModelVersion
from core.errors import InvalidInput, PermissionDenied, StewardError
from core.integrations.mlflow_import import import_mlflow
from tests.factories import make_world
from tests.mlflow_store import build_mlflow_store

mlflow = pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A local SQLite-backed MLflow store with runs, registered models, aliases and datasets."""
    return build_mlflow_store(tmp_path_factory.mktemp("mlflow"))


def test_import_maps_models_versions_runs_datasets_and_stages(engine, mlflow_store):
    world = make_world(engine)
    report = import_mlflow(engine, actor=world.owner, tracking_uri=mlflow_store)
    assert sorted(report.models_created) == ["credit-scoring", "demand-forecast"]
    assert len(report.versions_created) == 3
    with read_session(engine) as s:
        credit = s.exec(select(Model).where(Model.name == "credit-scoring")).one()
        assert credit.business_unit == "Credit risk"
        assert credit.purpose == "Scores loan applications"
        versions = {
            v.version: v for v in s.exec(select(ModelVersion).where(ModelVersion.model_id == credit.id))
        }
        assert versions[2].stage == "production" and versions[1].stage == "staging"
        assert versions[2].metrics == {"roc_auc": 0.82, "accuracy": 0.77}
        assert versions[2].params == {"max_depth": "4"}
        assert versions[2].git_commit == "b" * 40
        assert versions[2].source_uri.endswith("artifacts/2/model")
        training = s.get(Dataset, versions[2].training_dataset_id)
        evaluation = s.get(Dataset, versions[2].evaluation_dataset_id)
        assert training.name == "loans" and evaluation.name == "loans_holdout"
        assert set(training.data_schema) == {"income", "age", "label"}
        edges = s.exec(
            select(LineageEdge).where(
                LineageEdge.dst_type == "model_version", LineageEdge.dst_id == versions[2].id
            )
        ).all()
        assert {e.src_id for e in edges} == {training.id, evaluation.id}
        demand = s.exec(select(Model).where(Model.name == "demand-forecast")).one()
        assert demand.task == "regression" and demand.business_unit == "Unassigned"
        assert audit.verify(s).ok
    assert any("no business_unit tag" in line for line in report.not_mapped)
    assert any("not a commit hash" in line for line in report.not_mapped)
    assert any("no context tag" in line for line in report.not_mapped)


def test_reimport_updates_and_never_duplicates(engine, mlflow_store):
    world = make_world(engine)
    import_mlflow(engine, actor=world.owner, tracking_uri=mlflow_store)
    with read_session(engine) as s:
        counts = (
            len(s.exec(select(Model)).all()),
            len(s.exec(select(ModelVersion)).all()),
            len(s.exec(select(Dataset)).all()),
            len(s.exec(select(ExternalRef)).all()),
        )
    client = mlflow.MlflowClient(tracking_uri=mlflow_store, registry_uri=mlflow_store)
    client.set_registered_model_alias("credit-scoring", "champion", "1")
    try:
        report = import_mlflow(engine, actor=world.owner, tracking_uri=mlflow_store)
    finally:
        client.set_registered_model_alias("credit-scoring", "champion", "2")
    assert report.models_created == [] and report.versions_created == []
    assert len(report.versions_unchanged) == 3
    assert any(
        "goes through Steward's promotion" in line or "go through Steward's promotion" in line
        for line in report.not_mapped
    )
    with read_session(engine) as s:
        assert counts == (
            len(s.exec(select(Model)).all()),
            len(s.exec(select(ModelVersion)).all()),
            len(s.exec(select(Dataset)).all()),
            len(s.exec(select(ExternalRef)).all()),
        )
        credit = s.exec(select(Model).where(Model.name == "credit-scoring")).one()
        production = s.exec(
            select(ModelVersion).where(ModelVersion.model_id == credit.id, ModelVersion.stage == "production")
        ).all()
        assert [v.version for v in production] == [2]


def test_import_single_model_and_errors(engine, mlflow_store, tmp_path: Path):
    world = make_world(engine)
    report = import_mlflow(engine, actor=world.owner, tracking_uri=mlflow_store, model_name="demand-forecast")
    assert report.models_created == ["demand-forecast"]
    with pytest.raises(InvalidInput, match="no registered model named 'nope'"):
        import_mlflow(engine, actor=world.owner, tracking_uri=mlflow_store, model_name="nope")
    with pytest.raises(PermissionDenied, match="model_owner"):
        import_mlflow(engine, actor=world.viewer, tracking_uri=mlflow_store)
    with pytest.raises(InvalidInput, match="tracking URI is empty"):
        import_mlflow(engine, actor=world.owner, tracking_uri="  ")
    with pytest.raises(StewardError, match="Cannot read the MLflow registry"):
        import_mlflow(engine, actor=world.owner, tracking_uri="postgresql://nobody@127.0.0.1:1/none")


def test_cli_import_mlflow_is_idempotent(engine, db_url, mlflow_store, monkeypatch):
    from typer.testing import CliRunner

    from core.cli import _load_commands, app
    from core.config import reset_settings_cache

    world = make_world(engine)
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    _load_commands()
    runner = CliRunner()
    first = runner.invoke(app, ["import-mlflow", "--tracking-uri", mlflow_store, "--as", world.owner.email])
    assert first.exit_code == 0, first.output
    assert "2 models created" in first.output and "3 versions created" in first.output
    second = runner.invoke(
        app, ["import-mlflow", "--tracking-uri", mlflow_store, "--as", world.owner.email, "--json"]
    )
    assert second.exit_code == 0, second.output
    assert '"models_created": []' in second.output
    denied = runner.invoke(app, ["import-mlflow", "--tracking-uri", mlflow_store, "--as", world.viewer.email])
    assert denied.exit_code == 1
    assert "Error:" in denied.output and "model_owner" in denied.output
