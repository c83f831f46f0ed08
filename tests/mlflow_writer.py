"""Write a real MLflow store with whichever mlflow the running Python has (2.x or 3.x).

Run as ``python tests/mlflow_writer.py ROOT [sqlite|file|DATABASE_URL]``: writes ROOT/mlflow.db
(SQLite; or the file store ROOT/mlruns, or the database at DATABASE_URL) with its artifacts under ROOT/artifacts and prints a JSON
description (MLflow 3 writes a file store only with MLFLOW_ALLOW_FILE_STORE=true). Uses only MlflowClient and
MLflow's entities (no pandas), so the same script runs in the test suite's venv (mlflow-skinny
3.x) and in the small venv with an older MLflow (see the Makefile's mlflow-envs target).

The registry:
- credit-scoring (business_unit tag, description): v1, v2, v3, v4 with v2 deleted, so MLflow
  numbers are 1, 3, 4; aliases @champion -> 4, @challenger -> 3, @shadow -> 1. v3's run has
  no git commit and no datasets. With MLflow 3, v4 registers a logged model whose metrics
  (one only on the logged model, from an evaluation run) and parameters live on the model.
- demand-forecast (no business_unit tag): v1 with a commit tag that is not a hash and a
  dataset without a context tag.
Every version's files include model.pkl, a pickle that creates ROOT/UNPICKLED when loaded:
an importer that loads artifacts leaves that folder behind.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag

MAJOR = int(mlflow.__version__.split(".")[0])
SCHEMA = json.dumps(
    {
        "mlflow_colspec": [
            {"type": "double", "name": "income", "required": True},
            {"type": "double", "name": "age", "required": True},
            {"type": "long", "name": "label", "required": True},
        ]
    }
)


class Trap:
    """Unpickling this creates a folder: proof that something loaded the artifact."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.mkdir, (self.marker,))


def _files(work: Path, name: str, marker: Path) -> Path:
    folder = work / name / "model"
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text(f"artifact_path: model\nflavors:\n  python_function: {{}}\nrun: {name}\n")
    (folder / "model.pkl").write_bytes(pickle.dumps(Trap(str(marker))))
    return folder


def _dataset(name: str, uri: str, digest: str, context: str) -> DatasetInput:
    tags = [InputTag("mlflow.data.context", context)] if context else []
    source = json.dumps({"uri": uri})
    return DatasetInput(Dataset(name, digest, "s3", source, SCHEMA, None), tags)


def _run(client, experiment_id, name, params, metrics, commit, datasets, work, marker):  # type: ignore[no-untyped-def]
    run = client.create_run(experiment_id, run_name=name)
    run_id = run.info.run_id
    for key, value in params.items():
        client.log_param(run_id, key, value)
    for key, value in metrics.items():
        client.log_metric(run_id, key, value)
    if commit:
        client.set_tag(run_id, "mlflow.source.git.commit", commit)
    if datasets:
        client.log_inputs(run_id, datasets=datasets)
    client.log_artifacts(run_id, str(_files(work, name, marker)), "model")
    client.set_terminated(run_id)
    return client.get_run(run_id)


def main(root: Path, kind: str = "sqlite") -> dict:
    root.mkdir(parents=True, exist_ok=True)
    marker = root / "UNPICKLED"
    if "://" in kind:  # a database URL, e.g. postgresql+psycopg://…
        uri = kind
    else:
        uri = f"sqlite:///{root / 'mlflow.db'}" if kind == "sqlite" else (root / "mlruns").as_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = client.create_experiment("credit", artifact_location=str(root / "artifacts"))
    work = Path(tempfile.mkdtemp())
    training = _dataset("loans", "s3://lake/loans/2025-01.parquet", "d0c5e11a", "training")
    holdout = _dataset("loans_holdout", "s3://lake/loans/holdout.parquet", "0bad5eed", "evaluation")
    r1 = _run(
        client,
        experiment_id,
        "v1",
        {"max_depth": 3},
        {"roc_auc": 0.78, "accuracy": 0.74},
        "a" * 40,
        [training, holdout],
        work,
        marker,
    )
    r2 = _run(
        client,
        experiment_id,
        "v2",
        {"max_depth": 4},
        {"roc_auc": 0.79},
        "b" * 40,
        [training, holdout],
        work,
        marker,
    )
    r3 = _run(
        client,
        experiment_id,
        "v3",
        {"max_depth": 5},
        {"roc_auc": 0.80, "accuracy": 0.76},
        "",
        [],
        work,
        marker,
    )
    r4 = _run(
        client,
        experiment_id,
        "v4",
        {"max_depth": 6},
        {"roc_auc": 0.83, "accuracy": 0.78},
        "c" * 40,
        [training, holdout],
        work,
        marker,
    )
    r5 = _run(
        client,
        experiment_id,
        "demand",
        {"alpha": 0.5},
        {"rmse": 12.5, "mae": 9.1},
        "not-a-commit",
        [_dataset("sales", "s3://lake/sales.parquet", "5a1e5000", "")],
        work,
        marker,
    )
    client.create_registered_model(
        "credit-scoring", tags={"business_unit": "Credit risk"}, description="Scores loan applications"
    )
    source = lambda run: f"{run.info.artifact_uri}/model"  # noqa: E731
    client.create_model_version(
        "credit-scoring", source=source(r1), run_id=r1.info.run_id, tags={"validated": "yes"}
    )
    client.create_model_version("credit-scoring", source=source(r2), run_id=r2.info.run_id)
    client.create_model_version("credit-scoring", source=source(r3), run_id=r3.info.run_id)
    logged_model = ""
    if MAJOR >= 3:
        model = client.create_logged_model(
            experiment_id,
            name="credit-model",
            source_run_id=r4.info.run_id,
            params={"max_depth": "6", "calibration": "isotonic"},
        )
        logged_model = model.model_id
        client.log_model_artifacts(logged_model, str(_files(work, "logged", marker)))
        client.log_metric(r4.info.run_id, "roc_auc", 0.84, model_id=logged_model)
        evaluation = client.create_run(experiment_id, run_name="evaluation")
        client.log_metric(evaluation.info.run_id, "ks_statistic", 0.41, model_id=logged_model)
        client.set_terminated(evaluation.info.run_id)
        client.create_model_version(
            "credit-scoring",
            source=f"models:/{logged_model}",
            run_id=r4.info.run_id,
            model_id=logged_model,
            description="same artefact as v3",
        )
    else:
        client.create_model_version(
            "credit-scoring", source=source(r4), run_id=r4.info.run_id, description="same artefact as v3"
        )
    client.delete_model_version("credit-scoring", "2")
    client.set_registered_model_alias("credit-scoring", "champion", "4")
    client.set_registered_model_alias("credit-scoring", "challenger", "3")
    client.set_registered_model_alias("credit-scoring", "shadow", "1")
    client.create_registered_model("demand-forecast", description="Weekly demand per store")
    client.create_model_version("demand-forecast", source=source(r5), run_id=r5.info.run_id)
    return {
        "uri": uri,
        "mlflow": mlflow.__version__,
        "logged_model": logged_model,
        "runs": [r.info.run_id for r in (r1, r2, r3, r4, r5)],
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]).resolve(), *sys.argv[2:3])))
