"""Lineage: where each model's data comes from and which decisions depend on it.

Impact analysis (what breaks if a data source fails) and trace back (what a business process
depends on) on a layered graph: sources -> datasets -> features -> model versions ->
deployments -> business processes. ``?model=ID`` opens that model's newest version.
"""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import empty, lineage_view
from app.components.lineage_view import EXPLORE, IMPACT, TRACE
from app.panels import lineage_forms
from core.lineage.graph import LAYERS, PLURAL_LABELS, by_business_unit, filtered
from core.lineage.impact import impact, trace_back

BY_UNIT = "All business units, by unit"
EVERY_OBJECT = "All business units, every object"
EXPAND = "lineage.expand"  # set by a click on a unit in the overview, read before the unit filter

st.title("Lineage")
everything = cache.lineage_graph()
if not everything.nodes:
    empty.empty_state(
        "No lineage recorded yet",
        "Register data sources, datasets and deployments "
        "(`steward register-version` records dataset -> model links), or load `steward demo`.",
    )
    lineage_forms.section()
    st.stop()

lineage_view.follow_model_link(everything)
if EXPAND in st.session_state:  # a unit clicked in the overview: expand it
    st.session_state["lineage.filter.unit"] = st.session_state.pop(EXPAND)
lineage_view.search(everything, unit_key="lineage.filter.unit", everything_label=EVERY_OBJECT)
units = sorted({u for n in everything.nodes.values() for u in n.business_units})
left, middle, right = st.columns([2, 3, 2])
unit = left.selectbox("Business unit", [BY_UNIT, EVERY_OBJECT, *units], key="lineage.filter.unit")
hidden = middle.multiselect(
    "Collapse layers (paths through them are kept)",
    list(LAYERS[1:5]),
    default=["feature"],
    format_func=PLURAL_LABELS.get,
    key="lineage.filter.hidden",
)
live = right.toggle(
    "Only what is live now",
    value=True,
    key="lineage.filter.live",
    help="Hide archived versions and ended deployments, and data that only fed them.",
)
graph = filtered(
    everything, business_unit=unit if unit in units else None, hidden_types=hidden, live_only=live
)
st.caption(
    f"{len(everything.nodes):,} objects in {len(units)} business units, shown by unit."
    if unit == BY_UNIT
    else f"{len(graph.nodes):,} of {len(everything.nodes):,} objects in view, {len(graph.edges):,} links."
)

question = st.radio("Question", [IMPACT, TRACE, EXPLORE], horizontal=True, key="lineage.question")
reach = None
if question == IMPACT and (starts := [n for t in ("data_source", "dataset") for n in graph.of_type(t)]):
    shared = max(starts, key=lambda n: len(n.business_units))  # default: the most widely shared source
    chosen = st.selectbox(
        "Data source or dataset",
        [n.key for n in starts],
        index=starts.index(shared),
        format_func=lambda k: lineage_view.node_name(graph, k),
        key="lineage.impact.start",
    )
    reach = impact(graph, chosen)
elif question == TRACE and (processes := graph.of_type("business_process")):
    chosen = st.selectbox(
        "Business process",
        [n.key for n in processes],
        format_func=lambda k: graph.nodes[k].label,
        key="lineage.trace.start",
    )
    reach = trace_back(graph, chosen)

if reach is not None:
    lineage_view.reach_summary(reach)
if unit == BY_UNIT:  # the portfolio opens collapsed: sources and units, every label readable
    lineage_view.overview(by_business_unit(everything, live_only=live), reach, expand=EXPAND)
else:
    lineage_view.explorer(graph, reach)
if reach is not None:
    lineage_view.reach_table(reach)
lineage_forms.section()  # data sources, processes, features and links
