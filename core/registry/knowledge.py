"""Knowledge-loss: when the people who know a model, and answer for it, are gone. One rule.

The Owners page (``core.registry.reads.owners_overview``), the risk area's re-assessment flags
(``core.governance.risk``) and the documentation pack all read ``knowledge_gaps``:

- The roles that hold the knowledge of a model are its **accountable (business) owner**, its
  **technical owner** and its **backup**. The independent **validator** is not one of them: a
  validator who leaves takes no knowledge needed to run or maintain the model with them (their
  validation stays on record; re-validation is a review matter, not knowledge loss).
- Every holder of such a role who has **left** is a gap, even when someone active also holds
  the role (``covered`` says so): the person who left knew things the others may not.
- A role with **no active holder** is a gap: ``missing`` when nobody was ever named, otherwise it
  follows from the departures already listed (``KnowledgeGap.covered`` is False for them).

Each reader presents the gaps its way: the Owners page lists each departure ("Owner has left")
and each role never filled ("No accountable owner", "No technical owner", "No backup"); the risk
area asks for a re-assessment on a departure or when no active backup remains (both weigh on the
knowledge-loss likelihood an assessment rates); the documentation pack lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

KNOWLEDGE_ROLES = ("business_owner", "technical_owner", "backup")


@dataclass(frozen=True)
class Holder:
    """One person named to one role of one model."""

    model_id: int
    role: str
    person_id: int
    person: str
    active: bool
    left_on: date | None = None


@dataclass(frozen=True)
class KnowledgeGap:
    """One gap in who knows a model: a holder who left, or a role nobody was ever named to."""

    model_id: int
    role: str  # one of KNOWLEDGE_ROLES
    kind: str  # "left" or "missing"
    covered: bool  # someone active holds the role (always False for "missing")
    person_id: int | None = None  # who left (None for "missing")
    person: str = ""
    left_on: date | None = None


def knowledge_gaps(holders: Iterable[Holder], model_ids: Iterable[int]) -> list[KnowledgeGap]:
    """The gaps of each model in ``model_ids``: departures first (in the order given), then roles
    never filled (in ``KNOWLEDGE_ROLES`` order), model by model in the order of ``model_ids``."""
    by_model: dict[int, list[Holder]] = {}
    for h in holders:
        if h.role in KNOWLEDGE_ROLES:
            by_model.setdefault(h.model_id, []).append(h)
    gaps: list[KnowledgeGap] = []
    for model_id in model_ids:
        named = by_model.get(model_id, [])
        active_roles = {h.role for h in named if h.active}
        gaps.extend(
            KnowledgeGap(model_id, h.role, "left", h.role in active_roles, h.person_id, h.person, h.left_on)
            for h in named
            if not h.active
        )
        ever_named = {h.role for h in named}
        gaps.extend(
            KnowledgeGap(model_id, role, "missing", False)
            for role in KNOWLEDGE_ROLES
            if role not in ever_named
        )
    return gaps


def without_active(gaps: Iterable[KnowledgeGap], model_id: int, role: str) -> bool:
    """Whether ``role`` of the model has no active holder, according to ``gaps``."""
    return any(g.model_id == model_id and g.role == role and not g.covered for g in gaps)
