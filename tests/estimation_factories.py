"""Traffic of a calibrated classifier, for the performance estimation (CBPE) tests: the score is
the true probability of the outcome, so estimates from scores should match realised performance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from core.db.engine import write_session
from core.registry import ingest, services
from tests.factories import World


def calibrated_traffic(
    months: int = 10,
    per_month: int = 1000,
    labelled_share: float = 0.3,
    seed: int = 7,
    start: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    drift_per_month: float = 0.05,
) -> pd.DataFrame:
    """``per_month`` predictions a month from ``start``: inputs drift (scores move up month by month),
    outcomes are drawn from the scores, labels arrive for ``labelled_share`` of the cases."""
    rng = np.random.default_rng(seed)
    frames = []
    for m in range(months):
        x = rng.normal(-1.2 + drift_per_month * m, 1.0, per_month)  # covariate drift: riskier cases over time
        score = 1 / (1 + np.exp(-(x * 1.6)))
        outcome = (rng.uniform(size=per_month) < score).astype(float)
        labelled = rng.uniform(size=per_month) < labelled_share
        day = start + timedelta(days=31 * m)
        frames.append(
            pd.DataFrame(
                {
                    "ts": [day + timedelta(minutes=int(i)) for i in range(per_month)],
                    "prediction": (score >= 0.5).astype(float),
                    "score": score.round(5),
                    "label": np.where(labelled, outcome, np.nan),
                    "x": x.round(4),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def logged_classifier(
    engine: Engine,
    world: World,
    frame: pd.DataFrame,
    *,
    task: str = "binary_classification",
    name: str = "Churn",
) -> tuple[int, int]:
    """A model in production with one version whose predictions are ``frame``. (model id, version id)"""
    with write_session(engine) as s:
        model_id = services.register_model(
            s, actor=world.owner, name=name, business_unit="Retail", task=task, target="leaves within 90 days"
        )
        version_id = services.register_version(
            s,
            actor=world.owner,
            model_id=model_id,
            metrics={"roc_auc": 0.8, "accuracy": 0.8},
            feature_names=["x"],
        )
        services.apply_stage_change(
            s,
            actor=world.owner,
            version_id=version_id,
            to_stage="production",
            reason="test",
            at=frame["ts"].min() - timedelta(days=1),
        )
        ingest.log_predictions(s, actor=world.owner, model_version_id=version_id, frame=frame)
    return model_id, version_id
