"""Builders for drift tests: a model whose version has a training sample in the artifact store
and production predictions logged through the real ingestion service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from core.access import Actor
from core.db.engine import write_session
from core.registry import artifacts, ingest, services

FEATURES = ["income", "age", "region", "channel"]


@dataclass
class DriftModel:
    model_id: int
    version_id: int
    name: str


def training_sample(n: int = 2000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.lognormal(10, 0.4, n).round(0),
            "age": rng.integers(18, 80, n),
            "region": rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "channel": rng.choice(["web", "branch"], n, p=[0.7, 0.3]),
            "label": rng.integers(0, 2, n),
        }
    )


def production_batch(
    n: int,
    day: date,
    *,
    seed: int,
    income_shift: float = 1.0,
    region_probs: list[float] | None = None,
    score_shift: float = 0.0,
) -> pd.DataFrame:
    """``n`` predictions on ``day``; ``income_shift`` multiplies income (covariate drift)."""
    rng = np.random.default_rng(seed)
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    score = np.clip(rng.beta(2, 5, n) + score_shift, 0, 1)
    return pd.DataFrame(
        {
            "ts": [start + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 86_399, n))],
            "income": (rng.lognormal(10, 0.4, n) * income_shift).round(0),
            "age": rng.integers(18, 80, n),
            "region": rng.choice(
                ["north", "south", "east", "west"], n, p=region_probs or [0.4, 0.3, 0.2, 0.1]
            ),
            "channel": rng.choice(["web", "branch"], n, p=[0.7, 0.3]),
            "score": score,
            "prediction": (score > 0.5).astype(float),
        }
    )


def make_drift_model(
    engine: Engine,
    owner: Actor,
    tmp_path: Path,
    *,
    name: str = "Credit scoring",
    training: pd.DataFrame | None = None,
    features: list[str] | None = None,
    production: bool = True,
) -> DriftModel:
    """A model with one version trained on ``training`` (stored as parquet in the artifact store)."""
    frame = training_sample() if training is None else training
    path = tmp_path / f"{name.replace(' ', '_')}_train.parquet"
    frame.to_parquet(path, index=False)
    uri, sha = artifacts.store_artifact(path, model_name=name, version=1)
    with write_session(engine) as s:
        dataset_id = services.create_dataset(
            s,
            actor=owner,
            name=f"{name} training",
            version="1",
            content_hash=sha,
            row_count=len(frame),
            uri=uri,
        )
        model_id = services.register_model(
            s,
            actor=owner,
            name=name,
            business_unit="Credit risk",
            task="binary_classification",
            purpose="Score applications",
        )
        version_id = services.register_version(
            s,
            actor=owner,
            model_id=model_id,
            training_dataset_id=dataset_id,
            feature_names=features if features is not None else FEATURES,
        )
        if production:
            services.apply_stage_change(
                s, actor=owner, version_id=version_id, to_stage="production", reason="test"
            )
    return DriftModel(model_id, version_id, name)


def log(engine: Engine, owner: Actor, version_id: int, frame: pd.DataFrame) -> int:
    with write_session(engine) as s:
        return ingest.log_predictions(s, actor=owner, model_version_id=version_id, frame=frame)
