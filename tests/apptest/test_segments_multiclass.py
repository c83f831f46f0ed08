"""The segment section of the Performance page for a multiclass classifier, through AppTest:
per-class metrics named by class (never a position), "too few cases", the disparities with the
class they are largest for and why demographic parity is compared one class at a time, and the
segment alert."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.db.engine import make_engine, write_session
from core.monitoring import alerts
from tests.factories import make_world
from tests.integration.test_segments_multiclass import CLASSES, deployed, predictions


@pytest.fixture
def registry(sqlite_template: Path, tmp_path: Path):
    path = tmp_path / "segments.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    end = datetime.now(UTC) - timedelta(hours=1)
    frame = predictions(1500, end=end)
    frame.loc[:4, "channel"] = "branch"  # five cases: too few for a number
    model_id = deployed(engine, world.owner, frame, promoted=end - timedelta(days=100))
    with write_session(engine) as s:
        alerts.evaluate_health(s, actor=world.system)
    yield url, model_id
    engine.dispose()


def _frame(at, column: str):  # type: ignore[no-untyped-def]
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_multiclass_segments_read_by_class_name(app, registry):
    url, model_id = registry
    at = app(url)
    at.query_params["as"] = "owner@example.com"
    at = at.run().switch_page("../pages/performance.py").run()
    assert not at.exception
    assert any(h.value == "Segments and fairness" for h in at.subheader)
    assert any("Classes: low, medium, high" in c.value for c in at.caption)
    assert any("Segment accuracy: channel = broker" in e.value for e in at.error)
    segment = at.selectbox(key=f"performance.segments.segment.{model_id}")
    assert set(segment.options) == {"channel (model input)", "age_band (sensitive attribute)"}
    rate = at.selectbox(key=f"performance.segments.metric.{model_id}")
    assert rate.options[:3] == ["Accuracy", "Macro recall", "Macro F1"]
    assert [f"Recall of class {c}" for c in CLASSES] == rate.options[3:6]
    assert [f"Share predicted {c}" for c in CLASSES] == rate.options[6:9]
    assert not [o for o in rate.options if o.split()[-1].isdigit()]  # never a class position
    at = segment.set_value("channel").run()
    at = at.selectbox(key=f"performance.segments.metric.{model_id}").set_value("class_recall:high").run()
    assert not at.exception
    groups = _frame(at, "group").set_index("group")
    assert set(groups.index) == {"broker", "phone", "web", "branch"}
    assert {"accuracy", "recall_macro", "f1_macro", "class_recall:high", "class_selection_rate:low"} <= set(
        groups.columns
    )
    assert (
        groups.at["broker", "class_recall:high"].startswith("0.") and "(" in groups.at["broker", "accuracy"]
    )
    assert groups.at["branch", "accuracy"] == "too few cases" and groups.at["branch", "n"] == 5
    assert any("Too few cases for a number" in c.value and "branch (n=5)" in c.value for c in at.caption)
    disparities = _frame(at, "measure")
    assert set(disparities["measure"]) == {
        "Accuracy difference",
        "Predicted-class rate difference",
        "Per-class recall difference",
    }
    per_class = disparities[disparities["measure"] != "Accuracy difference"]
    assert set(per_class["class"]) <= set(CLASSES)
    assert set(disparities[disparities["measure"] == "Accuracy difference"]["class"]) == {"(all classes)"}
    assert any("defined for a yes/no outcome" in c.value for c in at.caption)
