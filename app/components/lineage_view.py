"""The lineage graph as an interactive plotly chart: layers left to right, colour by node type,
health on model versions, hover details, highlighted impact or trace."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.components.links import PAGES_DIR, persona_params
from app.components.text import chart, plain
from core.lineage.graph import (
    LAYERS,
    PLURAL_LABELS,
    TYPE_LABELS,
    UNIT_PREFIX,
    LineageGraph,
    filtered,
    layered_layout,
    neighbourhood,
)

IMPACT = "What breaks if a data source fails?"
TRACE = "What does a decision depend on?"
EXPLORE = "Just explore"

COLOURS = {
    "data_source": "#8c564b",
    "dataset": "#1f77b4",
    "feature": "#17becf",
    "model_version": "#9467bd",
    "deployment": "#ff7f0e",
    "business_process": "#2ca02c",
}
HEALTH_RING = {"ok": "#2ca02c", "warning": "#ff9f1c", "alert": "#d62728", "unknown": "#bbbbbb"}
SIZES = {
    "data_source": 16,
    "dataset": 11,
    "feature": 7,
    "model_version": 15,
    "deployment": 11,
    "business_process": 17,
}
HIGHLIGHT = "#e4572e"


def _hover(node: Any) -> str:
    lines = [f"<b>{chart(node.label)}</b>", TYPE_LABELS[node.type]]
    lines += [f"{chart(k)}: {chart(v)}" for k, v in node.details.items() if v]
    if node.business_units and node.type in ("data_source", "dataset", "feature"):
        lines.append("serves: " + chart(", ".join(sorted(node.business_units))))
    return "<br>".join(lines)


def lineage_figure(
    graph: LineageGraph,
    positions: dict[str, tuple[float, float]],
    *,
    highlight: set[str],
    start: str | None,
    units: bool = False,
) -> Any:
    """The figure; with ``highlight`` set, everything else is greyed so the chain stands out.
    ``units``: the collapsed portfolio (``by_business_unit``), whose right-hand nodes are units."""
    type_labels = {**TYPE_LABELS, "business_process": "Business unit"} if units else TYPE_LABELS
    plural_labels = (
        {**PLURAL_LABELS, "business_process": "Business units (click one to expand it)"}
        if units
        else PLURAL_LABELS
    )
    import plotly.graph_objects as go

    figure = go.Figure()
    dim = bool(highlight)
    for lit in (False, True):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for src, dst, _ in graph.edges:
            on = src in highlight | {start} and dst in highlight | {start}
            if on != lit:
                continue
            (x0, y0), (x1, y1) = positions[src], positions[dst]
            xs += [x0, x1, None]
            ys += [y0, y1, None]
        if xs:
            figure.add_scatter(
                x=xs,
                y=ys,
                mode="lines",
                hoverinfo="skip",
                showlegend=False,
                line={
                    "color": HIGHLIGHT if lit else ("#e6e6e6" if dim else "#c8c8c8"),
                    "width": 2.2 if lit else 0.8,
                },
            )
    for node_type in LAYERS:
        nodes = [n for n in graph.nodes.values() if n.type == node_type]
        if not nodes:
            continue
        lit = [not dim or n.key in highlight or n.key == start for n in nodes]
        # legend entry of its own, so dimmed nodes do not fade the legend symbol
        figure.add_scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=type_labels[node_type],
            legendgroup=node_type,
            marker={"color": COLOURS[node_type], "size": 11},
            hoverinfo="skip",
        )
        figure.add_scatter(
            x=[positions[n.key][0] for n in nodes],
            y=[positions[n.key][1] for n in nodes],
            mode="markers",
            name=type_labels[node_type],
            legendgroup=node_type,
            showlegend=False,
            customdata=[n.key for n in nodes],
            hovertext=[_hover(n) for n in nodes],
            hoverinfo="text",
            marker={
                "color": COLOURS[node_type],
                "size": [
                    SIZES[node_type] * (1.5 if n.key == start else 1) * (1.6 if units else 1) for n in nodes
                ],
                "opacity": [1.0 if on else 0.18 for on in lit],
                "line": {
                    "width": [3 if _ringed(n) else 0.5 for n in nodes],
                    "color": [
                        HEALTH_RING.get(n.health or "", "#ffffff") if _ringed(n) else "#ffffff" for n in nodes
                    ],
                },
            },
            text=[
                _text(n) if _labelled(n, on, dim, len(nodes)) and n.key != start else ""
                for n, on in zip(nodes, lit, strict=True)
            ],
            # inner layers: the label sits above the line leaving the node to the right, never struck through
            # sources are named on their left and processes on their right, where no link leaves them
            textposition="middle left"
            if node_type == "data_source"
            else "middle right"
            if node_type == "business_process"
            else "top right",
        )
    figure.update_traces(
        selector={"mode": "markers", "showlegend": False}, mode="markers+text", textfont={"size": 10}
    )
    if start in graph.nodes:  # name the starting point above it: its edges cover a label beside it
        x, y = positions[start]
        figure.add_annotation(
            x=x,
            y=y,
            text=f"<b>{chart(graph.nodes[start].label)}</b>",
            showarrow=False,
            yshift=20,
            xanchor="left",
            bgcolor="rgba(255,255,255,0.85)",
        )
    present = sorted({graph.nodes[k].layer for k in graph.nodes})
    widest = max((sum(1 for n in graph.nodes.values() if n.layer == layer) for layer in present), default=0)
    figure.update_layout(
        height=max(560, min(1800, 16 * widest + 140)),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "y": -0.06, "x": 0, "title": "Node type"},
        xaxis={
            "tickvals": list(range(len(present))),
            "ticktext": [plural_labels[LAYERS[i]] for i in present],
            "range": [-1.1, len(present) - 0.2] if units else [-0.9, len(present) + 0.1],
            "showgrid": False,
            "zeroline": False,
            "title": "Lineage layer: from the data (left) to the decisions it drives (right)",
            "side": "top",
        },
        yaxis={"visible": False, "range": [-0.02, 1.02]},
        clickmode="event+select",
        dragmode="pan",
    )
    return figure


def _is_unit(node: Any) -> bool:
    return bool(node.key.startswith(UNIT_PREFIX))


def _ringed(node: Any) -> bool:
    """Model versions and business units (their worst model) wear their health as a ring."""
    return node.type == "model_version" or _is_unit(node)


def _labelled(node: Any, lit: bool, dim: bool, layer_size: int) -> bool:
    """Name the nodes people navigate by: sources and processes always, other layers when they are
    small enough to read or, with a highlight, the highlighted ones outside the wide layers."""
    if node.type in ("data_source", "business_process"):
        return True
    if node.type in ("dataset", "feature"):
        return layer_size <= 15 and (lit or not dim)
    return lit if dim else layer_size <= 25


def _text(node: Any) -> str:
    if _ringed(node) and node.health in ("warning", "alert"):
        return f"{chart(node.label)} ({node.health})"
    return chart(node.label)


def follow_model_link(everything: LineageGraph) -> None:
    """Arriving with ``?model=ID`` (a link from a model's page): open its newest live version, in
    its business unit, with no question asked. Only when the parameter changed, so the reader's
    own choices afterwards stand."""
    param = st.query_params.get("model")
    if param == st.session_state.get("lineage.model.synced"):
        return
    st.session_state["lineage.model.synced"] = param
    versions = [n for n in everything.of_type("model_version") if param and str(n.model_id) == param]
    if versions:
        newest = max(versions, key=lambda n: (n.details.get("stage") == "production", n.live, n.id))
        st.session_state["lineage.filter.unit"] = next(iter(newest.business_units))
        st.session_state["lineage.question"] = EXPLORE
        st.session_state["lineage.open"] = newest.key


def explorer(graph: LineageGraph, reach: Any) -> None:
    """The graph (the impact or trace highlighted, else the opened object's chain), and the object
    clicked in it or picked below."""
    opened_before = st.session_state.get("lineage.open")
    if reach:
        highlight = set(reach.keys)
    elif opened_before in graph.nodes:
        highlight = neighbourhood(graph, opened_before)
    else:
        highlight = set()
    figure = lineage_figure(
        graph, layered_layout(graph), highlight=highlight, start=reach.start.key if reach else None
    )
    event = st.plotly_chart(
        figure, key="lineage.graph", on_select="rerun", selection_mode="points", width="stretch"
    )
    health_legend()
    picked = _picked(event)
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
        format_func=lambda k: node_name(graph, k),
    )
    if opened:
        node_panel(graph.nodes[opened])


def _picked(event: Any) -> list[str]:
    points = event.selection.get("points", []) if event else []
    keys = [p.get("customdata") for p in points if p.get("customdata")]
    return [k[0] if isinstance(k, list) else k for k in keys]


def overview(graph: LineageGraph, reach: Any, *, expand: str) -> None:
    """The collapsed portfolio (``by_business_unit``): clicking a unit expands it (``expand``: the
    session key the page reads before its unit filter is drawn)."""
    highlight: set[str] = set()
    if reach:  # the units the impact or trace reaches, by the reached objects' units
        reached = {
            u.strip() for cell in reach.table["business unit"] for u in str(cell).split(",") if u.strip()
        }
        highlight = {
            k for k, n in graph.nodes.items() if k in reach.keys or (_is_unit(n) and n.label in reached)
        }
        highlight |= {reach.start.key}
    figure = lineage_figure(graph, layered_layout(graph), highlight=highlight, start=None, units=True)
    tallest = max(len(graph.of_type("data_source")), len(graph.of_type("business_process")), 1)
    figure.update_layout(height=max(360, 70 * tallest))
    event = st.plotly_chart(
        figure, key="lineage.overview", on_select="rerun", selection_mode="points", width="stretch"
    )
    st.caption(
        "The portfolio by business unit: each unit stands for its datasets, models, deployments and "
        "processes, with the data sources it reads. The ring shows the unit's worst model health. Click a "
        "unit (or pick it above) to see everything in it; search above for any object."
    )
    units = [k for k in _picked(event) if k.startswith(UNIT_PREFIX)]
    if units:
        st.session_state[expand] = graph.nodes[units[0]].label
        st.rerun()


def search(everything: LineageGraph, *, unit_key: str, everything_label: str) -> None:
    """ "Find any object": picking one opens it, in its business unit (or in the whole portfolio)."""

    def found() -> None:
        key = st.session_state.get("lineage.search")
        if key not in everything.nodes:
            return
        node = everything.nodes[key]
        unit = min(node.business_units) if node.business_units else None
        st.session_state[unit_key] = unit or everything_label
        if key not in filtered(everything, business_unit=unit, live_only=True).nodes:
            st.session_state["lineage.filter.live"] = False  # it only fed what is no longer live
        hidden = st.session_state.get("lineage.filter.hidden")
        if hidden and node.type in hidden:  # show the layer of what was found
            st.session_state["lineage.filter.hidden"] = [t for t in hidden if t != node.type]
        st.session_state["lineage.question"] = EXPLORE
        st.session_state["lineage.open"] = key

    options = sorted(everything.nodes, key=lambda k: everything.nodes[k].label.lower())
    st.selectbox(
        "Find any object",
        options,
        index=None,
        key="lineage.search",
        placeholder="Type a model, dataset, feature, source, deployment or process",
        format_func=lambda k: node_name(everything, k),
        on_change=found,
    )


def node_name(graph: LineageGraph, key: str) -> str:
    """E.g. "income (feature of applications v2024-06)": features of different datasets share names."""
    node = graph.nodes[key]
    kind = TYPE_LABELS[node.type].lower()
    if node.type == "feature" and node.details.get("dataset"):
        kind += f" of {node.details['dataset']}"
    return f"{node.label} ({kind})"


def reach_summary(reach: Any) -> None:
    """What an impact or trace found, in one sentence: a warning when decisions are affected."""
    alert = reach.direction == "down" and "decisions are affected" in reach.sentence
    (st.warning if alert else st.info)(plain(reach.sentence), icon=":material/account_tree:")


def reach_table(reach: Any) -> None:
    if reach.table.empty:
        return
    st.subheader("Affected objects" if reach.direction == "down" else "Upstream chain")
    st.dataframe(
        reach.table.drop(columns=["key"]),
        hide_index=True,
        width="stretch",
        key="lineage.reach.table",
        column_config={
            "type": st.column_config.TextColumn("Type", width="small"),
            "name": st.column_config.TextColumn("Name", width="medium"),
            "business unit": st.column_config.TextColumn("Business unit"),
            "detail": st.column_config.TextColumn("Detail"),
            "health": st.column_config.TextColumn(
                "Health",
                help="A model version's health; a deployment's or process's is the worst of the versions it "
                "runs on. Data has none of its own.",
            ),
        },
    )


def health_legend() -> None:
    st.caption(
        "The ring around a model version shows its model's health: green healthy, amber warning, "
        "red alert, grey not monitored. Hover a node for details; click one to open it."
    )


def node_panel(node: Any) -> None:
    with st.container(border=True):
        st.markdown(f"**{plain(node.label)}** · {TYPE_LABELS[node.type]}")
        st.caption(plain(" · ".join(f"{k}: {v}" for k, v in node.details.items() if v)))
        if node.model_id is not None:
            st.page_link(
                PAGES_DIR / "model.py",
                label="Open the model page",
                icon=":material/open_in_new:",
                query_params={"model": str(node.model_id), **persona_params()},
            )
            st.page_link(
                PAGES_DIR / "explanations.py",
                label="Explain this model",
                icon=":material/lightbulb:",
                query_params={"model": str(node.model_id), **persona_params()},
            )
