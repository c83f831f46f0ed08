"""The Inventory page (home) through AppTest, on real registries."""

from __future__ import annotations

import io

import pandas as pd

from core.db.engine import make_engine, read_session
from core.registry import reads
from core.registry.display import inventory_csv
from tests.apptest.conftest import rows

TABLE = "inventory.table"
ALL = ["Churn propensity", "Credit scoring", "Demand forecast", "Fraud detection"]


def test_inventory_renders_kpis_and_every_model(app, portfolio_url):
    at = app(portfolio_url).run()
    assert not at.exception
    assert at.title[0].value == "Model inventory"
    assert rows(at, TABLE) == ALL
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Models"] == "4"
    assert metrics["In production"] == "2"
    assert metrics["Drift or performance alerts"] == "2"
    assert metrics["Cost, last 30 days"] == "€300 + $75"
    assert "High-risk models" not in metrics  # no risk data yet: hidden, not a false 0
    shown = next(d for d in at.dataframe if d.key == TABLE).value
    credit = shown[shown["name"] == "Credit scoring"].iloc[0]
    assert list(credit["health"]) == ["Alert"] and credit["stage"] == "Production"  # a coloured badge
    assert credit["technical_owner"] == "Tom Tech (left)"


def test_search_and_each_filter_change_the_rows_shown(app, portfolio_url):
    at = app(portfolio_url).run()
    at.text_input(key="inventory.search").input("loan").run()
    assert rows(at, TABLE) == ["Credit scoring"]
    assert any(c.value.startswith("Showing 1 of 4 models") for c in at.caption)
    at.text_input(key="inventory.search").input("").run()
    at.multiselect(key="inventory.filter.unit").set_value(["Fraud", "Marketing"]).run()
    assert rows(at, TABLE) == ["Churn propensity", "Fraud detection"]
    at.multiselect(key="inventory.filter.unit").set_value([]).run()
    at.multiselect(key="inventory.filter.stage").set_value(["staging"]).run()
    assert rows(at, TABLE) == ["Churn propensity"]
    at.multiselect(key="inventory.filter.stage").set_value([]).run()
    at.multiselect(key="inventory.filter.owner").set_value(["Bianca Business"]).run()
    assert rows(at, TABLE) == ["Credit scoring", "Fraud detection"]
    at.multiselect(key="inventory.filter.owner").set_value([]).run()
    at.multiselect(key="inventory.filter.status").set_value(["development"]).run()
    assert rows(at, TABLE) == ["Demand forecast"]
    assert not at.exception


def test_sort_orders_the_table(app, portfolio_url):
    at = app(portfolio_url).run()
    at.selectbox(key="inventory.sort").set_value("Health (most urgent first)").run()
    assert rows(at, TABLE) == ["Credit scoring", "Churn propensity", "Demand forecast", "Fraud detection"]
    at.selectbox(key="inventory.sort").set_value("Last retrained (newest first)").run()
    assert rows(at, TABLE)[0] == "Churn propensity"


def test_selecting_a_row_opens_the_model_page(app, portfolio_registry):
    url, portfolio = portfolio_registry
    at = app(url).run()
    at.session_state[TABLE] = {
        "selection": {"rows": [ALL.index("Fraud detection")], "columns": [], "cells": []}
    }
    at.run()
    assert not at.exception
    assert at.title[0].value == "Fraud detection"
    assert at.query_params["model"] == str(portfolio.fraud)


def test_download_offers_the_filtered_table_as_csv(app, portfolio_url):
    at = app(portfolio_url).run()
    assert at.get("download_button")[0].proto.label == "Download this table (CSV)"
    engine = make_engine(portfolio_url)
    with read_session(engine) as s:
        frame = reads.inventory(s)
    engine.dispose()
    view = reads.filter_inventory(frame, reads.InventoryFilter(units=("Credit risk",)))
    exported = pd.read_csv(io.BytesIO(inventory_csv(view)))
    assert exported["Model"].tolist() == ["Credit scoring"]
    assert list(exported.columns[:5]) == ["Model", "Business unit", "Accountable owner", "Stage", "Health"]
    assert {"Business process", "Technical owner", "Cost, last 30 days", "Last prediction seen"} <= set(
        exported.columns
    )
    assert exported["Last retrained"].iloc[0].endswith("Z")


def test_empty_registry_says_how_to_load_the_demo(app, empty_url):
    at = app(empty_url).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "No models registered yet" in text
    assert "steward demo" in text and "steward register-model" in text
    assert not at.dataframe


def test_inventory_on_the_demo_registry(app, demo_db_url):
    at = app(demo_db_url).run()
    assert not at.exception
    everything = rows(at, TABLE)
    assert len(everything) >= 15
    unit = sorted(set(next(d for d in at.dataframe if d.key == TABLE).value["business_unit"]))[0]
    at.multiselect(key="inventory.filter.unit").set_value([unit]).run()
    assert 0 < len(rows(at, TABLE)) < len(everything)


def test_the_three_pages_never_import_shap_or_evidently(portfolio_url):
    """Checked in a fresh interpreter: this test process may have imported them for other tests."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(root / 'app' / 'main.py')!r}, default_timeout=120).run()\n"
        "at.switch_page('../pages/model.py').run()\n"
        "at.switch_page('../pages/owners.py').run()\n"
        "assert not at.exception, at.exception\n"
        "print(sorted(m for m in ('shap', 'evidently', 'statsmodels') if m in sys.modules))\n"
    )
    env = {
        **os.environ,
        "STEWARD_DATABASE_URL": portfolio_url,
        "STEWARD_AUTH_MODE": "local",
        "PYTHONPATH": str(root),
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
