"""Impact analysis ("if this source breaks, which decisions are affected?") and trace back
("what does this business process depend on?") on the lineage graph."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.errors import InvalidInput, NotFound
from core.lineage.graph import TYPE_LABELS, LineageGraph, Node, walk, worst_health

IMPACT_START_TYPES = ("data_source", "dataset")


@dataclass(frozen=True)
class Reach:
    """The nodes reached from ``start`` in one direction, grouped for display."""

    start: Node
    direction: str  # "down" (impact) or "up" (trace back)
    keys: frozenset[str]
    sentence: str
    table: pd.DataFrame  # type, name, business unit, detail, health


def find_node(graph: LineageGraph, node_type: str, name: str) -> Node:
    """The node of ``node_type`` called ``name`` (a dataset matches "name" for its newest version or
    "name vVERSION"); raises NotFound listing a few known names."""
    wanted = name.strip().lower()
    candidates = graph.of_type(node_type)
    exact = [n for n in candidates if n.label.lower() == wanted]
    if not exact and node_type == "dataset":
        exact = [n for n in candidates if n.label.lower().rsplit(" v", 1)[0] == wanted]
        exact = exact[-1:]  # newest by label order
    if not exact:
        known = ", ".join(n.label for n in candidates[:8]) or "none"
        raise NotFound(f"No {TYPE_LABELS[node_type].lower()} named '{name}'. Known: {known}.")
    return exact[0]


def impact(graph: LineageGraph, start_key: str) -> Reach:
    """Everything downstream of a data source or dataset: models, deployments, decisions."""
    start = _node(graph, start_key)
    if start.type not in IMPACT_START_TYPES + ("feature",):
        raise InvalidInput(
            f"impact analysis starts from a data source, dataset or feature, not a {TYPE_LABELS[start.type].lower()}."
        )
    keys = frozenset(walk(graph, [start_key], direction="down"))
    return Reach(
        start, "down", keys, _impact_sentence(graph, start, keys), _table(graph, keys, decisions_first=True)
    )


def trace_back(graph: LineageGraph, start_key: str) -> Reach:
    """Everything upstream of a business process (or deployment, model version): the chain it depends on."""
    start = _node(graph, start_key)
    keys = frozenset(walk(graph, [start_key], direction="up"))
    return Reach(start, "up", keys, _trace_sentence(graph, start, keys), _table(graph, keys))


def _node(graph: LineageGraph, node_key: str) -> Node:
    if node_key not in graph.nodes:
        raise NotFound(f"No lineage node {node_key} in this view.")
    return graph.nodes[node_key]


def _labels(graph: LineageGraph, keys: frozenset[str], node_type: str) -> list[str]:
    return sorted(graph.nodes[k].label for k in keys if graph.nodes[k].type == node_type)


def _models(graph: LineageGraph, keys: frozenset[str]) -> list[str]:
    return sorted(
        {graph.nodes[k].details.get("model", "") for k in keys if graph.nodes[k].type == "model_version"}
    )


def _impact_sentence(graph: LineageGraph, start: Node, keys: frozenset[str]) -> str:
    processes = [
        f"{graph.nodes[k].label} ({graph.nodes[k].details.get('business unit', '')})"
        for k in keys
        if graph.nodes[k].type == "business_process"
    ]
    models = _models(graph, keys)
    deployments = _labels(graph, keys, "deployment")
    if not models:
        return f"If {start.label} breaks, no model in this view depends on it."
    through = (
        f"through {len(models)} model{'s' if len(models) != 1 else ''} ({', '.join(models)}) "
        f"and {len(deployments)} deployment{'s' if len(deployments) != 1 else ''}"
    )
    if not processes:
        return f"If {start.label} breaks, no recorded business decision is affected, but it feeds {through}."
    return (
        f"If {start.label} breaks, these decisions are affected: {', '.join(sorted(processes))} — {through}."
    )


def _trace_sentence(graph: LineageGraph, start: Node, keys: frozenset[str]) -> str:
    sources = _labels(graph, keys, "data_source")
    datasets = _labels(graph, keys, "dataset")
    models = _models(graph, keys)
    if not keys:
        return f"{start.label} has no recorded inputs in this view."
    return (
        f"{start.label} depends on {len(models)} model{'s' if len(models) != 1 else ''} ({', '.join(models) or 'none'}), "
        f"{len(datasets)} dataset{'s' if len(datasets) != 1 else ''} and "
        f"{len(sources)} data source{'s' if len(sources) != 1 else ''} ({', '.join(sources) or 'none'})."
    )


def _table(graph: LineageGraph, keys: frozenset[str], *, decisions_first: bool = False) -> pd.DataFrame:
    """The reached objects, from the data to the decisions (or, ``decisions_first``, the other way)."""
    rows = []
    for k in keys:
        node = graph.nodes[k]
        rows.append(
            {
                "type": TYPE_LABELS[node.type],
                "name": node.label,
                "business unit": ", ".join(sorted(node.business_units)),
                "detail": _detail(node),
                "health": _health(graph, node),
                "layer": node.layer,
                "key": node.key,
            }
        )
    frame = pd.DataFrame(rows, columns=["type", "name", "business unit", "detail", "health", "layer", "key"])
    frame = frame.sort_values(["layer", "name"], ascending=[not decisions_first, True])
    return frame.drop(columns="layer").reset_index(drop=True)


HEALTH_WORDS = {"ok": "Healthy", "warning": "Warning", "alert": "Alert", "unknown": "Not monitored"}


def _health(graph: LineageGraph, node: Node) -> str:
    """A model version's health; for a deployment or process, the worst of the versions it runs on;
    data (sources, datasets, features) has no health of its own."""
    if node.type == "model_version":
        return HEALTH_WORDS.get(node.health or "unknown", "Not monitored")
    if node.type in ("deployment", "business_process"):
        upstream = [graph.nodes[k] for k in walk(graph, [node.key], direction="up")]
        worst = worst_health(n.health for n in upstream if n.type == "model_version")
        return HEALTH_WORDS.get(worst or "unknown", "Not monitored")
    return "Not applicable (data)"


def _detail(node: Node) -> str:
    if node.type == "model_version":
        return f"stage {node.details.get('stage', '')}"
    if node.type == "deployment":
        return f"{node.details.get('environment', '')}, {node.details.get('until', '')}"
    if node.type == "dataset":
        return f"{node.details.get('rows', '')} rows"
    if node.type == "business_process":
        return node.details.get("KPI", "")
    return node.details.get("kind", "") or node.details.get("type", "")
