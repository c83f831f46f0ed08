"""The retraining loop: opened from an alert, a re-assessment flag or a meeting decision; answered by a
new version; closed in the transaction that puts that version in production; loop time per model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, RetrainingRequest
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.governance import meetings, promotions, retraining
from core.registry import services
from tests.factories import make_model, make_promotable_model, make_world
from tests.notify_factories import events, monitored_model, open_drift_alert

OVERRIDE = "Card and artifact of the retrained version reviewed by hand."


def _open(
    engine, actor, model_id, reason="Drift in income keeps growing; retrain on 2026 data.", **kw
) -> int:
    with write_session(engine) as s:
        return retraining.open_request(s, actor=actor, model_id=model_id, reason=reason, **kw)


def _view(engine, request_id) -> retraining.RequestView:
    with read_session(engine) as s:
        return retraining.request_view(s, request_id)


def _count(engine) -> int:
    with read_session(engine) as s:
        return len(s.exec(select(RetrainingRequest)).all())


def test_opened_from_an_alert_freezes_its_evidence(engine):
    world = make_world(engine)
    model_id, version_id = monitored_model(engine, world)
    alert_id = open_drift_alert(engine, world.system, model_id, version_id, share=0.6)
    request_id = _open(
        engine, world.owner, model_id, alert_id=alert_id, due_on=date.today() + timedelta(days=14)
    )
    view = _view(engine, request_id)
    assert (view.status, view.source, view.source_ref) == ("open", "alert", f"alert:{alert_id}")
    assert view.owner == "Olivia Owner" and view.due_on == date.today() + timedelta(days=14)
    assert view.evidence["source"]["kind"] == "drift" and view.evidence["source"]["level"] == "alert"
    assert "60% of features drifted" in view.evidence["source"]["message"]
    assert view.evidence["health"]["status"] == "alert"
    assert view.evidence["production_version"] == {
        "id": version_id,
        "number": 1,
        "metrics": {"accuracy": 0.85},
    }
    with read_session(engine) as s:
        audited = s.exec(select(AuditEvent).where(AuditEvent.action == "retraining.requested")).one()
    assert audited.object_id == str(request_id) and audited.model_id == model_id


def test_default_owner_is_the_technical_owner_and_due_in_thirty_days(engine):
    world = make_world(engine)
    model_id, _ = monitored_model(engine, world)
    with write_session(engine) as s:
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.viewer.id, role="technical_owner"
        )
    view = _view(engine, _open(engine, world.approver, model_id))
    assert (
        view.owner == "Victor Viewer" and view.requested_by == "Arthur Approver" and view.source == "manual"
    )
    assert view.due_on == datetime.now(UTC).date() + timedelta(days=30)


def test_opened_from_a_flag_and_from_a_meeting_decision(engine):
    world = make_world(engine)
    model_id, version_id = monitored_model(engine, world)
    open_drift_alert(engine, world.system, model_id, version_id, share=0.6)
    with read_session(engine) as s:
        sources = retraining.sources_for(s, model_id)
    assert "drift_alert" in [trigger for trigger, _ in sources.flags]
    flagged = _open(engine, world.owner, model_id, flag_trigger="drift_alert")
    assert _view(engine, flagged).evidence["source"]["trigger"] == "drift_alert"
    with write_session(engine) as s:
        retraining.cancel(s, actor=world.owner, request_id=flagged, reason="Opened from the meeting instead.")
    with write_session(engine) as s:
        meeting_id = meetings.create_meeting(
            s,
            actor=world.approver,
            title="Committee",
            held_at=datetime.now(UTC) - timedelta(minutes=5),
            attendee_ids=[world.approver.id, world.owner.id],
        )
    with write_session(engine) as s:
        meetings.refresh_agenda(s, actor=world.approver, meeting_id=meeting_id)
    with read_session(engine) as s:
        item = next(i for i in meetings.meeting_view(s, meeting_id).items if i.kind == "alert")
    with write_session(engine) as s:
        decision_id = meetings.record_decision(
            s,
            actor=world.approver,
            item_id=item.id,
            outcome="noted",
            present_ids=[world.approver.id],
            comment="Retrain before the next committee.",
        )
    with read_session(engine) as s:
        assert decision_id in [d for d, _ in retraining.sources_for(s, model_id).decisions]
    request_id = _open(engine, world.approver, model_id, decision_id=decision_id)
    evidence = _view(engine, request_id).evidence["source"]
    assert evidence["meeting"] == "Committee" and evidence["comment"] == "Retrain before the next committee."


def test_one_open_request_per_model_and_bad_input_writes_nothing(engine):
    world = make_world(engine)
    model_id, version_id = monitored_model(engine, world)
    other_id, _ = make_model(engine, world.owner, name="Churn")
    alert_id = open_drift_alert(engine, world.system, model_id, version_id, share=0.6)
    cases = [
        (InvalidInput, "at least 10 characters", dict(reason="retrain")),
        (InvalidInput, "in the past", dict(due_on=date(2020, 1, 1))),
        (InvalidInput, "comes from one thing", dict(alert_id=alert_id, flag_trigger="drift_alert")),
        (NotFound, "No alert with id 999", dict(alert_id=999)),
        (InvalidInput, "has no 'fairness_gap' re-assessment flag", dict(flag_trigger="fairness_gap")),
        (NotFound, "No meeting decision with id 5", dict(decision_id=5)),
        (NotFound, "No person with id 999", dict(owner_id=999)),
        (InvalidInput, "system account cannot own", dict(owner_id=world.system.id)),
    ]
    for error, message, kw in cases:
        with pytest.raises(error, match=message):
            _open(engine, world.owner, model_id, **kw)
    with pytest.raises(InvalidInput, match="is about another model"):
        _open(engine, world.owner, other_id, alert_id=alert_id)
    with pytest.raises(PermissionDenied, match="this needs the role approver or model_owner"):
        _open(engine, world.viewer, model_id)
    assert _count(engine) == 0 and not events(engine, "retraining.requested")
    first = _open(engine, world.owner, model_id)
    with pytest.raises(Conflict, match=f"Retraining request #{first} for 'Credit scoring' is still open"):
        _open(engine, world.approver, model_id, alert_id=alert_id)
    assert _count(engine) == 1


def test_the_loop_closes_when_the_answering_version_reaches_production(engine):
    world = make_world(engine)
    model_id, (v1, _) = make_promotable_model(engine, world, versions=2)
    with write_session(engine) as s:
        services.apply_stage_change(
            s, actor=world.owner, version_id=v1, to_stage="production", reason="first"
        )
    request_id = _open(engine, world.approver, model_id)
    with pytest.raises(InvalidInput, match="before request"):
        with write_session(engine) as s:
            retraining.answer(s, actor=world.owner, request_id=request_id, version_id=v1)
    with write_session(engine) as s:
        v3 = services.register_version(s, actor=world.owner, model_id=model_id, metrics={"roc_auc": 0.83})
        retraining.answer(s, actor=world.owner, request_id=request_id, version_id=v3)
    assert _view(engine, request_id).status == "answered" and _view(engine, request_id).answered_version == 3
    with write_session(engine) as s:  # staging first: the loop stays open
        staging = promotions.request_promotion(
            s,
            actor=world.owner,
            version_id=v3,
            target_stage="staging",
            justification="Shadow run of the retrained model.",
        )
    for approver in (world.approver2, world.approver):  # failing gates: two approvers override
        with write_session(engine) as s:
            promotions.approve(s, actor=approver, request_id=staging, override_reason=OVERRIDE)
    assert _view(engine, request_id).status == "answered"
    with write_session(engine) as s:
        production = promotions.request_promotion(
            s,
            actor=world.owner,
            version_id=v3,
            target_stage="production",
            justification="Retrained model beats v1 on drift data.",
        )
    for approver in (world.approver2, world.approver):  # failing gates: two approvers override
        with write_session(engine) as s:
            promotions.approve(s, actor=approver, request_id=production, override_reason=OVERRIDE)
    view = _view(engine, request_id)
    assert view.status == "closed" and view.closed_at is not None
    (closed,) = events(engine, "retraining.closed")
    assert closed.data["version"]["number"] == 3 and closed.data["retraining"]["status"] == "closed"
    with read_session(engine) as s:
        loops = retraining.loop_times(s)
        audited = s.exec(select(AuditEvent).where(AuditEvent.action == "retraining.closed")).one()
        stage = s.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "version.stage_changed")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert audited.id > stage.id  # in the promotion's transaction, after the stage change
    row = loops.set_index("model").loc["Churn"]
    assert (row["closed"], row["open"]) == (1, 0) and 0 <= row["median_days"] < 1
    with pytest.raises(Conflict, match="is closed; it takes no new version"), write_session(engine) as s:
        retraining.answer(s, actor=world.owner, request_id=request_id, version_id=v3)


def test_answer_checks_the_model_and_the_role(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    other_id, (other_version,) = make_model(engine, world.owner, name="Churn")
    request_id = _open(engine, world.owner, model_id)
    with write_session(engine) as s:
        v2 = services.register_version(s, actor=world.owner, model_id=model_id)
    with pytest.raises(InvalidInput, match="belongs to another model"), write_session(engine) as s:
        retraining.answer(s, actor=world.owner, request_id=request_id, version_id=other_version)
    with pytest.raises(PermissionDenied, match="may not version register"), write_session(engine) as s:
        retraining.answer(s, actor=world.approver, request_id=request_id, version_id=v2)
    with pytest.raises(NotFound, match="No retraining request with id 77"), write_session(engine) as s:
        retraining.answer(s, actor=world.owner, request_id=77, version_id=v2)
    assert _view(engine, request_id).status == "open"


def test_cancel_needs_a_reason_and_the_right_person(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with write_session(engine) as s:
        services.grant_role(s, actor=world.system, person_id=world.viewer.id, role="model_owner")
    request_id = _open(engine, world.owner, model_id)
    with pytest.raises(PermissionDenied, match="Only the requester, the request's owner or an approver"):
        with write_session(engine) as s:
            retraining.cancel(s, actor=world.viewer, request_id=request_id, reason="Not needed after all.")
    with pytest.raises(InvalidInput, match="say why"), write_session(engine) as s:
        retraining.cancel(s, actor=world.owner, request_id=request_id, reason="no")
    with write_session(engine) as s:
        retraining.cancel(
            s, actor=world.approver, request_id=request_id, reason="Drift was a data bug, fixed upstream."
        )
    assert _view(engine, request_id).status == "cancelled"
    with pytest.raises(Conflict, match="already cancelled"), write_session(engine) as s:
        retraining.cancel(s, actor=world.owner, request_id=request_id, reason="Cancel it once more.")


def test_the_meeting_agenda_lists_open_requests(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    request_id = _open(engine, world.owner, model_id, due_on=date.today())
    with write_session(engine) as s:
        meeting_id = meetings.create_meeting(
            s,
            actor=world.approver,
            title="Committee",
            held_at=datetime.now(UTC) + timedelta(days=2),
            attendee_ids=[world.approver.id],
        )
        meetings.refresh_agenda(
            s, actor=world.approver, meeting_id=meeting_id, at=datetime.now(UTC) + timedelta(days=2)
        )
    with read_session(engine) as s:
        (item,) = [i for i in meetings.meeting_view(s, meeting_id).items if i.kind == "retraining"]
    assert item.title == "Retraining Credit scoring: open"
    assert f"Request #{request_id}" in item.reason and "overdue" in item.reason
    assert item.link == f"/model?model={model_id}&retraining={request_id}"
    assert item.evidence["overdue"] is True and meetings.allowed_outcomes("retraining", item.evidence) == (
        "action",
        "noted",
    )
