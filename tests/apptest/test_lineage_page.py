"""The Lineage page through AppTest on the demo portfolio: impact of a shared data source,
trace back of a business process, filters, and opening an object."""

from __future__ import annotations

from core.db.engine import read_session
from core.demo import DEMO_FACTS
from core.lineage.graph import build_graph
from core.registry import services


def _open(app, url):
    return app(url).switch_page("../pages/lineage.py").run(timeout=120)


def test_shared_source_impact_names_the_decisions(app, demo_url, demo_engine):
    at = _open(app, demo_url)
    assert not at.exception
    start = at.selectbox(key="lineage.impact.start")
    label = start.format_func(start.value)
    shared = {s for s, models in DEMO_FACTS["shared_sources"].items()}
    assert any(label.startswith(s) for s in shared), label  # the most widely shared source by default
    sentence = at.warning[0].value
    assert sentence.startswith(f"If {label.split(' (')[0]} breaks, these decisions are affected: ")
    table = next(d.value for d in at.dataframe if "detail" in d.value.columns)
    assert {"Model version", "Deployment", "Business process"} <= set(table["type"])
    source = label.split(" (")[0]
    for model in DEMO_FACTS["shared_sources"].get(source, []):
        if model in DEMO_FACTS["production_models"]:
            assert model in sentence
    assert at.get("plotly_chart")


def test_trace_back_a_process_and_filter_by_unit(app, demo_url, demo_engine):
    at = _open(app, demo_url)
    at.radio(key="lineage.question").set_value("What does a decision depend on?").run()
    with read_session(demo_engine) as s:
        graph = build_graph(s)
    process = next(n for n in graph.of_type("business_process") if n.label == "Consumer loan origination")
    at.selectbox(key="lineage.trace.start").set_value(process.key).run()
    assert not at.exception
    assert at.info[0].value.startswith("Consumer loan origination depends on ")
    assert "Retail credit scoring" in at.info[0].value
    at.selectbox(key="lineage.filter.unit").set_value("All business units, every object").run()
    before = next(c.value for c in at.caption if "objects in view" in c.value)
    at.selectbox(key="lineage.filter.unit").set_value("Credit risk").run()
    after = next(c.value for c in at.caption if "objects in view" in c.value)
    assert int(after.split(" of ")[0].replace(",", "")) < int(before.split(" of ")[0].replace(",", ""))
    at.multiselect(key="lineage.filter.hidden").set_value([]).run()  # show features too
    with_features = next(c.value for c in at.caption if "objects in view" in c.value)
    assert int(with_features.split(" of ")[0].replace(",", "")) > int(after.split(" of ")[0].replace(",", ""))


def test_opening_a_model_version_links_to_its_model_page(app, demo_url, demo_engine):
    at = _open(app, demo_url)
    at.radio(key="lineage.question").set_value("Just explore").run()
    at.selectbox(key="lineage.filter.unit").set_value("All business units, every object").run()
    with read_session(demo_engine) as s:
        graph = build_graph(s)
    version = next(n for n in graph.of_type("model_version") if n.details["stage"] == "production")
    at.selectbox(key="lineage.open").set_value(version.key).run()
    assert not at.exception
    links = [p for p in at.get("page_link")]
    assert any(f"model={version.model_id}" in str(p.proto) for p in links)


def test_empty_registry(app, empty_url):
    at = _open(app, empty_url)
    assert not at.exception
    assert any("No lineage recorded yet" in m.value for m in at.markdown)


def test_a_link_from_a_model_opens_its_business_unit_and_production_version(app, demo_url, demo_engine):
    with read_session(demo_engine) as s:
        model = services.model_by_name(s, "Retail credit scoring")
    at = app(demo_url)
    at.query_params["model"] = str(model.id)
    at = at.switch_page("../pages/lineage.py").run(timeout=120)
    assert not at.exception
    assert at.selectbox(key="lineage.filter.unit").value == "Credit risk"
    assert at.radio(key="lineage.question").value == "Just explore"
    opened = at.selectbox(key="lineage.open").value
    assert opened is not None and opened.startswith("model_version:")
    with read_session(demo_engine) as s:
        node = build_graph(s).nodes[opened]
    assert node.model_id == model.id and node.details["stage"] == "production"


def test_the_portfolio_opens_collapsed_by_unit_and_a_search_finds_any_object(app, demo_url, demo_engine):
    at = _open(app, demo_url)
    assert not at.exception
    assert at.selectbox(key="lineage.filter.unit").value == "All business units, by unit"
    assert any("shown by unit" in c.value for c in at.caption)
    assert not [s for s in at.selectbox if s.key == "lineage.open"]  # the overview, not every object
    table = next(d for d in at.dataframe if "detail" in d.value.columns)
    assert (table.value["health"] != "").all()  # filled: versions, deployments, processes and data
    with read_session(demo_engine) as s:
        graph = build_graph(s)
    feature = next(n for n in graph.of_type("feature") if n.business_units)
    at.selectbox(key="lineage.search").set_value(feature.key).run()
    assert not at.exception
    assert at.selectbox(key="lineage.filter.unit").value == min(feature.business_units)
    assert at.radio(key="lineage.question").value == "Just explore"
    assert at.selectbox(key="lineage.open").value == feature.key  # its layer is shown again, and it is open
