"""No page runs code from a registered artifact (issue 11, finding 1), whoever opens it.

A model owner registers a version whose .joblib carries a payload that writes a file, and logs
predictions. Every page of the app (through app/main.py's navigation) is opened on that model as
every role; the payload never runs, and the Explanations page says why the model cannot be
explained and what its owner can do.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression

from core.db.engine import make_engine
from tests.factories import make_world
from tests.insight_factories import register_explained_version
from tests.integration.test_artifact_safety import canary_file

PAGES = sorted((Path(__file__).resolve().parents[2] / "pages").glob("*.py"))


@pytest.fixture
def canary_registry(sqlite_template: Path, tmp_path: Path):
    warnings.filterwarnings("ignore", category=UserWarning)
    path = tmp_path / "canary.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    marker = tmp_path / "canary-ran.json"
    world = make_world(engine)
    built = register_explained_version(
        engine,
        world.owner,
        estimator=LogisticRegression(max_iter=500),
        name="Canary model",
        artifact=(canary_file(tmp_path, marker), "joblib"),
    )
    engine.dispose()
    return url, world, built, marker


@pytest.mark.slow
def test_every_page_as_every_role_never_runs_the_artifact(app, canary_registry):
    url, world, built, marker = canary_registry
    people = [world.owner, world.approver, world.viewer, world.labeller, world.admin, world.system]
    refusals = []
    for person in people:
        for page in PAGES:
            at = app(url)
            at.query_params["as"] = person.email
            at.query_params["model"] = str(built["model_id"])
            at = at.switch_page(f"../pages/{page.name}").run(timeout=180)
            assert not at.exception, (person.email, page.name, at.exception)
            shown = (
                [e.value for e in at.error] + [m.value for m in at.markdown] + [c.value for c in at.caption]
            )
            refusals += [t for t in shown if "does not open pickle-based files" in str(t)]
    assert not marker.exists(), "a page ran the artifact's payload inside the app process"
    # The Explanations page says why, and what the model owner can do (for each person who opened it).
    assert len(refusals) >= len(people)
    assert all("skops" in str(t) for t in refusals)
