"""Versioned business rules that act on a model's output, changed only by four-eyes.

A rule ("approve if score > 0.69") belongs to a model, optionally to one model version, and
has a name; each change is a new version of that name:

- a model owner **proposes** a version (status ``proposed``), with the date it should take
  effect (empty = on approval); one open proposal per rule name at a time;
- an approver who is **not the proposer** decides it: ``active`` or ``rejected`` (a rejection
  needs a reason). A decided version never changes again. The proposer may **withdraw** an
  undecided proposal (``withdrawn``);
- an approved version is in force from ``effective_from`` - the proposed date, or the moment
  of approval if that date has passed, so history is never rewritten - until the next
  approved version takes over; the previous version then becomes ``superseded`` with
  ``effective_to`` set to that moment.

Which rules applied at date D is answered by ``core.registry.rules.rules_in_force``, which
labelling, explanations and meetings read too. Every step is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import update
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, require
from core.db.models import BusinessRule, Model, ModelVersion, Person
from core.db.types import changed_rows, saved_id
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.registry.rules import OPERATORS
from core.registry.validation import clean_choice, clean_name, clean_number, clean_text

__all__ = [
    "RuleView",
    "propose_rule",
    "decide_rule",
    "withdraw_rule",
    "rule_history",
    "pending_proposals",
    "rule_changes_between",
]


@dataclass(frozen=True)
class RuleView:
    """One version of a business rule, as people read it."""

    id: int
    model_id: int
    model: str
    business_unit: str
    name: str
    version: int
    operator: str
    threshold: float
    outcome: str
    description: str
    status: str
    model_version: int | None
    effective_from: datetime
    effective_to: datetime | None
    proposed_by: str
    proposed_by_id: int
    proposed_at: datetime
    decided_by: str
    decided_at: datetime | None
    decision_comment: str

    @property
    def condition(self) -> str:
        return f"{self.outcome} if score {self.operator} {self.threshold:g}"

    def holds(self, score: float) -> bool:
        """Does the rule's condition hold for this model score?"""
        return bool(OPERATORS[self.operator](score, self.threshold))

    def state(self, now: datetime | None = None) -> str:
        """The status in words, with dates: in force, scheduled, superseded, proposed, ..."""
        now = now or clock.now()
        if self.status == "active":
            return (
                f"scheduled from {self.effective_from:%Y-%m-%d}" if self.effective_from > now else "in force"
            )
        if self.status == "superseded":
            if self.effective_to is not None and self.effective_to > now:
                return f"in force until {self.effective_to:%Y-%m-%d}"
            return f"superseded on {self.effective_to:%Y-%m-%d}" if self.effective_to else "superseded"
        if self.status == "proposed":
            return "proposed, awaiting an approver"
        return self.status


# --- changes --------------------------------------------------------------------------------------


def propose_rule(
    session: Session,
    *,
    actor: Actor,
    model_id: int,
    name: str,
    operator: str,
    threshold: float,
    outcome: str,
    model_version_id: int | None = None,
    description: str = "",
    effective_from: datetime | None = None,
    at: datetime | None = None,
) -> int:
    """Propose the next version of rule ``name`` of a model. Returns the proposal's id.

    ``at`` dates the proposal in the past (imports, the demo); default now.
    """
    model = _model(session, model_id)
    require(session, actor, "rule.propose", business_unit=model.business_unit)
    name = clean_name(name, "rule name")
    operator = clean_choice(operator, "operator", tuple(OPERATORS))
    threshold = clean_number(threshold, "threshold")
    outcome = clean_name(outcome, "outcome")
    now = _moment(at)
    if effective_from is not None:
        if effective_from.tzinfo is None:
            raise InvalidInput("effective date must carry a time zone (UTC).")
        if effective_from < now.replace(hour=0, minute=0, second=0, microsecond=0):
            raise InvalidInput(
                f"effective date {effective_from:%Y-%m-%d} is in the past; a rule cannot apply "
                "before it is approved. Leave it empty to apply on approval."
            )
    if model_version_id is not None:
        version = session.get(ModelVersion, model_version_id)
        if version is None or version.model_id != model_id:
            raise InvalidInput(f"version id {model_version_id} does not belong to model '{model.name}'.")
    versions = list(
        session.exec(
            select(BusinessRule).where(col(BusinessRule.model_id) == model_id, col(BusinessRule.name) == name)
        )
    )
    pending = [r for r in versions if r.status == "proposed"]
    if pending:
        raise Conflict(
            f"Rule '{name}' of '{model.name}' already has an open proposal (version {pending[0].version}); "
            "it must be decided or withdrawn first."
        )
    rule = BusinessRule(
        model_id=model_id,
        model_version_id=model_version_id,
        name=name,
        version=max((r.version for r in versions), default=0) + 1,
        operator=operator,
        threshold=threshold,
        outcome=outcome,
        description=clean_text(description, "description"),
        status="proposed",
        effective_from=effective_from or now,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(rule)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.RULE_PROPOSED,
        object_id=rule.id,
        model_id=model_id,
        after=rule.model_dump(),
    )
    return saved_id(rule)


