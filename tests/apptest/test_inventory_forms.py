"""The inventory forms through AppTest: each form changes the registry as the signed-in person,
and bad input shows the core's message under the form with nothing written.

Model page: details, card revision, deployments, retire. Owners page: owners, hand-over,
people. Lineage page: data sources, processes, features, links."""

from __future__ import annotations

import shutil

import pytest
from sqlmodel import select

from core.db.engine import make_engine, read_session, write_session
from core.db.models import (
    BusinessProcess,
    Dataset,
    DataSource,
    Deployment,
    Feature,
    Model,
    ModelCardRevision,
    Ownership,
    Person,
)
from core.governance.documentation import completeness
from core.registry import services
from tests.factories import make_model, make_world

OWNER, ADMIN, VIEWER = "owner@example.com", "admin@example.com", "viewer@example.com"


@pytest.fixture
def registry(sqlite_template, tmp_path):
    """A model with one version, a dataset, and two people to name as owners."""
    path = tmp_path / "forms.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    model_id, versions = make_model(engine, world.owner)
    with write_session(engine) as s:
        tom = services.create_person(s, actor=world.admin, name="Tom Tech", email="tom@example.com")
        uma = services.create_person(s, actor=world.admin, name="Uma Tech", email="uma@example.com")
        dataset = services.create_dataset(s, actor=world.owner, name="applications", version="2024-06")
    yield {
        "url": url,
        "engine": engine,
        "world": world,
        "model": model_id,
        "versions": versions,
        "tom": tom,
        "uma": uma,
        "dataset": dataset,
    }
    engine.dispose()


def _page(app, url, page, person, **params):
    at = app(url)
    at.query_params["as"] = person
    for key, value in params.items():
        at.query_params[key] = str(value)
    at.run()
    return at.switch_page(f"../pages/{page}.py").run()


def _texts(at) -> str:
    return " ".join(
        [m.value for m in at.markdown]
        + [e.value for e in at.error]
        + [w.value for w in at.warning]
        + [s.value for s in at.success]
        + [i.value for i in at.info]
        + [c.value for c in at.caption]
    )


def _errors(at) -> str:
    return " ".join(e.value for e in at.error)


# --- Model page ------------------------------------------------------------------------------------


def test_details_form_changes_the_model_and_refuses_a_no_op(app, registry):
    at = _page(app, registry["url"], "model", OWNER, model=registry["model"], form="details")
    assert not at.exception
    at.text_input(key="model.details.kpi").input("Default rate of approved loans")
    at.text_input(key="model.details.reason").input("annual review")
    at.button(key="model.details.submit").click().run()
    assert not at.exception
    with read_session(registry["engine"]) as s:
        assert s.get(Model, registry["model"]).kpi == "Default rate of approved loans"
    assert "Details of Credit scoring saved." in _texts(at)
    at.button(key="model.details.submit").click().run()  # the same values again
    assert "nothing to change" in _errors(at)


def test_card_form_writes_a_new_revision_and_refuses_an_unchanged_card(app, registry):
    at = _page(app, registry["url"], "model", OWNER, model=registry["model"], form="card")
    version = registry["versions"][0]
    at.text_area(key=f"model.card.{version}.card_limitations").input("Not validated for SME loans")
    at.text_input(key=f"model.card.{version}.reason").input("validation findings")
    at.button(key="model.card.submit").click().run()
    assert not at.exception
    with read_session(registry["engine"]) as s:
        revisions = s.exec(select(ModelCardRevision).order_by(ModelCardRevision.revision)).all()
    assert [r.revision for r in revisions] == [1, 2]
    assert revisions[1].sections["card_limitations"] == "Not validated for SME loans"
    assert "revision 2 saved" in _texts(at)
    at.button(key="model.card.submit").click().run()
    assert "no new revision" in _errors(at)


def test_deployment_form_records_and_refuses_a_reversed_period(app, registry):
    at = _page(app, registry["url"], "model", OWNER, model=registry["model"], form="deployment")
    at.text_input(key="model.deploy.endpoint").input("https://score.internal/v1")
    at.button(key="model.deploy.submit").click().run()
    assert not at.exception
    with read_session(registry["engine"]) as s:
        (deployment,) = s.exec(select(Deployment)).all()
    assert (deployment.environment, deployment.endpoint) == ("production", "https://score.internal/v1")
    at.date_input(key="model.deploy.since").set_value(at.date_input(key="model.deploy.since").value)
    at.date_input(key="model.deploy.until").set_value(deployment.since.date().replace(year=2025))
    at.button(key="model.deploy.submit").click().run()
    assert "before it starts" in _errors(at)
    with read_session(registry["engine"]) as s:
        assert len(s.exec(select(Deployment)).all()) == 1


def test_retire_needs_the_confirmation_and_a_reason(app, registry):
    at = _page(app, registry["url"], "model", OWNER, model=registry["model"], form="retire")
    at.text_input(key="model.retire.reason").input("replaced by Credit scoring 2")
    at.button(key="model.retire.submit").click().run()
    assert "Tick the box" in _errors(at)
    at.checkbox(key="model.retire.sure").check()
    at.text_input(key="model.retire.reason").input("")
    at.button(key="model.retire.submit").click().run()
    assert "say why" in _errors(at)
    with read_session(registry["engine"]) as s:
        assert s.get(Model, registry["model"]).status == "development"
    at.text_input(key="model.retire.reason").input("replaced by Credit scoring 2")
    at.button(key="model.retire.submit").click().run()
    with read_session(registry["engine"]) as s:
        assert s.get(Model, registry["model"]).status == "retired"


