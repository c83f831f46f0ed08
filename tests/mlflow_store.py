"""A real MLflow tracking store for import tests, written by the mlflow package itself.

Shared by tests/integration/test_mlflow_import.py and the Admin page's AppTest, so both
import the same registry: two registered models, three versions, aliases, runs with
params, metrics, git commits and logged datasets, and a few things Steward cannot map.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


def _run(
    mlflow: Any, name: str, params: dict, metrics: dict, commit: str, datasets: list[tuple[str, str, str]]
) -> str:
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tag("mlflow.source.git.commit", commit)
        for ds_name, source, context in datasets:
            frame = pd.DataFrame({"income": [1.0, 2.0, 3.0], "age": [30.0, 40.0, 50.0], "label": [0, 1, 0]})
            ds = mlflow.data.from_pandas(frame, source=source, name=ds_name, targets="label")
            mlflow.log_input(ds, context=context)
        return run.info.run_id


def build_mlflow_store(root: Path) -> str:
    """Write the store under ``root`` and return its tracking URI (sqlite:///...)."""
    import mlflow

    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("credit")
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    r1 = _run(
        mlflow,
        "v1",
        {"max_depth": 3},
        {"roc_auc": 0.78, "accuracy": 0.74},
        "a" * 40,
        [
            ("loans", "s3://lake/loans/2025-01.parquet", "training"),
            ("loans_holdout", "s3://lake/loans/holdout.parquet", "evaluation"),
        ],
    )
    r2 = _run(
        mlflow,
        "v2",
        {"max_depth": 4},
        {"roc_auc": 0.82, "accuracy": 0.77},
        "b" * 40,
        [
            ("loans", "s3://lake/loans/2025-06.parquet", "training"),
            ("loans_holdout", "s3://lake/loans/holdout.parquet", "evaluation"),
        ],
    )
    r3 = _run(
        mlflow,
        "demand",
        {"alpha": 0.5},
        {"rmse": 12.5, "mae": 9.1},
        "not-a-commit",
        [("sales", "s3://lake/sales.parquet", "")],
    )
    client.create_registered_model(
        "credit-scoring", tags={"business_unit": "Credit risk"}, description="Scores loan applications"
    )
    client.create_model_version(
        "credit-scoring", source=f"{root}/artifacts/1/model", run_id=r1, tags={"validated": "yes"}
    )
    client.create_model_version("credit-scoring", source=f"{root}/artifacts/2/model", run_id=r2)
    client.set_registered_model_alias("credit-scoring", "champion", "2")
    client.set_registered_model_alias("credit-scoring", "challenger", "1")
    client.create_registered_model("demand-forecast", description="Weekly demand per store")
    client.create_model_version("demand-forecast", source=f"{root}/artifacts/3/model", run_id=r3)
    return uri
