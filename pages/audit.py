"""Audit: the hash-chained log of every change — its verdict, filters by model, person, action and
date, and a CSV export of what the filters select."""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import audit_view

PAGE_SIZE = 200  # events a page; the pager goes through the whole log, the export holds every match
EXPORT_CAP = 200_000

st.title("Audit log")
audit_view.verdict(cache.audit_verdict())

options = cache.audit_filter_options()
models = dict(options.models)
actors = dict(options.actors)
f = st.columns([2, 2, 3, 2])
model_id = f[0].selectbox(
    "Model", [None, *models], key="audit.filter.model", format_func=lambda i: models[i] if i else "All models"
)
actor_id = f[1].selectbox(
    "Person",
    [None, *actors],
    key="audit.filter.person",
    format_func=lambda i: actors[i] if i else "Everybody",
)
actions = f[2].multiselect(
    "Action",
    options.actions,
    key="audit.filter.action",
    placeholder="All actions",
    format_func=lambda name: options.action_labels.get(name, name),
)
dates = f[3].date_input(
    "Dates (UTC)", value=(), key="audit.filter.dates", format="YYYY-MM-DD", max_value=cache.today()
)
date_from, date_to = audit_view.date_range(dates)
filters = {
    "model_id": model_id,
    "actor_id": actor_id,
    "actions": tuple(actions),
    "date_from": date_from,
    "date_to": date_to,
}

total = cache.audit_event_count(**filters)
count_col, page_col, export_col = st.columns([3, 1, 1], vertical_alignment="bottom")
with page_col:
    offset = audit_view.page_picker(total, PAGE_SIZE, key="audit.page", filters=filters)
events = cache.audit_events(**filters, limit=PAGE_SIZE, offset=offset)
count_col.caption(audit_view.shown_caption(total, offset, len(events)))
if total:
    with export_col:
        audit_view.export_button(
            lambda: cache.audit_events(**filters, limit=EXPORT_CAP),
            key="audit.export",
            too_many=total > EXPORT_CAP,
            cap=EXPORT_CAP,
        )
audit_view.events_table(events, key="audit.events")
