"""Review meetings: plan a meeting, walk its generated agenda (or present it one item at a time),
record decisions with the attendees present, follow up actions, export the minutes.
``?meeting=ID`` opens that meeting."""

from __future__ import annotations

from datetime import time, timedelta

import streamlit as st

from app import cache, identity
from app.components import meeting_view
from app.components.choice import stable_selectbox
from app.feedback_actions import perform
from core.db.types import utcnow
from core.governance import meetings

SELECT = "meetings.select"
PRESENTER = "meetings.presenter.on"
INDEX = "meetings.presenter.index"

st.title("Review meetings")
actor = identity.current_actor()
people = {p.id: p.name for p in cache.personas() if not p.is_system}
units = sorted({c.business_unit for c in cache.model_choices()})

presenting = bool(st.session_state.get(PRESENTER))  # a shared screen shows the item, not the page's tools
if identity.can("meeting.manage") and not presenting:
    with st.expander("Plan a new meeting", icon=":material/event:"):
        with st.form("meetings.new"):
            title = st.text_input("Title", "Model risk committee", key="meetings.new.title")
            c = st.columns(3)
            day = c[0].date_input("Date", utcnow().date() + timedelta(days=7), key="meetings.new.date")
            at = c[1].time_input("Time (UTC)", time(14, 0), key="meetings.new.time")
            scope = c[2].selectbox(
                "Scope", ["", *units], key="meetings.new.scope", format_func=lambda u: u or "Whole portfolio"
            )
            attendees = st.multiselect(
                "Attendees",
                list(people),
                format_func=people.__getitem__,
                key="meetings.new.attendees",
                default=[actor.id] if actor and actor.id in people else [],
            )
            if st.form_submit_button("Create meeting and generate its agenda", type="primary"):
                done = perform(
                    meetings.create_meeting,
                    title=title,
                    held_at=meeting_view.meeting_when(day, at),
                    attendee_ids=attendees,
                    business_unit=scope,
                )
                if done.ok:
                    st.session_state[SELECT] = done.result
                    for field in (
                        "title",
                        "date",
                        "time",
                        "scope",
                        "attendees",
                    ):  # a fresh form for the next one
                        st.session_state.pop(f"meetings.new.{field}", None)
                    st.rerun()
                st.error(done.error, icon=":material/error:")

listing = cache.meetings_list()
if listing.empty:
    st.info(
        "No review meeting yet. Plan one above: its agenda is generated from the registry.",
        icon=":material/info:",
    )
    st.stop()
ids = [int(i) for i in listing["id"]]
param = st.query_params.get("meeting")
if param and param.isdigit() and int(param) in ids and SELECT not in st.session_state:
    st.session_state[SELECT] = int(param)
if st.session_state.get(SELECT) not in ids:  # default: the next planned meeting, else the newest
    planned = listing[listing["status"] == "planned"].sort_values("held_at")
    st.session_state[SELECT] = int(planned["id"].iloc[0]) if not planned.empty else ids[0]
labels = {
    int(r.id): f"{r.title} — {r.held_at:%Y-%m-%d} ({r.status}, {r.items} items)" for r in listing.itertuples()
}
meeting_id = stable_selectbox("Meeting", ids, key=SELECT, format_func=labels.__getitem__)
st.query_params["meeting"] = str(meeting_id)
view = cache.meeting(meeting_id)
can_decide = view.status == "planned" and identity.can("meeting.manage", view.business_unit or None)

meeting_view.header(view, compact=presenting)
tools = st.columns([2, 2, 2, 2, 3])
presenting = tools[0].toggle(
    "Presenter mode", key=PRESENTER, help="One item at a time in large type, for a shared screen."
)
if can_decide and tools[1].button(
    "Refresh agenda",
    key="meetings.refresh",
    icon=":material/refresh:",
    help="Add what is new in the registry; decided items stay as they were.",
):
    done = perform(meetings.refresh_agenda, meeting_id=meeting_id)
    if done.ok:
        st.toast(f"Agenda refreshed: {done.result['added']} added, {done.result['dropped']} dropped.")
        st.rerun()
    st.error(done.error)
tools[2].download_button(
    "Minutes (HTML)",
    data=lambda: cache.minutes_file(meeting_id, "html"),
    key="meetings.export.html",
    file_name=f"meeting-{meeting_id}-minutes.html",
    mime="text/html",
    icon=":material/download:",
)
tools[3].download_button(
    "Minutes (PDF)",
    data=lambda: cache.minutes_file(meeting_id, "pdf"),
    key="meetings.export.pdf",
    file_name=f"meeting-{meeting_id}-minutes.pdf",
    mime="application/pdf",
    icon=":material/download:",
)
if can_decide and tools[4].button(
    "Close the meeting",
    key="meetings.close",
    icon=":material/lock:",
    help="Freezes agenda, evidence and decisions; open actions carry over.",
):
    done = perform(meetings.close_meeting, meeting_id=meeting_id)
    if done.ok:
        st.rerun()
    st.error(done.error)

attendees = {pid: name for pid, name, _ in view.attendees}
present = st.multiselect(
    "Attendees present",
    list(attendees),
    default=list(attendees),
    format_func=attendees.__getitem__,
    key=f"meetings.present.{meeting_id}",
    disabled=not can_decide,
)


def decide(item: meetings.ItemRead) -> None:
    """The decision inputs of one item, when it is open and the person may record decisions."""
    if not can_decide or item.settled:
        return
    with st.expander("Record the decision", icon=":material/gavel:", expanded=presenting):
        args = meeting_view.decision_inputs(
            item, people=people, meeting_day=view.held_at.date(), key=f"meetings.decide.{item.id}"
        )
    if args is not None:
        done = perform(meetings.record_decision, item_id=item.id, present_ids=present, **args)
        if done.ok:
            st.rerun()
        st.error(done.error, icon=":material/error:")


if not view.items:
    st.info("Nothing on the agenda: the registry raised no item for this meeting.", icon=":material/info:")
elif presenting:
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
        decide(view.items[index])
else:
    st.subheader(f"Agenda ({len(view.items)} items, {sum(i.settled for i in view.items)} decided)")
    for item in view.items:
        with st.container(border=True):
            meeting_view.item_card(item)
            left, right = st.columns(2)
            with left:
                meeting_view.frozen_evidence(item)
            with right:
                decide(item)

if presenting:  # the shared screen shows the agenda item only
    st.stop()
st.subheader("Open actions from all meetings")
actions = cache.open_actions()
meeting_view.actions_table(actions, key="meetings.actions")
if not actions.empty and identity.can("meeting.manage"):
    with st.form("meetings.actions.close"):
        titles = {int(r.id): f"{r.title} ({r.owner}, due {r.due_on:%Y-%m-%d})" for r in actions.itertuples()}
        action_id = st.selectbox(
            "Action", list(titles), format_func=titles.__getitem__, key="meetings.actions.pick"
        )
        note = st.text_input("How it was done", key="meetings.actions.note")
        if st.form_submit_button("Close the action"):
            done = perform(meetings.close_action, action_id=action_id, note=note)
            if done.ok:
                st.rerun()
            st.error(done.error, icon=":material/error:")
