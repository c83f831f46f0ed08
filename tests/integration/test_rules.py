"""Versioned business rules: owner proposes, another person (an approver) decides, effective dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from core import audit
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, BusinessRule
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.governance import rules
from core.registry import services
from core.registry.rules import RuleInForce, rules_in_force
from tests.factories import make_model, make_world


def propose(engine, actor, model_id, threshold=0.69, **kw) -> int:
    with write_session(engine) as s:
        return rules.propose_rule(
            s,
            actor=actor,
            model_id=model_id,
            name=kw.pop("name", "Auto-approve"),
            operator=kw.pop("operator", ">"),
            threshold=threshold,
            outcome=kw.pop("outcome", "approve"),
            **kw,
        )


def decide(engine, actor, rule_id, approve=True, comment="ok"):
    with write_session(engine) as s:
        rules.decide_rule(s, actor=actor, rule_id=rule_id, approve=approve, comment=comment)


def status(engine, rule_id) -> str:
    with read_session(engine) as s:
        return s.get(BusinessRule, rule_id).status


def in_force(session, **where) -> RuleInForce | None:
    """The one rule of the test model in force (these tests give a model one rule name at a time)."""
    found = rules_in_force(session, **where)
    assert len(found) <= 1, found
    return found[0] if found else None


def test_owner_proposes_and_approver_decides(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    rid = propose(engine, world.owner, model_id)
    assert status(engine, rid) == "proposed"
    with read_session(engine) as s:
        assert in_force(s, model_id=model_id) is None  # a proposal is not in force
        assert [p.id for p in rules.pending_proposals(s)] == [rid]
    decide(engine, world.approver, rid, comment="matches the credit policy")
    with read_session(engine) as s:
        rule = in_force(s, model_id=model_id)
        assert rule is not None and rule.id == rid and rule.condition == "approve if score > 0.69"
        assert rule.holds(0.7) and not rule.holds(0.69)
        decided = rules.rule_history(s, model_id=model_id).iloc[0]
        assert decided["decided_by"] == "Arthur Approver" and decided["proposed_by"] == "Olivia Owner"
        assert decided["state"] == "in force"
        actions = [
            e.action for e in s.exec(select(AuditEvent).where(AuditEvent.object_type == "business_rule"))
        ]
        assert actions == ["rule.proposed", "rule.approved"]
        assert audit.verify(s).ok


def test_four_eyes_proposer_cannot_decide_even_as_approver(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with write_session(engine) as s:  # a person holding both roles
        services.grant_role(s, actor=world.admin, person_id=world.approver.id, role="model_owner")
    rid = propose(engine, world.approver, model_id)
    with pytest.raises(PermissionDenied, match="Four-eyes: Arthur Approver proposed"):
        decide(engine, world.approver, rid)
    assert status(engine, rid) == "proposed"
    with pytest.raises(PermissionDenied, match="rule decide"):
        decide(engine, world.owner, rid)  # an owner is no approver
    decide(engine, world.approver2, rid)
    assert status(engine, rid) == "active"


def test_decided_rule_never_changes(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    rid = propose(engine, world.owner, model_id)
    decide(engine, world.approver, rid, approve=False, comment="threshold too low for the portfolio")
    assert status(engine, rid) == "rejected"
    with pytest.raises(Conflict, match="already rejected; a decided rule never changes"):
        decide(engine, world.approver2, rid)
    with pytest.raises(Conflict, match="already rejected"):
        with write_session(engine) as s:
            rules.withdraw_rule(s, actor=world.owner, rule_id=rid)


def test_rejection_needs_a_reason(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    rid = propose(engine, world.owner, model_id)
    with pytest.raises(InvalidInput, match="rejection needs a reason"):
        decide(engine, world.approver, rid, approve=False, comment=" ")
    assert status(engine, rid) == "proposed"


def test_new_version_supersedes_and_history_answers_what_was_in_force(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    v1 = propose(engine, world.owner, model_id, 0.69)
    decide(engine, world.approver, v1)
    with read_session(engine) as s:
        v1_from = s.get(BusinessRule, v1).effective_from
    v2 = propose(engine, world.owner, model_id, 0.72)
    with pytest.raises(Conflict, match="already has an open proposal"):
        propose(engine, world.owner, model_id, 0.75)
    decide(engine, world.approver, v2)
    with read_session(engine) as s:
        old, new = s.get(BusinessRule, v1), s.get(BusinessRule, v2)
        assert (old.status, new.status, new.version) == ("superseded", "active", 2)
        assert old.effective_to == new.effective_from
        assert in_force(s, model_id=model_id).threshold == 0.72
        assert (
            in_force(s, model_id=model_id, at=v1_from + (new.effective_from - v1_from) / 2).threshold == 0.69
        )
        assert in_force(s, model_id=model_id, at=v1_from - timedelta(seconds=1)) is None
        history = rules.rule_history(s, model_id=model_id)
        assert list(history["version"]) == [2, 1]
        assert history.iloc[1]["state"].startswith("superseded on")


def test_future_effective_date_is_scheduled(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    v1 = propose(engine, world.owner, model_id, 0.69)
    decide(engine, world.approver, v1)
    start = datetime.now(UTC) + timedelta(days=30)
    v2 = propose(engine, world.owner, model_id, 0.8, effective_from=start)
    decide(engine, world.approver, v2)
    with read_session(engine) as s:
        assert in_force(s, model_id=model_id).threshold == 0.69
        assert in_force(s, model_id=model_id, at=start + timedelta(days=1)).threshold == 0.8
        history = rules.rule_history(s, model_id=model_id)
        assert history.iloc[0]["state"] == f"scheduled from {start:%Y-%m-%d}"
        assert history.iloc[1]["state"] == f"in force until {start:%Y-%m-%d}"
    v3 = propose(engine, world.owner, model_id, 0.75)  # on approval: before the scheduled version 2
    with pytest.raises(Conflict, match="scheduled from"):
        decide(engine, world.approver, v3)
    assert status(engine, v3) == "proposed"


def test_past_effective_date_refused_and_late_approval_applies_from_approval(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with pytest.raises(InvalidInput, match="is in the past"):
        propose(engine, world.owner, model_id, effective_from=datetime.now(UTC) - timedelta(days=3))
    rid = propose(engine, world.owner, model_id)
    with read_session(engine) as s:
        proposed_from = s.get(BusinessRule, rid).effective_from
    decide(engine, world.approver, rid)
    with read_session(engine) as s:
        row = s.get(BusinessRule, rid)
        assert row.effective_from >= proposed_from and row.effective_from == row.decided_at


def test_withdraw_and_version_scoping(engine):
    world = make_world(engine)
    model_id, (v1, v2) = make_model(engine, world.owner, versions=2)
    other, _ = make_model(engine, world.owner, name="Other")
    rid = propose(engine, world.owner, model_id)
    with write_session(engine) as s:
        services.grant_role(s, actor=world.admin, person_id=world.approver2.id, role="model_owner")
    with pytest.raises(PermissionDenied, match="Only the proposer"):
        with write_session(engine) as s:
            rules.withdraw_rule(s, actor=world.approver2, rule_id=rid)
    with write_session(engine) as s:
        rules.withdraw_rule(s, actor=world.owner, rule_id=rid, reason="wrong threshold")
    assert status(engine, rid) == "withdrawn"
    scoped = propose(engine, world.owner, model_id, 0.5, name="Refer", outcome="refer", model_version_id=v2)
    decide(engine, world.approver, scoped)
    with read_session(engine) as s:
        assert in_force(s, model_id=model_id, version_id=v1) is None
        assert in_force(s, model_id=model_id, version_id=v2).name == "Refer"
    with pytest.raises(InvalidInput, match="does not belong to model 'Other'"):
        propose(engine, world.owner, other, model_version_id=v1)
    with pytest.raises(InvalidInput, match="operator '=' is not one of"):
        propose(engine, world.owner, model_id, operator="=")
    with pytest.raises(NotFound, match="No business rule with id 999"):
        decide(engine, world.approver, 999)
