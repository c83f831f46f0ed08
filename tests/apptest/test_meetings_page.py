"""The Review meetings page through AppTest: plan, agenda, decisions, presenter mode, actions, export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

import pytest
from sqlmodel import select

from core.db.engine import make_engine, read_session, write_session
from core.db.models import Decision, Meeting, MeetingAction
from core.governance import meetings, risk, rules

LOW = [{"category": c, "likelihood": 2, "impact": 2} for c in risk.RISK_LABELS]


@pytest.fixture
def meeting_registry(portfolio_registry):
    """The portfolio with an overdue review, a pending rule proposal and a planned committee."""
    url, p = portfolio_registry
    w = p.world
    engine = make_engine(url)
    with write_session(engine) as s:
        risk.assess_model(
            s,
            actor=w.owner,
            model_id=p.fraud,
            materiality="low",
            ai_act_class="minimal",
            rationale="Analysts review every flag",
            scores=LOW,
            assessed_at=datetime(2022, 1, 10, tzinfo=UTC),
        )
        rules.propose_rule(
            s,
            actor=w.owner,
            model_id=p.credit,
            name="Auto-approve",
            operator=">",
            threshold=0.72,
            outcome="approve",
        )
    with write_session(engine) as s:
        meeting_id = meetings.create_meeting(
            s,
            actor=w.approver,
            title="Model risk committee",
            held_at=datetime.now(UTC) + timedelta(days=2),
            attendee_ids=[w.approver.id, w.approver2.id, w.owner.id],
        )
    engine.dispose()
    return url, p, meeting_id


def _open(app, url, *, person="approver@example.com"):
    at = app(url)
    at.query_params["as"] = person
    at.run()
    return at.switch_page("../pages/meetings.py").run()


def _items(url, meeting_id):
    engine = make_engine(url)
    with read_session(engine) as s:
        view = meetings.meeting_view(s, meeting_id)
    engine.dispose()
    return view.items


def test_agenda_is_listed_with_evidence_and_exports(app, meeting_registry):
    url, _, meeting_id = meeting_registry
    at = _open(app, url)
    assert not at.exception
    assert at.title[0].value == "Review meetings"
    assert at.selectbox(key="meetings.select").value == meeting_id
    text = " ".join(m.value for m in at.markdown)
    for item in _items(url, meeting_id):
        assert f"**{item.position}. " in text  # each item is shown, numbered
    assert "Review overdue: Fraud detection" in text.replace("\\", "")
    assert "Rule change for Credit scoring" in text.replace("\\", "")
    keys = {b.key for b in at.get("download_button")}
    assert {"meetings.export.html", "meetings.export.pdf"} <= keys


def test_decisions_are_recorded_with_attendees_present(app, meeting_registry):
    url, p, meeting_id = meeting_registry
    items = _items(url, meeting_id)
    rule = next(i for i in items if i.kind == "rule_change")
    overdue = next(i for i in items if i.kind == "review_overdue")
    at = _open(app, url)
    at.multiselect(key=f"meetings.present.{meeting_id}").set_value(
        [p.world.approver.id, p.world.owner.id]
    ).run()
    base = f"meetings.decide.{rule.id}"
    at.radio(key=f"{base}.outcome").set_value("reject").run()
    at.button(key=f"{base}.submit").click().run()
    assert "rejection needs a reason" in at.error[0].value
    at.text_input(key=f"{base}.comment").input("0.72 is too strict this quarter").run()
    at.button(key=f"{base}.submit").click().run()
    assert not at.exception and not at.error
    base = f"meetings.decide.{overdue.id}"
    at.radio(key=f"{base}.outcome").set_value("action").run()
    at.text_input(key=f"{base}.action.title").input("Re-assess fraud detection")
    at.selectbox(key=f"{base}.action.owner").set_value(p.world.owner.id)
    at.button(key=f"{base}.submit").click().run()
    assert not at.error
    engine = make_engine(url)
    with read_session(engine) as s:
        decided = s.exec(select(Decision).where(Decision.meeting_id == meeting_id)).all()
        action = s.exec(select(MeetingAction)).one()
    engine.dispose()
    assert {d.outcome for d in decided} == {"reject", "action"}
    assert all(d.present_person_ids == sorted([p.world.approver.id, p.world.owner.id]) for d in decided)
    assert action.title == "Re-assess fraud detection" and action.status == "open"
    assert "Re-assess fraud detection" in at.dataframe[-1].value["title"].tolist()  # open actions table


def test_presenter_mode_shows_one_item_at_a_time(app, meeting_registry):
    url, _, meeting_id = meeting_registry
    items = [escape(i.title) for i in _items(url, meeting_id)]  # the presenter shows escaped HTML
    at = _open(app, url)
    at.toggle(key="meetings.presenter.on").set_value(True).run()
    assert not at.exception
    html = " ".join(h.proto.body for h in at.get("html"))
    assert f"1. {items[0]}" in html and "font-size:2.6rem" in html
    assert f"2. {items[1]}" not in html
    assert any("Item 1 of" in c.value for c in at.caption)
    assert "Open actions from all meetings" not in [
        h.value for h in at.subheader
    ]  # the shared screen: one item
    at.button(key="meetings.presenter.next").click().run()
    html = " ".join(h.proto.body for h in at.get("html"))
    assert f"2. {items[1]}" in html and f"1. {items[0]}" not in html
    at.button(key="meetings.presenter.prev").click().run()
    assert any("Item 1 of" in c.value for c in at.caption)


def test_plan_a_meeting_and_close_it(app, meeting_registry):
    url, p, _ = meeting_registry
    at = _open(app, url)
    at.text_input(key="meetings.new.title").input("Credit risk review")
    at.selectbox(key="meetings.new.scope").set_value("Credit risk")
    at.multiselect(key="meetings.new.attendees").set_value([p.world.approver.id, p.world.owner.id])
    next(b for b in at.button if b.label.startswith("Create meeting")).click().run()
    assert not at.exception and not at.error
    engine = make_engine(url)
    with read_session(engine) as s:
        created = s.exec(select(Meeting).where(Meeting.title == "Credit risk review")).one()
    assert at.selectbox(key="meetings.select").value == created.id
    at.button(key="meetings.close").click().run()
    with read_session(engine) as s:
        assert s.get(Meeting, created.id).status == "closed"
    engine.dispose()
    assert not [b for b in at.button if b.key and b.key.startswith("meetings.decide.")]


def test_viewer_reads_but_cannot_decide(app, meeting_registry):
    url, _, _ = meeting_registry
    at = _open(app, url, person="viewer@example.com")
    assert not at.exception
    assert not [b for b in at.button if b.key and b.key.startswith("meetings.decide.")]
    assert not [b for b in at.button if b.key == "meetings.refresh"]
