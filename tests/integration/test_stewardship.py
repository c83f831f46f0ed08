"""Keeping the inventory true after registration (core/registry/stewardship.py and the owner,
card and model services), on SQLite and PostgreSQL: each change is written with its audit event
carrying before and after; a refused role or bad input writes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from core import clock
from core.access import actor_by_id
from core.db.engine import read_session, write_session
from core.db.models import (
    AuditEvent,
    Dataset,
    Deployment,
    Feature,
    LineageEdge,
    Model,
    ModelCardRevision,
    Ownership,
    OwnershipPeriod,
    Person,
    PromotionRequest,
)
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.governance import promotions
from core.registry import services, stewardship
from core.registry import stewardship_reads as find
from tests.factories import make_model, make_world


@dataclass(frozen=True)
class Logged:
    before: Any
    after: Any
    reason: str


def _events(engine, action: str) -> list[Logged]:
    """The audit events of ``action``, oldest first, with their before/after snapshots parsed."""
    with read_session(engine) as s:
        rows = s.exec(select(AuditEvent).where(col(AuditEvent.action) == action).order_by(col(AuditEvent.id)))
        return [
            Logged(
                json.loads(e.before) if e.before else None, json.loads(e.after) if e.after else None, e.reason
            )
            for e in rows
        ]


def _count(engine, table) -> int:
    with read_session(engine) as s:
        return len(s.exec(select(table)).all())


def _person(engine, world, name: str, email: str) -> int:
    with write_session(engine) as s:
        return services.create_person(s, actor=world.admin, name=name, email=email, team="Risk")


# --- model metadata and retirement -------------------------------------------------------------------


def test_update_model_audits_before_and_after_and_refuses_a_no_op(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with write_session(engine) as s:
        services.update_model(
            s,
            actor=world.owner,
            model_id=model_id,
            kpi="default rate",
            methodology="GBT",
            reason="annual review",
        )
    event = _events(engine, "model.updated")[-1]
    assert event.before["kpi"] == "" and event.after["kpi"] == "default rate"
    assert event.after["methodology"] == "GBT" and event.reason == "annual review"
    with pytest.raises(InvalidInput, match="nothing to change"), write_session(engine) as s:
        services.update_model(s, actor=world.owner, model_id=model_id, kpi="default rate")
    with pytest.raises(PermissionDenied, match="model update"), write_session(engine) as s:
        services.update_model(s, actor=world.viewer, model_id=model_id, kpi="other")
    with pytest.raises(InvalidInput, match="status"), write_session(engine) as s:
        services.update_model(s, actor=world.owner, model_id=model_id, kpi="x", status="launched")
    with read_session(engine) as s:
        assert s.get(Model, model_id).kpi == "default rate"  # the refused changes left nothing
    assert len(_events(engine, "model.updated")) == 1


def test_retire_ends_open_deployments_and_needs_a_reason(engine):
    world = make_world(engine)
    model_id, (v1,) = make_model(engine, world.owner)
    with write_session(engine) as s:
        dep = stewardship.add_deployment(s, actor=world.owner, version_id=v1, environment="production")
    with pytest.raises(InvalidInput, match="say why"), write_session(engine) as s:
        stewardship.retire_model(s, actor=world.owner, model_id=model_id, reason="  ")
    with pytest.raises(PermissionDenied), write_session(engine) as s:
        stewardship.retire_model(s, actor=world.approver, model_id=model_id, reason="old")
    with read_session(engine) as s:
        assert s.get(Model, model_id).status == "development"
    with write_session(engine) as s:
        ended = stewardship.retire_model(s, actor=world.owner, model_id=model_id, reason="replaced")
    assert ended == 1
    with read_session(engine) as s:
        assert s.get(Model, model_id).status == "retired"
        assert s.get(Deployment, dep).until is not None
    event = _events(engine, "model.retired")[-1]
    assert event.before["status"] == "development" and event.after["status"] == "retired"
    assert event.before["open_deployments"][0]["id"] == dep and event.after["ended_deployments"] == [dep]
    with pytest.raises(Conflict, match="already retired"), write_session(engine) as s:
        stewardship.retire_model(s, actor=world.owner, model_id=model_id, reason="again")


# --- owners ---------------------------------------------------------------------------------------------


def test_assign_replaces_the_accountable_owner_and_keeps_the_former_period(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    anna = _person(engine, world, "Anna Business", "anna@example.com")
    ben = _person(engine, world, "Ben Business", "ben@example.com")
    start = clock.now() - timedelta(days=30)
    with write_session(engine) as s:
        services.assign_owner(
            s,
            actor=world.owner,
            model_id=model_id,
            person_id=anna,
            role="business_owner",
            since=start,
            reason="new",
        )
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=ben, role="business_owner", reason="Anna moved"
        )
    with read_session(engine) as s:
        now = s.exec(select(Ownership).where(col(Ownership.model_id) == model_id)).all()
        assert [(o.person_id, o.reason) for o in now] == [(ben, "Anna moved")]
        (period,) = s.exec(select(OwnershipPeriod)).all()
        assert period.person_id == anna and period.until >= period.since and period.end_reason == "Anna moved"
    event = _events(engine, "ownership.assigned")[-1]
    assert event.before == {"role": "business_owner", "person_ids": [anna]}
    assert event.after["person_id"] == ben and event.after["reason"] == "Anna moved"
    with read_session(engine) as s:
        assert list(find.former_owners(s, model_id)["person"]) == ["Anna Business"]


def test_assign_refuses_future_dates_leavers_and_other_roles(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    anna = _person(engine, world, "Anna Business", "anna@example.com")
    with pytest.raises(InvalidInput, match="future"), write_session(engine) as s:
        services.assign_owner(
            s,
            actor=world.owner,
            model_id=model_id,
            person_id=anna,
            role="validator",
            since=clock.now() + timedelta(days=3),
        )
    with pytest.raises(PermissionDenied, match="ownership assign"), write_session(engine) as s:
        services.assign_owner(s, actor=world.labeller, model_id=model_id, person_id=anna, role="validator")
    with pytest.raises(InvalidInput, match="ownership role"), write_session(engine) as s:
        services.assign_owner(s, actor=world.owner, model_id=model_id, person_id=anna, role="sponsor")
    with write_session(engine) as s:
        services.set_person_active(s, actor=world.admin, person_id=anna, active=False)
    with pytest.raises(InvalidInput, match="has left"), write_session(engine) as s:
        services.assign_owner(s, actor=world.owner, model_id=model_id, person_id=anna, role="validator")
    assert _count(engine, Ownership) == 0 and _events(engine, "ownership.assigned") == []


def test_hand_over_moves_every_role_with_its_reason(engine):
    world = make_world(engine)
    credit, _ = make_model(engine, world.owner)
    churn, _ = make_model(engine, world.owner, name="Churn", business_unit="Retail")
    tom = _person(engine, world, "Tom Tech", "tom@example.com")
    uma = _person(engine, world, "Uma Tech", "uma@example.com")
    with write_session(engine) as s:
        for model_id in (credit, churn):
            services.assign_owner(
                s, actor=world.owner, model_id=model_id, person_id=tom, role="technical_owner"
            )
        services.assign_owner(s, actor=world.owner, model_id=credit, person_id=tom, role="backup")
        services.assign_owner(s, actor=world.owner, model_id=credit, person_id=uma, role="backup")
    with pytest.raises(InvalidInput, match="say why"), write_session(engine) as s:
        stewardship.hand_over(s, actor=world.owner, from_person_id=tom, to_person_id=uma, reason="")
    with pytest.raises(InvalidInput, match="two different"), write_session(engine) as s:
        stewardship.hand_over(s, actor=world.owner, from_person_id=tom, to_person_id=tom, reason="x")
    with pytest.raises(PermissionDenied), write_session(engine) as s:
        stewardship.hand_over(s, actor=world.viewer, from_person_id=tom, to_person_id=uma, reason="x")
    with write_session(engine) as s:
        moved = stewardship.hand_over(
            s, actor=world.owner, from_person_id=tom, to_person_id=uma, reason="Tom moved to Treasury"
        )
    assert moved == 3
    with read_session(engine) as s:
        assert find.roles_of(s, tom).empty
        uma_roles = find.roles_of(s, uma)
    assert sorted(zip(uma_roles["model"], uma_roles["role"], strict=True)) == [
        ("Churn", "technical_owner"),
        ("Credit scoring", "backup"),  # she was backup already: held once, not twice
        ("Credit scoring", "technical_owner"),
    ]
    handed = _events(engine, "ownership.handed_over")
    assert len(handed) == 3
    assert all(e.before["person_id"] == tom and e.after["person_id"] == uma for e in handed)
    assert {e.reason for e in handed} == {"Tom moved to Treasury"}
    with pytest.raises(NotFound, match="nothing to hand over"), write_session(engine) as s:
        stewardship.hand_over(s, actor=world.owner, from_person_id=tom, to_person_id=uma, reason="again")


def test_person_leaves_and_hands_roles_to_a_successor_in_one_step(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    tom = _person(engine, world, "Tom Tech", "tom@example.com")
    uma = _person(engine, world, "Uma Tech", "uma@example.com")
    with write_session(engine) as s:
        services.assign_owner(s, actor=world.owner, model_id=model_id, person_id=tom, role="technical_owner")
    with pytest.raises(PermissionDenied, match="person manage"), write_session(engine) as s:
        stewardship.person_leaves(s, actor=world.owner, person_id=tom, successor_id=uma)
    with pytest.raises(InvalidInput, match="future"), write_session(engine) as s:
        stewardship.person_leaves(
            s, actor=world.admin, person_id=tom, left_on=clock.today() + timedelta(days=1)
        )
    with read_session(engine) as s:
        assert s.get(Person, tom).active
    with write_session(engine) as s:
        moved = stewardship.person_leaves(
            s, actor=world.admin, person_id=tom, successor_id=uma, reason="retired"
        )
    assert moved == 1
    with read_session(engine) as s:
        assert not s.get(Person, tom).active
        assert list(find.owners_of(s, model_id)["person_id"]) == [uma]
    assert _events(engine, "person.left")[-1].after["active"] is False


# --- model cards --------------------------------------------------------------------------------------------


def test_card_edit_is_a_new_revision_and_promotion_evidence_keeps_the_one_it_saw(engine):
    world = make_world(engine)
    model_id, (v1,) = make_model(engine, world.owner)
    with write_session(engine) as s:
        assert services.card_revision_number(s, v1) == 1  # registration wrote revision 1
        revision = services.update_model_card(
            s, actor=world.owner, version_id=v1, card_limitations="Not for SME loans", reason="validation"
        )
    assert revision == 2
    with write_session(engine) as s:
        request_id = promotions.request_promotion(
            s, actor=world.owner, version_id=v1, target_stage="staging", justification="ready for staging"
        )
    with write_session(engine) as s:
        services.update_model_card(s, actor=world.owner, version_id=v1, card_caveats="Recalibrate yearly")
    with read_session(engine) as s:
        revisions = s.exec(
            select(ModelCardRevision)
            .where(col(ModelCardRevision.model_version_id) == v1)
            .order_by(col(ModelCardRevision.revision))
        ).all()
        stored = s.get(PromotionRequest, request_id).evidence
    assert [r.revision for r in revisions] == [1, 2, 3]
    assert revisions[0].sections["card_limitations"] == ""  # revision 1 is kept as it was
    assert revisions[1].sections["card_limitations"] == "Not for SME loans"
    assert revisions[2].sections["card_limitations"] == "Not for SME loans"  # carried over
    assert revisions[2].sections["card_caveats"] == "Recalibrate yearly"
    assert stored["candidate"]["card_revision"] == 2  # what the approvers saw
    event = _events(engine, "model_card.updated")[0]
    assert event.before == {"card_limitations": "", "revision": 1}
    assert event.after == {"card_limitations": "Not for SME loans", "revision": 2}


def test_card_revision_refuses_no_change_unknown_sections_and_other_roles(engine):
    world = make_world(engine)
    _, (v1,) = make_model(engine, world.owner)
    with pytest.raises(InvalidInput, match="no new revision"), write_session(engine) as s:
        services.update_model_card(s, actor=world.owner, version_id=v1, card_limitations="")
    with pytest.raises(InvalidInput, match="unknown model-card"), write_session(engine) as s:
        services.update_model_card(s, actor=world.owner, version_id=v1, card_summary="x")
    with pytest.raises(PermissionDenied), write_session(engine) as s:
        services.update_model_card(s, actor=world.approver, version_id=v1, card_limitations="x")
    with read_session(engine) as s:
        assert services.card_revision_number(s, v1) == 1
    assert _events(engine, "model_card.updated") == []


# --- data, processes, deployments, lineage ----------------------------------------------------------------


def _dataset(engine, world) -> int:
    with write_session(engine) as s:
        return services.create_dataset(s, actor=world.owner, name="applications", version="2024-06")


def test_feature_source_and_process_edits_are_audited(engine):
    world = make_world(engine)
    dataset = _dataset(engine, world)
    with write_session(engine) as s:
        feature = stewardship.create_feature(
            s, actor=world.owner, dataset_id=dataset, name="income", dtype="float"
        )
        source = services.create_data_source(s, actor=world.owner, name="Core banking")
        process = services.create_business_process(
            s, actor=world.owner, name="Loan origination", business_unit="Credit risk"
        )
    with pytest.raises(Conflict, match="already has a feature"), write_session(engine) as s:
        stewardship.create_feature(s, actor=world.owner, dataset_id=dataset, name="income")
    with pytest.raises(InvalidInput, match="feature name"), write_session(engine) as s:
        stewardship.create_feature(s, actor=world.owner, dataset_id=dataset, name="  ")
    with pytest.raises(PermissionDenied), write_session(engine) as s:
        stewardship.create_feature(s, actor=world.viewer, dataset_id=dataset, name="age")
    with read_session(engine) as s:
        assert [f.id for f in s.exec(select(Feature)).all()] == [feature]
        assert (
            s.exec(select(LineageEdge).where(col(LineageEdge.dst_type) == "feature")).one().src_id == dataset
        )
    with write_session(engine) as s:
        stewardship.update_data_source(
            s, actor=world.owner, source_id=source, location="db://core", owner_team="IT"
        )
        stewardship.update_business_process(s, actor=world.owner, process_id=process, kpi="approval rate")
    src_event = _events(engine, "data_source.updated")[-1]
    assert src_event.before == {"location": "", "owner_team": ""}
    assert src_event.after == {"location": "db://core", "owner_team": "IT"}
    assert _events(engine, "business_process.updated")[-1].after == {"kpi": "approval rate"}
    with pytest.raises(InvalidInput, match="nothing to change"), write_session(engine) as s:
        stewardship.update_data_source(s, actor=world.owner, source_id=source, location="db://core")
    with pytest.raises(InvalidInput, match="cannot be changed here"), write_session(engine) as s:
        stewardship.update_data_source(s, actor=world.owner, source_id=source, name="Renamed")
    with pytest.raises(InvalidInput, match="kind"), write_session(engine) as s:
        stewardship.update_data_source(s, actor=world.owner, source_id=source, kind=" ")


def test_deployments_take_since_and_until_and_refuse_reversed_or_future_dates(engine):
    world = make_world(engine)
    model_id, (v1,) = make_model(engine, world.owner)
    start = datetime.combine(clock.today() - timedelta(days=20), datetime.min.time(), tzinfo=UTC)
    with pytest.raises(InvalidInput, match="before it starts"), write_session(engine) as s:
        stewardship.add_deployment(
            s,
            actor=world.owner,
            version_id=v1,
            environment="batch",
            since=start,
            until=start - timedelta(days=1),
        )
    with pytest.raises(InvalidInput, match="future"), write_session(engine) as s:
        stewardship.add_deployment(
            s, actor=world.owner, version_id=v1, environment="batch", since=clock.now() + timedelta(days=1)
        )
    with pytest.raises(PermissionDenied), write_session(engine) as s:
        stewardship.add_deployment(s, actor=world.viewer, version_id=v1, environment="batch")
    assert _count(engine, Deployment) == 0
    with write_session(engine) as s:
        past = stewardship.add_deployment(
            s,
            actor=world.owner,
            version_id=v1,
            environment="batch",
            endpoint="nightly-job",
            since=start,
            until=start + timedelta(days=5),
        )
        live = stewardship.add_deployment(
            s, actor=world.owner, version_id=v1, environment="production", since=start
        )
    with read_session(engine) as s:
        frame = find.deployments_of(s, model_id)
    assert list(frame["id"]) == [live, past]  # open first
    with pytest.raises(Conflict, match="already ended"), write_session(engine) as s:
        stewardship.end_deployment(s, actor=world.owner, deployment_id=past)
    with pytest.raises(InvalidInput, match="before it starts"), write_session(engine) as s:
        stewardship.end_deployment(s, actor=world.owner, deployment_id=live, until=start - timedelta(days=2))
    with write_session(engine) as s:
        stewardship.end_deployment(s, actor=world.owner, deployment_id=live)
    ended = _events(engine, "deployment.ended")[-1]
    assert ended.before["until"] is None and ended.after["until"] is not None


def test_link_lineage_records_a_dataset_source_and_refuses_duplicates_and_cycles(engine):
    world = make_world(engine)
    _, (v1,) = make_model(engine, world.owner)
    dataset = _dataset(engine, world)
    with write_session(engine) as s:
        source = services.create_data_source(s, actor=world.owner, name="Core banking")
        stewardship.link_lineage(
            s, actor=world.owner, src_type="data_source", src_id=source, dst_type="dataset", dst_id=dataset
        )
        stewardship.link_lineage(
            s, actor=world.owner, src_type="dataset", src_id=dataset, dst_type="model_version", dst_id=v1
        )
    with read_session(engine) as s:
        assert s.get(Dataset, dataset).data_source_id == source
    set_event = _events(engine, "dataset.source_set")[-1]
    assert set_event.before["data_source_id"] is None and set_event.after["data_source_id"] == source
    with pytest.raises(Conflict, match="linked already"), write_session(engine) as s:
        stewardship.link_lineage(
            s, actor=world.owner, src_type="data_source", src_id=source, dst_type="dataset", dst_id=dataset
        )
    with pytest.raises(InvalidInput, match="cycle"), write_session(engine) as s:
        stewardship.link_lineage(
            s, actor=world.owner, src_type="model_version", src_id=v1, dst_type="data_source", dst_id=source
        )
    with pytest.raises(NotFound, match="dataset"), write_session(engine) as s:
        stewardship.link_lineage(
            s, actor=world.owner, src_type="data_source", src_id=source, dst_type="dataset", dst_id=9999
        )
    with pytest.raises(InvalidInput, match="source type"), write_session(engine) as s:
        stewardship.link_lineage(
            s, actor=world.owner, src_type="table", src_id=1, dst_type="dataset", dst_id=dataset
        )
    with pytest.raises(PermissionDenied), write_session(engine) as s:
        stewardship.link_lineage(
            s, actor=world.viewer, src_type="dataset", src_id=dataset, dst_type="model_version", dst_id=v1
        )
    assert _count(engine, LineageEdge) == 2  # the two links drawn; the refused ones left nothing


def test_unit_scoped_owner_edits_only_their_units_models(engine):
    world = make_world(engine)
    model_id, (v1,) = make_model(engine, world.owner)
    with write_session(engine) as s:
        retail = services.create_person(
            s,
            actor=world.admin,
            name="Rita Retail",
            email="rita@example.com",
            roles=[("model_owner", "Retail")],
        )
    with read_session(engine) as s:
        rita = actor_by_id(s, retail)
    with pytest.raises(PermissionDenied, match="Credit risk"), write_session(engine) as s:
        services.update_model(s, actor=rita, model_id=model_id, kpi="x")
    with pytest.raises(PermissionDenied, match="Credit risk"), write_session(engine) as s:
        stewardship.add_deployment(s, actor=rita, version_id=v1, environment="batch")
    with pytest.raises(PermissionDenied, match="Credit risk"), write_session(engine) as s:
        stewardship.retire_model(s, actor=rita, model_id=model_id, reason="not mine")


def test_effective_time_is_now_for_today_and_midnight_utc_otherwise():
    assert stewardship.effective_time(None) is None
    assert stewardship.effective_time(clock.today()) is None
    assert stewardship.effective_time(date(2026, 1, 5)) == datetime(2026, 1, 5, tzinfo=UTC)
