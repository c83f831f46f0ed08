"""Builders for explanation, lineage and cost tests: small credit-style data, fitted pipelines
shaped like the demo's (ColumnTransformer one-hot + passthrough, then an estimator), a model
version registered with its artifact and samples in the store, and daily cost series.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io
from sqlalchemy import Engine

from core.access import Actor
from core.db.engine import write_session
from core.registry import artifacts, ingest, services
from tests.factories import approved_rule

NUMERIC = ["income", "age", "late_payments", "years_customer"]
CATEGORICAL = ["region", "employment"]
FEATURES = NUMERIC + CATEGORICAL


def credit_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """Applicants with a known rule behind the label: income and tenure help, late payments hurt."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(10.3, 0.5, n).round(0),
            "age": rng.integers(18, 80, n),
            "late_payments": rng.poisson(1.2, n),
            "years_customer": rng.uniform(0, 25, n).round(1),
            "region": rng.choice(["North", "South", "East", "West"], n),
            "employment": rng.choice(["employed", "self-employed", "unemployed"], n, p=[0.7, 0.2, 0.1]),
        }
    )
    logit = (
        (frame["income"] - 30000) / 15000
        - 0.8 * frame["late_payments"]
        + 0.05 * frame["years_customer"]
        + np.where(frame["employment"] == "unemployed", -1.0, 0.3)
        + np.where(frame["region"] == "North", 0.4, 0.0)
    )
    frame["label"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def credit_pipeline(estimator: Any, frame: pd.DataFrame) -> Any:
    """Pipeline([prep: one-hot categoricals + numerics (scaled for non-tree models, else passed
    through), model: estimator]), fitted."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    is_tree = type(estimator).__module__.startswith(("sklearn.ensemble", "sklearn.tree"))
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("num", "passthrough" if is_tree else StandardScaler(), NUMERIC),
        ]
    )
    pipe = Pipeline([("prep", prep), ("model", estimator)])
    target = (
        frame["label"] if _is_classifier(estimator) else frame["income"] * 0.1 + frame["years_customer"] * 50
    )
    pipe.fit(frame[FEATURES], target)
    return pipe


def _is_classifier(estimator: Any) -> bool:
    from sklearn.base import is_classifier

    return bool(is_classifier(estimator))


def _write_parquet(frame: pd.DataFrame, relative: str) -> tuple[str, str]:
    path = artifacts.store_dir() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return relative, artifacts.sha256_of(path)


def register_explained_version(
    engine: Engine,
    actor: Actor,
    *,
    estimator: Any,
    name: str = "Credit scoring",
    business_unit: str = "Credit risk",
    n_train: int = 600,
    n_eval: int = 300,
    log_predictions: int = 40,
    rule: tuple[str, float, str] | None = (">", 0.5, "approve"),
    stage: str | None = "production",
    artifact: tuple[Path, str] | None = None,
    classes: list[str] | None = None,
) -> dict[str, Any]:
    """Fit ``estimator`` in a credit pipeline, store artifact + samples, register model and version.

    Returns ids and the fitted pipeline. Predictions are logged for the last days so that a
    recent production window exists. With ``classes`` (three names), a multiclass classifier of
    income bands.
    """
    train = credit_frame(n_train, seed=1)
    evaluation = credit_frame(n_eval, seed=2)
    if classes:
        train, evaluation = income_bands(train, classes), income_bands(evaluation, classes)
    pipe = credit_pipeline(estimator, train)
    task = "binary_classification" if _is_classifier(estimator) else "regression"
    task = "multiclass_classification" if classes else task
    safe = hashlib.sha1(name.encode()).hexdigest()[:8]
    if artifact is None:  # the fitted pipeline in skops format, as Steward expects
        tmp = artifacts.store_dir() / "_incoming" / f"{safe}.skops"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        skops.io.dump(pipe, tmp)
        artifact = (tmp, "skops")
    uri, sha = artifacts.store_artifact(artifact[0], model_name=name, version=1)
    train_uri, train_sha = _write_parquet(train, f"samples/{safe}/train.parquet")
    eval_uri, eval_sha = _write_parquet(evaluation, f"samples/{safe}/eval.parquet")
    with write_session(engine) as s:
        model_id = services.register_model(
            s,
            actor=actor,
            name=name,
            business_unit=business_unit,
            task=task,
            purpose="Score loan applications",
        )
        dtypes = {c: str(t) for c, t in train[FEATURES].dtypes.items()}
        train_id = services.create_dataset(
            s,
            actor=actor,
            name=f"{name} training sample",
            version="1",
            content_hash=train_sha,
            row_count=len(train),
            uri=train_uri,
            data_schema=dtypes,
        )
        eval_id = services.create_dataset(
            s,
            actor=actor,
            name=f"{name} evaluation sample",
            version="1",
            content_hash=eval_sha,
            row_count=len(evaluation),
            uri=eval_uri,
            data_schema=dtypes,
        )
        version_id = services.register_version(
            s,
            actor=actor,
            model_id=model_id,
            feature_names=FEATURES,
            artifact_uri=uri,
            artifact_sha256=sha,
            artifact_format=artifact[1],
            training_dataset_id=train_id,
            evaluation_dataset_id=eval_id,
            class_names=classes,
        )
        if stage:
            services.apply_stage_change(s, actor=actor, version_id=version_id, to_stage=stage, reason="test")
        if rule and task == "binary_classification":
            op, threshold, outcome = rule
            approved_rule(
                s,
                proposer=actor,
                model_id=model_id,
                name="decision",
                operator=op,
                threshold=threshold,
                outcome=outcome,
                effective_from=datetime.now(UTC) - timedelta(days=60),
            )
    if log_predictions:
        _log_recent_predictions(engine, actor, version_id, pipe, task, log_predictions)
    return {
        "model_id": model_id,
        "version_id": version_id,
        "pipeline": pipe,
        "train": train,
        "eval": evaluation,
        "artifact_uri": uri,
        "artifact_sha256": sha,
        "task": task,
    }


def income_bands(frame: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """``frame`` with a three-class label by income rank (the lowest 40%, the next 35%, the rest)."""
    ranked = frame["income"].rank(pct=True)
    return frame.assign(label=np.select([ranked < 0.4, ranked < 0.75], classes[:2], classes[2]))


def _log_recent_predictions(
    engine: Engine, actor: Actor, version_id: int, pipe: Any, task: str, n: int
) -> None:
    frame = credit_frame(n, seed=3)[FEATURES]
    now = datetime.now(UTC).replace(microsecond=0)
    log = frame.copy()
    log["ts"] = [now - timedelta(hours=6 * i + 1) for i in range(n)]
    if task == "binary_classification":
        score = pipe.predict_proba(frame)[:, 1]
        log["score"] = score
        log["prediction"] = (score > 0.5).astype(int)
    elif task == "multiclass_classification":
        log["prediction"] = pipe.predict(frame)
        log["score"] = pipe.predict_proba(frame).max(axis=1)
    else:
        log["prediction"] = pipe.predict(frame)
    log["request_id"] = [f"req-{i:04d}" for i in range(n)]
    with write_session(engine) as s:
        ingest.log_predictions(s, actor=actor, model_version_id=version_id, frame=log)


def daily_costs(
    start: date,
    days: int,
    *,
    level: float = 100.0,
    slope: float = 0.1,
    weekly: float = 15.0,
    noise: float = 3.0,
    seed: int = 0,
) -> pd.Series:
    """A daily cost series with a linear trend, a weekly cycle and noise (EUR per day)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=days, freq="D")
    t = np.arange(days)
    weekday = np.array([-1, 0, 0, 0, 0.5, 1.2, -0.7]) * weekly
    values = level + slope * t + weekday[index.dayofweek] + rng.normal(0, noise, days)
    return pd.Series(np.clip(values, 0, None), index=index)


def cost_frame(
    model_name: str, series: pd.Series, category: str = "compute", currency: str = "EUR"
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": series.index.date,
            "model": model_name,
            "category": category,
            "amount": series.round(2).to_numpy(),
            "currency": currency,
        }
    )


def artifact_path(uri: str) -> Path:
    return artifacts.resolve(uri)
