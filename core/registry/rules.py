"""Which business rules act on a model's output at a given moment: the one answer every area uses.

Rules are changed only through four-eyes (``core.governance.rules``); labelling (model-vs-rule
disagreement, uncertainty around the rule's threshold), explanations (which rule decided a
score), meetings and the model page read what is in force through ``rules_in_force``. It lives
in the registry because all of them sit above it.
"""

from __future__ import annotations

import operator as op
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core import clock
from core.db.models import BusinessRule

OPERATORS = {">": op.gt, ">=": op.ge, "<": op.lt, "<=": op.le}
APPROVED_STATUSES = ("active", "superseded")  # a superseded version was in force until effective_to


@dataclass(frozen=True)
class RuleInForce:
    """One approved version of a business rule on a model's score, e.g. approve if score > 0.69."""

    id: int
    model_id: int
    name: str
    version: int
    operator: str
    threshold: float
    outcome: str
    model_version_id: int | None  # None: the rule applies to every version of the model
    effective_from: datetime
    effective_to: datetime | None

    @property
    def condition(self) -> str:
        return f"{self.outcome} if score {self.operator} {self.threshold:g}"

    def holds(self, score: float) -> bool:
        """Does the rule's condition hold for this model score?"""
        return bool(OPERATORS[self.operator](score, self.threshold))

    def text(self) -> str:
        """The rule in words: "approve above 0.69"."""
        threshold = f"{self.threshold:g}"
        return {
            ">": f"{self.outcome} above {threshold}",
            ">=": f"{self.outcome} at {threshold} or above",
            "<": f"{self.outcome} below {threshold}",
            "<=": f"{self.outcome} at {threshold} or below",
        }[self.operator]


def rules_in_force(
    session: Session, *, model_id: int, at: datetime | None = None, version_id: int | None = None
) -> list[RuleInForce]:
    """The model's rules that applied at ``at`` (default now; for a logged prediction, the moment it
    was made), one per rule name, in name order.

    A version applies from its ``effective_from`` until the next approved version of the same name
    takes over (``effective_to``); proposals, rejected and withdrawn versions never apply. With
    ``version_id``, rules tied to another version of the model are left out (rules tied to no
    version apply to all).
    """
    at = at or clock.now()
    rows = session.exec(
        select(BusinessRule)
        .where(
            col(BusinessRule.model_id) == model_id,
            col(BusinessRule.status).in_(APPROVED_STATUSES),
            col(BusinessRule.effective_from) <= at,
            col(BusinessRule.effective_to).is_(None) | (col(BusinessRule.effective_to) > at),
        )
        .order_by(col(BusinessRule.name), col(BusinessRule.version).desc())
    )
    chosen: dict[str, BusinessRule] = {}
    for r in rows:
        if version_id is not None and r.model_version_id not in (None, version_id):
            continue
        chosen.setdefault(r.name, r)
    return [_in_force(r) for r in chosen.values()]


def _in_force(row: BusinessRule) -> RuleInForce:
    assert row.id is not None
    return RuleInForce(
        id=row.id,
        model_id=row.model_id,
        name=row.name,
        version=row.version,
        operator=row.operator,
        threshold=float(row.threshold),
        outcome=row.outcome,
        model_version_id=row.model_version_id,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
    )
