"""Builders for labelling, performance and alert tests: a production model with logged
predictions whose scores, classes and (optional) labels are known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from core.access import Actor
from core.db.engine import write_session
from core.registry import ingest, services
from tests.factories import approved_rule

FEATURES = ["income", "age", "region"]


def prediction_frame(
    n: int,
    *,
    seed: int = 0,
    end: datetime | None = None,
    days: int = 60,
    task: str = "binary_classification",
    labelled_share: float = 0.0,
    label_accuracy: float = 0.85,
) -> pd.DataFrame:
    """``n`` predictions spread evenly over ``days`` days up to ``end``; labels on a share of them,
    agreeing with the prediction with probability ``label_accuracy`` (classifiers)."""
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC) - timedelta(hours=1)
    ts = [end - timedelta(seconds=float(s)) for s in np.linspace(days * 86400, 0, n)]
    frame = pd.DataFrame(
        {
            "ts": ts,
            "income": rng.lognormal(10, 0.4, n).round(0),
            "age": rng.integers(18, 80, n),
            "region": rng.choice(["North", "South", "East", "West"], n, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    if task == "binary_classification":
        score = rng.uniform(0, 1, n).round(4)
        frame["score"] = score
        frame["prediction"] = (score >= 0.5).astype(float)
        truth = np.where(rng.uniform(size=n) < label_accuracy, frame["prediction"], 1 - frame["prediction"])
    else:
        frame["prediction"] = rng.normal(1000, 200, n).round(2)
        truth = (frame["prediction"] + rng.normal(0, 50, n)).round(2)
    labelled = rng.uniform(size=n) < labelled_share
    frame["label"] = np.where(labelled, truth, np.nan)
    return frame


def production_model(
    engine: Engine,
    owner: Actor,
    *,
    name: str = "Credit scoring",
    n: int = 400,
    seed: int = 0,
    task: str = "binary_classification",
    labelled_share: float = 0.0,
    end: datetime | None = None,
    days: int = 60,
    metrics: dict[str, float] | None = None,
    rule: tuple[str, float] | None = None,
    target: str = "defaults within 12 months",
    business_unit: str = "Credit risk",
    label_accuracy: float = 0.85,
    promoted_at: datetime | None = None,
) -> tuple[int, int]:
    """A model with one production version and ``n`` logged predictions. Returns (model id, version id)."""
    frame = prediction_frame(
        n,
        seed=seed,
        end=end,
        days=days,
        task=task,
        labelled_share=labelled_share,
        label_accuracy=label_accuracy,
    )
    default_metrics = {"roc_auc": 0.8, "accuracy": 0.85} if task == "binary_classification" else {"mae": 40.0}
    with write_session(engine) as s:
        model_id = services.register_model(
            s,
            actor=owner,
            name=name,
            business_unit=business_unit,
            task=task,
            purpose="Score applications",
            target=target,
        )
        version_id = services.register_version(
            s, actor=owner, model_id=model_id, metrics=metrics or default_metrics, feature_names=FEATURES
        )
        services.apply_stage_change(
            s,
            actor=owner,
            version_id=version_id,
            to_stage="production",
            reason="test",
            at=promoted_at or (frame["ts"].min() - timedelta(days=1)),
        )
        ingest.log_predictions(s, actor=owner, model_version_id=version_id, frame=frame)
        if rule is not None:
            approved_rule(
                s,
                proposer=owner,
                model_id=model_id,
                name="Decision",
                operator=rule[0],
                threshold=rule[1],
                outcome="refer to underwriter",
                effective_from=datetime(2000, 1, 1, tzinfo=UTC),
            )
    return model_id, version_id
