"""Lineage: where each model's data comes from and which decisions depend on it.

Impact analysis (what breaks if a data source fails) and trace back (what a business process
depends on) on a layered graph: sources -> datasets -> features -> model versions ->
deployments -> business processes.
"""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import empty, lineage_view
from core.lineage.graph import LAYERS, PLURAL_LABELS, TYPE_LABELS, filtered, layered_layout
from core.lineage.impact import impact, trace_back

IMPACT, TRACE, EXPLORE = (
    "What breaks if a data source fails?",
    "What does a decision depend on?",
    "Just explore",
)

st.title("Lineage")
everything = cache.lineage_graph()
if not everything.nodes:
    empty.empty_state(
        "No lineage recorded yet",
        "Register data sources, datasets and deployments "
        "(`steward register-version` records dataset -> model links), or load `steward demo`.",
    )
    st.stop()

units = sorted({u for n in everything.nodes.values() for u in n.business_units})
param = st.query_params.get("model")  # a link from a model's page: its business unit, its versions opened
if param != st.session_state.get("lineage.model.synced"):
    st.session_state["lineage.model.synced"] = param
    versions = [n for n in everything.of_type("model_version") if param and str(n.model_id) == param]
    if versions:
        newest = max(versions, key=lambda n: (n.details.get("stage") == "production", n.live, n.id))
        st.session_state["lineage.filter.unit"] = next(iter(newest.business_units))
        st.session_state["lineage.question"] = EXPLORE
        st.session_state["lineage.open"] = newest.key
left, middle, right = st.columns([2, 3, 2])
unit = left.selectbox("Business unit", ["All business units", *units], key="lineage.filter.unit")
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
    everything, business_unit=None if unit.startswith("All") else unit, hidden_types=hidden, live_only=live
)
st.caption(f"{len(graph.nodes):,} of {len(everything.nodes):,} objects shown, {len(graph.edges):,} links.")

question = st.radio("Question", [IMPACT, TRACE, EXPLORE], horizontal=True, key="lineage.question")
reach = None
if question == IMPACT:
    starts = [n for t in ("data_source", "dataset") for n in graph.of_type(t)]
    if starts:
        shared = max(starts, key=lambda n: len(n.business_units))  # default: the most widely shared source
        chosen = st.selectbox(
            "Data source or dataset",
            [n.key for n in starts],
            index=starts.index(shared),
            format_func=lambda k: f"{graph.nodes[k].label} ({TYPE_LABELS[graph.nodes[k].type].lower()})",
            key="lineage.impact.start",
        )
        reach = impact(graph, chosen)
elif question == TRACE:
    processes = graph.of_type("business_process")
    if processes:
        chosen = st.selectbox(
            "Business process",
            [n.key for n in processes],
            format_func=lambda k: graph.nodes[k].label,
            key="lineage.trace.start",
        )
        reach = trace_back(graph, chosen)

if reach is not None:
    (st.warning if reach.direction == "down" and "decisions are affected" in reach.sentence else st.info)(
        reach.sentence, icon=":material/account_tree:"
    )

positions = layered_layout(graph)
figure = lineage_view.lineage_figure(
    graph, positions, highlight=set(reach.keys) if reach else set(), start=reach.start.key if reach else None
)
event = st.plotly_chart(
    figure, key="lineage.graph", on_select="rerun", selection_mode="points", width="stretch"
)
lineage_view.health_legend()

picked = (
    [p.get("customdata") for p in event.selection.get("points", []) if p.get("customdata")] if event else []
)
picked = [p[0] if isinstance(p, list) else p for p in picked]
options = sorted(graph.nodes, key=lambda k: (graph.nodes[k].layer, graph.nodes[k].label.lower()))
if picked and picked[0] in graph.nodes and picked[0] != st.session_state.get("lineage.clicked"):
    st.session_state["lineage.open"] = st.session_state["lineage.clicked"] = picked[0]  # a new click wins
if st.session_state.get("lineage.open") not in options:
    st.session_state.pop("lineage.open", None)  # filtered out of view
opened = st.selectbox(
    "Open an object",
    options,
    key="lineage.open",
    index=None,
    placeholder="Click a node or pick one",
    format_func=lambda k: f"{graph.nodes[k].label} ({TYPE_LABELS[graph.nodes[k].type].lower()})",
)
if opened:
    lineage_view.node_panel(graph.nodes[opened])

if reach is not None and not reach.table.empty:
    st.subheader("Affected objects" if reach.direction == "down" else "Upstream chain")
    st.dataframe(
        reach.table.drop(columns=["key"]), hide_index=True, width="stretch", key="lineage.reach.table"
    )
