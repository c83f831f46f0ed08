"""The demo portfolio's drift history: the models built with covariate drift show it in their
latest run and rising over the months; the outage leaves too few rows to judge."""

from __future__ import annotations

from sqlalchemy import Engine, select

from core.db.engine import read_session
from core.db.models import Model
from core.demo import DEMO_FACTS
from core.monitoring.drift import reads


def test_demo_drift_runs_show_the_injected_covariate_drift(demo_engine: Engine) -> None:
    with read_session(demo_engine) as s:
        names = dict(s.execute(select(Model.id, Model.name)).all())
        latest = reads.latest_drift_by_model(s)
        histories = {name: reads.drift_history(s, model_id) for model_id, name in names.items()}
    latest["model"] = latest["model_id"].map(names)
    by_model = latest.set_index("model")
    for name in DEMO_FACTS["covariate_drift"]:
        assert by_model.loc[name, "status"] == "drift", name
        history = histories[name]
        assert len(history) == 6  # six monthly runs
        assert history["drift_share"].iloc[-2:].mean() > history["drift_share"].iloc[:2].mean(), name
    for name in DEMO_FACTS["outage"]:
        assert by_model.loc[name, "status"] in ("not_computed", "no_data"), name
    assert latest["drift_share"].dropna().between(0, 1).all()
