"""Review meetings: plan a meeting, walk its generated agenda (or present it one item at a time),
record decisions with the attendees present, follow up actions, export the minutes.
``?meeting=ID`` opens that meeting."""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import meeting_view
from app.components.choice import choose
from app.panels import meetings as panel
from core.governance.meetings import default_meeting

st.title("Review meetings")
panel.plan()

listing = cache.meetings_list()
if listing.empty:
    st.info(
        "No review meeting yet. Plan one above: its agenda is generated from the registry.",
        icon=":material/info:",
    )
    st.stop()
labels = {
    int(r.id): f"{r.title} — {r.held_at:%Y-%m-%d} ({r.status}, {r.items} items)" for r in listing.itertuples()
}
meeting_id = choose(
    "Meeting",
    list(labels),
    key=panel.SELECT,
    param="meeting",
    default=lambda: default_meeting(listing),  # the next planned meeting, else the newest
    format_func=labels.__getitem__,
)
view = cache.meeting(meeting_id)
meeting_view.header(view, compact=panel.presenting())
panel.tools(view)
panel.agenda(view)
if not panel.presenting():  # the shared screen shows the agenda item only
    panel.open_actions()
