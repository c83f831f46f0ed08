"""The Model page through AppTest: everything about one model, shareable by query parameter."""

from __future__ import annotations


def _open(app, url, model_id=None):
    at = app(url).run()
    if model_id is not None:
        at.query_params["model"] = str(model_id)
    return at.switch_page("../pages/model.py").run()


def _table(at, column):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_model_page_shows_that_models_versions_owners_and_history(app, portfolio_registry):
    url, p = portfolio_registry
    at = _open(app, url, p.credit)
    assert not at.exception
    assert at.title[0].value == "Credit scoring"
    assert at.selectbox(key="model.select").value == p.credit
    versions = _table(at, "metric:roc_auc")
    assert versions["version"].tolist() == [3, 2, 1]
    assert versions["stage"].tolist() == ["Staging", "Production", "Archived"]
    owners = _table(at, "role_label")
    assert owners.set_index("role_label").loc["Technical owner", "state"].startswith("Left ")
    history = _table(at, "to_stage")
    assert history["to_stage"].tolist() == ["Staging", "Production", "Archived", "Production"]
    rules = _table(at, "condition")
    assert rules["condition"].tolist() == ["approve if score > 0.69"]
    markdown = " ".join(m.value for m in at.markdown)
    assert "Score loan applications" in markdown and "Loan approval" in markdown
    assert at.get("plotly_chart"), "the prediction volume chart is drawn"
    assert any(f"model={p.credit}" in c.value for c in at.code), "a shareable link is shown"


def test_model_card_marks_missing_sections(app, portfolio_registry):
    url, p = portfolio_registry
    at = _open(app, url, p.credit)
    card = at.selectbox(key="model.card.version")
    assert card.value == 2  # the production version's card first
    assert not any("Not documented" in m.value for m in at.tabs[0].markdown)
    card.set_value(3).run()
    missing = [m.value for m in at.tabs[0].markdown if "Not documented" in m.value]
    assert len(missing) == 4
    assert any("missing: Evaluation, Limitations" in c.value for c in at.tabs[0].caption)


def test_selector_switches_model_and_updates_the_link(app, portfolio_registry):
    url, p = portfolio_registry
    at = _open(app, url, p.credit)
    at.selectbox(key="model.select").set_value(p.churn).run()
    assert at.title[0].value == "Churn propensity"
    assert at.query_params["model"] == str(p.churn)
    assert "No backup named" in " ".join(w.value for w in at.warning)


def test_bare_model_shows_what_is_not_documented(app, portfolio_registry):
    url, p = portfolio_registry
    at = _open(app, url, p.demand)
    assert not at.exception
    assert at.title[0].value == "Demand forecast"
    assert "Not documented" in " ".join(m.value for m in at.markdown)
    captions = " ".join(c.value for c in at.caption)
    assert "No versions registered yet" in captions and "No predictions logged" in captions


def test_unknown_model_id_in_the_link_is_explained(app, portfolio_url):
    at = _open(app, portfolio_url, 9999)
    assert not at.exception
    assert "no model '9999' (by id or name)" in at.warning[0].value
    assert at.title[0].value == "Churn propensity"  # the first model by name


def test_a_link_may_name_the_model(app, portfolio_url):
    at = _open(app, portfolio_url, "credit SCORING ")
    assert not at.exception
    assert not [w for w in at.warning if "There is no model" in w.value]
    assert at.title[0].value == "Credit scoring"


def test_model_page_on_an_empty_registry(app, empty_url):
    at = _open(app, empty_url)
    assert not at.exception
    assert "No models registered yet" in " ".join(m.value for m in at.markdown)


def test_model_page_on_the_demo_registry_shows_that_models_versions(app, demo_db_url):
    at = app(demo_db_url).run()
    listed = next(d for d in at.dataframe if d.key == "inventory.table").value
    row = int(listed["version_count"].idxmax())  # a model with several versions
    name, count = listed.loc[row, "name"], int(listed.loc[row, "version_count"])
    at.session_state["inventory.table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == name
    versions = next(d.value for d in at.dataframe if "created_by" in d.value.columns)
    assert versions["version"].tolist() == list(range(count, 0, -1))
    assert at.get("plotly_chart")


def test_returning_to_the_model_page_shows_the_last_model_seen(app, portfolio_registry):
    url, p = portfolio_registry
    at = _open(app, url, p.fraud)
    at.switch_page("../pages/inventory.py").run()
    at.query_params.pop("model", None)  # the sidebar link carries no model
    at.switch_page("../pages/model.py").run()
    assert at.title[0].value == "Fraud detection"


def test_a_model_owner_finds_the_dataset_upload_and_a_viewer_is_told_who_may(app, portfolio_registry):
    """Issue 13, point 2: a version's data is uploaded where its datasets are listed."""
    url, p = portfolio_registry
    at = app(url)
    at.query_params["as"] = "tom@example.com"  # model owner
    at.query_params["model"] = str(p.credit)
    at = at.switch_page("../pages/model.py").run()
    assert not at.exception
    assert at.selectbox(key="model.data.version").options == [
        "v3 (staging)",
        "v2 (production)",
        "v1 (archived)",
    ]
    role = at.selectbox(key="model.data.role")
    assert role.options == ["Training data", "Evaluation data", "Drift reference", "SHAP background"]
    role.set_value("reference").run()
    assert any("What drift compares production inputs with" in c.value for c in at.caption)
    assert "kept" in _table(at, "used_as").columns
    viewer = app(url)
    viewer.query_params["as"] = "bianca@example.com"
    viewer.query_params["model"] = str(p.credit)
    viewer = viewer.switch_page("../pages/model.py").run()
    assert not viewer.exception
    assert not [s for s in viewer.selectbox if s.key == "model.data.role"]
    assert any("Adding data needs the role model owner or admin" in c.value for c in viewer.caption)
