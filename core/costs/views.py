"""The costs of one currency as people look at them: complete months only, totals per month for
the whole fleet, a business unit or a model, the last complete month's spend, the top growers
and the cost per 1,000 predictions. Built from ``monthly_costs`` rows; amounts in different
currencies are never added up, so a view holds one currency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from core.costs.budgets import BudgetStatus
from core.costs.queries import complete_months, cost_per_thousand, monthly_totals, top_growers

ALL_MODELS = "All models"


@dataclass(frozen=True)
class CostView:
    currency: str
    monthly: pd.DataFrame  # monthly_costs rows of this currency
    complete: list[str]  # months recorded in full ('YYYY-MM'), oldest first
    last_day: date | None

    @property
    def units(self) -> list[str]:
        return sorted(self.monthly["business_unit"].unique())

    @property
    def models(self) -> dict[int, str]:
        """Model id -> name, by name."""
        rows = self.monthly.drop_duplicates("model_id").sort_values("model")
        return {int(i): str(n) for i, n in zip(rows["model_id"], rows["model"], strict=True)}

    @property
    def last_complete_month(self) -> str | None:
        return self.complete[-1] if self.complete else None

    def last_month_spend(self) -> float | None:
        """All models' spend in the last complete month (None when no month is complete)."""
        if not self.complete:
            return None
        totals = monthly_totals(self.monthly, currency=self.currency).set_index("month")["amount"]
        return float(totals.get(self.complete[-1], 0.0))

    def history(self, *, scope: str = ALL_MODELS, model_id: int | None = None) -> pd.DataFrame:
        """Spend per complete month (month, amount) of everything, a business unit (``scope``) or
        a model: part-months would look like drops."""
        unit = None if scope == ALL_MODELS else scope
        totals = monthly_totals(self.monthly, currency=self.currency, business_unit=unit, model_id=model_id)
        return totals[totals["month"].isin(self.complete)].reset_index(drop=True)

    def spend(self, model_id: int | None = None) -> pd.DataFrame:
        """The rows of the complete months (of one model), for charts split by category, unit or model."""
        rows = self.monthly[self.monthly["month"].isin(self.complete)]
        if model_id is not None:
            rows = rows[rows["model_id"] == model_id]
        return rows.reset_index(drop=True)

    def growers(self) -> pd.DataFrame:
        return top_growers(self.monthly, last_day=self.last_day)

    def per_thousand(self, predictions: pd.DataFrame) -> pd.DataFrame:
        """Cost per 1,000 logged predictions per model and complete month with predictions every day."""
        return cost_per_thousand(self.spend(), predictions, whole_months=True)

    def budgets(self, statuses: list[BudgetStatus], scope: str = ALL_MODELS) -> list[BudgetStatus]:
        """The budgets of this currency for ``scope`` (a business unit, or all of them)."""
        return [
            b
            for b in statuses
            if b.currency == self.currency and (scope == ALL_MODELS or b.business_unit == scope)
        ]


def forecast_key(scope: str) -> tuple[str, str]:
    """The key of ``scope``'s stored forecast (``stored_forecasts``): the fleet, or a business unit."""
    return ("fleet", "all") if scope == ALL_MODELS else ("business_unit", scope)


def cost_view(
    monthly: pd.DataFrame, *, currency: str, last_day: date | None, first_day: date | None
) -> CostView:
    """The view of ``monthly`` (monthly_costs rows) in ``currency``."""
    rows = monthly[monthly["currency"] == currency].reset_index(drop=True)
    return CostView(currency, rows, complete_months(rows, last_day, first_day), last_day)
