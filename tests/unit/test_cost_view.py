"""core.costs.views: the costs of one currency as the Costs page reads them (complete months
only, totals per scope, the last complete month, budgets of the currency and scope), and
core.monitoring.drift.reads.first_to_look_at (which model the Drift page opens on)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from core.costs.views import ALL_MODELS, cost_view, forecast_key
from core.monitoring.drift.reads import first_to_look_at


def _monthly() -> pd.DataFrame:
    rows = []
    for month in ("2025-01", "2025-02", "2025-03"):
        rows += [
            (month, 1, "Credit scoring", "Credit risk", "compute", "EUR", 100.0),
            (month, 1, "Credit scoring", "Credit risk", "storage", "EUR", 10.0),
            (month, 2, "Churn", "Retail", "compute", "EUR", 50.0),
            (month, 3, "Pricing US", "Pricing", "compute", "USD", 999.0),
        ]
    return pd.DataFrame(
        rows, columns=["month", "model_id", "model", "business_unit", "category", "currency", "amount"]
    )


def test_a_view_holds_one_currency_and_its_complete_months() -> None:
    view = cost_view(_monthly(), currency="EUR", last_day=date(2025, 3, 15), first_day=date(2025, 1, 1))
    assert set(view.monthly["currency"]) == {"EUR"}
    assert view.complete == ["2025-01", "2025-02"]  # March is not over on the 15th
    assert view.last_complete_month == "2025-02" and view.last_month_spend() == pytest.approx(160.0)
    assert view.units == ["Credit risk", "Retail"]
    assert view.models == {2: "Churn", 1: "Credit scoring"}


def test_history_and_spend_leave_part_months_out() -> None:
    view = cost_view(_monthly(), currency="EUR", last_day=date(2025, 3, 31), first_day=date(2025, 1, 10))
    assert view.complete == ["2025-02", "2025-03"]  # January started on the 10th
    assert view.history().to_dict("list") == {"month": ["2025-02", "2025-03"], "amount": [160.0, 160.0]}
    assert view.history(scope="Retail")["amount"].tolist() == [50.0, 50.0]
    assert view.history(model_id=1)["amount"].tolist() == [110.0, 110.0]
    assert set(view.spend()["month"]) == {"2025-02", "2025-03"}
    assert set(view.spend(model_id=2)["model"]) == {"Churn"}


def test_no_complete_month_means_no_last_month_spend() -> None:
    view = cost_view(_monthly(), currency="USD", last_day=date(2025, 1, 20), first_day=date(2025, 1, 5))
    assert view.complete == [] and view.last_month_spend() is None and view.history().empty


def test_budgets_of_the_currency_and_scope() -> None:
    class Budget:
        def __init__(self, unit: str, currency: str) -> None:
            self.business_unit, self.currency = unit, currency

    statuses = [Budget("Credit risk", "EUR"), Budget("Retail", "EUR"), Budget("Pricing", "USD")]
    view = cost_view(_monthly(), currency="EUR", last_day=None, first_day=None)
    assert [b.business_unit for b in view.budgets(statuses)] == ["Credit risk", "Retail"]
    assert [b.business_unit for b in view.budgets(statuses, "Retail")] == ["Retail"]
    assert forecast_key(ALL_MODELS) == ("fleet", "all") and forecast_key("Retail") == (
        "business_unit",
        "Retail",
    )


def test_the_drift_page_opens_on_the_model_the_portfolio_lists_first() -> None:
    portfolio = pd.DataFrame({"model_id": [7, 3, 9]})
    assert first_to_look_at(portfolio, [3, 9]) == 3
    assert first_to_look_at(portfolio, [4, 9]) == 9
    assert first_to_look_at(portfolio, [4, 5]) == 4  # none listed: the first model offered
    assert first_to_look_at(portfolio.iloc[0:0], [5]) == 5
    assert first_to_look_at(portfolio, []) is None