def decide_rule(
    session: Session,
    *,
    actor: Actor,
    rule_id: int,
    approve: bool,
    comment: str = "",
    at: datetime | None = None,
) -> None:
    """Approve or reject a proposal. The proposer can never decide it; a decided rule never changes.

    ``at`` dates the decision in the past (imports, the demo); never before the proposal.
    """
    rule = _rule(session, rule_id)
    model = _model(session, rule.model_id)
    require(session, actor, "rule.decide", business_unit=model.business_unit)
    if rule.created_by_id == actor.id:
        raise PermissionDenied(
            f"Four-eyes: {actor.name} proposed rule '{rule.name}' version {rule.version} and "
            "cannot decide it; another approver must."
        )
    _expect_proposed(rule)
    comment = clean_text(comment, "comment")
    if not approve and not comment:
        raise InvalidInput("a rejection needs a reason in the comment.")
    now = _moment(at)
    if now < rule.created_at:
        raise InvalidInput(f"a decision cannot predate the proposal ({rule.created_at:%Y-%m-%d}).")
    before = rule.model_dump()
    values: dict[str, object] = {
        "status": "active" if approve else "rejected",
        "decided_by_id": actor.id,
        "decided_at": now,
        "decision_comment": comment,
    }
    if approve:
        effective = max(rule.effective_from, now)
        values["effective_from"] = effective
        _supersede(session, rule, effective)
    _compare_and_set(session, rule, values)
    audit.record(
        session,
        actor=actor,
        action=events.RULE_APPROVED if approve else events.RULE_REJECTED,
        object_id=rule.id,
        model_id=rule.model_id,
        before=before,
        after=rule.model_dump(),
        reason=comment,
    )


def withdraw_rule(session: Session, *, actor: Actor, rule_id: int, reason: str = "") -> None:
    """The proposer takes back an undecided proposal."""
    rule = _rule(session, rule_id)
    model = _model(session, rule.model_id)
    require(session, actor, "rule.propose", business_unit=model.business_unit)
    if rule.created_by_id != actor.id:
        raise PermissionDenied(f"Only the proposer may withdraw rule '{rule.name}' version {rule.version}.")
    _expect_proposed(rule)
    before = rule.model_dump()
    _compare_and_set(
        session,
        rule,
        {"status": "withdrawn", "decided_at": clock.now(), "decision_comment": clean_text(reason, "reason")},
    )
    audit.record(
        session,
        actor=actor,
        action=events.RULE_WITHDRAWN,
        object_id=rule.id,
        model_id=rule.model_id,
        before=before,
        after=rule.model_dump(),
        reason=reason,
    )


def _moment(at: datetime | None) -> datetime:
    """``at`` checked (time-zone aware, not in the future), or now."""
    now = clock.now()
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInput("time must carry a time zone (UTC).")
    if at > now:
        raise InvalidInput(f"{at:%Y-%m-%d %H:%M} is in the future.")
    return at


def _expect_proposed(rule: BusinessRule) -> None:
    if rule.status != "proposed":
        raise Conflict(
            f"Rule '{rule.name}' version {rule.version} is already {rule.status}; a decided rule never changes."
        )


def _supersede(session: Session, rule: BusinessRule, effective: datetime) -> None:
    """End the currently approved version of the same rule at ``effective``."""
    current = session.exec(
        select(BusinessRule).where(
            col(BusinessRule.model_id) == rule.model_id,
            col(BusinessRule.name) == rule.name,
            col(BusinessRule.status) == "active",
        )
    ).first()
    if current is None:
        return
    if effective < current.effective_from:
        raise Conflict(
            f"Version {current.version} of rule '{rule.name}' is scheduled from "
            f"{current.effective_from:%Y-%m-%d}; this proposal would take effect before it. "
            "Propose an effective date on or after that one."
        )
    _compare_and_set(session, current, {"status": "superseded", "effective_to": effective}, expected="active")


