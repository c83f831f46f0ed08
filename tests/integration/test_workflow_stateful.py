"""Random sequences of request / approve / reject / cancel / override / comment by random people.

After every step the registry must hold: nothing reached a stage without approvers who are
neither the requester nor the version's creator (two distinct ones for a high-risk model);
a decided request never changes; at most one production version; one audit event per change;
the audit chain verifies.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func
from sqlmodel import select

from core import audit
from core.access import Actor, actor_by_id
from core.db.engine import read_session, write_session
from core.db.models import (
    AuditEvent,
    ModelVersion,
    PromotionComment,
    PromotionDecision,
    PromotionRequest,
    StageChange,
)
from core.errors import Conflict, InvalidInput, PermissionDenied, StewardError
from core.governance import promotions, risk
from core.registry import services
from tests.factories import World, make_promotable_model, make_world

PEOPLE_ROLES = {
    "owner": [("model_owner", "")],
    "dual": [("model_owner", ""), ("approver", "")],  # builds and approves: four-eyes must hold for them
    "approver": [("approver", "")],
    "approver2": [("approver", "Credit risk")],
    "retail_approver": [("approver", "Retail")],  # wrong business unit
    "viewer": [("viewer", "")],
    "admin": [("admin", "")],
}
REASON = "Written reason for overriding the failing gate."
# Everybody acts, but the people who can act are drawn more often, so that runs get far.
REQUESTERS = st.sampled_from(["owner", "dual", "owner", "dual", "approver", "viewer", "admin"])
DECIDERS = st.sampled_from(
    [
        "approver",
        "approver2",
        "dual",
        "approver",
        "approver2",
        "dual",
        "owner",
        "retail_approver",
        "viewer",
        "admin",
    ]
)
ANYONE = st.sampled_from(list(PEOPLE_ROLES))
_names = itertools.count(1)


def _people(engine: Engine, world: World) -> dict[str, Actor]:
    with write_session(engine) as s:
        return {
            key: actor_by_id(
                s,
                services.create_person(
                    s,
                    actor=world.system,
                    name=f"{key.title()} Person",
                    email=f"{key}.sm@example.com",
                    roles=roles,
                ),
            )
            for key, roles in PEOPLE_ROLES.items()
        }


class PromotionWorkflow(RuleBasedStateMachine):
    engine: Engine
    world: World
    people: dict[str, Actor]

    def __init__(self) -> None:
        super().__init__()
        self.model_id = 0
        self.versions: list[int] = []
        self.requests: list[int] = []
        self.frozen: dict[int, Any] = {}  # decided request -> its state when first seen decided

    @initialize(
        creator=st.sampled_from(["owner", "dual"]),
        high_risk=st.booleans(),
        aucs=st.lists(st.sampled_from([0.65, 0.75, 0.8]), min_size=3, max_size=3),
    )
    def new_model(self, creator: str, high_risk: bool, aucs: list[float]) -> None:
        self.model_id, self.versions = make_promotable_model(
            self.engine,
            self.world,
            name=f"Model {next(_names)}",
            versions=3,
            creator=self.people[creator],
            aucs=tuple(aucs),
        )
        if high_risk:
            scores = [
                {"category": c, "likelihood": 4, "impact": 4}
                for c in ("unavailability", "wrong_predictions", "decay", "knowledge_loss")
            ]
            with write_session(self.engine) as s:
                risk.assess_model(
                    s,
                    actor=self.people["approver"],
                    model_id=self.model_id,
                    scores=scores,
                    materiality="high",
                    ai_act_class="high",
                    annex_iii_area="5(b)",
                    rationale="Automated decisions on customers.",
                )
        self.request("owner", 0, "production")  # start with one open request, so that runs get to decisions

    # --- actions -----------------------------------------------------------------------------------

    def _act(self, fn: Any) -> str:
        try:
            with write_session(self.engine) as s:
                fn(s)
            return "ok"
        except (PermissionDenied, Conflict, InvalidInput) as exc:
            return type(exc).__name__
        except StewardError as exc:  # any other typed error is a bug in the workflow
            raise AssertionError(f"unexpected {type(exc).__name__}: {exc}") from exc

    def _request(self, index: int, pending_first: bool) -> int:
        """A request to act on: often one still pending, sometimes any (decided ones must refuse)."""
        candidates = self.requests
        if pending_first:
            with read_session(self.engine) as s:
                pending = s.exec(
                    select(PromotionRequest.id).where(
                        PromotionRequest.id.in_(self.requests), PromotionRequest.status == "pending"
                    )
                ).all()
            candidates = sorted(pending) or self.requests
        return candidates[index % len(candidates)]

    @rule(person=REQUESTERS, index=st.integers(0, 2), stage=st.sampled_from(["staging", "production"]))
    def request(self, person: str, index: int, stage: str) -> None:
        created: list[int] = []

        def go(s: Any) -> None:
            created.append(
                promotions.request_promotion(
                    s,
                    actor=self.people[person],
                    version_id=self.versions[index],
                    target_stage=stage,
                    justification="Holdout results improved over the baseline.",
                )
            )

        outcome = self._act(go)
        if person not in ("owner", "dual"):
            assert outcome == "PermissionDenied"
        if outcome == "ok":
            self.requests.extend(created)

    @precondition(lambda self: self.requests)
    @rule(
        person=DECIDERS,
        index=st.integers(0, 20),
        pending_first=st.booleans(),
        override_mode=st.sampled_from(["when failing", "when failing", "when failing", "always", "never"]),
    )
    def approve(
        self, person: str, index: int, pending_first: bool, override_mode: str, only: list[int] | None = None
    ) -> None:
        request_id = only[index] if only else self._request(index, pending_first)
        with read_session(self.engine) as s:
            request = s.get(PromotionRequest, request_id)
            creator = s.get(ModelVersion, request.model_version_id).created_by_id
            pending = request.status == "pending"
        override = override_mode == "always" or (
            override_mode == "when failing" and request.evidence_status == "fail"
        )
        actor = self.people[person]
        outcome = self._act(
            lambda s: promotions.approve(
                s, actor=actor, request_id=request_id, override_reason=REASON if override else ""
            )
        )
        if (
            pending
            and person in ("dual", "approver", "approver2")
            and actor.id in (request.requested_by_id, creator)
        ):
            assert outcome == "PermissionDenied", "four-eyes let the requester or creator approve"
        if outcome == "ok":
            assert person in ("dual", "approver", "approver2")

    def _half_approved(self) -> list[int]:
        with read_session(self.engine) as s:
            return sorted(
                s.exec(
                    select(PromotionDecision.request_id)
                    .join(PromotionRequest, PromotionRequest.id == PromotionDecision.request_id)
                    .where(
                        PromotionRequest.id.in_(self.requests),
                        PromotionRequest.status == "pending",
                        PromotionDecision.decision == "approve",
                    )
                ).all()
            )

    @precondition(lambda self: self.requests)
    @rule(person=DECIDERS, index=st.integers(0, 20))
    def second_approval(self, person: str, index: int) -> None:
        """Another approver on a request that already has one approval (the high-risk path)."""
        waiting = self._half_approved()
        if waiting:
            self.approve(person, index % len(waiting), True, "when failing", only=waiting)

    @precondition(lambda self: self.requests)
    @rule(person=DECIDERS, index=st.integers(0, 20), pending_first=st.booleans())
    def reject(self, person: str, index: int, pending_first: bool) -> None:
        request_id = self._request(index, pending_first)
        outcome = self._act(
            lambda s: promotions.reject(
                s, actor=self.people[person], request_id=request_id, comment="Evidence is not convincing."
            )
        )
        if outcome == "ok":
            assert person in ("dual", "approver", "approver2")

    @precondition(lambda self: self.requests)
    @rule(person=REQUESTERS, index=st.integers(0, 20), pending_first=st.booleans())
    def cancel(self, person: str, index: int, pending_first: bool) -> None:
        request_id = self._request(index, pending_first)
        outcome = self._act(lambda s: promotions.cancel(s, actor=self.people[person], request_id=request_id))
        if outcome == "ok":
            with read_session(self.engine) as s:
                assert s.get(PromotionRequest, request_id).requested_by_id == self.people[person].id

    @precondition(lambda self: self.requests)
    @rule(person=ANYONE, index=st.integers(0, 20))
    def comment(self, person: str, index: int) -> None:
        request_id = self._request(index, True)
        self._act(
            lambda s: promotions.add_comment(
                s, actor=self.people[person], request_id=request_id, body="What about the holdout period?"
            )
        )

    # --- invariants ----------------------------------------------------------------------------------

    @invariant()
    def stages_reached_only_through_four_eyes(self) -> None:
        if not self.model_id:
            return
        with read_session(self.engine) as s:
            moves = s.exec(
                select(StageChange).where(
                    StageChange.model_id == self.model_id, StageChange.to_stage != "archived"
                )
            ).all()
            for move in moves:
                match = re.fullmatch(r"promotion request #(\d+) approved", move.reason)
                assert match, f"stage change without a request: {move.reason!r}"
                request = s.get(PromotionRequest, int(match.group(1)))
                creator = s.get(ModelVersion, request.model_version_id).created_by_id
                approvers = s.exec(
                    select(PromotionDecision.person_id).where(
                        PromotionDecision.request_id == request.id, PromotionDecision.decision == "approve"
                    )
                ).all()
                assert request.status == "approved" and request.model_version_id == move.model_version_id
                assert len(approvers) == len(set(approvers)) == request.required_approvals
                assert not set(approvers) & {request.requested_by_id, creator}
                if request.risk_tier == "high":
                    assert request.required_approvals == 2
                if request.evidence_status == "fail":
                    overrides = s.exec(
                        select(PromotionDecision.override_reason).where(
                            PromotionDecision.request_id == request.id,
                            PromotionDecision.decision == "approve",
                        )
                    ).all()
                    assert all(r == REASON for r in overrides)

    @invariant()
    def decided_requests_never_change(self) -> None:
        with read_session(self.engine) as s:
            for request_id in self.requests:
                request = s.get(PromotionRequest, request_id)
                if request.status == "pending":
                    continue
                state = (
                    request.model_dump(),
                    [
                        d.model_dump()
                        for d in s.exec(
                            select(PromotionDecision).where(PromotionDecision.request_id == request_id)
                        )
                    ],
                    len(
                        s.exec(
                            select(PromotionComment).where(PromotionComment.request_id == request_id)
                        ).all()
                    ),
                )
                assert self.frozen.setdefault(request_id, state) == state

    @invariant()
    def at_most_one_production_version(self) -> None:
        with read_session(self.engine) as s:
            rows = s.exec(
                select(ModelVersion.model_id, func.count())
                .where(ModelVersion.stage == "production")
                .group_by(ModelVersion.model_id)
            ).all()
        assert all(n == 1 for _, n in rows)

    @invariant()
    def one_audit_event_per_change_and_chain_verifies(self) -> None:
        if not self.model_id:
            return
        with read_session(self.engine) as s:

            def events(action_like: str) -> int:
                return s.exec(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.model_id == self.model_id, AuditEvent.action.like(action_like))
                ).one()

            def rows(table: Any, *where: Any) -> int:
                return s.exec(select(func.count()).select_from(table).where(*where)).one()

            mine = select(PromotionRequest.id).where(PromotionRequest.model_id == self.model_id)
            assert events("promotion.requested") == rows(
                PromotionRequest, PromotionRequest.model_id == self.model_id
            )
            decisions = (
                events("promotion.approv%") + events("promotion.rejected") + events("promotion.cancelled")
            )
            assert decisions == rows(PromotionDecision, PromotionDecision.request_id.in_(mine))
            assert events("promotion.commented") == rows(
                PromotionComment, PromotionComment.request_id.in_(mine)
            )
            assert events("version.stage_changed") == rows(StageChange, StageChange.model_id == self.model_id)
            verdict = audit.verify(s)
        assert verdict.ok, verdict.message()


@pytest.mark.slow
def test_promotion_workflow_state_machine(engine):
    world = make_world(engine)
    PromotionWorkflow.engine = engine
    PromotionWorkflow.world = world
    PromotionWorkflow.people = _people(engine, world)
    examples = 25 if engine.dialect.name == "sqlite" else 12
    run_state_machine_as_test(
        PromotionWorkflow,
        settings=settings(
            max_examples=examples,
            stateful_step_count=20,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    with read_session(engine) as s:
        reached = s.exec(
            select(
                PromotionRequest.status,
                PromotionRequest.required_approvals,
                PromotionRequest.override_reason != "",
            )
        ).all()
    print(
        f"\n{engine.dialect.name}: request outcomes (status, approvals needed, overridden): "
        f"{dict(Counter(reached))}"
    )
    outcomes = {status for status, _, _ in reached}
    assert outcomes >= {"approved", "rejected", "cancelled"}, "the run did not exercise every decision"
    assert ("approved", 2, False) in reached or ("approved", 2, True) in reached, (
        "no two-approver promotion ran"
    )
