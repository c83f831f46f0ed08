"""The segment section of the Performance page through AppTest: a chart per segment with its
intervals, "too few cases" for a small group, the segment alert, and the join-file upload."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.db.engine import make_engine, write_session
from core.monitoring import alerts
from tests.factories import make_world
from tests.integration.test_segments import deployed, predictions


@pytest.fixture
def registry(sqlite_template: Path, tmp_path: Path):
    path = tmp_path / "segments.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    end = datetime.now(UTC) - timedelta(hours=1)
    frame = predictions(1500, broker_error=0.5, end=end)
    frame.loc[:4, "region"] = "Islands"  # five cases: too few for a number
    model_id, _ = deployed(engine, world.owner, frame, promoted=end - timedelta(days=100))
    with write_session(engine) as s:
        alerts.evaluate_health(s, actor=world.system)
    yield url, model_id
    engine.dispose()


def _groups(at):  # type: ignore[no-untyped-def]
    """The groups table (AppTest does not expose a dataframe's key)."""
    return next(d.value for d in at.dataframe if {"group", "n", "error_rate"} <= set(d.value.columns))


def test_segment_section_shows_groups_intervals_too_few_cases_and_the_alert(app, registry):
    url, model_id = registry
    at = app(url)
    at.query_params["as"] = "owner@example.com"
    at = at.run().switch_page("../pages/performance.py").run()
    assert not at.exception
    assert any(h.value == "Segments and fairness" for h in at.subheader)
    segment = at.selectbox(key=f"performance.segments.segment.{model_id}")
    assert set(segment.options) >= {"region (model input)", "channel (model input)"}
    assert any("Segment accuracy: channel = broker" in e.value for e in at.error)
    at = segment.set_value("channel").run()
    groups = _groups(at)
    assert set(groups["group"]) == {"broker", "phone", "web"}
    broker = groups.set_index("group").at["broker", "error_rate"]
    assert broker.startswith("0.") and "(" in broker  # a value with its 95% interval
    at = at.selectbox(key=f"performance.segments.segment.{model_id}").set_value("region").run()
    groups = _groups(at).set_index("group")
    assert groups.at["Islands", "error_rate"] == "too few cases" and groups.at["Islands", "n"] == 5
    assert any("Too few cases for a number" in c.value and "Islands (n=5)" in c.value for c in at.caption)
    alerts_shown = next(
        d.value for d in at.dataframe if "kind" in d.value.columns and "message" in d.value.columns
    )
    assert "Segment accuracy" in alerts_shown["kind"].tolist()


def test_viewers_see_no_join_file_upload(app, registry):
    url, _ = registry
    at = app(url)
    at.query_params["as"] = "viewer@example.com"
    at = at.run().switch_page("../pages/performance.py").run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "performance.segments.attach"]
