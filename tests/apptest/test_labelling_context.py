"""The Labelling page as a domain expert uses it (issue 15, point 7): the case's request id and a
link to its system, a question about an outcome horizon that has passed, answers in words, skips
not counted as answers, Krippendorff's alpha; and the owner's case settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.components.text import code
from core.access import actor_by_id
from core.db.engine import make_engine, read_session, write_session
from core.db.models import Model, Person
from core.monitoring import labelling
from core.registry import services
from tests.factories import make_world
from tests.labelling_factories import claims_model

LABELLER = "labeller@example.com"


@pytest.fixture
def registry(sqlite_template: Path, tmp_path: Path):
    """A fraud classifier with a case link and a 30-day outcome horizon, and a campaign of four cases
    that two labellers may label."""
    path = tmp_path / "labelling.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    model_id, _ = claims_model(engine, world, n=80, days=60, horizon=30)
    with write_session(engine) as s:
        created = labelling.create_campaign(
            s, actor=world.owner, model_id=model_id, size=4, strategy="random", labels_per_item=2, seed=1
        )
        second = actor_by_id(
            s,
            services.create_person(
                s, actor=world.system, name="Sam Second", email="sam@example.com", roles=[("labeller", "")]
            ),
        )
    yield url, engine, model_id, created.campaign_id, second
    engine.dispose()


def _open(app, url, email):
    at = app(url)
    at.query_params["as"] = email
    at.run()
    return at.switch_page("../pages/labelling.py").run()


def _markdown(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_case_shows_request_id_link_and_a_question_about_a_passed_horizon(app, registry):
    url, engine, _, campaign_id, _ = registry
    at = _open(app, url, LABELLER)
    assert not at.exception
    with read_session(engine) as s:
        me = s.execute(select(Person.id).where(Person.email == LABELLER)).scalar_one()
        case = labelling.next_case(s, campaign_id=campaign_id, labeller_id=me)
    text = _markdown(at)
    assert case is not None and case.request_id.startswith("CLM 2026/")
    assert f"Request {code(case.request_id)} · prediction made" in text  # shown literally
    (link,) = [b for b in at.get("link_button")]
    assert link.proto.label == "Open the case" and link.proto.url.startswith(
        "https://claims.example.com/cases/CLM%202026%2F"
    )
    assert "(30 days after the prediction), did this happen: **fraud is confirmed**?" in text
    assert f"Answer from what was known by {case.outcome_by:%Y-%m-%d}" in " ".join(
        c.value for c in at.caption
    )


def test_skip_is_shown_apart_from_answers(app, registry):
    url, _, _, _, _ = registry
    at = _open(app, url, LABELLER)
    at.button(key="labelling.skip").click().run()
    at.button(key="labelling.answer.1").click().run()
    assert "Case 2 answered Yes" in at.success[0].value
    bar = at.get("progress")[0].proto.text
    assert bar.startswith("You have labelled 1 case (1 skipped, not counted as answers)")


def test_agreement_shows_krippendorffs_alpha(app, registry):
    url, engine, _, campaign_id, second = registry
    at = _open(app, url, LABELLER)
    for value in ("1", "0", "1"):
        at.button(key=f"labelling.answer.{value}").click().run()
    for value in (1, 0, 0):
        with read_session(engine) as s:
            case = labelling.next_case(s, campaign_id=campaign_id, labeller_id=second.id)
        with write_session(engine) as s:
            labelling.submit_label(s, actor=second, item_id=case.item_id, value=value)
    at = _open(app, url, "approver@example.com")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cases compared"] == "3" and metrics["Krippendorff's alpha"] not in ("", "—")
    assert "Cohen's kappa" in metrics
    assert any("Krippendorff's alpha (nominal) over all 3 cases" in c.value for c in at.caption)


def test_owner_sets_the_case_link_and_the_horizon(app, registry):
    url, engine, model_id, _, _ = registry
    at = _open(app, url, "owner@example.com")
    at.text_input(key=f"labelling.settings.link.{model_id}").input("https://fraud.example/c/{request_id}")
    at.number_input(key=f"labelling.settings.horizon.{model_id}").set_value(45)
    at.text_input(key="labelling.settings.reason").input("new case manager")
    at.button(key="labelling.settings.save").click().run()
    assert not at.exception
    assert any("Saved: labellers see the new link" in s.value for s in at.success)
    with read_session(engine) as s:
        model = s.execute(select(Model).where(Model.id == model_id)).scalar_one()
    assert (model.case_link_template, model.outcome_horizon_days) == (
        "https://fraud.example/c/{request_id}",
        45,
    )
    at.text_input(key=f"labelling.settings.link.{model_id}").input("ftp://fraud.example/{request_id}")
    at.button(key="labelling.settings.save").click().run()
    assert any("must start with http" in e.value for e in at.error)
