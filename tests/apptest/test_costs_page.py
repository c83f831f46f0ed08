"""The Costs page through AppTest on the demo portfolio: next year's cost with its interval and
backtest error, budgets with the projected overrun, spend splits, one model's forecast."""

from __future__ import annotations

from core.demo.insight import BUDGET_OVERRUN_UNIT


def _open(app, url, person: str | None = None):
    at = app(url)
    if person:
        at.query_params["as"] = person
    return at.switch_page("../pages/costs.py").run(timeout=180)


def _table(at, column: str):
    """The table showing ``column`` (plain st.dataframe elements carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_forecast_with_interval_backtest_and_budget_overrun(app, demo_url):
    at = _open(app, demo_url)
    assert not at.exception
    assert _metric(at, "Next 12 months (forecast)").startswith("€")
    assert any(c.value.startswith("Likely between €") for c in at.caption)
    assert "Backtest error (MAPE)" not in [m.label for m in at.metric]  # methods live in the expander
    assert "How this is computed" in [e.label for e in at.expander]
    assert any("(mean absolute percentage error, MAPE)" in m.value for m in at.markdown)
    assert _metric(at, "Budgets at risk").startswith("1 of ")
    overrun = (at.error or at.warning)[0].value
    assert overrun.startswith(f"{BUDGET_OVERRUN_UNIT}: budget €") and "over budget from" in overrun
    budgets = _table(at, "overrun_month")
    assert (budgets["overrun_month"] != "").sum() == 1
    assert len(at.get("plotly_chart")) >= 2  # forecast and cumulative budget chart


def test_unit_scope_shows_its_budgets_in_words(app, demo_url):
    at = _open(app, demo_url)
    at.selectbox(key="costs.scope").set_value("Credit risk").run(timeout=120)
    assert not at.exception
    assert all(s.value.startswith("Credit risk: budget €") for s in at.success)
    assert len(at.success) >= 1 and "within budget" in at.success[0].value


def test_spend_split_growers_and_cost_per_thousand(app, demo_url):
    at = _open(app, demo_url)
    at.radio(key="costs.split").set_value("business_unit").run()
    assert not at.exception
    growers = _table(at, "change_pct")
    assert (growers["change"] > 0).all() and len(growers) <= 10
    assert growers["change"].is_monotonic_decreasing


def test_one_models_forecast_is_read_from_the_store_and_computed_on_demand(app, demo_url):
    at = _open(app, demo_url)
    assert not at.exception
    assert any(c.value.startswith("Forecast stored ") for c in at.caption)  # the scheduled job's
    assert not any("forecast" in d.value.columns for d in at.dataframe)  # nothing computed on opening
    at.button(key="costs.model.forecast_now").click().run(timeout=180)
    assert not at.exception
    backtest = _table(at, "forecast")
    assert list(backtest.columns) == ["month", "actual", "forecast"] and len(backtest) == 3


def test_an_approver_sets_a_budget(app, demo_url):
    at = _open(app, demo_url, person="marco.rossi@demo.steward")
    at.selectbox(key="costs.budget.unit").set_value("Marketing")
    at.number_input(key="costs.budget.year").set_value(2030)
    at.number_input(key="costs.budget.amount").set_value(12345.0)
    at.button(key="FormSubmitter:costs.budget.form-Save budget").click().run(timeout=120)
    assert not at.exception
    budgets = _table(at, "overrun_month")
    row = budgets[(budgets["business_unit"] == "Marketing") & (budgets["period"] == "2030")]
    assert row["budget"].tolist() == [12345]


def test_empty_registry(app, empty_url):
    at = _open(app, empty_url)
    assert not at.exception
    assert any("No costs recorded yet" in m.value for m in at.markdown)
