"""The inventory commands of `steward` (core/cli/inventory.py), on SQLite and PostgreSQL: each
runs the same service as its form, as the token's person; bad input gives one "Error: ..."
line, exit code 1 and nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session, write_session
from core.db.models import (
    AuditEvent,
    BusinessProcess,
    Dataset,
    DataSource,
    Deployment,
    Feature,
    LineageEdge,
    Model,
    ModelCardRevision,
    Ownership,
    Person,
)
from core.registry import services
from tests.cli_auth import TokenRunner
from tests.factories import World, make_model, make_world

runner = TokenRunner()
OWNER = "owner@example.com"


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def world(registry: Engine) -> World:
    made = make_world(registry)
    for email in (OWNER, "admin@example.com", "viewer@example.com"):
        runner.ready(email)  # tokens minted before the tests count audit events
    return made


def steward(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


def _events(engine: Engine) -> int:
    with read_session(engine) as s:
        return s.exec(select(func.count()).select_from(AuditEvent)).one()


def _refused(engine: Engine, *args: str, match: str) -> None:
    """The command fails with one Error line naming the problem, and writes nothing."""
    before = _events(engine)
    result = steward(*args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and match in result.output, result.output
    assert _events(engine) == before


def _people(engine: Engine, world: World) -> None:
    with write_session(engine) as s:
        for name, email in (("Tom Tech", "tom@example.com"), ("Uma Tech", "uma@example.com")):
            services.create_person(s, actor=world.admin, name=name, email=email)


def test_update_and_retire_model(registry, world):
    make_model(registry, world.owner)
    done = steward(
        "update-model", "Credit scoring", "--kpi", "default rate", "--reason", "review", "--as", OWNER
    )
    assert done.exit_code == 0, done.output
    assert "Updated kpi" in done.output
    with read_session(registry) as s:
        assert s.exec(select(Model)).one().kpi == "default rate"
    _refused(
        registry, "update-model", "Credit scoring", "--reason", "x", "--as", OWNER, match="at least one field"
    )
    _refused(
        registry,
        "update-model",
        "Credit scoring",
        "--status",
        "retired",
        "--reason",
        "x",
        "--as",
        OWNER,
        match="retire-model",
    )
    _refused(
        registry,
        "update-model",
        "Credit scoring",
        "--kpi",
        "x",
        "--reason",
        "x",
        "--as",
        "viewer@example.com",
        match="may not model update",
    )
    _refused(
        registry, "update-model", "Nope", "--kpi", "x", "--reason", "x", "--as", OWNER, match="No model named"
    )
    _refused(registry, "retire-model", "Credit scoring", "--reason", " ", "--as", OWNER, match="say why")
    done = steward("retire-model", "Credit scoring", "--reason", "replaced", "--as", OWNER)
    assert done.exit_code == 0 and "Retired 'Credit scoring'" in done.output, done.output


def test_owners_assign_remove_and_hand_over(registry, world):
    make_model(registry, world.owner)
    _people(registry, world)
    done = steward(
        "assign-owner", "Credit scoring", "--person", "tom@example.com", "--role", "technical_owner",
        "--reason", "built it", "--as", OWNER,
    )  # fmt: skip
    assert done.exit_code == 0 and "Tom Tech is now technical owner" in done.output, done.output
    _refused(
        registry, "assign-owner", "Credit scoring", "--person", "uma@example.com", "--role", "sponsor",
        "--reason", "x", "--as", OWNER, match="ownership role",
    )  # fmt: skip
    _refused(
        registry, "assign-owner", "Credit scoring", "--person", "uma@example.com", "--role", "backup",
        "--since", "2026-13-01", "--reason", "x", "--as", OWNER, match="--since '2026-13-01' is not a date",
    )  # fmt: skip
    _refused(
        registry, "assign-owner", "Credit scoring", "--person", "nobody@example.com", "--role", "backup",
        "--reason", "x", "--as", OWNER, match="No person with email",
    )  # fmt: skip
    _refused(
        registry, "hand-over", "--from", "tom@example.com", "--to", "uma@example.com", "--reason", "moved",
        "--as", "viewer@example.com", match="may not ownership assign",
    )  # fmt: skip
    done = steward(
        "hand-over",
        "--from",
        "tom@example.com",
        "--to",
        "uma@example.com",
        "--reason",
        "moved",
        "--as",
        OWNER,
    )
    assert done.exit_code == 0 and "Handed 1 owner role(s) from Tom Tech to Uma Tech" in done.output, (
        done.output
    )
    done = steward(
        "remove-owner", "Credit scoring", "--person", "uma@example.com", "--role", "technical_owner",
        "--reason", "left the team", "--as", OWNER,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    with read_session(registry) as s:
        assert s.exec(select(Ownership)).all() == []


def test_mark_left_lists_the_roles_to_hand_over(registry, world):
    model_id, _ = make_model(registry, world.owner)
    _people(registry, world)
    with write_session(registry) as s:
        tom = s.exec(select(Person).where(Person.email == "tom@example.com")).one()
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=tom.id, role="technical_owner"
        )
    done = steward("mark-left", "--person", "tom@example.com", "--as", "admin@example.com")
    assert done.exit_code == 0, done.output
    assert "still holds 1 owner role(s)" in done.output
    assert "steward hand-over --from tom@example.com" in done.output and "Credit scoring" in done.output


def test_card_revisions(registry, world):
    make_model(registry, world.owner)
    done = steward(
        "revise-card", "Credit scoring", "--version", "1", "--limitations", "Not for SME loans",
        "--reason", "validation", "--as", OWNER, "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["result"]["revision"] == 2
    _refused(
        registry, "revise-card", "Credit scoring", "--version", "1", "--limitations", "Not for SME loans",
        "--reason", "again", "--as", OWNER, match="no new revision",
    )  # fmt: skip
    _refused(
        registry, "revise-card", "Credit scoring", "--version", "7", "--caveats", "x", "--reason", "x", "--as", OWNER,
        match="has no version 7",
    )  # fmt: skip
    history = steward("card-history", "Credit scoring", "--version", "1", "--json")
    assert [r["revision"] for r in json.loads(history.output)] == [2, 1]
    with read_session(registry) as s:
        assert len(s.exec(select(ModelCardRevision)).all()) == 2


def test_sources_processes_features_deployments_and_links(registry, world):
    make_model(registry, world.owner)
    with write_session(registry) as s:
        services.create_dataset(s, actor=world.owner, name="applications", version="2024-06")
    ok = [
        ("add-source", "Core banking", "--kind", "database", "--location", "db://core"),
        ("update-source", "Core banking", "--owner-team", "IT core"),
        ("add-process", "Loan origination", "--unit", "Credit risk", "--kpi", "approval rate"),
        ("update-process", "Loan origination", "--kpi-unit", "%"),
        ("add-feature", "--dataset", "applications@2024-06", "--name", "income", "--dtype", "float"),
        ("link-lineage", "--from", "data_source:Core banking", "--to", "dataset:applications@2024-06"),
        ("link-lineage", "--from", "feature:income@applications@2024-06", "--to", "model_version:Credit scoring@1"),
        ("add-deployment", "Credit scoring", "--version", "1", "--environment", "production",
         "--endpoint", "https://score.internal", "--process", "Loan origination", "--since", "2026-01-05"),
    ]  # fmt: skip
    for args in ok:
        done = steward(*args, "--as", OWNER)
        assert done.exit_code == 0, (args, done.output)
    with read_session(registry) as s:
        source = s.exec(select(DataSource)).one()
        assert source.owner_team == "IT core" and source.location == "db://core"
        assert s.exec(select(BusinessProcess)).one().kpi_unit == "%"
        assert s.exec(select(Feature)).one().name == "income"
        assert s.exec(select(Dataset)).one().data_source_id == source.id
        deployment = s.exec(select(Deployment)).one()
        assert deployment.endpoint == "https://score.internal" and deployment.since.year == 2026
        edges = len(s.exec(select(LineageEdge)).all())
    listed = json.loads(steward("deployments", "Credit scoring", "--json").output)
    assert [d["id"] for d in listed] == [deployment.id]
    _refused(registry, "add-source", "Core banking", "--as", OWNER, match="already exists")
    _refused(registry, "update-source", "Core banking", "--as", OWNER, match="at least one field")
    _refused(
        registry,
        "add-feature",
        "--dataset",
        "applications",
        "--name",
        "age",
        "--as",
        OWNER,
        match="NAME@VERSION",
    )
    _refused(
        registry, "link-lineage", "--from", "table:x", "--to", "dataset:applications@2024-06", "--as", OWNER,
        match="TYPE:REFERENCE",
    )  # fmt: skip
    _refused(
        registry, "link-lineage", "--from", "data_source:Core banking", "--to", "dataset:applications@2024-06",
        "--as", OWNER, match="linked already",
    )  # fmt: skip
    _refused(
        registry, "add-deployment", "Credit scoring", "--version", "1", "--environment", "batch",
        "--since", "2026-02-01", "--until", "2026-01-01", "--as", OWNER, match="before it starts",
    )  # fmt: skip
    _refused(registry, "add-source", "CRM", "--as", "viewer@example.com", match="lineage write")
    with read_session(registry) as s:
        assert len(s.exec(select(LineageEdge)).all()) == edges
    done = steward("end-deployment", str(deployment.id), "--as", OWNER)
    assert done.exit_code == 0, done.output
    _refused(registry, "end-deployment", str(deployment.id), "--as", OWNER, match="already ended")
