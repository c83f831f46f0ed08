"""Review meetings: agenda generation on a known registry, decisions through four-eyes, exports."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pypdf
import pytest
from sqlmodel import select

from core import audit
from core.db.engine import read_session, write_session
from core.db.models import Alert, AuditEvent, Decision, LabellingCampaign, MeetingAction, PromotionRequest
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.governance import meetings, minutes, promotions, risk, rules
from core.registry import services
from tests.factories import make_model, make_promotable_model, make_world

LOW = [{"category": c, "likelihood": 2, "impact": 2} for c in risk.RISK_LABELS]


def now() -> datetime:
    return datetime.now(UTC)


def assess(engine, actor, model_id, at=None, **kw):
    args = {"scores": LOW, "materiality": "low", "ai_act_class": "minimal", "rationale": "ranking"} | kw
    with write_session(engine) as s:
        return risk.assess_model(s, actor=actor, model_id=model_id, assessed_at=at, **args)


def create(engine, actor, attendees, *, held_at=None, title="Model risk committee", unit="") -> int:
    with write_session(engine) as s:
        return meetings.create_meeting(
            s,
            actor=actor,
            title=title,
            held_at=held_at or now() + timedelta(hours=1),
            attendee_ids=[a.id for a in attendees],
            business_unit=unit,
        )


def view(engine, meeting_id) -> meetings.MeetingView:
    with read_session(engine) as s:
        return meetings.meeting_view(s, meeting_id)


def decide(engine, actor, item_id, outcome, present, **kw) -> int:
    with write_session(engine) as s:
        return meetings.record_decision(
            s, actor=actor, item_id=item_id, outcome=outcome, present_ids=[p.id for p in present], **kw
        )


@pytest.fixture
def state(engine):
    """A registry with one thing of each kind before and after a previous meeting."""
    w = make_world(engine)
    credit, (c1, c2) = make_promotable_model(engine, w, name="Credit scoring")
    churn, _ = make_model(engine, w.owner, name="Churn", business_unit="Retail")
    stale, _ = make_model(engine, w.owner, name="Stale model")
    with write_session(engine) as s:
        for mid in (churn, stale):
            services.assign_owner(s, actor=w.owner, model_id=mid, person_id=w.approver2.id, role="backup")
    assess(engine, w.owner, credit)
    assess(engine, w.owner, churn)
    assess(engine, w.owner, stale, at=datetime(2022, 1, 1, tzinfo=UTC))
    old_rule = _approved_rule(engine, w, credit, "Auto-approve", 0.69)
    # the previous meeting, with an action still open and one closed
    m1 = create(engine, w.approver, [w.approver, w.owner], held_at=now(), title="January")
    v1 = view(engine, m1)
    first = v1.items[0]
    open_dec = decide(
        engine,
        w.approver,
        first.id,
        "action",
        [w.approver],
        action_title="Name a validator",
        action_owner_id=w.owner.id,
        action_due=(now() + timedelta(days=20)).date(),
    )
    second = v1.items[1]
    decide(
        engine,
        w.approver,
        second.id,
        "action",
        [w.approver],
        action_title="Old action",
        action_owner_id=w.owner.id,
        action_due=(now() + timedelta(days=5)).date(),
    )
    with read_session(engine) as s:
        open_action = s.exec(select(MeetingAction).where(MeetingAction.decision_id == open_dec)).one()
        done_action = s.exec(select(MeetingAction).where(MeetingAction.title == "Old action")).one()
    with write_session(engine) as s:
        meetings.close_action(s, actor=w.approver, action_id=done_action.id, note="validator named")
        meetings.close_meeting(s, actor=w.approver, meeting_id=m1)
    with read_session(engine) as s:
        held = meetings.meeting_view(s, m1).held_at
    # after the previous meeting
    new_rule = _approved_rule(engine, w, credit, "Refer", 0.4, outcome="refer")
    with write_session(engine) as s:
        proposal = rules.propose_rule(
            s,
            actor=w.owner,
            model_id=credit,
            name="Auto-approve",
            operator=">",
            threshold=0.72,
            outcome="approve",
        )
        request = promotions.request_promotion(
            s,
            actor=w.owner,
            version_id=c2,
            target_stage="staging",
            justification="Better AUC on the 2024 holdout",
        )
        s.add(
            Alert(
                model_id=churn,
                kind="drift",
                level="alert",
                message="7 of 10 features drifted",
                opened_at=held + (now() - held) / 2,
            )
        )
        s.add(
            Alert(
                model_id=churn,
                kind="outage",
                level="alert",
                message="no predictions for 3 days",
                opened_at=held - timedelta(days=9),
                closed_at=held - timedelta(days=8),
            )
        )
        s.add(
            Alert(
                model_id=credit,
                kind="performance",
                level="warning",
                message="AUC 0.66 below 0.70",
                opened_at=held - timedelta(days=3),
            )
        )  # still open: on the agenda though older
    return {
        "w": w,
        "credit": credit,
        "churn": churn,
        "stale": stale,
        "m1": m1,
        "old_rule": old_rule,
        "new_rule": new_rule,
        "proposal": proposal,
        "request": request,
        "open_action": open_action.id,
        "done_action": done_action.id,
        "held": held,
    }


def _approved_rule(engine, w, model_id, name, threshold, outcome="approve") -> int:
    with write_session(engine) as s:
        rid = rules.propose_rule(
            s, actor=w.owner, model_id=model_id, name=name, operator=">", threshold=threshold, outcome=outcome
        )
    with write_session(engine) as s:
        rules.decide_rule(s, actor=w.approver, rule_id=rid, approve=True, comment="policy")
    return rid


def test_agenda_generated_since_previous_meeting(engine, state):
    w = state["w"]
    m2 = create(engine, w.approver, [w.approver, w.approver2, w.owner], title="February")
    v = view(engine, m2)
    kinds = [(i.kind, i.title) for i in v.items]
    titles = " | ".join(t for _, t in kinds)
    assert v.previous is not None and v.previous[0] == state["m1"]
    # present, for the right reasons
    assert ("open_action", "Action: Name a validator") in kinds
    assert any(k == "promotion_request" and "Promote Credit scoring v2 to staging" in t for k, t in kinds)
    proposal = next(
        i for i in v.items if i.kind == "rule_change" and i.evidence["rule_id"] == state["proposal"]
    )
    assert (
        proposal.evidence["in_force_now"] == "approve if score > 0.69" and proposal.outcomes[0] == "approve"
    )
    decided = next(
        i for i in v.items if i.kind == "rule_change" and i.evidence["rule_id"] == state["new_rule"]
    )
    assert decided.title.startswith("Rule approved") and decided.outcomes == ("action", "noted")
    assert ("review_overdue", "Review overdue: Stale model") in kinds
    assert "Drift alert: Churn" in titles and "Performance warning: Credit scoring" in titles
    assert any(
        k == "reassessment" and t.startswith("Re-assess Churn") for k, t in kinds
    )  # drift after assessment
    # absent, for the right reasons
    assert "Old action" not in titles  # closed
    assert "Outage" not in titles  # closed before the previous meeting
    assert not any(i.kind == "rule_change" and i.evidence["rule_id"] == state["old_rule"] for i in v.items)
    assert "Review overdue: Credit scoring" not in titles and "Review overdue: Churn" not in titles
    # agenda order: actions first, then decisions, then risk, then monitoring
    order = [i.kind for i in v.items]
    assert (
        order.index("open_action")
        < order.index("promotion_request")
        < order.index("review_overdue")
        < order.index("alert")
    )
    assert [i.position for i in v.items] == list(range(1, len(v.items) + 1))
    # a business-unit meeting sees only its unit
    retail = create(engine, w.approver, [w.approver], title="Retail review", unit="Retail")
    retail_titles = [i.title for i in view(engine, retail).items]
    assert retail_titles and all("Credit scoring" not in t for t in retail_titles)


def test_campaigns_finished_since_previous_meeting(engine, state):
    w = state["w"]
    held = state["held"]
    with read_session(engine) as s:
        version_id = s.exec(select(PromotionRequest)).one().model_version_id
    with write_session(engine) as s:
        for name, closed in (
            ("Q1 sample", held + (now() - held) / 2),
            ("Q4 sample", held - timedelta(days=30)),
        ):
            s.add(
                LabellingCampaign(
                    model_id=state["credit"],
                    model_version_id=version_id,
                    name=name,
                    strategy="random",
                    size_requested=50,
                    size=50,
                    status="closed",
                    created_by_id=w.owner.id,
                    created_at=closed - timedelta(days=5),
                    closed_at=closed,
                )
            )
    titles = [i.title for i in view(engine, create(engine, w.approver, [w.approver])).items]
    assert "Labelling finished: Q1 sample (Credit scoring)" in titles
    assert not any("Q4 sample" in t for t in titles)


def test_decisions_recorded_audited_and_act_through_four_eyes(engine, state):
    w = state["w"]
    m2 = create(engine, w.approver, [w.approver, w.approver2, w.owner])
    v = view(engine, m2)
    request_item = next(i for i in v.items if i.kind == "promotion_request")
    rule_item = next(
        i for i in v.items if i.kind == "rule_change" and i.evidence["rule_id"] == state["proposal"]
    )
    action_item = next(i for i in v.items if i.kind == "open_action")
    overdue_item = next(i for i in v.items if i.kind == "review_overdue")
    # the recorder must be present; strangers cannot be present
    with pytest.raises(PermissionDenied, match="not recorded as present"):
        decide(engine, w.approver, request_item.id, "approve", [w.approver2])
    with pytest.raises(InvalidInput, match="is not an attendee"):
        decide(engine, w.approver, request_item.id, "approve", [w.approver, w.viewer])
    with pytest.raises(InvalidInput, match="'Approve' does not apply to a review overdue"):
        decide(engine, w.approver, overdue_item.id, "approve", [w.approver])
    # approve through the promotion workflow: the owner (the requester) may not
    with pytest.raises(PermissionDenied, match="promotion decide"):
        decide(engine, w.owner, request_item.id, "approve", [w.owner, w.approver])
    decide(
        engine, w.approver, request_item.id, "approve", [w.approver, w.approver2, w.owner], comment="AUC up"
    )
    with read_session(engine) as s:
        assert s.get(PromotionRequest, state["request"]).status == "approved"
    with pytest.raises(Conflict, match="already decided; decisions never change"):
        decide(engine, w.approver2, request_item.id, "reject", [w.approver2], comment="no")
    # rule proposal rejected through the rules service
    decide(engine, w.approver2, rule_item.id, "reject", [w.approver2], comment="0.72 too strict for Q2")
    with read_session(engine) as s:
        assert (
            rules.rule_history(s, model_id=state["credit"]).set_index("id").loc[state["proposal"], "status"]
            == "rejected"
        )
    # carried-over action closed in the meeting; a new action agreed
    decide(
        engine, w.approver, action_item.id, "close_action", [w.approver], comment="Arthur named as validator"
    )
    due = (now() + timedelta(days=28)).date()
    with pytest.raises(InvalidInput, match="an action needs an owner"):
        decide(engine, w.approver, overdue_item.id, "action", [w.approver], action_title="Re-assess")
    decide(
        engine,
        w.approver,
        overdue_item.id,
        "action",
        [w.approver],
        action_title="Re-assess Stale model",
        action_owner_id=w.owner.id,
        action_due=due,
    )
    with read_session(engine) as s:
        open_now = meetings.open_actions(s)
        assert list(open_now["title"]) == ["Re-assess Stale model"]
        events = s.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "meeting.decision_recorded", AuditEvent.object_id == str(m2))
            .order_by(AuditEvent.id)  # type: ignore[arg-type]
        ).all()
        assert len(events) == 4
        assert '"outcome":"approve"' in events[0].after and '"present_person_ids"' in events[0].after
        assert any(e.action == "promotion.approved" for e in s.exec(select(AuditEvent)))
        assert audit.verify(s).ok
        assert len(s.exec(select(Decision).where(Decision.meeting_id == m2)).all()) == 4
    # the next meeting carries the new action over, not the closed one
    with write_session(engine) as s:
        meetings.close_meeting(s, actor=w.approver, meeting_id=m2)
    m3 = create(engine, w.approver, [w.approver], held_at=now() + timedelta(days=30))
    titles = [i.title for i in view(engine, m3).items]
    assert "Action: Re-assess Stale model" in titles and "Action: Name a validator" not in titles
    with pytest.raises(Conflict, match="is closed"):
        decide(engine, w.approver, overdue_item.id, "noted", [w.approver])


def test_high_risk_promotion_needs_two_approvers_in_the_meeting(engine):
    w = make_world(engine)
    model_id, (_, v2) = make_promotable_model(engine, w, name="Mortgage PD")
    assess(engine, w.owner, model_id, ai_act_class="high", annex_iii_area="5(b)")
    with write_session(engine) as s:
        promotions.request_promotion(
            s,
            actor=w.owner,
            version_id=v2,
            target_stage="staging",
            justification="New macro features for 2025",
        )
    m = create(engine, w.approver, [w.approver, w.approver2])
    req = next(i for i in view(engine, m).items if i.kind == "promotion_request")
    assert req.evidence["required_approvals"] == 2
    decide(engine, w.approver, req.id, "approve", [w.approver, w.approver2])
    after_first = next(i for i in view(engine, m).items if i.id == req.id)
    assert not after_first.settled and "second approver" in after_first.decisions[0].summary
    with pytest.raises(PermissionDenied, match="already approved"):
        decide(engine, w.approver, req.id, "approve", [w.approver, w.approver2])
    decide(engine, w.approver2, req.id, "approve", [w.approver, w.approver2])
    final = next(i for i in view(engine, m).items if i.id == req.id)
    assert final.settled and final.decisions[1].effect["status"] == "approved"


def test_refresh_keeps_decided_items_and_drops_resolved_ones(engine, state):
    w = state["w"]
    m2 = create(engine, w.approver, [w.approver])
    v = view(engine, m2)
    drift = next(i for i in v.items if i.kind == "alert" and "Drift" in i.title)
    perf = next(i for i in v.items if i.kind == "alert" and "Performance" in i.title)
    decide(engine, w.approver, drift.id, "noted", [w.approver], comment="retraining planned")
    with write_session(engine) as s:  # both alerts clear; the drift one was opened since the last meeting
        for a in s.exec(select(Alert).where(Alert.closed_at.is_(None))):  # type: ignore[union-attr]
            a.closed_at = now()
            s.add(a)
    with write_session(engine) as s:
        counts = meetings.refresh_agenda(s, actor=w.approver, meeting_id=m2)
    v = view(engine, m2)
    ids = {i.id for i in v.items}
    assert drift.id in ids  # decided: kept, evidence frozen
    assert next(i for i in v.items if i.id == drift.id).evidence["closed_at"] is None
    assert perf.id not in ids and counts["dropped"] >= 1  # opened before the last meeting and now closed


def test_bad_meeting_input_writes_nothing(engine):
    w = make_world(engine)
    with read_session(engine) as s:
        before = len(s.exec(select(AuditEvent)).all())
    with pytest.raises(InvalidInput, match="at least one attendee"):
        create(engine, w.approver, [])
    with pytest.raises(InvalidInput, match="meeting title must not be empty"):
        create(engine, w.approver, [w.approver], title=" ")
    with pytest.raises(PermissionDenied, match="meeting manage"):
        create(engine, w.viewer, [w.viewer])
    with write_session(engine) as s:
        services.set_person_active(s, actor=w.admin, person_id=w.labeller.id, active=False)
    with pytest.raises(InvalidInput, match="Lena Labeller has left"):
        create(engine, w.approver, [w.approver, w.labeller])
    with read_session(engine) as s:
        assert len(s.exec(select(AuditEvent)).all()) == before + 1  # only the person.left event


def test_minutes_export_html_and_pdf_contain_items_and_decisions(engine, state, tmp_path):
    w = state["w"]
    m2 = create(engine, w.approver, [w.approver, w.approver2, w.owner], title='February "risk" & co')
    v = view(engine, m2)
    request_item = next(i for i in v.items if i.kind == "promotion_request")
    decide(
        engine, w.approver, request_item.id, "approve", [w.approver, w.owner], comment="AUC up <b>clearly</b>"
    )
    with write_session(engine) as s:
        meetings.close_meeting(s, actor=w.approver, meeting_id=m2)
    with read_session(engine) as s:
        html_path = minutes.export_minutes(s, meeting_id=m2, out=tmp_path / "minutes.html")
        pdf_path = minutes.export_minutes(s, meeting_id=m2, out=tmp_path / "minutes.pdf")
        with pytest.raises(InvalidInput, match="must end in .html or .pdf"):
            minutes.export_minutes(s, meeting_id=m2, out=tmp_path / "minutes.docx")
    page = html_path.read_text(encoding="utf-8")
    assert "February &quot;risk&quot; &amp; co" in page
    assert "AUC up &lt;b&gt;clearly&lt;/b&gt;" in page
    assert "Promote Credit scoring v2 to staging" in page and "Review overdue: Stale model" in page
    assert "<script" not in page and "http" not in page.split("<body>")[0]  # nothing fetched from outside
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf_path.read_bytes())).pages)
    flat = " ".join(text.split())
    assert 'February "risk" & co' in flat
    assert "Promote Credit scoring v2 to staging" in flat
    assert "Approve (request approved): AUC up <b>clearly</b>" in flat
    assert "Arthur Approver" in flat and "Review overdue: Stale model" in flat


def test_cost_overrun_on_the_agenda(engine):
    import pandas as pd

    from core.costs import budgets
    from core.registry import ingest

    w = make_world(engine)
    make_model(engine, w.owner, name="Pricey", business_unit="Credit risk")
    make_model(engine, w.owner, name="Frugal", business_unit="Retail")
    today = now().date()
    start = today.replace(day=1)
    days = [start + timedelta(days=i) for i in range((today - start).days + 1)]
    with write_session(engine) as s:
        ingest.log_costs(
            s,
            actor=w.owner,
            frame=pd.DataFrame(
                [
                    {"day": d, "model": "Pricey", "category": "compute", "amount": 500.0, "currency": "EUR"}
                    for d in days
                ]
                + [
                    {"day": d, "model": "Frugal", "category": "compute", "amount": 1.0, "currency": "EUR"}
                    for d in days
                ]
            ),
        )
        for unit in ("Credit risk", "Retail"):
            budgets.set_budget(
                s,
                actor=w.approver,
                business_unit=unit,
                period_start=start,
                period_end=start + timedelta(days=365),
                amount=300.0 if unit == "Credit risk" else 9e6,
            )
    items = view(engine, create(engine, w.approver, [w.approver])).items
    overruns = [i for i in items if i.kind == "cost_overrun"]
    assert [i.title for i in overruns] == ["Cost overrun: Credit risk"]
    assert overruns[0].evidence["spent"] == 500.0 * len(days) and overruns[0].evidence["budget"] == 300.0
    assert "budget €300" in overruns[0].reason


def test_the_meeting_to_open_is_the_next_planned_one_else_the_newest(engine):
    w = make_world(engine)
    people = [w.approver, w.owner]
    past = create(engine, w.approver, people, held_at=now() - timedelta(days=30), title="Last month")
    soon = create(engine, w.approver, people, held_at=now() + timedelta(days=2), title="This week")
    later = create(engine, w.approver, people, held_at=now() + timedelta(days=9), title="Next week")
    with read_session(engine) as s:
        listing = meetings.list_meetings(s)
    assert meetings.default_meeting(listing) == past  # planned and earliest: still open for decisions
    for meeting_id in (past, soon):
        with write_session(engine) as s:
            meetings.close_meeting(s, actor=w.approver, meeting_id=meeting_id)
    with read_session(engine) as s:
        listing = meetings.list_meetings(s)
    assert meetings.default_meeting(listing) == later
    assert view(engine, later).takes_decisions and not view(engine, soon).takes_decisions
    with write_session(engine) as s:
        meetings.close_meeting(s, actor=w.approver, meeting_id=later)
    with read_session(engine) as s:
        listing = meetings.list_meetings(s)
    assert meetings.default_meeting(listing) == later  # none planned: the newest
    assert meetings.default_meeting(listing.iloc[0:0]) is None
