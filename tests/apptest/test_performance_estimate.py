"""The Performance page's estimate from scores (CBPE) through AppTest: drawn beside realised
performance, its error shown, and a warning when scores move outside the reference."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from core.db.engine import make_engine
from tests.estimation_factories import calibrated_traffic, logged_classifier
from tests.factories import make_world

START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def registry(sqlite_template: Path, tmp_path: Path):
    """Two calibrated classifiers over six months, the last month unlabelled; in the second, the
    last month's scores all moved above 0.9."""
    path = tmp_path / "estimate.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    calm = calibrated_traffic(months=6, per_month=600, start=START)
    calm.loc[calm["ts"] >= datetime(2025, 6, 1, tzinfo=UTC), "label"] = np.nan
    calm_id, _ = logged_classifier(engine, world, calm, name="Churn")
    shifted = calm.copy()
    late = shifted["ts"] >= datetime(2025, 6, 1, tzinfo=UTC)
    shifted.loc[late, "score"] = (0.9 + 0.1 * shifted.loc[late, "score"]).round(5)
    shifted.loc[late, "prediction"] = 1.0
    shifted_id, _ = logged_classifier(engine, world, shifted, name="Upsell")
    yield url, calm_id, shifted_id
    engine.dispose()


def _page(app, url: str, model_id: int):
    at = app(url)
    at.query_params["as"] = "viewer@example.com"
    at.query_params["model"] = str(model_id)
    return at.run().switch_page("../pages/performance.py").run()


def _captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_estimate_is_drawn_beside_realised_with_its_error(app, registry):
    url, calm_id, _ = registry
    at = _page(app, url, calm_id)
    assert not at.exception
    spec = at.get("plotly_chart")[0].proto.spec
    assert "Estimated from scores (CBPE)" in spec and "Realised" in spec and "realised and estimated" in spec
    captions = _captions(at)
    assert "Estimate error where labels arrived" in captions and "mean absolute error" in captions
    assert "calibrated on the reference" in captions
    assert not [w for w in at.warning if "outside the reference" in w.value]
    table = next(d.value for d in at.dataframe if "estimated" in d.value.columns)
    june = table[(table["month"] == "2025-06") & (table["metric"] == "Accuracy")].iloc[0]
    assert june["n_labelled"] == 0 and 0.5 < june["estimated"] < 1  # estimated before any label arrived


def test_scores_outside_the_reference_are_said_on_the_page(app, registry):
    url, _, shifted_id = registry
    at = _page(app, url, shifted_id)
    assert not at.exception
    warning = next(w.value for w in at.warning if "outside the reference" in w.value)
    assert "2025-06" in warning and "not to be trusted" in warning
