"""Review meetings: plan one, the tools of an open meeting (refresh the agenda, export the
minutes, close it), record decisions on its items with the attendees present, present it one
item at a time, and close the actions it agreed. Every write goes through app.actions."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import streamlit as st

from app import actions, cache, identity
from app.components import meeting_view
from core.governance import meetings
from core.governance.meetings import OUTCOME_LABELS, ItemRead, MeetingView

SELECT = "meetings.select"
PRESENTER = "meetings.presenter.on"
INDEX = "meetings.presenter.index"
STALE = (cache.MEETINGS,)
# A decision can approve a promotion or a rule and close an action: all of them go stale.
DECIDED = (cache.MEETINGS, cache.PROMOTIONS, cache.MODELS, cache.RULES, cache.RETRAINING)
_NEW_FIELDS = ("title", "date", "time", "scope", "attendees")


def people() -> dict[int, str]:
    """Who can attend or own an action: every person but the system account."""
    return {p.id: p.name for p in cache.personas() if not p.is_system}


def plan() -> None:
    """ "Plan a new meeting" for people who manage meetings; a new meeting opens at once."""
    if not identity.can("meeting.manage") or st.session_state.get(PRESENTER):
        return  # a shared screen shows the item, not the page's tools
    actor = identity.current_actor()
    names = people()
    units = sorted({c.business_unit for c in cache.model_choices()})
    with st.expander("Plan a new meeting", icon=":material/event:"), st.form("meetings.new"):
        title = st.text_input("Title", "Model risk committee", key="meetings.new.title")
        c = st.columns(3)
        day = c[0].date_input("Date", cache.today() + timedelta(days=7), key="meetings.new.date")
        at = c[1].time_input("Time (UTC)", time(14, 0), key="meetings.new.time")
        scope = c[2].selectbox(
            "Scope", ["", *units], key="meetings.new.scope", format_func=lambda u: u or "Whole portfolio"
        )
        attendees = st.multiselect(
            "Attendees",
            list(names),
            format_func=names.__getitem__,
            key="meetings.new.attendees",
            default=[actor.id] if actor and actor.id in names else [],
        )
        if st.form_submit_button("Create meeting and generate its agenda", type="primary"):
            done = actions.perform(
                meetings.create_meeting,
                stale=STALE,
                title=title,
                held_at=meeting_view.meeting_when(day, at),
                attendee_ids=attendees,
                business_unit=scope,
            )
            if done.ok:
                st.session_state[SELECT] = done.result  # open the new meeting
                for field in _NEW_FIELDS:  # a fresh form for the next one
                    st.session_state.pop(f"meetings.new.{field}", None)
                st.rerun()
            actions.show_error(done)


def presenting() -> bool:
    return bool(st.session_state.get(PRESENTER))


def tools(view: MeetingView) -> None:
    """Presenter mode, refresh the agenda, the minutes as HTML or PDF, close the meeting."""
    decides = _decides(view)
    row = st.columns([2, 2, 2, 2, 3])
    row[0].toggle(
        "Presenter mode", key=PRESENTER, help="One item at a time in large type, for a shared screen."
    )
    if decides and row[1].button(
        "Refresh agenda",
        key="meetings.refresh",
        icon=":material/refresh:",
        help="Add what is new in the registry; decided items stay as they were.",
    ):
        actions.submit(
            meetings.refresh_agenda,
            stale=STALE,
            success=lambda r: f"Agenda refreshed: {r['added']} added, {r['dropped']} dropped.",
            meeting_id=view.id,
        )
    for column, fmt, mime in ((row[2], "html", "text/html"), (row[3], "pdf", "application/pdf")):
        column.download_button(
            f"Minutes ({fmt.upper()})",
            data=lambda fmt=fmt: cache.minutes_file(view.id, fmt),
            key=f"meetings.export.{fmt}",
            file_name=f"meeting-{view.id}-minutes.{fmt}",
            mime=mime,
            on_click="ignore",  # a download needs no run of the page
            icon=":material/download:",
        )
    if decides and row[4].button(
        "Close the meeting",
        key="meetings.close",
        icon=":material/lock:",
        help="Freezes agenda, evidence and decisions; open actions carry over.",
    ):
        actions.submit(meetings.close_meeting, stale=STALE, success="Meeting closed.", meeting_id=view.id)


def _decides(view: MeetingView) -> bool:
    return view.takes_decisions and identity.can("meeting.manage", view.business_unit or None)


def agenda(view: MeetingView) -> None:
    """Who is present, then the agenda: every item with its evidence and, while the meeting takes
    decisions, the decision inputs (in presenter mode one item at a time)."""
    attendees = {pid: name for pid, name, _ in view.attendees}
    present = st.multiselect(
        "Attendees present",
        list(attendees),
        default=list(attendees),
        format_func=attendees.__getitem__,
        key=f"meetings.present.{view.id}",
        disabled=not _decides(view),
    )
    if not view.items:
        st.info(
            "Nothing on the agenda: the registry raised no item for this meeting.", icon=":material/info:"
        )
    elif presenting():
        index = min(st.session_state.get(INDEX, 0), len(view.items) - 1)
        prev_col, next_col, _ = st.columns([1, 1, 6])
        if prev_col.button(
            "Previous", key="meetings.presenter.prev", icon=":material/arrow_back:", disabled=index == 0
        ):
            st.session_state[INDEX] = index - 1
            st.rerun()
        if next_col.button(
            "Next",
            key="meetings.presenter.next",
            icon=":material/arrow_forward:",
            disabled=index >= len(view.items) - 1,
        ):
            st.session_state[INDEX] = index + 1
            st.rerun()
        with st.container(border=True):
            meeting_view.presenter(view, index)
            _decide(view, view.items[index], present)
    else:
        st.subheader(f"Agenda ({len(view.items)} items, {sum(i.settled for i in view.items)} decided)")
        for item in view.items:
            with st.container(border=True):
                meeting_view.item_card(item)
                left, right = st.columns(2)
                with left:
                    meeting_view.frozen_evidence(item)
                with right:
                    _decide(view, item, present)


def _decide(view: MeetingView, item: ItemRead, present: list[int]) -> None:
    """The decision inputs of one item, when it is open and the person may record decisions."""
    if not _decides(view) or item.settled:
        return
    with st.expander("Record the decision", icon=":material/gavel:", expanded=presenting()):
        args = _decision_inputs(
            item, people=people(), meeting_day=view.held_at.date(), key=f"meetings.decide.{item.id}"
        )
    if args is not None:
        actions.submit(meetings.record_decision, stale=DECIDED, item_id=item.id, present_ids=present, **args)


def open_actions() -> None:
    """Open actions of every meeting, and closing one with a note."""
    st.subheader("Open actions from all meetings")
    listed = cache.open_actions()
    meeting_view.actions_table(listed, key="meetings.actions")
    if listed.empty or not identity.can("meeting.manage"):
        return
    with st.form("meetings.actions.close"):
        titles = {int(r.id): f"{r.title} ({r.owner}, due {r.due_on:%Y-%m-%d})" for r in listed.itertuples()}
        action_id = st.selectbox(
            "Action", list(titles), format_func=titles.__getitem__, key="meetings.actions.pick"
        )
        note = st.text_input("How it was done", key="meetings.actions.note")
        if st.form_submit_button("Close the action"):
            actions.submit(
                meetings.close_action, stale=STALE, success="Action closed.", action_id=action_id, note=note
            )


def _decision_inputs(
    item: ItemRead, *, people: dict[int, str], meeting_day: date, key: str
) -> dict[str, Any] | None:
    """Inputs for the next decision on an item; returns record_decision's arguments when submitted."""
    outcome = st.radio(
        "Decision",
        list(item.outcomes),
        key=f"{key}.outcome",
        horizontal=True,
        index=None,
        format_func=OUTCOME_LABELS.__getitem__,
    )
    if outcome is None:
        st.caption("Choose a decision to record it.")
        return None
    comment = st.text_input(
        "Comment (a reason is required to reject or close an action)", key=f"{key}.comment"
    )
    args: dict[str, Any] = {"outcome": outcome, "comment": comment}
    if outcome == "action":
        c = st.columns([3, 2, 1])
        args["action_title"] = c[0].text_input(
            "Action", key=f"{key}.action.title", placeholder="What must be done"
        )
        args["action_owner_id"] = c[1].selectbox(
            "Owner",
            list(people),
            format_func=people.__getitem__,
            key=f"{key}.action.owner",
            index=None,
            placeholder="Who does it",
        )
        args["action_due"] = c[2].date_input(
            "Due", value=meeting_day + timedelta(weeks=4), key=f"{key}.action.due", min_value=meeting_day
        )
    if item.kind == "promotion_request" and outcome == "approve":
        args["override_reason"] = st.text_input(
            "Override reason (needed only when an evidence gate failed)", key=f"{key}.override"
        )
    if st.button("Record decision", key=f"{key}.submit", type="primary"):
        return args
    return None
