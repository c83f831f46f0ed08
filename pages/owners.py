"""Owners: who answers for which model, and where knowledge could be lost."""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import empty, owners_view
from app.panels import owner_forms, retraining
from core.registry.reads import MANY_MODELS_THRESHOLD, filter_owners

st.title("Owners")
overview = cache.owners_overview()
if overview.matrix.empty:
    empty.empty_registry()
    owner_forms.people_section()  # people come before models: add them here
    st.stop()

names = dict(overview.persons)
person_col, team_col = st.columns(2)
person_id = person_col.selectbox(
    "Person",
    [None, *names],
    key="owners.filter.person",
    format_func=lambda i: "Everyone" if i is None else names[i],
)
team = team_col.selectbox(
    "Team", ["", *overview.teams], key="owners.filter.team", format_func=lambda t: t or "All teams"
)
shown = filter_owners(overview, person_id=person_id, team=team)

st.subheader("Knowledge-loss risks")
st.caption(
    "Models whose owner has left, models without a backup or without an accountable or technical owner, "
    f"and people who own {MANY_MODELS_THRESHOLD} or more models."
)
owners_view.risk_summary(shown.flags)
owners_view.flags_table(shown.flags)

st.subheader("Who owns what")
owners_view.matrix_table(shown.matrix)
owner_forms.owners_section()  # name, remove owners of one model (role, from, why)

st.subheader("People")
owners_view.people_table(shown.people)
owner_forms.hand_over_section()
owner_forms.people_section()  # add people, mark someone as left with the hand-over of their roles

retraining.owners_section(person_id)  # open retraining requests and loop times per model
