"""The Labelling page through AppTest: a labeller works through cases; owners create campaigns."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.access import actor_by_id
from core.db.engine import make_engine, read_session, write_session
from core.db.models import CampaignItem, Label, LabellingCampaign, Person, PredictionLog
from core.monitoring import labelling
from core.registry import services
from tests.factories import make_world
from tests.feedback_factories import production_model

LABELLER = "labeller@example.com"
OWNER = "owner@example.com"


@pytest.fixture
def registry(sqlite_template: Path, tmp_path: Path):
    """A registry with one production classifier and an open campaign of five hidden-prediction cases."""
    path = tmp_path / "labelling.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    model_id, _ = production_model(
        engine,
        world.owner,
        name="Retail credit scoring",
        n=200,
        labelled_share=0.2,
        target="default within 12 months",
    )
    with write_session(engine) as s:
        created = labelling.create_campaign(
            s,
            actor=world.owner,
            model_id=model_id,
            size=5,
            strategy="random",
            seed=1,
            instructions="Check the collections system for the outcome.",
        )
    yield url, engine, created.campaign_id
    engine.dispose()


def _open(app, url, email):
    at = app(url)
    at.query_params["as"] = email
    at.run()
    return at.switch_page("../pages/labelling.py").run()


def _markdown(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_labeller_sees_one_readable_case_with_hidden_prediction(app, registry):
    url, _, _ = registry
    at = _open(app, url, LABELLER)
    assert not at.exception
    assert "Case 1 of 5 · Retail credit scoring" in _markdown(at)
    assert "Did this happen: **default within 12 months**?" in _markdown(at)
    features = at.table[0].value
    assert list(features.columns) == ["Feature", "Value"]
    assert features["Feature"].tolist() == ["Income", "Age", "Region"]
    assert any("hidden in this campaign" in c.value for c in at.caption)
    assert at.info[0].value == "Check the collections system for the outcome."
    assert at.button(key="labelling.answer.1").label == "Yes"
    assert at.button(key="labelling.answer.0").label == "No"


def test_labeller_labels_three_cases_and_nothing_repeats(app, registry):
    url, engine, campaign_id = registry
    at = _open(app, url, LABELLER)
    at.text_area(key=next(t.key for t in at.text_area)).input("paid on time")
    at.button(key="labelling.answer.0").click().run()
    assert "Case 1 answered No" in at.success[0].value
    at.button(key="labelling.skip").click().run()
    at.button(key="labelling.answer.1").click().run()
    assert "Case 4 of 5" in _markdown(at)
    with read_session(engine) as s:
        answers = s.execute(select(Label.value, Label.skipped, Label.comment).order_by(Label.id)).all()
        labelled = s.execute(
            select(func.count()).select_from(PredictionLog).where(PredictionLog.labelled_by_id.is_not(None))
        ).scalar_one()
    assert [(a.value, a.skipped) for a in answers] == [(0.0, False), (None, True), (1.0, False)]
    assert answers[0].comment == "paid on time" and labelled == 2
    again = _open(app, url, LABELLER)  # a refresh (or a second tab) continues where the labeller is
    assert "Case 4 of 5" in _markdown(again)


def test_done_campaign_thanks_the_labeller(app, registry):
    url, _, _ = registry
    at = _open(app, url, LABELLER)
    for _ in range(5):
        at.button(key="labelling.answer.1").click().run()
    assert any("answered every case" in s.value for s in at.success)


def test_owner_cannot_label_but_creates_a_campaign(app, registry):
    url, engine, _ = registry
    at = _open(app, url, OWNER)
    assert any("needs the **labeller** role" in i.value for i in at.info)
    at.selectbox(key="labelling.new.strategy").set_value("uncertainty").run()
    at.number_input(key="labelling.new.size").set_value(7).run()
    at.selectbox(key="labelling.new.per_case").set_value(2).run()
    at.button(key="labelling.new.create").click().run()
    assert not at.exception
    assert any("Campaign created with 7 cases" in s.value for s in at.success)
    with read_session(engine) as s:
        newest = s.execute(select(LabellingCampaign).order_by(LabellingCampaign.id.desc())).scalars().first()
    assert (newest.strategy, newest.size, newest.labels_per_item, newest.hide_prediction) == (
        "uncertainty",
        7,
        2,
        True,
    )
    table = next(d.value for d in at.dataframe if "strategy" in d.value.columns)
    assert len(table) == 2


def test_viewer_sees_campaigns_but_no_form(app, registry):
    url, _, _ = registry
    at = _open(app, url, "viewer@example.com")
    assert not at.exception
    assert not any(b.key == "labelling.new.create" for b in at.button)
    assert any("Model owners and approvers create campaigns here." in c.value for c in at.caption)


def test_approver_decides_a_disputed_case(app, registry):
    url, engine, campaign_id = registry
    with write_session(engine) as s:
        world_ids = {
            p: s.execute(select(Person.id).where(Person.email == p)).scalar_one()
            for p in (OWNER, LABELLER, "approver@example.com")
        }
        owner = actor_by_id(s, world_ids[OWNER])
        labeller = actor_by_id(s, world_ids[LABELLER])
        second = actor_by_id(
            s,
            services.create_person(
                s,
                actor=owner_system(s),
                name="Second Labeller",
                email="second@example.com",
                roles=[("labeller", "")],
            ),
        )
        model_id = s.get(LabellingCampaign, campaign_id).model_id
        created = labelling.create_campaign(
            s, actor=owner, model_id=model_id, size=2, strategy="random", labels_per_item=2, seed=3
        )
    with read_session(engine) as s:
        case = labelling.next_case(s, campaign_id=created.campaign_id, labeller_id=labeller.id)
    for who, value in ((labeller, 1), (second, 0)):
        with write_session(engine) as s:
            labelling.submit_label(s, actor=who, item_id=case.item_id, value=value)
    at = _open(app, url, "approver@example.com")
    at.tabs[1].selectbox(key="labelling.review").set_value(created.campaign_id).run()
    disputed = next(d.value for d in at.dataframe if "answers" in d.value.columns)
    assert disputed["answers"].tolist() == ["Lena Labeller: Yes; Second Labeller: No"]  # words, never 0/1
    assert at.radio(key="labelling.resolve.value").options == ["Yes", "No"]
    at.radio(key="labelling.resolve.value").set_value(0).run()
    at.text_input(key="labelling.resolve.reason").input("confirmed in the case file").run()
    at.button(key="labelling.resolve.save").click().run()
    assert not at.exception
    assert any("Label decided." in s.value for s in at.success)
    with read_session(engine) as s:
        log_id = s.execute(
            select(CampaignItem.prediction_log_id).where(CampaignItem.id == case.item_id)
        ).scalar_one()
        assert s.get(PredictionLog, log_id).label == 0.0


def owner_system(session):
    return services.ensure_system_person(session)
