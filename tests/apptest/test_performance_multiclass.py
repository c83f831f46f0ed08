"""The Performance page of a multiclass classifier through AppTest: macro and weighted F1 beside
accuracy, the per-class table and the confusion matrix heatmap with labelled axes and counts."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sklearn import metrics

from core.db.engine import make_engine
from tests.factories import make_world
from tests.multiclass_factories import CLASSES, batch, log, register


@pytest.fixture
def registry(sqlite_template: Path, tmp_path: Path):
    path = tmp_path / "multiclass.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    version_id = register(engine, world.owner)
    frame = batch(300, (datetime.now(UTC) - timedelta(days=2)).date(), seed=11)
    log(engine, world.owner, version_id, frame)
    yield url, frame
    engine.dispose()


def test_the_page_shows_per_class_figures_and_the_confusion_matrix(app, registry):
    url, frame = registry
    at = app(url)
    at.query_params["as"] = "owner@example.com"
    at = at.run().switch_page("../pages/performance.py").run()
    assert not at.exception
    assert [o for o in at.segmented_control if o.label == "Metric"][0].options == [
        "Accuracy",
        "Macro F1",
        "Weighted F1",
    ]
    table = next(d.value for d in at.dataframe if "method" in d.value.columns)
    assert set(table["metric"]) == {"Accuracy", "Macro F1", "Weighted F1"}
    per_class = next(d.value for d in at.dataframe if "class" in d.value.columns).set_index("class")
    assert list(per_class.index) == CLASSES
    recall = metrics.recall_score(frame["label"], frame["prediction"], labels=CLASSES, average=None)
    assert per_class["recall"].tolist() == pytest.approx(list(recall))
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    [spec] = [s for s in specs if s["data"] and s["data"][0].get("type") == "heatmap"]
    layout = spec["layout"]
    assert layout["xaxis"]["title"]["text"] == "Predicted class"
    assert layout["yaxis"]["title"]["text"] == "Actual class"
    [trace] = spec["data"]
    assert trace["x"] == CLASSES and trace["y"] == CLASSES
    expected = metrics.confusion_matrix(frame["label"], frame["prediction"], labels=CLASSES)
    assert trace["z"] == expected.tolist() and trace["texttemplate"] == "%{text:,}"
