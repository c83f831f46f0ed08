"""The one knowledge-loss rule (core/registry/knowledge.py) on hand-made owner lists."""

from __future__ import annotations

from datetime import date

from core.registry.knowledge import Holder, KnowledgeGap, knowledge_gaps, without_active

LEFT = date(2026, 3, 31)


def test_a_complete_active_team_has_no_gap() -> None:
    team = [
        Holder(1, "business_owner", 10, "Bianca", True),
        Holder(1, "technical_owner", 11, "Tom", True),
        Holder(1, "backup", 12, "Pia", True),
        Holder(1, "validator", 13, "Vera", True),
    ]
    assert knowledge_gaps(team, [1]) == []


def test_a_departed_validator_is_not_knowledge_loss_but_a_departed_owner_is() -> None:
    team = [
        Holder(1, "business_owner", 10, "Bianca", True),
        Holder(1, "technical_owner", 11, "Tom", False, LEFT),
        Holder(1, "technical_owner", 14, "Tara", True),
        Holder(1, "backup", 12, "Pia", False, LEFT),
        Holder(1, "validator", 13, "Vera", False, LEFT),
    ]
    gaps = knowledge_gaps(team, [1])
    assert gaps == [
        KnowledgeGap(1, "technical_owner", "left", True, 11, "Tom", LEFT),
        KnowledgeGap(1, "backup", "left", False, 12, "Pia", LEFT),
    ]
    assert without_active(gaps, 1, "backup") and not without_active(gaps, 1, "technical_owner")


def test_roles_never_filled_are_missing_and_models_keep_their_order() -> None:
    gaps = knowledge_gaps([Holder(2, "technical_owner", 11, "Tom", True)], [2, 3])
    assert [(g.model_id, g.role, g.kind, g.covered) for g in gaps] == [
        (2, "business_owner", "missing", False),
        (2, "backup", "missing", False),
        (3, "business_owner", "missing", False),
        (3, "technical_owner", "missing", False),
        (3, "backup", "missing", False),
    ]
    assert without_active(gaps, 3, "backup") and not without_active(gaps, 2, "technical_owner")
