"""Review meetings: attendees, an agenda generated from the registry, decisions and actions.

A meeting covers the whole portfolio or one business unit. Its agenda is generated from
the registry "since the previous meeting" (the latest earlier meeting of the same scope):

1. open actions from earlier meetings (they come back until someone closes them);
2. pending promotion requests (all of them: each needs a decision);
3. rule changes: pending proposals, and rule versions decided since the previous meeting;
4. models overdue for review (or in validation/production and never assessed);
5. risk re-assessment flags raised by registry evidence (see core.governance.risk);
6. monitoring alerts (drift, performance, outage) open now or opened since the previous meeting;
   retraining requests open now (overdue ones say so) or closed since the previous meeting;
7. cost overruns against budget (when the costs area provides them);
8. labelling campaigns finished since the previous meeting.

With no previous meeting, events of the 90 days before the meeting count.

Each item carries the evidence figures as they were when it was listed, and a link to the
page holding the evidence. The agenda can be refreshed until the meeting is closed; items
already decided never change. A decision (approve, reject, action, noted; close_action for a
carried-over action) is recorded with the attendees present and audited. Approving or
rejecting a promotion request or a rule proposal acts through the normal services
(``core.governance.promotions``, ``core.governance.rules``) as the person recording it, so the
four-eyes rules apply exactly as outside the meeting. A high-risk promotion may take two
approve decisions on the same item, by two different approvers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import delete
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, require
from core.costs import budgets
from core.db.models import (
    AgendaItem,
    Alert,
    CampaignItem,
    Decision,
    LabellingCampaign,
    Meeting,
    MeetingAction,
    MeetingAttendee,
    Model,
    Person,
)
from core.db.models.meetings import AGENDA_KINDS, DECISION_OUTCOMES
from core.db.types import saved_id
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.governance import promotions, retraining, risk, rules
from core.registry.rules import RuleInForce, rules_in_force
from core.registry.validation import clean_choice, clean_name, clean_text

__all__ = [
    "ItemDraft",
    "MeetingView",
    "create_meeting",
    "set_attendees",
    "refresh_agenda",
    "record_decision",
    "close_action",
    "close_meeting",
    "agenda_drafts",
    "previous_meeting",
    "list_meetings",
    "meeting_view",
    "open_actions",
    "allowed_outcomes",
]

KIND_LABELS = {
    "open_action": "Open action",
    "promotion_request": "Promotion request",
    "rule_change": "Business rule change",
    "review_overdue": "Review overdue",
    "reassessment": "Re-assess risk",
    "alert": "Monitoring alert",
    "retraining": "Retraining request",
    "cost_overrun": "Cost overrun",
    "campaign_finished": "Labelling campaign finished",
}
KIND_ORDER = {k: i for i, k in enumerate(KIND_LABELS)}
FIRST_MEETING_LOOKBACK_DAYS = 90  # with no previous meeting, events of this many days before it count
OUTCOME_LABELS = {
    "approve": "Approve",
    "reject": "Reject",
    "action": "Action",
    "noted": "Noted",
    "close_action": "Close the action",
}
assert set(KIND_LABELS) == set(AGENDA_KINDS) and set(OUTCOME_LABELS) == set(DECISION_OUTCOMES)


# --- generating the agenda -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemDraft:
    """An agenda item as the registry suggests it, before it is stored."""

    kind: str
    subject_id: str
    title: str
    reason: str
    model_id: int | None = None
    link: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.subject_id


def agenda_drafts(
    session: Session,
    *,
    since: datetime | None,
    until: datetime,
    business_unit: str = "",
    exclude_meeting_id: int | None = None,
) -> list[ItemDraft]:
    """What the agenda of a meeting should hold, in agenda order, from the registry as it stands.

    ``since`` is the previous meeting's time (None: everything counts); ``until`` the moment
    the agenda is drawn up: requests, proposals, alerts and actions made after it are left out.
    """
    unit = business_unit or None
    today = until.date()
    return [
        *_open_actions(session, unit, exclude_meeting_id, until),
        *_promotion_requests(session, unit, until),
        *_rule_changes(session, unit, since, until),
        *_overdue_reviews(session, unit, today),
        *_reassessments(session, unit, today),
        *_alerts(session, unit, since, until),
        *_retraining_requests(session, unit, since, until),
        *_cost_overruns(session, unit),
        *_finished_campaigns(session, unit, since, until),
    ]


def _open_actions(
    session: Session, unit: str | None, exclude_meeting_id: int | None, until: datetime
) -> list[ItemDraft]:
    frame = open_actions(session, business_unit=unit, today=until.date())
    drafts = []
    for a in frame.itertuples():
        if a.meeting_id == exclude_meeting_id or a.created_at > until:
            continue
        overdue = f", overdue since {a.due_on:%Y-%m-%d}" if a.overdue else ""
        drafts.append(
            ItemDraft(
                "open_action",
                str(a.id),
                f"Action: {a.title}",
                f"Agreed in '{a.meeting}' on {a.meeting_date:%Y-%m-%d}; owner {a.owner}, due {a.due_on:%Y-%m-%d}{overdue}.",
                model_id=None if pd.isna(a.model_id) else int(a.model_id),
                link=f"/meetings?meeting={a.meeting_id}",
                evidence={
                    "owner": a.owner,
                    "due_on": a.due_on.isoformat(),
                    "overdue": bool(a.overdue),
                    "agreed_in": a.meeting,
                    "model": a.model or "",
                },
            )
        )
    return drafts


def _promotion_requests(session: Session, unit: str | None, until: datetime) -> list[ItemDraft]:
    pending = promotions.list_requests(session, status="pending", business_unit=unit)
    drafts = []
    for r in pending.itertuples():
        if r.requested_at > until:
            continue
        view = promotions.request_view(session, int(r.id))
        gates = [
            {"gate": g.get("title", ""), "status": g.get("status", ""), "figure": g.get("figure", "")}
            for g in view.gates
        ]
        drafts.append(
            ItemDraft(
                "promotion_request",
                str(r.id),
                f"Promote {r.model} v{r.version} to {r.target_stage}",
                f"Requested by {r.requested_by} on {r.requested_at:%Y-%m-%d}: {r.justification} "
                f"Approvals {r.approvals} of {r.required_approvals}; evidence {r.evidence_status}.",
                model_id=int(r.model_id),
                link=f"/promotions?request={r.id}",
                evidence={
                    "request_id": int(r.id),
                    "version": int(r.version),
                    "target_stage": r.target_stage,
                    "risk_tier": r.risk_tier,
                    "approvals": int(r.approvals),
                    "required_approvals": int(r.required_approvals),
                    "evidence_status": r.evidence_status,
                    "requested_by": r.requested_by,
                    "gates": gates,
                },
            )
        )
    return drafts


def _rule_changes(
    session: Session, unit: str | None, since: datetime | None, until: datetime
) -> list[ItemDraft]:
    drafts = []
    for v in rules.pending_proposals(session, business_unit=unit):
        if v.proposed_at > until:
            continue
        current = next((r for r in rules_in_force(session, model_id=v.model_id) if r.name == v.name), None)
        was = f" (now: {current.condition}, v{current.version})" if current else " (new rule)"
        drafts.append(
            ItemDraft(
                "rule_change",
                str(v.id),
                f"Rule change for {v.model}: '{v.name}' v{v.version}: {v.condition}",
                f"Proposed by {v.proposed_by} on {v.proposed_at:%Y-%m-%d}{was}; awaits an approver's decision.",
                model_id=v.model_id,
                link=f"/model?model={v.model_id}",
                evidence=_rule_evidence(v, current),
            )
        )
    for v in rules.rule_changes_between(session, start=since, end=until, business_unit=unit):
        verdict = "rejected" if v.status == "rejected" else "approved"
        reason = f"{verdict.capitalize()} by {v.decided_by} on {v.decided_at:%Y-%m-%d}"
        if verdict == "approved":
            reason += f"; in force from {v.effective_from:%Y-%m-%d}"
        reason += f": {v.decision_comment}" if v.decision_comment else "."
        drafts.append(
            ItemDraft(
                "rule_change",
                str(v.id),
                f"Rule {verdict}: {v.model} '{v.name}' v{v.version}: {v.condition}",
                reason,
                model_id=v.model_id,
                link=f"/model?model={v.model_id}",
                evidence=_rule_evidence(v, None),
            )
        )
    return drafts


def _rule_evidence(v: rules.RuleView, current: RuleInForce | None) -> dict[str, Any]:
    return {
        "rule_id": v.id,
        "rule": v.name,
        "version": v.version,
        "condition": v.condition,
        "status": v.status,
        "proposed_by": v.proposed_by,
        "effective_from": v.effective_from.isoformat(),
        "decided_by": v.decided_by,
        "in_force_now": current.condition if current else "",
    }


def _overdue_reviews(session: Session, unit: str | None, today: date) -> list[ItemDraft]:
    frame = risk.overdue_reviews(session, today=today, business_unit=unit)
    return [
        ItemDraft(
            "review_overdue",
            str(r.model_id),
            f"Review overdue: {r.model}",
            f"{r.reason[0].upper()}{r.reason[1:]}.",
            model_id=int(r.model_id),
            link=f"/risk?model={r.model_id}",
            evidence={
                "tier": r.tier,
                "last_assessed": _iso(r.last_assessed),
                "due": _iso(r.due),
                "days_overdue": None if pd.isna(r.days_overdue) else int(r.days_overdue),
            },
        )
        for r in frame.itertuples()
    ]


def _reassessments(session: Session, unit: str | None, today: date) -> list[ItemDraft]:
    by_model: dict[int, list[risk.Flag]] = {}
    for f in risk.reassessment_flags(session, business_unit=unit, today=today):
        if f.since is not None and f.since > today:
            continue  # evidence from after the agenda's date
        if f.trigger not in ("review_overdue", "not_assessed"):  # those are review items above
            by_model.setdefault(f.model_id, []).append(f)
    drafts = []
    for model_id, flags in by_model.items():
        categories = sorted({f.category_label.lower() for f in flags})
        drafts.append(
            ItemDraft(
                "reassessment",
                str(model_id),
                f"Re-assess {flags[0].model}: {', '.join(categories)}",
                " ".join(f.reason for f in flags),
                model_id=model_id,
                link=f"/risk?model={model_id}",
                evidence={
                    "flags": [
                        {
                            "risk": f.category_label,
                            "trigger": f.trigger,
                            "reason": f.reason,
                            "since": _iso(f.since),
                        }
                        for f in flags
                    ],
                    "tier": risk.current_tier(session, model_id) or "not assessed",
                },
            )
        )
    return drafts


def _alerts(session: Session, unit: str | None, since: datetime | None, until: datetime) -> list[ItemDraft]:
    query = (
        select(Alert, Model)
        .join(Model, col(Model.id) == col(Alert.model_id))
        .where(col(Alert.kind).in_(("drift", "performance", "outage")), col(Alert.opened_at) < until)
    )
    if since is not None:
        query = query.where(col(Alert.closed_at).is_(None) | (col(Alert.opened_at) >= since))
    else:
        query = query.where(col(Alert.closed_at).is_(None))
    if unit:
        query = query.where(col(Model.business_unit) == unit)
    drafts = []
    for a, m in session.exec(query.order_by(col(Alert.opened_at))):
        state = "still open" if a.closed_at is None else f"closed {a.closed_at:%Y-%m-%d}"
        drafts.append(
            ItemDraft(
                "alert",
                str(a.id),
                f"{a.kind.capitalize()} {a.level}: {m.name}",
                f"Opened {a.opened_at:%Y-%m-%d}, {state}: {a.message}",
                model_id=m.id,
                link=f"/model?model={m.id}",
                evidence={
                    "kind": a.kind,
                    "level": a.level,
                    "message": a.message,
                    "opened_at": a.opened_at.isoformat(),
                    "closed_at": _iso(a.closed_at),
                },
            )
        )
    return drafts


def _retraining_requests(
    session: Session, unit: str | None, since: datetime | None, until: datetime
) -> list[ItemDraft]:
    """Open retraining requests, and those closed since the previous meeting (with their loop time)."""
    frame = retraining.requests_table(session, business_unit=unit, today=until.date())
    drafts = []
    for r in frame.itertuples():
        if r.requested_at > until:
            continue
        is_open = r.status in retraining.OPEN_STATUSES
        if not is_open and not (r.status == "closed" and since is not None and r.closed_at >= since):
            continue
        if is_open:
            state = f"due {r.due_on:%Y-%m-%d}" + (", overdue" if r.overdue else "")
            if pd.notna(r.answered_version):
                state += f"; answered by v{r.answered_version}, waiting for production"
        else:
            state = f"closed {r.closed_at:%Y-%m-%d} after {r.loop_days:g} days (v{r.answered_version} in production)"
        drafts.append(
            ItemDraft(
                "retraining",
                str(r.id),
                f"Retraining {r.model}: {retraining.STATUS_LABELS[r.status].split(' (')[0].lower()}",
                f"Request #{r.id} ({retraining.SOURCE_LABELS[r.source].lower()}), owner {r.owner}, {state}: {r.reason}",
                model_id=int(r.model_id),
                link=f"/model?model={r.model_id}&retraining={r.id}",
                evidence={
                    "request_id": int(r.id),
                    "status": r.status,
                    "owner": r.owner,
                    "due_on": r.due_on.isoformat(),
                    "overdue": bool(r.overdue),
                    "answered_version": int(r.answered_version) if pd.notna(r.answered_version) else None,
                    "loop_days": None if r.loop_days is None or pd.isna(r.loop_days) else float(r.loop_days),
                },
            )
        )
    return drafts


def _cost_overruns(session: Session, unit: str | None) -> list[ItemDraft]:
    """Budgets over, or projected over, their amount."""
    drafts = []
    for b in budgets.budget_statuses(session):
        if unit and b.business_unit != unit:
            continue
        if b.alert is None:  # a period not yet started only with a projection that overruns
            continue
        over_now = b.alert == "over"
        drafts.append(
            ItemDraft(
                "cost_overrun",
                f"{b.business_unit}:{b.period_start.isoformat()}",
                f"Cost {'overrun' if over_now else 'projected overrun'}: {b.business_unit}",
                b.sentence(),
                link="/costs",
                evidence={
                    "budget": round(b.amount, 2),
                    "spent": round(b.spent, 2),
                    "currency": b.currency,
                    "projected": None if b.projected is None else round(b.projected, 2),
                    "over_budget_from": b.overrun_month,
                    "overrun_probability": None
                    if b.overrun_probability is None
                    else round(b.overrun_probability, 3),
                },
            )
        )
    return drafts


def _finished_campaigns(
    session: Session, unit: str | None, since: datetime | None, until: datetime
) -> list[ItemDraft]:
    query = (
        select(LabellingCampaign, Model)
        .join(Model, col(Model.id) == col(LabellingCampaign.model_id))
        .where(col(LabellingCampaign.status) == "closed", col(LabellingCampaign.closed_at) < until)
    )
    if since is not None:
        query = query.where(col(LabellingCampaign.closed_at) >= since)
    if unit:
        query = query.where(col(Model.business_unit) == unit)
    drafts = []
    for c, m in session.exec(query.order_by(col(LabellingCampaign.closed_at))):
        counts: dict[str, int] = {}
        for item in session.exec(
            select(col(CampaignItem.status)).where(col(CampaignItem.campaign_id) == c.id)
        ):
            counts[item] = counts.get(item, 0) + 1
        final, disagreement = counts.get("final", 0), counts.get("disagreement", 0)
        drafts.append(
            ItemDraft(
                "campaign_finished",
                str(c.id),
                f"Labelling finished: {c.name} ({m.name})",
                f"Closed {c.closed_at:%Y-%m-%d}: {final} of {c.size} cases labelled, {disagreement} with labeller "
                f"disagreement ({c.strategy} sample).",
                model_id=m.id,
                link=f"/labelling?campaign={c.id}",
                evidence={
                    "size": c.size,
                    "labelled": final,
                    "disagreement": disagreement,
                    "strategy": c.strategy,
                },
            )
        )
    return drafts


def _iso(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# --- meetings ------------------------------------------------------------------------------------------


def create_meeting(
    session: Session,
    *,
    actor: Actor,
    title: str,
    held_at: datetime,
    attendee_ids: list[int],
    business_unit: str = "",
    at: datetime | None = None,
) -> int:
    """Plan a meeting with its attendees and generate its agenda. Returns the meeting id."""
    business_unit = clean_text(business_unit, "business unit", max_len=200)
    require(session, actor, "meeting.manage", business_unit=business_unit or None)
    if held_at.tzinfo is None:
        raise InvalidInput("meeting time must carry a time zone (UTC).")
    meeting = Meeting(
        title=clean_name(title, "meeting title"),
        business_unit=business_unit,
        held_at=held_at,
        created_by_id=actor.id,
        created_at=at or clock.now(),
    )
    session.add(meeting)
    session.flush()
    _replace_attendees(session, meeting, attendee_ids)
    audit.record(
        session,
        actor=actor,
        action=events.MEETING_CREATED,
        object_id=meeting.id,
        after={**meeting.model_dump(), "attendee_ids": sorted(set(attendee_ids))},
    )
    refresh_agenda(session, actor=actor, meeting_id=saved_id(meeting), at=at)
    return saved_id(meeting)


def set_attendees(session: Session, *, actor: Actor, meeting_id: int, attendee_ids: list[int]) -> None:
    """Change who attends a meeting that is not closed."""
    meeting = _open_meeting(session, actor, meeting_id)
    before = _attendee_ids(session, meeting_id)
    _replace_attendees(session, meeting, attendee_ids)
    audit.record(
        session,
        actor=actor,
        action=events.MEETING_ATTENDEES_SET,
        object_id=meeting_id,
        before={"attendee_ids": before},
        after={"attendee_ids": sorted(set(attendee_ids))},
    )


def _replace_attendees(session: Session, meeting: Meeting, attendee_ids: list[int]) -> None:
    wanted = sorted(set(attendee_ids))
    if not wanted:
        raise InvalidInput("a meeting needs at least one attendee.")
    people = {p.id: p for p in session.exec(select(Person).where(col(Person.id).in_(wanted)))}
    missing = [i for i in wanted if i not in people]
    if missing:
        raise NotFound(f"No person with id {missing[0]}.")
    gone = [people[i].name for i in wanted if not people[i].active]
    if gone:
        raise InvalidInput(f"{', '.join(gone)} {'has' if len(gone) == 1 else 'have'} left and cannot attend.")
    session.execute(delete(MeetingAttendee).where(col(MeetingAttendee.meeting_id) == meeting.id))
    for pid in wanted:
        session.add(MeetingAttendee(meeting_id=saved_id(meeting), person_id=pid))
    session.flush()


def previous_meeting(session: Session, meeting: Meeting) -> Meeting | None:
    """The latest earlier meeting of the same scope (portfolio or business unit)."""
    return session.exec(
        select(Meeting)
        .where(
            col(Meeting.business_unit) == meeting.business_unit,
            col(Meeting.held_at) < meeting.held_at,
            col(Meeting.id) != meeting.id,
        )
        .order_by(col(Meeting.held_at).desc())
        .limit(1)
    ).first()


def refresh_agenda(
    session: Session, *, actor: Actor, meeting_id: int, at: datetime | None = None
) -> dict[str, int]:
    """Bring the agenda of an open meeting up to date with the registry.

    New items are added, undecided items get today's evidence or are dropped when their
    reason has gone; decided items stay as they were. ``at``: the moment of the registry state
    (default now; the demo dates its past meeting). Returns counts added/updated/dropped.
    """
    meeting = _open_meeting(session, actor, meeting_id)
    now = at or clock.now()
    previous = previous_meeting(session, meeting)
    since = previous.held_at if previous else meeting.held_at - timedelta(days=FIRST_MEETING_LOOKBACK_DAYS)
    drafts = {
        d.key: d
        for d in agenda_drafts(
            session,
            since=since,
            until=now,
            business_unit=meeting.business_unit,
            exclude_meeting_id=meeting_id,
        )
    }
    items = list(session.exec(select(AgendaItem).where(col(AgendaItem.meeting_id) == meeting_id)))
    decided = _decided_item_ids(session, meeting_id)
    counts = {"added": 0, "updated": 0, "dropped": 0}
    for item in items:
        draft = drafts.pop((item.kind, item.subject_id), None)
        if item.id in decided:
            continue
        if draft is None:
            session.delete(item)
            counts["dropped"] += 1
        else:
            item.title, item.reason, item.link = draft.title[:300], draft.reason, draft.link
            item.evidence, item.model_id, item.listed_at = draft.evidence, draft.model_id, now
            session.add(item)
            counts["updated"] += 1
    for draft in drafts.values():
        session.add(
            AgendaItem(
                meeting_id=meeting_id,
                position=0,
                kind=draft.kind,
                subject_id=draft.subject_id,
                model_id=draft.model_id,
                title=draft.title[:300],
                reason=draft.reason,
                link=draft.link,
                evidence=draft.evidence,
                listed_at=now,
            )
        )
        counts["added"] += 1
    session.flush()
    _renumber(session, meeting_id)
    meeting.agenda_generated_at = now
    session.add(meeting)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.MEETING_AGENDA_GENERATED,
        object_id=meeting_id,
        after={**counts, "since": since.isoformat()},
    )
    return counts


def _renumber(session: Session, meeting_id: int) -> None:
    items = list(session.exec(select(AgendaItem).where(col(AgendaItem.meeting_id) == meeting_id)))
    items.sort(key=lambda i: (KIND_ORDER[i.kind], i.title))
    for position, item in enumerate(items, start=1):
        if item.position != position:
            item.position = position
            session.add(item)
    session.flush()


def close_meeting(session: Session, *, actor: Actor, meeting_id: int, at: datetime | None = None) -> None:
    """Close a meeting: its agenda, evidence and decisions are final from now on.

    ``at`` dates the closing in the past (the demo's history); default now.
    """
    meeting = _open_meeting(session, actor, meeting_id)
    meeting.status, meeting.closed_at, meeting.closed_by_id = "closed", at or clock.now(), actor.id
    session.add(meeting)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.MEETING_CLOSED,
        object_id=meeting_id,
        after={"status": "closed", "decisions": len(_decided_item_ids(session, meeting_id))},
    )


def _open_meeting(session: Session, actor: Actor, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"No meeting with id {meeting_id}.")
    require(session, actor, "meeting.manage", business_unit=meeting.business_unit or None)
    if meeting.status == "closed":
        raise Conflict(f"Meeting '{meeting.title}' is closed; its agenda and decisions are final.")
    return meeting


def _attendee_ids(session: Session, meeting_id: int) -> list[int]:
    return sorted(
        session.exec(
            select(col(MeetingAttendee.person_id)).where(col(MeetingAttendee.meeting_id) == meeting_id)
        )
    )


# --- decisions -------------------------------------------------------------------------------------------


def allowed_outcomes(kind: str, evidence: dict[str, Any]) -> tuple[str, ...]:
    """The decisions an agenda item can take: approve/reject only where there is something to decide."""
    if kind == "promotion_request" or (kind == "rule_change" and evidence.get("status") == "proposed"):
        return ("approve", "reject", "action", "noted")
    if kind == "open_action":
        return ("close_action", "action", "noted")
    return ("action", "noted")


def _decided_item_ids(session: Session, meeting_id: int) -> set[int]:
    """Items whose decision is settled (a partial approval of a promotion still awaits a second one)."""
    settled = set()
    for d in session.exec(select(Decision).where(col(Decision.meeting_id) == meeting_id)):
        if not (d.outcome == "approve" and d.effect.get("status") == "pending"):
            settled.add(d.agenda_item_id)
    return settled


def record_decision(
    session: Session,
    *,
    actor: Actor,
    item_id: int,
    outcome: str,
    present_ids: list[int],
    comment: str = "",
    action_title: str = "",
    action_owner_id: int | None = None,
    action_due: date | None = None,
    override_reason: str = "",
    at: datetime | None = None,
) -> int:
    """Record what the meeting decided on one agenda item; act on it through the normal services.

    The recorder must be one of the attendees present. Approve/reject act on the request or
    rule as the recorder, under the usual four-eyes checks. ``at`` dates the record in the
    past (the demo's history). Returns the decision id.
    """
    item = session.get(AgendaItem, item_id)
    if item is None:
        raise NotFound(f"No agenda item with id {item_id}.")
    meeting = _open_meeting(session, actor, item.meeting_id)
    outcome = clean_choice(outcome, "decision", DECISION_OUTCOMES)
    allowed = allowed_outcomes(item.kind, item.evidence)
    if outcome not in allowed:
        raise InvalidInput(
            f"'{OUTCOME_LABELS[outcome]}' does not apply to a {KIND_LABELS[item.kind].lower()}; "
            f"choose {', '.join(OUTCOME_LABELS[o].lower() for o in allowed)}."
        )
    if saved_id(item) in _decided_item_ids(session, saved_id(meeting)):
        raise Conflict(
            f"Agenda item {item.position} ('{item.title}') is already decided; decisions never change."
        )
    present = _present(session, meeting, present_ids, actor)
    comment = clean_text(comment, "comment")
    effect = _act(
        session,
        actor,
        item,
        outcome,
        comment,
        override_reason,
        action_title,
        action_owner_id,
        action_due,
        meeting,
        at,
    )
    decision = Decision(
        meeting_id=saved_id(meeting),
        agenda_item_id=saved_id(item),
        outcome=outcome,
        comment=comment,
        present_person_ids=present,
        evidence=dict(item.evidence),
        effect=effect.pop("_effect"),
        recorded_by_id=actor.id,
        recorded_at=at or clock.now(),
    )
    session.add(decision)
    session.flush()
    if "action" in effect:
        effect["action"].decision_id = decision.id
        session.add(effect["action"])
        session.flush()
        decision.effect = {**decision.effect, "action_id": effect["action"].id}
        session.add(decision)
        session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.MEETING_DECISION_RECORDED,
        object_id=meeting.id,
        model_id=item.model_id,
        after={
            "decision_id": decision.id,
            "agenda_item": item.position,
            "title": item.title,
            "outcome": outcome,
            "comment": comment,
            "present_person_ids": present,
            "effect": decision.effect,
        },
        reason=comment,
    )
    return saved_id(decision)


def _present(session: Session, meeting: Meeting, present_ids: list[int], actor: Actor) -> list[int]:
    attendees = set(_attendee_ids(session, saved_id(meeting)))
    present = sorted(set(present_ids))
    if not present:
        raise InvalidInput("say which attendees are present for this decision.")
    strangers = [i for i in present if i not in attendees]
    if strangers:
        raise InvalidInput(f"person id {strangers[0]} is not an attendee of '{meeting.title}'.")
    if actor.id not in present:
        raise PermissionDenied(
            f"{actor.name} is not recorded as present at '{meeting.title}' and cannot record its decisions."
        )
    return present


def _act(
    session: Session,
    actor: Actor,
    item: AgendaItem,
    outcome: str,
    comment: str,
    override_reason: str,
    action_title: str,
    action_owner_id: int | None,
    action_due: date | None,
    meeting: Meeting,
    at: datetime | None,
) -> dict[str, Any]:
    """Carry the decision out; returns {"_effect": what changed, "action": new MeetingAction?}."""
    if outcome in ("approve", "reject") and item.kind == "promotion_request":
        return {"_effect": _decide_promotion(session, actor, item, outcome, comment, override_reason)}
    if outcome in ("approve", "reject") and item.kind == "rule_change":
        rule_id = int(item.evidence["rule_id"])
        rules.decide_rule(
            session, actor=actor, rule_id=rule_id, approve=outcome == "approve", comment=comment
        )
        return {"_effect": {"rule_id": rule_id, "status": "active" if outcome == "approve" else "rejected"}}
    if outcome == "close_action":
        action_id = int(item.subject_id)
        close_action(session, actor=actor, action_id=action_id, note=comment, meeting_id=meeting.id, at=at)
        return {"_effect": {"closed_action_id": action_id}}
    if outcome == "action":
        action = _new_action(session, meeting, item, action_title, action_owner_id, action_due, at)
        return {
            "_effect": {"owner_id": action.owner_id, "due_on": action.due_on.isoformat()},
            "action": action,
        }
    return {"_effect": {}}  # noted


def _decide_promotion(
    session: Session, actor: Actor, item: AgendaItem, outcome: str, comment: str, override_reason: str
) -> dict[str, Any]:
    """Approve or reject through the promotion workflow itself: its four-eyes checks apply."""
    request_id = int(item.subject_id)
    if outcome == "approve":
        status = promotions.approve(
            session, actor=actor, request_id=request_id, comment=comment, override_reason=override_reason
        )
    else:
        if not comment:
            raise InvalidInput("a rejection needs a reason in the comment.")
        promotions.reject(session, actor=actor, request_id=request_id, comment=comment)
        status = "rejected"
    return {"request_id": request_id, "status": status}


def _new_action(
    session: Session,
    meeting: Meeting,
    item: AgendaItem,
    title: str,
    owner_id: int | None,
    due: date | None,
    at: datetime | None,
) -> MeetingAction:
    title = clean_name(title, "action")
    if owner_id is None:
        raise InvalidInput("an action needs an owner.")
    owner = session.get(Person, owner_id)
    if owner is None:
        raise NotFound(f"No person with id {owner_id}.")
    if not owner.active:
        raise InvalidInput(f"{owner.name} has left; give the action to an active person.")
    if due is None:
        raise InvalidInput("an action needs a due date.")
    if due < meeting.held_at.date():
        raise InvalidInput(f"due date {due:%Y-%m-%d} is before the meeting ({meeting.held_at:%Y-%m-%d}).")
    return MeetingAction(
        meeting_id=saved_id(meeting),
        decision_id=0,
        model_id=item.model_id,
        title=title,
        owner_id=owner_id,
        due_on=due,
        created_at=at or clock.now(),
    )


def close_action(
    session: Session,
    *,
    actor: Actor,
    action_id: int,
    note: str,
    meeting_id: int | None = None,
    at: datetime | None = None,
) -> None:
    """Close an open action with a note saying how it was done (in a meeting or outside one)."""
    action = session.get(MeetingAction, action_id)
    if action is None:
        raise NotFound(f"No action with id {action_id}.")
    origin = session.get(Meeting, action.meeting_id)
    require(session, actor, "meeting.manage", business_unit=(origin.business_unit if origin else "") or None)
    if action.status != "open":
        raise Conflict(f"Action '{action.title}' is already closed.")
    note = clean_text(note, "closing note")
    if not note:
        raise InvalidInput("say how the action was done (closing note).")
    before = action.model_dump()
    action.status, action.closed_at, action.closed_by_id, action.closing_note = (
        "closed",
        at or clock.now(),
        actor.id,
        note,
    )
    session.add(action)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.MEETING_ACTION_CLOSED,
        object_id=action_id,
        model_id=action.model_id,
        before=before,
        after=action.model_dump(),
        reason=note + (f" (in meeting {meeting_id})" if meeting_id else ""),
    )


# --- reads ---------------------------------------------------------------------------------------------------


def default_meeting(listing: pd.DataFrame) -> int | None:
    """The meeting to open among ``list_meetings`` rows: the earliest one still planned, else the
    newest (None when there is none)."""
    if listing.empty:
        return None
    planned = listing[listing["status"] == "planned"].sort_values("held_at")
    return int(planned["id"].iloc[0]) if not planned.empty else int(listing["id"].iloc[0])


def list_meetings(session: Session) -> pd.DataFrame:
    """Every meeting, newest first, with counts of items and decisions."""
    meetings = list(session.exec(select(Meeting).order_by(col(Meeting.held_at).desc())))
    items: dict[int, int] = {}
    for mid in session.exec(select(col(AgendaItem.meeting_id))):
        items[mid] = items.get(mid, 0) + 1
    decisions: dict[int, int] = {}
    for mid in session.exec(select(col(Decision.meeting_id))):
        decisions[mid] = decisions.get(mid, 0) + 1
    return pd.DataFrame(
        [
            {
                "id": m.id,
                "title": m.title,
                "scope": m.business_unit or "Whole portfolio",
                "held_at": m.held_at,
                "status": m.status,
                "items": items.get(saved_id(m), 0),
                "decisions": decisions.get(saved_id(m), 0),
            }
            for m in meetings
        ],
        columns=["id", "title", "scope", "held_at", "status", "items", "decisions"],
    )


def open_actions(
    session: Session, *, business_unit: str | None = None, today: date | None = None
) -> pd.DataFrame:
    """Every open action from any meeting (of the scope), oldest due date first."""
    today = today or clock.today()
    query = (
        select(MeetingAction, Meeting, Person)
        .join(Meeting, col(Meeting.id) == col(MeetingAction.meeting_id))
        .join(Person, col(Person.id) == col(MeetingAction.owner_id))
        .where(col(MeetingAction.status) == "open")
    )
    if business_unit:
        query = query.where(col(Meeting.business_unit).in_((business_unit, "")))
    models = {m.id: m.name for m in session.exec(select(Model))}
    rows = [
        {
            "id": a.id,
            "title": a.title,
            "owner": p.name,
            "owner_id": p.id,
            "due_on": a.due_on,
            "overdue": a.due_on < today,
            "model_id": a.model_id,
            "model": models.get(a.model_id, ""),
            "meeting_id": m.id,
            "meeting": m.title,
            "meeting_date": m.held_at,
            "created_at": a.created_at,
        }
        for a, m, p in session.exec(query.order_by(col(MeetingAction.due_on)))
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "title",
            "owner",
            "owner_id",
            "due_on",
            "overdue",
            "model_id",
            "model",
            "meeting_id",
            "meeting",
            "meeting_date",
            "created_at",
        ],
    )


@dataclass(frozen=True)
class DecisionRead:
    outcome: str
    comment: str
    recorded_by: str
    recorded_at: datetime
    present: list[str]
    effect: dict[str, Any]
    evidence: dict[str, Any]
    action: str = ""  # the action agreed, with owner and due date, for an "action" decision

    @property
    def summary(self) -> str:
        """The decision in one line, as the minutes show it."""
        text = OUTCOME_LABELS[self.outcome]
        if self.effect.get("status") == "pending":
            text += " (approval recorded; a second approver is still needed)"
        elif self.effect.get("status"):
            text += (
                f" (request {self.effect['status']})"
                if "request_id" in self.effect
                else f" (rule {self.effect['status']})"
            )
        if self.action:
            text += f": {self.action}"
        return text + (
            f". {self.comment}"
            if self.action and self.comment
            else f": {self.comment}"
            if self.comment
            else ""
        )


@dataclass(frozen=True)
class ItemRead:
    id: int
    position: int
    kind: str
    kind_label: str
    title: str
    reason: str
    link: str
    model_id: int | None
    evidence: dict[str, Any]
    listed_at: datetime
    decisions: list[DecisionRead]
    outcomes: tuple[str, ...]
    settled: bool


@dataclass(frozen=True)
class ActionRead:
    id: int
    title: str
    owner: str
    due_on: date
    status: str
    item_position: int | None
    closing_note: str


@dataclass(frozen=True)
class MeetingView:
    id: int
    title: str
    business_unit: str
    held_at: datetime
    status: str
    created_by: str
    agenda_generated_at: datetime | None
    closed_at: datetime | None
    previous: tuple[int, str, datetime] | None
    attendees: list[tuple[int, str, str]]  # id, name, email
    items: list[ItemRead]
    actions: list[ActionRead]

    @property
    def scope(self) -> str:
        return self.business_unit or "Whole portfolio"

    @property
    def takes_decisions(self) -> bool:
        """Only a planned meeting records decisions and refreshes its agenda; a closed one is final."""
        return self.status == "planned"


def meeting_view(session: Session, meeting_id: int) -> MeetingView:
    """Everything a meeting page and its minutes show, detached from the session."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"No meeting with id {meeting_id}.")
    people = {p.id: p for p in session.exec(select(Person))}
    attendees = [(pid, people[pid].name, people[pid].email) for pid in _attendee_ids(session, meeting_id)]
    items = list(
        session.exec(
            select(AgendaItem)
            .where(col(AgendaItem.meeting_id) == meeting_id)
            .order_by(col(AgendaItem.position))
        )
    )
    rows = list(
        session.exec(
            select(Decision).where(col(Decision.meeting_id) == meeting_id).order_by(col(Decision.id))
        )
    )
    agreed = {
        a.decision_id: a
        for a in session.exec(
            select(MeetingAction)
            .where(col(MeetingAction.meeting_id) == meeting_id)
            .order_by(col(MeetingAction.id))
        )
    }
    decisions: dict[int, list[DecisionRead]] = {}
    for d in rows:
        action = agreed.get(saved_id(d))
        decisions.setdefault(d.agenda_item_id, []).append(
            DecisionRead(
                d.outcome,
                d.comment,
                people[d.recorded_by_id].name,
                d.recorded_at,
                [people[i].name for i in d.present_person_ids if i in people],
                dict(d.effect),
                dict(d.evidence),
                f"{action.title} (owner {people[action.owner_id].name}, due {action.due_on:%Y-%m-%d})"
                if action
                else "",
            )
        )
    settled = _decided_item_ids(session, meeting_id)
    positions = {i.id: i.position for i in items}
    decision_items = {d.id: d.agenda_item_id for d in rows}
    actions = [
        ActionRead(
            saved_id(a),
            a.title,
            people[a.owner_id].name,
            a.due_on,
            a.status,
            positions.get(decision_items.get(a.decision_id)),
            a.closing_note,
        )
        for a in agreed.values()
    ]
    previous = previous_meeting(session, meeting)
    return MeetingView(
        id=saved_id(meeting),
        title=meeting.title,
        business_unit=meeting.business_unit,
        held_at=meeting.held_at,
        status=meeting.status,
        created_by=people[meeting.created_by_id].name,
        agenda_generated_at=meeting.agenda_generated_at,
        closed_at=meeting.closed_at,
        previous=(saved_id(previous), previous.title, previous.held_at) if previous else None,
        attendees=attendees,
        items=[
            ItemRead(
                saved_id(i),
                i.position,
                i.kind,
                KIND_LABELS[i.kind],
                i.title,
                i.reason,
                i.link,
                i.model_id,
                dict(i.evidence),
                i.listed_at,
                decisions.get(saved_id(i), []),
                allowed_outcomes(i.kind, i.evidence),
                i.id in settled,
            )
            for i in items
        ],
        actions=actions,
    )
