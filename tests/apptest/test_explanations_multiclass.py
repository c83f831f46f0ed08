"""The Explanations page of a multiclass classifier through AppTest: the person chooses the class,
a logged prediction is explained for it, and global importance is computed per class when asked."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from sklearn.ensemble import RandomForestClassifier

from core.db.engine import make_engine
from tests.factories import make_world
from tests.insight_factories import register_explained_version
from tests.multiclass_factories import CLASSES


@pytest.fixture
def registry(sqlite_template: Path, tmp_path: Path):
    warnings.filterwarnings("ignore", category=UserWarning)
    path = tmp_path / "explain_multiclass.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    built = register_explained_version(
        engine,
        world.owner,
        estimator=RandomForestClassifier(max_depth=6, n_estimators=20, random_state=0),
        classes=CLASSES,
        n_train=400,
        n_eval=120,
    )
    yield url, built
    engine.dispose()


def test_the_person_chooses_the_class_and_sees_its_explanations(app, registry):
    url, built = registry
    at = app(url)
    at.query_params["as"] = "owner@example.com"
    at = at.switch_page("../pages/explanations.py").run(timeout=180)
    assert not at.exception
    choice = at.selectbox(key=f"explanations.class.{built['version_id']}")
    assert choice.options == CLASSES
    labels = at.selectbox(key="explanations.prediction").options
    assert all(" · predicted " in label for label in labels)  # classes by name, never a position
    at = choice.set_value("high").run(timeout=180)
    at = at.button(key="explanations.explain").click().run(timeout=180)
    assert not at.exception
    assert any("Predicted " in i.value for i in at.info)
    at = at.button(key="explanations.class_overall").click().run(timeout=180)
    assert not at.exception
    assert any("explained for class high" in c.value for c in at.caption)
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Global importance: mean |SHAP| over 120 rows" in t for t in titles)
