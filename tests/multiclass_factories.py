"""Builders for multiclass tests: a production version with ordered class names, and batches
of predictions (and labels) named by class, logged through the real ingestion service."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from core.db.engine import write_session
from core.registry import ingest, services

CLASSES = ["low", "medium", "high"]
FEATURES = ["income", "age"]


def register(
    engine: Engine, owner, *, name: str = "Risk band", training_dataset_id: int | None = None
) -> int:  # type: ignore[no-untyped-def]
    with write_session(engine) as s:
        model_id = services.register_model(
            s, actor=owner, name=name, business_unit="Credit risk", task="multiclass", purpose="Band"
        )
        version_id = services.register_version(
            s,
            actor=owner,
            model_id=model_id,
            feature_names=FEATURES,
            class_names=CLASSES,
            metrics={"f1_macro": 0.7},
            training_dataset_id=training_dataset_id,
        )
        services.apply_stage_change(s, actor=owner, version_id=version_id, to_stage="production", reason="t")
    return version_id


def batch(
    n: int, day: date, *, seed: int, shares: list[float] | None = None, labelled: bool = True
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    actual = rng.choice(CLASSES, n, p=[0.5, 0.3, 0.2])
    predicted = np.where(rng.random(n) < 0.75, actual, rng.choice(CLASSES, n, p=shares or [0.5, 0.3, 0.2]))
    frame = pd.DataFrame(
        {
            "ts": [start + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 86_399, n))],
            "income": rng.lognormal(10, 0.4, n).round(0),
            "age": rng.integers(18, 80, n),
            "prediction": predicted,
        }
    )
    if labelled:
        frame["label"] = actual
    return frame


def log(engine: Engine, owner, version_id: int, frame: pd.DataFrame) -> int:  # type: ignore[no-untyped-def]
    with write_session(engine) as s:
        return ingest.log_predictions(s, actor=owner, model_version_id=version_id, frame=frame)
