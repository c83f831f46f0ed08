"""Lineage on a known graph: impact downstream, trace back upstream, filters, layout, the CLI,
and cycles refused at write time.

    Core banking DB --> loans v1 --(income, arrears)--> Credit scoring v1 --> deployment --> Loan approval
                    \\                                   Credit scoring v2 (production) --> deployment --> Loan approval
                     \\-> accounts v1 --(balance)-----> Churn v1 --> deployment --> Retention campaigns
    Bureau API -----> bureau v1 --(score)------------> Credit scoring v2
    Web analytics --> clicks v1 (feeds nothing)
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from core import clock
from core.db.engine import read_session, write_session
from core.db.models import Feature, LineageEdge
from core.errors import InvalidInput, NotFound
from core.lineage.graph import build_graph, filtered, key, layered_layout, walk
from core.lineage.impact import find_node, impact, trace_back
from core.registry import services
from tests.cli_auth import TokenRunner
from tests.factories import make_world


def _known_graph(engine: Engine) -> dict[str, Any]:
    world = make_world(engine)
    a = world.owner
    ids: dict[str, Any] = {"world": world}
    with write_session(engine) as s:
        core = services.create_data_source(s, actor=a, name="Core banking DB")
        bureau = services.create_data_source(s, actor=a, name="Bureau API", kind="api")
        web = services.create_data_source(s, actor=a, name="Web analytics", kind="stream")
        loans = services.create_dataset(
            s,
            actor=a,
            name="loans",
            version="1",
            data_source_id=core,
            row_count=1000,
            features={"income": "float", "arrears": "int"},
        )
        accounts = services.create_dataset(
            s, actor=a, name="accounts", version="1", data_source_id=core, features={"balance": "float"}
        )
        bureau_ds = services.create_dataset(
            s, actor=a, name="bureau", version="1", data_source_id=bureau, features={"score": "int"}
        )
        services.create_dataset(s, actor=a, name="clicks", version="1", data_source_id=web)
        approval = services.create_business_process(
            s, actor=a, name="Loan approval", business_unit="Credit risk"
        )
        retention = services.create_business_process(
            s, actor=a, name="Retention campaigns", business_unit="Marketing"
        )
        credit = services.register_model(s, actor=a, name="Credit scoring", business_unit="Credit risk")
        churn = services.register_model(s, actor=a, name="Churn", business_unit="Marketing")
        c1 = services.register_version(s, actor=a, model_id=credit, training_dataset_id=loans)
        c2 = services.register_version(s, actor=a, model_id=credit, training_dataset_id=loans)
        ch1 = services.register_version(s, actor=a, model_id=churn, training_dataset_id=accounts)
        features = {f.name: f.id for f in s.exec(select(Feature))}
        services.link_features_to_version(
            s, actor=a, version_id=c1, feature_ids=[features["income"], features["arrears"]]
        )
        services.link_features_to_version(
            s, actor=a, version_id=c2, feature_ids=[features["income"], features["score"]]
        )
        services.link_features_to_version(s, actor=a, version_id=ch1, feature_ids=[features["balance"]])
        old = services.create_deployment(
            s,
            actor=a,
            version_id=c1,
            environment="production",
            business_process_id=approval,
            since=clock.now() - timedelta(days=300),
        )
        services.end_deployment(s, actor=a, deployment_id=old, until=clock.now() - timedelta(days=30))
        dep2 = services.create_deployment(
            s, actor=a, version_id=c2, environment="production", business_process_id=approval
        )
        dep3 = services.create_deployment(
            s, actor=a, version_id=ch1, environment="batch", business_process_id=retention
        )
        services.apply_stage_change(s, actor=a, version_id=c2, to_stage="production", reason="test")
    ids.update(
        core=core,
        bureau=bureau,
        web=web,
        loans=loans,
        accounts=accounts,
        bureau_ds=bureau_ds,
        approval=approval,
        retention=retention,
        c1=c1,
        c2=c2,
        ch1=ch1,
        old=old,
        dep2=dep2,
        dep3=dep3,
        features=features,
    )
    return ids


def test_impact_of_a_shared_source_reaches_every_model_deployment_and_decision(engine: Engine) -> None:
    ids = _known_graph(engine)
    with read_session(engine) as s:
        graph = build_graph(s)
    reach = impact(graph, key("data_source", ids["core"]))
    assert {k for k in reach.keys if k.startswith(("model_version", "deployment", "business_process"))} == {
        key("model_version", ids["c1"]),
        key("model_version", ids["c2"]),
        key("model_version", ids["ch1"]),
        key("deployment", ids["old"]),
        key("deployment", ids["dep2"]),
        key("deployment", ids["dep3"]),
        key("business_process", ids["approval"]),
        key("business_process", ids["retention"]),
    }
    assert (
        key("data_source", ids["bureau"]) not in reach.keys
    )  # upstream of a model, not downstream of the source
    assert reach.sentence.startswith(
        "If Core banking DB breaks, these decisions are affected: "
        "Loan approval (Credit risk), Retention campaigns (Marketing)"
    )
    assert "through 2 models (Churn, Credit scoring) and 3 deployments" in reach.sentence
    assert list(reach.table.columns) == ["type", "name", "business unit", "detail", "health", "key"]
    assert (
        reach.table["type"].iloc[0] == "Business process" and reach.table["type"].iloc[-1] == "Dataset"
    )  # decisions first

    bureau = impact(graph, key("data_source", ids["bureau"]))
    assert {graph.nodes[k].label for k in bureau.keys if k.startswith("model_version")} == {
        "Credit scoring v2"
    }
    unused = impact(graph, key("data_source", ids["web"]))
    assert unused.sentence == "If Web analytics breaks, no model in this view depends on it."


def test_trace_back_from_a_process_and_the_live_view(engine: Engine) -> None:
    ids = _known_graph(engine)
    with read_session(engine) as s:
        graph = build_graph(s)
    trace = trace_back(graph, key("business_process", ids["approval"]))
    sources = {graph.nodes[k].label for k in trace.keys if k.startswith("data_source")}
    assert sources == {"Core banking DB", "Bureau API"}
    assert key("model_version", ids["c1"]) in trace.keys  # through the ended deployment
    assert trace.sentence == (
        "Loan approval depends on 1 model (Credit scoring), 2 datasets and "
        "2 data sources (Bureau API, Core banking DB)."
    )

    live = filtered(graph, live_only=True)
    assert (
        key("model_version", ids["c1"]) not in live.nodes and key("deployment", ids["old"]) not in live.nodes
    )
    assert key("dataset", ids["loans"]) in live.nodes  # still feeds the live v2
    assert not any(n.label == "clicks v1" for n in live.nodes.values())  # feeds nothing live
    live_trace = trace_back(live, key("business_process", ids["approval"]))
    assert {live.nodes[k].label for k in live_trace.keys if k.startswith("model_version")} == {
        "Credit scoring v2"
    }


def test_filters_by_business_unit_and_collapsed_features_keep_paths(engine: Engine) -> None:
    ids = _known_graph(engine)
    with read_session(engine) as s:
        graph = build_graph(s)
    assert graph.nodes[key("data_source", ids["core"])].business_units == {"Credit risk", "Marketing"}
    marketing = filtered(graph, business_unit="Marketing")
    assert {n.label for n in marketing.nodes.values() if n.type == "model_version"} == {"Churn v1"}
    assert key("data_source", ids["bureau"]) not in marketing.nodes

    collapsed = filtered(graph, hidden_types=["feature"])
    assert not any(n.type == "feature" for n in collapsed.nodes.values())
    bureau_ds = key("dataset", ids["bureau_ds"])
    assert (bureau_ds, key("model_version", ids["c2"]), "via features") in collapsed.edges
    assert walk(collapsed, [key("data_source", ids["bureau"])], direction="down") >= {
        key("model_version", ids["c2"]),
        key("business_process", ids["approval"]),
    }


def test_layout_puts_layers_left_to_right_and_spreads_each_layer(engine: Engine) -> None:
    ids = _known_graph(engine)
    with read_session(engine) as s:
        graph = build_graph(s)
    positions = layered_layout(graph)
    assert set(positions) == set(graph.nodes)
    for node in graph.nodes.values():
        assert positions[node.key][0] == node.layer
        assert 0.0 < positions[node.key][1] < 1.0
    features = [positions[n.key][1] for n in graph.of_type("feature")]
    assert len(set(features)) == len(features) == 4
    collapsed = layered_layout(filtered(graph, hidden_types=["feature"]))
    assert collapsed[key("model_version", ids["c2"])][0] == 2  # no empty column where features were


def test_find_node_by_name(engine: Engine) -> None:
    ids = _known_graph(engine)
    with read_session(engine) as s:
        graph = build_graph(s)
    assert find_node(graph, "dataset", "loans").id == ids["loans"]
    assert find_node(graph, "data_source", "core banking db").id == ids["core"]
    with pytest.raises(
        NotFound, match="No business process named 'Payroll'. Known: Loan approval, Retention campaigns"
    ):
        find_node(graph, "business_process", "Payroll")
    with pytest.raises(InvalidInput, match="impact analysis starts from a data source, dataset or feature"):
        impact(graph, key("business_process", ids["approval"]))


def test_cycles_and_self_edges_are_refused_at_write_time(engine: Engine) -> None:
    ids = _known_graph(engine)
    owner = ids["world"].owner
    with read_session(engine) as s:
        before = len(s.exec(select(LineageEdge)).all())
    with pytest.raises(InvalidInput, match="would close a cycle in the lineage graph"):
        with write_session(engine) as s:
            services.add_lineage_edge(
                s,
                actor=owner,
                src_type="business_process",
                src_id=ids["approval"],
                dst_type="data_source",
                dst_id=ids["core"],
            )
    with pytest.raises(InvalidInput, match="would close a cycle"):
        with write_session(engine) as s:  # a longer loop: version -> dataset that already feeds it
            services.add_lineage_edge(
                s,
                actor=owner,
                src_type="model_version",
                src_id=ids["c2"],
                dst_type="dataset",
                dst_id=ids["loans"],
            )
    with pytest.raises(InvalidInput, match="cannot point to itself"):
        with write_session(engine) as s:
            services.add_lineage_edge(
                s,
                actor=owner,
                src_type="dataset",
                src_id=ids["loans"],
                dst_type="dataset",
                dst_id=ids["loans"],
            )
    with pytest.raises(NotFound, match="No dataset with id 9999"):
        with write_session(engine) as s:
            services.add_lineage_edge(
                s, actor=owner, src_type="dataset", src_id=9999, dst_type="model_version", dst_id=ids["c2"]
            )
    with read_session(engine) as s:
        assert len(s.exec(select(LineageEdge)).all()) == before
    # a legitimate edge (a dataset feeding another model version) is accepted
    with write_session(engine) as s:
        services.add_lineage_edge(
            s,
            actor=owner,
            src_type="dataset",
            src_id=ids["bureau_ds"],
            dst_type="model_version",
            dst_id=ids["ch1"],
        )
    with read_session(engine) as s:
        graph = build_graph(s)
    assert key("business_process", ids["retention"]) in impact(graph, key("data_source", ids["bureau"])).keys


def test_cli_lineage_downstream_and_upstream_json(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _known_graph(engine)
    from core.cli import app
    from core.config import reset_settings_cache

    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    runner = TokenRunner()
    down = runner.invoke(app, ["lineage", "--downstream", "Core banking DB", "--json"])
    assert down.exit_code == 0, down.output
    data = json.loads(down.output)
    assert data["start"] == {"type": "data_source", "name": "Core banking DB"}
    assert sorted(p["name"] for p in data["business_processes"]) == ["Loan approval", "Retention campaigns"]
    assert sorted(m["name"] for m in data["model_versions"]) == ["Churn v1", "Credit scoring v2"]  # live only
    assert data["sentence"].startswith("If Core banking DB breaks")

    up = runner.invoke(app, ["lineage", "--upstream", "Loan approval", "--json", "--all"])
    assert up.exit_code == 0, up.output
    upstream = json.loads(up.output)
    assert sorted(m["name"] for m in upstream["model_versions"]) == ["Credit scoring v1", "Credit scoring v2"]
    assert sorted(d["name"] for d in upstream["data_sources"]) == ["Bureau API", "Core banking DB"]

    text = runner.invoke(app, ["lineage", "--downstream", "Bureau API"])
    assert text.exit_code == 0 and "these decisions are affected: Loan approval" in text.output
    missing = runner.invoke(app, ["lineage", "--upstream", "Payroll"])
    assert missing.exit_code == 1 and "Error: No business process named 'Payroll'" in missing.output
    unknown = runner.invoke(app, ["lineage", "--downstream", "Mainframe"])
    assert (
        unknown.exit_code == 1
        and ("Error: No data source or dataset named 'Mainframe'. Data sources: Bureau API, Core banking DB")
        in unknown.output
    )
    both = runner.invoke(app, ["lineage"])
    assert both.exit_code == 1 and "Error: give --downstream SOURCE or --upstream PROCESS" in both.output
