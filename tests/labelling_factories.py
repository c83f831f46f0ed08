"""A classifier whose predictions carry request ids, with a case link template and an optional
outcome horizon: for the tests of labelling as domain experts do it."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from core import clock
from core.db.engine import write_session
from core.registry import ingest, services
from tests.factories import World

LINK = "https://claims.example.com/cases/{request_id}?tab=history"


def claims_model(
    engine: Engine,
    world: World,
    *,
    n: int = 60,
    days: int = 60,
    horizon: int | None = None,
    link: str = LINK,
    target: str = "fraud is confirmed",
) -> tuple[int, int]:
    """A classifier with ``n`` predictions over the last ``days`` days, each with a request id."""
    end = clock.now() - timedelta(hours=1)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "ts": [end - timedelta(days=days * i / (n - 1)) for i in range(n)],
            "request_id": [f"CLM 2026/{i:04d}" for i in range(n)],  # a space and a slash: must be encoded
            "score": rng.uniform(0, 1, n).round(3),
            "amount": rng.uniform(10, 500, n).round(2),
        }
    )
    frame["prediction"] = (frame["score"] >= 0.5).astype(float)
    with write_session(engine) as s:
        model_id = services.register_model(
            s,
            actor=world.owner,
            name="Claims fraud",
            business_unit="Claims",
            target=target,
            case_link_template=link,
            outcome_horizon_days=horizon,
        )
        version_id = services.register_version(
            s, actor=world.owner, model_id=model_id, metrics={"roc_auc": 0.8}, feature_names=["amount"]
        )
        services.apply_stage_change(
            s,
            actor=world.owner,
            version_id=version_id,
            to_stage="production",
            reason="t",
            at=end - timedelta(days=days + 1),
        )
        ingest.log_predictions(s, actor=world.owner, model_version_id=version_id, frame=frame)
    return model_id, version_id
