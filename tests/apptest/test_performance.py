"""The Performance page through AppTest: realised metrics, the campaign labels counted, alerts."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.db.engine import make_engine, write_session
from core.monitoring import alerts, labelling
from tests.factories import make_world
from tests.feedback_factories import production_model

LABELLER = "labeller@example.com"


@pytest.fixture
def registry(sqlite_template: Path, tmp_path: Path):
    path = tmp_path / "performance.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    model_id, _ = production_model(
        engine,
        world.owner,
        name="Card fraud",
        n=1200,
        labelled_share=0.3,
        label_accuracy=0.6,
        end=datetime.now(UTC) - timedelta(hours=1),
        days=50,
        metrics={"accuracy": 0.9, "roc_auc": 0.8},
    )
    with write_session(engine) as s:
        labelling.create_campaign(s, actor=world.owner, model_id=model_id, size=5, strategy="random", seed=2)
        alerts.evaluate_health(s, actor=world.system)
    yield url, model_id
    engine.dispose()


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _performance(at):
    return at.switch_page("../pages/performance.py").run()


def test_performance_page_shows_months_intervals_and_concept_drift(app, registry):
    url, model_id = registry
    at = app(url)
    at.query_params["as"] = "owner@example.com"
    at = _performance(at.run())
    assert not at.exception
    assert at.selectbox(key="performance.model").value == model_id
    assert _metric(at, "From labelling campaigns") == "0"
    assert at.get("plotly_chart"), "the metric chart is drawn"
    table = next(d.value for d in at.dataframe if "method" in d.value.columns)
    assert {"Accuracy", "ROC AUC"} <= set(table["metric"])
    assert (table["lower"] <= table["value"]).all() and (table["value"] <= table["upper"]).all()
    assert any("Concept drift" in e.value for e in at.error)
    alerts_shown = next(d.value for d in at.dataframe if "kind" in d.value.columns)
    assert "Performance" in alerts_shown["kind"].tolist()


def test_three_labels_from_the_labelling_page_are_counted(app, registry):
    url, _ = registry
    at = app(url)
    at.query_params["as"] = LABELLER
    at = at.run().switch_page("../pages/labelling.py").run()
    for _ in range(3):
        at.button(key="labelling.answer.1").click().run()
    assert not at.exception
    at = _performance(at)
    assert _metric(at, "From labelling campaigns") == "3"


def test_owner_changes_thresholds(app, registry):
    url, _ = registry
    at = app(url)
    at.query_params["as"] = "owner@example.com"
    at = _performance(at.run())
    at.number_input(key="performance.thr.outage").set_value(10)
    at.text_input(key="performance.thr.reason").input("weekly batch job")
    at.button[[b.label for b in at.button].index("Save thresholds")].click().run()
    assert not at.exception
    assert any("Thresholds saved" in s.value for s in at.success)
    assert any("outage after 10 days" in c.value for c in at.caption)
