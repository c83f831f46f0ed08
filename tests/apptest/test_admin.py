"""The People and roles (Admin) page through AppTest: admins add people, grant scoped roles, revoke
them and mark leavers, each audited; everybody else sees the tables but no forms."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from sqlmodel import select

from core.access import grants_of
from core.db.engine import make_engine, read_session
from core.db.models import AuditEvent, Person
from tests.factories import make_model, make_world


@pytest.fixture
def registry(sqlite_template, tmp_path):
    path = tmp_path / "admin.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    make_model(engine, world.owner, name="Retail pricing", business_unit="Retail")
    yield {"url": url, "engine": engine, "world": world}
    engine.dispose()


def _open(app, url, person):
    at = app(url)
    at.query_params["as"] = person
    at.run()
    return at.switch_page("../pages/admin.py").run()


def _actions(engine, actor_id):
    with read_session(engine) as s:
        return [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.actor_id == actor_id).order_by(AuditEvent.id))]


def test_admin_adds_person_with_scoped_role_then_revokes_and_marks_left(app, registry):
    reg = registry
    at = _open(app, reg["url"], "admin@example.com")
    assert not at.exception
    at.text_input(key="admin.add.name").input("Rita Retail")
    at.text_input(key="admin.add.email").input("Rita@Example.com")
    at.text_input(key="admin.add.team").input("Retail credit")
    at.selectbox(key="admin.add.role").set_value("approver")
    at.selectbox(key="admin.add.unit").set_value("Retail")
    at.button(key="admin.add.submit").click().run()
    assert not at.exception
    assert "Added Rita Retail." in [s.value for s in at.success]
    with read_session(reg["engine"]) as s:
        rita = s.exec(select(Person).where(Person.email == "rita@example.com")).one()
        assert [(g.role, g.business_unit) for g in grants_of(s, rita.id)] == [("approver", "Retail")]
    people = next(d.value for d in at.dataframe if "roles" in d.value.columns)
    assert people.loc[people["email"] == "rita@example.com", "roles"].item() == "approver (Retail)"

    at.selectbox(key="admin.revoke.grant").set_value(
        next(i for i, label in enumerate(at.selectbox(key="admin.revoke.grant").options) if "Rita Retail" in label))
    at.button(key="admin.revoke.submit").click().run()
    assert not at.exception
    with read_session(reg["engine"]) as s:
        assert grants_of(s, rita.id) == []

    at.selectbox(key="admin.left.person").set_value(rita.id)
    at.date_input(key="admin.left.on").set_value(date(2025, 6, 30))
    at.button(key="admin.left.submit").click().run()
    assert not at.exception
    with read_session(reg["engine"]) as s:
        person = s.get(Person, rita.id)
        assert (person.active, person.left_on) == (False, date(2025, 6, 30))
    assert _actions(reg["engine"], reg["world"].admin.id) == [
        "person.created", "role.granted", "role.revoked", "person.left"]


def test_admin_grants_a_global_role(app, registry):
    reg = registry
    at = _open(app, reg["url"], "admin@example.com")
    at.selectbox(key="admin.grant.person").set_value(reg["world"].viewer.id)
    at.selectbox(key="admin.grant.role").set_value("labeller")
    at.button(key="admin.grant.submit").click().run()
    assert not at.exception
    with read_session(reg["engine"]) as s:
        assert ("labeller", "") in [(g.role, g.business_unit) for g in grants_of(s, reg["world"].viewer.id)]


def test_refused_input_shows_the_reason_and_writes_nothing(app, registry):
    reg = registry
    at = _open(app, reg["url"], "admin@example.com")
    at.text_input(key="admin.add.name").input("Second Owner")
    at.text_input(key="admin.add.email").input("owner@example.com")
    at.button(key="admin.add.submit").click().run()
    assert [e.value for e in at.error] == ["A person with email 'owner@example.com' already exists."]
    assert _actions(reg["engine"], reg["world"].admin.id) == []


@pytest.mark.parametrize("person", ["owner@example.com", "approver@example.com", "viewer@example.com"])
def test_non_admins_see_who_holds_what_but_no_forms(app, registry, person):
    at = _open(app, registry["url"], person)
    assert not at.exception
    assert "Adding people and changing role grants needs the admin role." in [i.value for i in at.info]
    assert not [b for b in at.button if str(b.key).startswith("admin.")]
    people = next(d.value for d in at.dataframe if "roles" in d.value.columns)
    assert "Arthur Approver" in people["name"].tolist()
