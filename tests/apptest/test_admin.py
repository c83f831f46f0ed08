"""The People and roles (Admin) page through AppTest: admins add people, grant scoped roles, revoke
them and mark leavers, each audited; everybody else sees the tables but no forms. Model owners
import a real MLflow store (tests/mlflow_store.py) from the same page."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from app.components.text import unescape
from core.access import grants_of
from core.db.engine import make_engine, read_session
from core.db.models import AuditEvent, ExternalRef, Model, ModelVersion, Person
from tests.factories import make_model, make_world
from tests.mlflow_store import build_mlflow_store


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
        return [
            e.action
            for e in s.exec(select(AuditEvent).where(AuditEvent.actor_id == actor_id).order_by(AuditEvent.id))
        ]


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
    # The form is empty again: the next person does not inherit Rita's role and unit unnoticed.
    assert [at.text_input(key=f"admin.add.{k}").value for k in ("name", "email", "team")] == ["", "", ""]
    assert (at.selectbox(key="admin.add.role").value, at.selectbox(key="admin.add.unit").value) == (None, "")

    at.selectbox(key="admin.revoke.grant").set_value(
        next(
            i
            for i, label in enumerate(at.selectbox(key="admin.revoke.grant").options)
            if "Rita Retail" in label
        )
    )
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
        "person.created",
        "role.granted",
        "role.revoked",
        "person.left",
    ]


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
    assert [unescape(e.value) for e in at.error] == [
        "A person with email 'owner@example.com' already exists."
    ]
    assert _actions(reg["engine"], reg["world"].admin.id) == []


@pytest.mark.parametrize("person", ["owner@example.com", "approver@example.com", "viewer@example.com"])
def test_non_admins_see_who_holds_what_but_no_forms(app, registry, person):
    at = _open(app, registry["url"], person)
    assert not at.exception
    assert "Adding people and changing role grants needs the admin role." in [i.value for i in at.info]
    # Only the MLflow import (core's 'registry.import': model owners) may remain.
    # Everyone manages their own personal access tokens (issue 11).
    expected = ["admin.mlflow.submit"] if person == "owner@example.com" else []
    # (Everyone's own notification settings, "admin.notify.*", are not people administration.)
    expected.append("admin.tokens.create.submit")  # everyone manages their own tokens (issue 11)
    shown = [
        b.key
        for b in at.button
        if str(b.key).startswith("admin.") and not str(b.key).startswith("admin.notify.")
    ]
    assert shown == expected
    people = next(d.value for d in at.dataframe if "roles" in d.value.columns)
    assert "Arthur Approver" in people["name"].tolist()


def test_admin_granting_themselves_a_role_sees_the_refusal(app, registry):
    reg = registry
    at = _open(app, reg["url"], "admin@example.com")
    at.selectbox(key="admin.grant.person").set_value(reg["world"].admin.id)
    at.selectbox(key="admin.grant.role").set_value("approver")
    at.button(key="admin.grant.submit").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Ada Admin cannot grant a role to themselves: another admin must grant 'approver' to them."
    ]
    with read_session(reg["engine"]) as s:
        assert [g.role for g in grants_of(s, reg["world"].admin.id)] == ["admin"]
    assert _actions(reg["engine"], reg["world"].admin.id) == []


# --- MLflow import ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory):
    pytest.importorskip("mlflow")
    return build_mlflow_store(tmp_path_factory.mktemp("mlflow"))


def _registry_rows(engine):
    with read_session(engine) as s:
        return {
            "models": sorted(m.name for m in s.exec(select(Model))),
            "versions": len(s.exec(select(ModelVersion)).all()),
            "refs": len(s.exec(select(ExternalRef)).all()),
            "events": len(s.exec(select(AuditEvent)).all()),
        }


def _import(at, uri, model=""):
    at.text_input(key="admin.mlflow.uri").input(uri)
    at.text_input(key="admin.mlflow.model").input(model)
    return at.button(key="admin.mlflow.submit").click().run()


def _table(at, columns):
    return next(d.value for d in at.dataframe if list(d.value.columns) == columns)


def test_model_owner_imports_mlflow_and_reimport_changes_nothing(app, registry, mlflow_store):
    reg = registry
    at = _open(app, reg["url"], "owner@example.com")
    assert not at.exception
    _import(at, mlflow_store)
    assert not at.exception and not at.error
    assert any("2 models created" in s.value and "4 versions created" in s.value for s in at.success)
    changes = _table(at, ["outcome", "item"])
    assert sorted(changes.loc[changes["outcome"] == "Model created", "item"]) == [
        "credit-scoring",
        "demand-forecast",
    ]
    assert (changes["outcome"] == "Version created").sum() == 4
    assert (
        "credit-scoring v4 -> production"
        in changes.loc[changes["outcome"] == "Stage set at first import", "item"].tolist()
    )
    not_mapped = _table(at, ["item"])["item"].tolist()
    assert any("no business_unit tag" in line for line in not_mapped)
    assert any("not a commit hash" in line for line in not_mapped)
    after_first = _registry_rows(reg["engine"])
    assert after_first["models"] == ["Retail pricing", "credit-scoring", "demand-forecast"]
    assert after_first["versions"] == 1 + 4 and after_first["refs"] > 0  # Retail pricing has one
    with read_session(reg["engine"]) as s:
        imported = s.exec(select(AuditEvent).where(AuditEvent.action == "mlflow.imported")).all()
        assert [e.actor_id for e in imported] == [reg["world"].owner.id] * 2  # one per imported model

    _import(at, mlflow_store)  # again: everything is already linked
    assert not at.exception and not at.error
    changes = _table(at, ["outcome", "item"])
    assert set(changes["outcome"]) == {"Version unchanged (imported before)"} and len(changes) == 4
    assert _registry_rows(reg["engine"]) == after_first  # no rows, no audit events


def test_import_of_one_model(app, registry, mlflow_store):
    at = _open(app, registry["url"], "owner@example.com")
    _import(at, mlflow_store, model="demand-forecast")
    assert not at.exception and not at.error
    assert _registry_rows(registry["engine"])["models"] == ["Retail pricing", "demand-forecast"]


@pytest.mark.parametrize(
    ("uri", "model", "message"),
    [
        ("", "", "the MLflow tracking URI is empty."),
        (
            "sqlite:////nowhere/mlflow.db",
            "",
            "No MLflow database at sqlite:////nowhere/mlflow.db: the file does not exist",
        ),
        (
            "postgresql://nobody@127.0.0.1:1/none",
            "",
            "Cannot read the MLflow registry at postgresql://nobody@127.0.0.1:1/none",
        ),
        (None, "nope", "has no registered model named 'nope'."),
    ],
)
def test_bad_uri_or_model_shows_one_error_and_writes_nothing(
    app, registry, mlflow_store, uri, model, message
):
    reg = registry
    before = _registry_rows(reg["engine"])
    at = _open(app, reg["url"], "owner@example.com")
    _import(at, mlflow_store if uri is None else uri, model=model)
    assert not at.exception
    assert len(at.error) == 1 and message in unescape(at.error[0].value)
    assert not [d for d in at.dataframe if "item" in d.value.columns]
    assert _registry_rows(reg["engine"]) == before
    assert not Path("/nowhere").exists()  # MLflow would have created an empty store there


def test_admin_without_model_owner_role_sees_no_import(app, registry):
    at = _open(app, registry["url"], "admin@example.com")
    assert not at.exception
    assert "admin.mlflow.submit" not in [b.key for b in at.button]
    # ... and is told which role the import needs, rather than left to wonder where it is.
    assert any("needs the model owner role" in c.value for c in at.caption)
