"""Labelling: domain experts label sampled production predictions one case at a time; owners
and approvers create campaigns and review agreement between labellers.

The next case always comes from the core (the first case this person has not answered that
still needs labels), and every answer is written at once, so reruns, refreshes and two tabs
neither lose nor repeat anything."""

from __future__ import annotations

import streamlit as st

from app import identity
from app.components import empty
from app.panels import labelling

st.title("Labelling")
actor = identity.current_actor()
if actor is None:
    empty.empty_state("Nobody to label as", "Pick a person in the sidebar (or sign in) to label cases.")
    st.stop()

label_tab, manage_tab = st.tabs(["Label cases", "Campaigns"])
with label_tab:
    labelling.label_cases(actor)
with manage_tab:
    labelling.campaigns()