def _compare_and_set(
    session: Session, rule: BusinessRule, values: dict[str, object], expected: str = "proposed"
) -> None:
    """Update the rule only if its status is still ``expected``: two deciders cannot both win."""
    result = session.execute(
        update(BusinessRule)
        .where(col(BusinessRule.id) == rule.id, col(BusinessRule.status) == expected)
        .values(**values)
    )
    if changed_rows(result) != 1:
        raise Conflict(
            f"Rule '{rule.name}' version {rule.version} was decided meanwhile; reload and look again."
        )
    session.refresh(rule)


def _rule(session: Session, rule_id: int) -> BusinessRule:
    rule = session.get(BusinessRule, rule_id)
    if rule is None:
        raise NotFound(f"No business rule with id {rule_id}.")
    return rule


def _model(session: Session, model_id: int) -> Model:
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    return model


# --- reads ----------------------------------------------------------------------------------------------


def _views(session: Session, rows: list[BusinessRule]) -> list[RuleView]:
    people = {
        p.id: p.name
        for p in session.exec(
            select(Person).where(
                col(Person.id).in_(
                    {r.created_by_id for r in rows} | {r.decided_by_id for r in rows if r.decided_by_id}
                )
            )
        )
    }
    models = {
        m.id: m for m in session.exec(select(Model).where(col(Model.id).in_({r.model_id for r in rows})))
    }
    versions = {
        v.id: v.version
        for v in session.exec(
            select(ModelVersion).where(
                col(ModelVersion.id).in_({r.model_version_id for r in rows if r.model_version_id})
            )
        )
    }
    return [
        RuleView(
            id=saved_id(r),
            model_id=r.model_id,
            model=models[r.model_id].name,
            business_unit=models[r.model_id].business_unit,
            name=r.name,
            version=r.version,
            operator=r.operator,
            threshold=r.threshold,
            outcome=r.outcome,
            description=r.description,
            status=r.status,
            model_version=versions.get(r.model_version_id),
            effective_from=r.effective_from,
            effective_to=r.effective_to,
            proposed_by=people.get(r.created_by_id, ""),
            proposed_by_id=r.created_by_id,
            proposed_at=r.created_at,
            decided_by=people.get(r.decided_by_id, ""),
            decided_at=r.decided_at,
            decision_comment=r.decision_comment,
        )
        for r in rows
    ]


def rule_history(session: Session, *, model_id: int) -> pd.DataFrame:
    """Every version of every rule of the model, newest first per rule, with its state in words."""
    rows = list(
        session.exec(
            select(BusinessRule)
            .where(col(BusinessRule.model_id) == model_id)
            .order_by(col(BusinessRule.name), col(BusinessRule.version).desc())
        )
    )
    now = clock.now()
    return pd.DataFrame(
        [
            {
                "id": v.id,
                "rule": v.name,
                "version": v.version,
                "condition": v.condition,
                "state": v.state(now),
                "status": v.status,
                "effective_from": v.effective_from,
                "effective_to": v.effective_to,
                "model_version": v.model_version,
                "proposed_by": v.proposed_by,
                "proposed_at": v.proposed_at,
                "decided_by": v.decided_by,
                "decided_at": v.decided_at,
                "comment": v.decision_comment,
                "description": v.description,
            }
            for v in _views(session, rows)
        ],
        columns=[
            "id",
            "rule",
            "version",
            "condition",
            "state",
            "status",
            "effective_from",
            "effective_to",
            "model_version",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "comment",
            "description",
        ],
    )


def pending_proposals(session: Session, *, business_unit: str | None = None) -> list[RuleView]:
    """Every undecided proposal, oldest first."""
    query = (
        select(BusinessRule)
        .join(Model, col(Model.id) == col(BusinessRule.model_id))
        .where(col(BusinessRule.status) == "proposed")
    )
    if business_unit:
        query = query.where(col(Model.business_unit) == business_unit)
    return _views(session, list(session.exec(query.order_by(col(BusinessRule.created_at)))))


def rule_changes_between(
    session: Session, *, start: datetime | None, end: datetime, business_unit: str | None = None
) -> list[RuleView]:
    """Rule versions decided (approved, rejected) in [start, end), oldest first."""
    query = (
        select(BusinessRule)
        .join(Model, col(Model.id) == col(BusinessRule.model_id))
        .where(
            col(BusinessRule.status).in_(("active", "superseded", "rejected")),
            col(BusinessRule.decided_at).is_not(None),
            col(BusinessRule.decided_at) < end,
        )
    )
    if start is not None:
        query = query.where(col(BusinessRule.decided_at) >= start)
    if business_unit:
        query = query.where(col(Model.business_unit) == business_unit)
    return _views(session, list(session.exec(query.order_by(col(BusinessRule.decided_at)))))
