"""The demo portfolio's risk assessments, rules, flags and meetings (core.demo.risk's step)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.engine import make_engine, read_session
from core.db.models import BusinessRule, Model
from core.demo import DEMO_FACTS
from core.governance import meetings, risk, rules
from core.registry.rules import rules_in_force
from tests.conftest import DEMO_TODAY


@pytest.fixture
def demo(request: pytest.FixtureRequest):
    try:
        url = str(request.getfixturevalue("demo_db_url"))
    except pytest.FixtureLookupError:
        pytest.skip("the demo registry fixture `demo_db_url` is not available yet")
    engine = make_engine(url)
    with read_session(engine) as s:
        ids = {m.name: m.id for m in s.execute(select(Model)).scalars()}
    yield engine, ids
    engine.dispose()


def test_most_models_are_assessed_and_consumer_credit_is_annex_iii_5b(demo):
    engine, ids = demo
    with read_session(engine) as s:
        rows = risk.portfolio(s)
        assessed = {summary["model"]: view for summary, view in rows if view is not None}
        assert len(assessed) >= len(rows) - 3
        for name in ("Retail credit scoring", "Credit limit recommendation"):
            assert (assessed[name].ai_act_class, assessed[name].annex_iii_area, assessed[name].tier) == (
                "high",
                "5(b)",
                "high",
            )
        assert (
            assessed["Card fraud detection"].ai_act_class == "minimal"
        )  # fraud detection is exempt from 5(b)
        grid = risk.heatmap(s)
        assert grid["count"].sum() == len(assessed)


def test_demo_flags_and_overdue_review_come_from_registry_evidence(demo):
    engine, _ = demo
    with read_session(engine) as s:
        overdue = risk.overdue_reviews(s, today=DEMO_TODAY)
        flags = risk.reassessment_flags(s, today=DEMO_TODAY)
    assert "Account takeover detection" in set(overdue[overdue["tier"] == "high"]["model"])
    by_trigger: dict[str, set[str]] = {}
    for f in flags:
        by_trigger.setdefault(f.trigger, set()).add(f.model)
    assert set(DEMO_FACTS["owner_left"]) <= by_trigger["owner_left"]
    assert {m for m in DEMO_FACTS["no_backup"]} <= by_trigger["no_backup"]
    assert set(DEMO_FACTS["outage"]) <= by_trigger.get("outage_alert", set())


def test_demo_rules_passed_four_eyes_and_one_change_is_pending(demo):
    engine, ids = demo
    with read_session(engine) as s:
        every = s.execute(select(BusinessRule)).scalars().all()
        decided = [r for r in every if r.status in ("active", "superseded")]
        assert decided and all(r.decided_by_id not in (None, r.created_by_id) for r in decided)
        pending = rules.pending_proposals(s)
        assert [(p.model, p.name, p.threshold) for p in pending] == [
            ("Retail credit scoring", "Automatic decline", 0.33)
        ]
        in_force = next(
            r
            for r in rules_in_force(s, model_id=ids["Retail credit scoring"])
            if r.name == "Automatic decline"
        )
        assert in_force is not None and in_force.threshold == 0.35


def test_demo_meetings_past_decisions_and_carried_over_action(demo):
    engine, _ = demo
    with read_session(engine) as s:
        listing = meetings.list_meetings(s)
        closed = listing[listing["status"] == "closed"]
        planned = listing[listing["status"] == "planned"]
        assert len(closed) == 1 and len(planned) == 1
        past = meetings.meeting_view(s, int(closed["id"].iloc[0]))
        assert all(item.settled for item in past.items)
        assert [a.title for a in past.actions] == ["Re-assess Account takeover detection"]
        upcoming = meetings.meeting_view(s, int(planned["id"].iloc[0]))
    kinds = {i.kind for i in upcoming.items}
    # every kind the registry raises in the demo (its labelling campaigns are still open)
    assert {
        "open_action",
        "promotion_request",
        "rule_change",
        "review_overdue",
        "reassessment",
        "alert",
        "cost_overrun",
    } <= kinds
    requests = {i.title for i in upcoming.items if i.kind == "promotion_request"}
    assert requests == {
        "Promote Retail credit scoring v4 to production",
        "Promote Retail churn propensity v3 to production",
    }
    assert upcoming.items[0].title == "Action: Re-assess Account takeover detection"
    assert upcoming.previous is not None and upcoming.previous[0] == past.id
