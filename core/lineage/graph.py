"""The lineage graph: data sources -> datasets -> features -> model versions -> deployments ->
business processes, read from the registry into plain values, filtered, and laid out in layers.

Edges come from ``lineage_edge`` (written by the registry services, which refuse cycles), so
the graph is a DAG. Every node carries the business units it serves: a model version its
model's unit, a deployment and a process theirs, and a data source, dataset or feature the
units of every model version downstream of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core import clock
from core.db.models import (
    BusinessProcess,
    Dataset,
    DataSource,
    Deployment,
    Feature,
    LineageEdge,
    Model,
    ModelHealth,
    ModelVersion,
)
from core.db.models.registry import LINEAGE_NODE_TYPES

LAYERS = LINEAGE_NODE_TYPES  # left to right
TYPE_LABELS = {
    "data_source": "Data source",
    "dataset": "Dataset",
    "feature": "Feature",
    "model_version": "Model version",
    "deployment": "Deployment",
    "business_process": "Business process",
}
PLURAL_LABELS = {
    "data_source": "Data sources",
    "dataset": "Datasets",
    "feature": "Features",
    "model_version": "Model versions",
    "deployment": "Deployments",
    "business_process": "Business processes",
}
LIVE_STAGES = ("production", "staging")


@dataclass(frozen=True)
class Node:
    key: str  # "<type>:<id>"
    type: str
    id: int
    label: str
    details: dict[str, str]
    business_units: frozenset[str] = frozenset()
    health: str | None = None  # model versions: ok / warning / alert / unknown
    model_id: int | None = None
    live: bool = True  # versions in production/staging or deployed now; deployments not ended

    @property
    def layer(self) -> int:
        return LAYERS.index(self.type)


@dataclass(frozen=True)
class LineageGraph:
    nodes: dict[str, Node]
    edges: tuple[tuple[str, str, str], ...]  # (source key, target key, relation)
    _children: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    _parents: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for src, dst, _ in self.edges:
            self._children.setdefault(src, []).append(dst)
            self._parents.setdefault(dst, []).append(src)

    def children(self, key: str) -> list[str]:
        return self._children.get(key, [])

    def parents(self, key: str) -> list[str]:
        return self._parents.get(key, [])

    def of_type(self, node_type: str) -> list[Node]:
        return sorted((n for n in self.nodes.values() if n.type == node_type), key=lambda n: n.label.lower())


def key(node_type: str, node_id: int) -> str:
    return f"{node_type}:{node_id}"


def build_graph(session: Session, *, now: datetime | None = None) -> LineageGraph:
    """Every lineage node and edge in the registry, with labels, hover details and health."""
    now = now or clock.now()
    models = {int(m.id): m for m in session.exec(select(Model)) if m.id is not None}
    health = {h.model_id: h.status for h in session.exec(select(ModelHealth))}
    versions = {int(v.id): v for v in session.exec(select(ModelVersion)) if v.id is not None}
    deployments = list(session.exec(select(Deployment)))
    datasets = {int(d.id): d for d in session.exec(select(Dataset)) if d.id is not None}
    nodes: dict[str, Node] = {}
    for node in [
        *_source_nodes(session),
        *_dataset_nodes(datasets),
        *_feature_nodes(session, datasets),
        *_version_nodes(
            versions, models, health, {d.model_version_id for d in deployments if _deployment_live(d, now)}
        ),
        *_deployment_nodes(deployments, versions, models, now),
        *_process_nodes(session),
    ]:
        nodes[node.key] = node
    edges = tuple(
        (key(e.src_type, e.src_id), key(e.dst_type, e.dst_id), e.relation)
        for e in session.exec(select(LineageEdge).order_by(col(LineageEdge.id)))
        if key(e.src_type, e.src_id) in nodes and key(e.dst_type, e.dst_id) in nodes
    )
    return _with_upstream_units(LineageGraph(nodes, edges))


def _node(node_type: str, node_id: int | None, label: str, details: dict[str, str], **extra: Any) -> Node:
    assert node_id is not None  # rows read from the database have their id
    return Node(key(node_type, node_id), node_type, node_id, label, details, **extra)


def _source_nodes(session: Session) -> list[Node]:
    return [
        _node(
            "data_source", s.id, s.name, {"kind": s.kind, "location": s.location, "owner team": s.owner_team}
        )
        for s in session.exec(select(DataSource))
    ]


def _dataset_nodes(datasets: dict[int, Dataset]) -> list[Node]:
    return [_node("dataset", d.id, f"{d.name} v{d.version}", _dataset_details(d)) for d in datasets.values()]


def _feature_nodes(session: Session, datasets: dict[int, Dataset]) -> list[Node]:
    nodes = []
    for f in session.exec(select(Feature)):
        owner = datasets.get(f.dataset_id)
        nodes.append(
            _node(
                "feature",
                f.id,
                f.name,
                {"type": f.dtype, "dataset": f"{owner.name} v{owner.version}" if owner else ""},
            )
        )
    return nodes


def _version_nodes(
    versions: dict[int, ModelVersion], models: dict[int, Model], health: dict[int, str], deployed: set[int]
) -> list[Node]:
    nodes = []
    for version_id, v in versions.items():
        model = models[v.model_id]
        status = health.get(v.model_id, "unknown")
        nodes.append(
            _node(
                "model_version",
                version_id,
                f"{model.name} v{v.version}",
                {
                    "model": model.name,
                    "stage": v.stage,
                    "business unit": model.business_unit,
                    "health": status,
                    "status": model.status,
                },
                business_units=frozenset({model.business_unit}),
                health=status,
                model_id=v.model_id,
                live=v.stage in LIVE_STAGES or version_id in deployed,
            )
        )
    return nodes


def _deployment_nodes(
    deployments: list[Deployment], versions: dict[int, ModelVersion], models: dict[int, Model], now: datetime
) -> list[Node]:
    nodes = []
    for d in deployments:
        v = versions[d.model_version_id]
        model = models[v.model_id]
        nodes.append(
            _node(
                "deployment",
                d.id,
                f"{model.name} v{v.version} ({d.environment})",
                {
                    "environment": d.environment,
                    "endpoint": d.endpoint,
                    "since": d.since.date().isoformat(),
                    "until": d.until.date().isoformat() if d.until else "running",
                },
                business_units=frozenset({model.business_unit}),
                model_id=v.model_id,
                live=_deployment_live(d, now),
            )
        )
    return nodes


def _process_nodes(session: Session) -> list[Node]:
    return [
        _node(
            "business_process",
            p.id,
            p.name,
            {"business unit": p.business_unit, "KPI": f"{p.kpi} ({p.kpi_unit})" if p.kpi_unit else p.kpi},
            business_units=frozenset({p.business_unit}),
        )
        for p in session.exec(select(BusinessProcess))
    ]


def _deployment_live(deployment: Deployment, now: datetime) -> bool:
    return deployment.until is None or deployment.until > now


def _dataset_details(d: Dataset) -> dict[str, str]:
    details = {
        "version": d.version,
        "rows": f"{d.row_count:,}",
        "hash": (d.content_hash[:12] + "…") if d.content_hash else "none",
    }
    if d.date_from and d.date_to:
        details["period"] = f"{d.date_from.isoformat()} to {d.date_to.isoformat()}"
    return details


def _with_upstream_units(graph: LineageGraph) -> LineageGraph:
    """Give sources, datasets and features the business units of the model versions below them."""
    units: dict[str, set[str]] = defaultdict(set)
    for node in graph.nodes.values():
        if node.type == "model_version":
            for upstream_key in walk(graph, [node.key], direction="up"):
                units[upstream_key] |= node.business_units
    nodes = {
        k: replace(n, business_units=frozenset(units[k]))
        if n.type in ("data_source", "dataset", "feature")
        else n
        for k, n in graph.nodes.items()
    }
    return LineageGraph(nodes, graph.edges)


def walk(graph: LineageGraph, start: Iterable[str], *, direction: str) -> set[str]:
    """Every node reachable from ``start`` going "down" (dependents) or "up" (inputs), excluding start."""
    step = graph.children if direction == "down" else graph.parents
    seen: set[str] = set()
    frontier = list(start)
    while frontier:
        current = frontier.pop()
        for nxt in step(current):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen - set(start)


# --- filters ---------------------------------------------------------------------------------


def filtered(
    graph: LineageGraph,
    *,
    business_unit: str | None = None,
    hidden_types: Iterable[str] = (),
    live_only: bool = False,
) -> LineageGraph:
    """A smaller graph for reading: one business unit, some layers collapsed, only live objects.

    Collapsing a layer keeps the paths through it: with features hidden, a dataset links
    straight to the model versions its features feed.
    """
    hidden = set(hidden_types)
    keep = {k for k, n in graph.nodes.items() if _kept(n, business_unit, live_only)}
    if live_only:
        keep = _drop_dead_inputs(graph, keep)
    visible = {k for k in keep if graph.nodes[k].type not in hidden}
    edges: dict[tuple[str, str], str] = {}
    for src in visible:
        for dst, relation in _visible_successors(graph, src, keep, visible):
            edges.setdefault((src, dst), relation)
    return LineageGraph(
        {k: graph.nodes[k] for k in visible}, tuple((s, d, r) for (s, d), r in sorted(edges.items()))
    )


def _kept(node: Node, business_unit: str | None, live_only: bool) -> bool:
    if business_unit and business_unit not in node.business_units:
        return False
    if live_only and node.type in ("model_version", "deployment") and not node.live:
        return False
    return True


def _drop_dead_inputs(graph: LineageGraph, keep: set[str]) -> set[str]:
    """Live view: inputs (sources, datasets, features) only if they still feed a live model version."""
    feeding: set[str] = set()
    for k in keep:
        if graph.nodes[k].type == "model_version":
            feeding |= walk(graph, [k], direction="up")
    return {
        k for k in keep if graph.nodes[k].type not in ("data_source", "dataset", "feature") or k in feeding
    }


def _visible_successors(
    graph: LineageGraph, src: str, keep: set[str], visible: set[str]
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    frontier = [(src, "")]
    seen = {src}
    edge_relation = {(s, d): r for s, d, r in graph.edges}
    while frontier:
        current, via = frontier.pop()
        for nxt in graph.children(current):
            if nxt in seen or nxt not in keep:
                continue
            seen.add(nxt)
            relation = via or edge_relation[(current, nxt)]
            if nxt in visible:
                found.append((nxt, relation))
            else:
                frontier.append((nxt, f"via {PLURAL_LABELS[graph.nodes[nxt].type].lower()}"))
    return found


# --- the portfolio at a glance --------------------------------------------------------------------

UNIT_PREFIX = "unit:"
HEALTH_ORDER = {"alert": 3, "warning": 2, "ok": 1, "unknown": 0}


def worst_health(healths: Iterable[str | None]) -> str | None:
    """The worst of some model healths (alert > warning > ok > unknown); None when there are none."""
    known = [h for h in healths if h]
    return max(known, key=lambda h: HEALTH_ORDER.get(h, 0)) if known else None


def by_business_unit(graph: LineageGraph, *, live_only: bool = True) -> LineageGraph:
    """The portfolio collapsed for a first look: the data sources, and one node per business unit
    standing for everything the unit runs on them (its datasets, models, deployments and processes),
    linked when the unit's models read from the source. Few nodes, so every label reads; a unit
    node's key is ``unit:<name>`` and its details count what it holds. Expand a unit by filtering
    the full graph to it (``filtered(graph, business_unit=...)``)."""
    base = filtered(graph, live_only=live_only)
    units = sorted({u for n in base.nodes.values() if n.type == "model_version" for u in n.business_units})
    nodes: dict[str, Node] = {k: n for k, n in base.nodes.items() if n.type == "data_source"}
    edges: set[tuple[str, str, str]] = set()
    for index, unit in enumerate(units, start=1):
        members = [n for n in base.nodes.values() if unit in n.business_units]
        versions = [n for n in members if n.type == "model_version"]
        counts = {t: sum(1 for n in members if n.type == t) for t in LAYERS}
        unit_key = UNIT_PREFIX + unit
        nodes[unit_key] = Node(
            unit_key,
            "business_process",
            -index,
            unit,
            {
                "models": str(len({v.model_id for v in versions})),
                "model versions": str(counts["model_version"]),
                "datasets": str(counts["dataset"]),
                "business processes": str(counts["business_process"]),
            },
            frozenset({unit}),
            health=worst_health(v.health for v in versions),
        )
        for source in (n for n in members if n.type == "data_source"):
            edges.add((source.key, unit_key, "feeds"))
    return LineageGraph(nodes, tuple(sorted(edges)))


def neighbourhood(graph: LineageGraph, start: str) -> set[str]:
    """``start`` with everything upstream and downstream of it: what a found object is part of."""
    return {start} | walk(graph, [start], direction="up") | walk(graph, [start], direction="down")


# --- layout --------------------------------------------------------------------------------------


def layered_layout(graph: LineageGraph, *, sweeps: int = 4) -> dict[str, tuple[float, float]]:
    """x = the node's layer (0 sources ... 5 processes); y in [0, 1] ordered to reduce crossings.

    Barycentre ordering: each layer is sorted by the mean position of its neighbours in the
    previous layer, sweeping down and up a few times. Each layer spreads over the full height,
    so a wide layer (features) stays readable next to a narrow one.
    """
    layers: dict[int, list[str]] = defaultdict(list)
    for node in sorted(graph.nodes.values(), key=lambda n: (sorted(n.business_units), n.label.lower())):
        layers[node.layer].append(node.key)
    present = sorted(layers)
    position = _positions(layers)
    for sweep in range(sweeps):
        order = present if sweep % 2 == 0 else list(reversed(present))
        for layer in order[1:]:
            neighbours = graph.parents if sweep % 2 == 0 else graph.children
            layers[layer].sort(key=lambda k: _barycentre(k, neighbours, position))
            position = _positions(layers)
    return {k: (float(present.index(graph.nodes[k].layer)), position[k]) for k in graph.nodes}


def _positions(layers: dict[int, list[str]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for keys in layers.values():
        n = len(keys)
        for i, k in enumerate(keys):
            out[k] = 1.0 - (i + 0.5) / n  # first at the top
    return out


def _barycentre(k: str, neighbours: Any, position: dict[str, float]) -> float:
    values = [position[n] for n in neighbours(k) if n in position]
    return -(sum(values) / len(values)) if values else -position[k]
