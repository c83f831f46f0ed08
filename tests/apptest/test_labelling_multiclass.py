"""The Labelling page of a multiclass classifier through AppTest: one button per class, named by
the class, and the chosen class's name is what the log receives (as its position)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db.engine import make_engine, read_session, write_session
from core.db.models import CampaignItem, ModelVersion, PredictionLog
from core.monitoring import labelling
from tests.factories import make_world
from tests.multiclass_factories import CLASSES, batch, log, register


@pytest.fixture
def registry(sqlite_template: Path, tmp_path: Path):
    path = tmp_path / "labelling_multiclass.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    version_id = register(engine, world.owner)
    log(engine, world.owner, version_id, batch(30, date(2024, 3, 5), seed=12, labelled=False))
    with write_session(engine) as s:
        model_id = s.get(ModelVersion, version_id).model_id  # type: ignore[union-attr]
        created = labelling.create_campaign(
            s, actor=world.owner, model_id=model_id, size=3, strategy="random", seed=1
        )
    yield url, engine, created.campaign_id
    engine.dispose()


def test_the_labeller_answers_with_a_class_name(app, registry):
    url, engine, campaign_id = registry
    at = app(url)
    at.query_params["as"] = "labeller@example.com"
    at = at.run().switch_page("../pages/labelling.py").run()
    assert not at.exception
    assert [at.button(key=f"labelling.class.{i}").label for i in range(3)] == CLASSES
    assert "Which class was the true outcome?" in " ".join(m.value for m in at.markdown)
    at.button(key="labelling.class.2").click().run()
    assert not at.exception
    assert "Case 1 answered high" in at.success[0].value
    with read_session(engine) as s:
        labels = s.execute(
            select(PredictionLog.label)
            .join(CampaignItem, CampaignItem.prediction_log_id == PredictionLog.id)
            .where(CampaignItem.campaign_id == campaign_id, CampaignItem.position == 1)
        ).scalars()
        assert list(labels) == [2.0]
