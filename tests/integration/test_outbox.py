"""The transactional outbox: an outbound event exists exactly when its change was committed, with
the documented type and data (docs/events.schema.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, DriftRun, OutboxEvent
from core.errors import InvalidInput
from core.governance import promotions, retraining, rules
from core.monitoring import alerts
from core.outbox import EVENT_TYPES
from core.registry import services
from tests.factories import make_model, make_promotable_model, make_world
from tests.notify_factories import events, monitored_model, open_drift_alert

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "events.schema.json"


def test_registering_a_version_writes_one_event_with_its_audit_event(engine):
    world = make_world(engine)
    model_id, (version_id,) = make_model(engine, world.owner)
    (event,) = events(engine, "version.registered")
    with read_session(engine) as s:
        audited = s.get(AuditEvent, event.audit_event_id)
    assert audited.action == "version.registered" and audited.object_id == str(version_id)
    assert event.model_id == model_id and event.business_unit == "Credit risk"
    assert event.data["model"] == {"id": model_id, "name": "Credit scoring", "business_unit": "Credit risk"}
    assert event.data["version"]["number"] == 1 and event.data["version"]["metrics"] == {"roc_auc": 0.8}
    assert len(event.event_id) == 36 and event.dispatched_at is None and not event.urgent
    assert [
        e.type for e in events(engine) if e.type != "version.registered"
    ] == []  # model.registered is not outbound


def test_a_rolled_back_change_leaves_no_event(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    before = len(events(engine))
    with pytest.raises(InvalidInput, match="unknown model-card section"), write_session(engine) as s:
        services.register_version(s, actor=world.owner, model_id=model_id, metrics={"auc": 0.9})
        services.register_version(s, actor=world.owner, model_id=model_id, card_bogus="x")
    assert len(events(engine)) == before
    with read_session(engine) as s:
        assert (
            s.exec(select(OutboxEvent).where(OutboxEvent.type == "version.registered"))
            .all()[-1]
            .data["version"]["number"]
            == 1
        )


def test_promotion_requested_decided_and_stage_changed(engine):
    world = make_world(engine)
    model_id, (v1, v2) = make_promotable_model(engine, world)
    with write_session(engine) as s:
        request_id = promotions.request_promotion(
            s,
            actor=world.owner,
            version_id=v2,
            target_stage="production",
            justification="Better AUC on the holdout.",
        )
    with write_session(engine) as s:
        promotions.approve(s, actor=world.approver, request_id=request_id)
    (requested,) = events(engine, "promotion.requested")
    assert requested.data["request"]["id"] == request_id
    assert requested.data["request"]["justification"] == "Better AUC on the holdout."
    assert requested.data["request"]["requested_by"]["email"] == "owner@example.com"
    (decided,) = events(engine, "promotion.decided")
    assert decided.data["request"]["status"] == "approved"
    assert decided.data["request"]["decided_by"]["name"] == "Arthur Approver"
    assert decided.data["version"]["id"] == v2
    (stage,) = events(engine, "stage.changed")
    assert (stage.data["from_stage"], stage.data["to_stage"], stage.data["version"]["stage"]) == (
        "none",
        "production",
        "production",
    )
    assert decided.id < stage.id  # the decision, then its effect, in the order they happened


def test_alerts_open_escalate_and_close(engine):
    world = make_world(engine)
    model_id, version_id = monitored_model(engine, world)
    alert_id = open_drift_alert(
        engine, world.system, model_id, version_id, share=0.2
    )  # warning: half the limit
    (opened,) = [e for e in events(engine, "alert.opened") if e.data["alert"]["kind"] == "drift"]
    assert opened.data["alert"] == {**opened.data["alert"], "id": alert_id, "level": "warning"}
    assert not opened.urgent  # a warning waits for quiet hours
    open_drift_alert(engine, world.system, model_id, version_id, share=0.6)
    (escalated,) = events(engine, "alert.escalated")
    assert escalated.urgent and escalated.data["previous_level"] == "warning"
    assert escalated.data["alert"]["level"] == "alert"
    open_drift_alert(engine, world.system, model_id, version_id, share=0.7)  # message changes only
    assert len(events(engine, "alert.escalated")) == 1  # a new figure is not news
    with write_session(engine) as s:  # the drift clears
        for run in s.exec(select(DriftRun).where(DriftRun.model_id == model_id)):
            run.drift_share = 0.0
            s.add(run)
    with write_session(engine) as s:
        alerts.evaluate_health(s, actor=world.system, model_ids=[model_id])
    closed = [e for e in events(engine, "alert.closed") if e.data["alert"]["id"] == alert_id]
    assert len(closed) == 1 and closed[0].data["alert"]["closed_at"] is not None


def test_an_alert_that_opens_as_an_alert_is_urgent(engine):
    world = make_world(engine)
    model_id, version_id = monitored_model(engine, world)
    open_drift_alert(engine, world.system, model_id, version_id, share=0.6)
    (opened,) = [e for e in events(engine, "alert.opened") if e.data["alert"]["kind"] == "drift"]
    assert opened.urgent and opened.data["alert"]["level"] == "alert"
    assert opened.actor_id == world.system.id


def test_rule_proposed_and_approved(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with write_session(engine) as s:
        rule_id = rules.propose_rule(
            s,
            actor=world.owner,
            model_id=model_id,
            name="Auto-approve",
            operator=">",
            threshold=0.7,
            outcome="approve",
        )
    with write_session(engine) as s:
        rules.decide_rule(s, actor=world.approver, rule_id=rule_id, approve=True, comment="fine")
    (proposed,) = events(engine, "rule.proposed")
    (approved,) = events(engine, "rule.approved")
    assert proposed.data["rule"]["condition"] == "Auto-approve > 0.7"
    assert approved.data["rule"]["status"] == "active" and approved.data["comment"] == "fine"


def test_retraining_events(engine):
    world = make_world(engine)
    model_id, version_id = monitored_model(engine, world)
    with write_session(engine) as s:
        request_id = retraining.open_request(
            s, actor=world.owner, model_id=model_id, reason="Drift keeps growing in income."
        )
    (requested,) = events(engine, "retraining.requested")
    assert requested.data["retraining"]["id"] == request_id
    assert requested.data["retraining"]["owner"]["email"] == "owner@example.com"


def test_event_types_are_the_documented_ones():
    schema = json.loads(SCHEMA.read_text())
    assert sorted(schema["properties"]["type"]["enum"]) == sorted(EVENT_TYPES)
    assert set(schema["$defs"]["data_by_type"]["properties"]) == set(EVENT_TYPES)
