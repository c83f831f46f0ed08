"""The lineage graph as an interactive plotly chart: layers left to right, colour by node type,
health on model versions, hover details, highlighted impact or trace."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.components.links import PAGES_DIR
from core.lineage.graph import LAYERS, PLURAL_LABELS, TYPE_LABELS, LineageGraph

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
    lines = [f"<b>{node.label}</b>", TYPE_LABELS[node.type]]
    lines += [f"{k}: {v}" for k, v in node.details.items() if v]
    if node.business_units and node.type in ("data_source", "dataset", "feature"):
        lines.append("serves: " + ", ".join(sorted(node.business_units)))
    return "<br>".join(lines)


def lineage_figure(
    graph: LineageGraph, positions: dict[str, tuple[float, float]], *, highlight: set[str], start: str | None
) -> Any:
    """The figure; with ``highlight`` set, everything else is greyed so the chain stands out."""
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
            name=TYPE_LABELS[node_type],
            legendgroup=node_type,
            marker={"color": COLOURS[node_type], "size": 11},
            hoverinfo="skip",
        )
        figure.add_scatter(
            x=[positions[n.key][0] for n in nodes],
            y=[positions[n.key][1] for n in nodes],
            mode="markers",
            name=TYPE_LABELS[node_type],
            legendgroup=node_type,
            showlegend=False,
            customdata=[n.key for n in nodes],
            hovertext=[_hover(n) for n in nodes],
            hoverinfo="text",
            marker={
                "color": COLOURS[node_type],
                "size": [SIZES[node_type] * (1.5 if n.key == start else 1) for n in nodes],
                "opacity": [1.0 if on else 0.18 for on in lit],
                "line": {
                    "width": [3 if n.type == "model_version" else 0.5 for n in nodes],
                    "color": [
                        HEALTH_RING.get(n.health or "", "#ffffff") if n.type == "model_version" else "#ffffff"
                        for n in nodes
                    ],
                },
            },
            text=[
                _text(n) if _labelled(n, on, dim, len(nodes)) and n.key != start else ""
                for n, on in zip(nodes, lit, strict=True)
            ],
            # inner layers: the label sits above the line leaving the node to the right, never struck through
            textposition="middle right" if node_type in ("data_source", "business_process") else "top right",
        )
    figure.update_traces(
        selector={"mode": "markers", "showlegend": False}, mode="markers+text", textfont={"size": 10}
    )
    if start in graph.nodes:  # name the starting point above it: its edges cover a label beside it
        x, y = positions[start]
        figure.add_annotation(
            x=x,
            y=y,
            text=f"<b>{graph.nodes[start].label}</b>",
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
            "ticktext": [PLURAL_LABELS[LAYERS[i]] for i in present],
            "range": [-0.3, len(present) + 0.1],
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


def _labelled(node: Any, lit: bool, dim: bool, layer_size: int) -> bool:
    """Name the nodes people navigate by: sources and processes always, other layers when they are
    small enough to read or, with a highlight, the highlighted ones outside the wide layers."""
    if node.type in ("data_source", "business_process"):
        return True
    if node.type in ("dataset", "feature"):
        return layer_size <= 15 and (lit or not dim)
    return lit if dim else layer_size <= 25


def _text(node: Any) -> str:
    if node.type == "model_version" and node.health in ("warning", "alert"):
        return f"{node.label} ({node.health})"
    return node.label


def health_legend() -> None:
    st.caption(
        "The ring around a model version shows its model's health: green healthy, amber warning, "
        "red alert, grey not monitored. Hover a node for details; click one to open it."
    )


def node_panel(node: Any) -> None:
    with st.container(border=True):
        st.markdown(f"**{node.label}** · {TYPE_LABELS[node.type]}")
        st.caption(" · ".join(f"{k}: {v}" for k, v in node.details.items() if v))
        if node.model_id is not None:
            st.page_link(
                PAGES_DIR / "model.py",
                label="Open the model page",
                icon=":material/open_in_new:",
                query_params={"model": str(node.model_id)},
            )
            st.page_link(
                PAGES_DIR / "explanations.py",
                label="Explain this model",
                icon=":material/lightbulb:",
                query_params={"model": str(node.model_id)},
            )