def test_a_viewer_sees_no_forms(app, registry):
    at = _page(app, registry["url"], "model", VIEWER, model=registry["model"])
    assert not at.exception
    keys = {b.key for b in at.button}
    assert (
        not {"model.details.submit", "model.card.submit", "model.deploy.submit", "model.retire.submit"} & keys
    )


# --- Owners page -----------------------------------------------------------------------------------


def test_owner_form_names_an_owner_and_refuses_without_a_person(app, registry):
    at = _page(app, registry["url"], "owners", OWNER, model=registry["model"], form="owners")
    assert not at.exception
    at.button(key="owners.assign.submit").click().run()
    assert "Choose the person" in _errors(at)
    at.selectbox(key="owners.assign.role").set_value("technical_owner")
    at.selectbox(key="owners.assign.person").set_value(registry["tom"])
    at.text_input(key="owners.assign.reason").input("built it")
    at.button(key="owners.assign.submit").click().run()
    assert not at.exception
    with read_session(registry["engine"]) as s:
        (row,) = s.exec(select(Ownership)).all()
    assert (row.person_id, row.role, row.reason) == (registry["tom"], "technical_owner", "built it")


def test_mark_left_lists_roles_and_hands_them_over(app, registry):
    with write_session(registry["engine"]) as s:
        services.assign_owner(
            s,
            actor=registry["world"].owner,
            model_id=registry["model"],
            person_id=registry["tom"],
            role="technical_owner",
        )
    at = _page(app, registry["url"], "owners", ADMIN, form="left")
    at.selectbox(key="owners.left.person").set_value(registry["tom"]).run()
    assert "holds 1 owner role(s)" in _texts(at)
    at.selectbox(key="owners.left.successor").set_value(registry["uma"])
    at.text_input(key="owners.left.reason").input("moved to Treasury")
    at.button(key="owners.left.submit").click().run()
    assert not at.exception
    with read_session(registry["engine"]) as s:
        assert not s.get(Person, registry["tom"]).active
        assert [o.person_id for o in s.exec(select(Ownership)).all()] == [registry["uma"]]


def test_add_person_refuses_a_bad_email(app, registry):
    at = _page(app, registry["url"], "owners", ADMIN, form="add-person")
    at.text_input(key="owners.person.add.name").input("Nina New")
    at.text_input(key="owners.person.add.email").input("not-an-email")
    at.button(key="owners.person.add.submit").click().run()
    assert "email" in _errors(at).lower()
    at.text_input(key="owners.person.add.email").input("nina@example.com")
    at.button(key="owners.person.add.submit").click().run()
    with read_session(registry["engine"]) as s:
        assert s.exec(select(Person).where(Person.email == "nina@example.com")).one().name == "Nina New"


# --- Lineage page ----------------------------------------------------------------------------------


def test_lineage_forms_add_a_source_refuse_a_duplicate_and_link_it(app, registry):
    at = _page(app, registry["url"], "lineage", OWNER, form="source")
    assert not at.exception
    at.text_input(key="lineage.source.add.name").input("Core banking")
    at.button(key="lineage.source.add.submit").click().run()
    with read_session(registry["engine"]) as s:
        source = s.exec(select(DataSource)).one()
    at.text_input(key="lineage.source.add.name").input("Core banking")
    at.button(key="lineage.source.add.submit").click().run()
    assert "already exists" in _errors(at)

    at.selectbox(key="lineage.link.src_type").set_value("data_source").run()
    at.selectbox(key="lineage.link.dst_type").set_value("dataset").run()
    at.selectbox(key="lineage.link.src").set_value(source.id)
    at.selectbox(key="lineage.link.dst").set_value(registry["dataset"])
    at.button(key="lineage.link.submit").click().run()
    assert not at.exception
    with read_session(registry["engine"]) as s:
        assert s.get(Dataset, registry["dataset"]).data_source_id == source.id


def test_lineage_forms_add_a_process_and_a_feature(app, registry):
    at = _page(app, registry["url"], "lineage", OWNER, form="process")
    at.text_input(key="lineage.process.add.name").input("Loan origination")
    at.selectbox(key="lineage.process.add.unit").set_value("Credit risk")
    at.button(key="lineage.process.add.submit").click().run()
    at.text_input(key="lineage.feature.name").input("")
    at.button(key="lineage.feature.submit").click().run()
    assert "feature name" in _errors(at)
    at.text_input(key="lineage.feature.name").input("income")
    at.button(key="lineage.feature.submit").click().run()
    with read_session(registry["engine"]) as s:
        assert s.exec(select(BusinessProcess)).one().business_unit == "Credit risk"
        assert s.exec(select(Feature)).one().name == "income"


# --- Documentation hints ---------------------------------------------------------------------------


def test_documentation_hints_link_to_the_form_that_fills_each_gap(registry):
    with read_session(registry["engine"]) as s:
        items = {i.label: i for score in completeness(s, registry["model"]) for i in score.missing}
    model = registry["model"]
    assert items["Methodology"].link == f"/model?model={model}&form=details#edit-model-details"
    assert items["Accountable business owner"].link == f"/owners?model={model}&form=owners#change-owners"
    assert "form=card" in items["Findings and limitations"].link
    assert "form=link" in items["Input data and its source"].link
