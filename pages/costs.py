"""Costs: what the models cost, per model, business unit and category; what they will cost
(forecast with its uncertainty and backtest error); and where each unit stands against its budget.

Fleet and business-unit forecasts are read from the registry (stored by `steward forecast --all`);
so is each model's, shown in the detail tab; a fresh one is computed only when asked.
"""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import costs_view, empty
from app.panels import costs
from core.costs.queries import currencies_by_spend
from core.costs.views import ALL_MODELS, cost_view, forecast_key

st.title("Costs")
monthly = cache.monthly_costs()
if monthly.empty:
    empty.empty_state(
        "No costs recorded yet",
        "Import them with `steward log-costs FILE` "
        "(columns day, model, category, amount, currency) or load the demo with `steward demo`.",
    )
    st.stop()

currencies = currencies_by_spend(monthly)
currency = (
    currencies[0] if len(currencies) == 1 else st.selectbox("Currency", currencies, key="costs.currency")
)
costs_view.currency_note(currencies)
view = cost_view(monthly, currency=currency, last_day=cache.last_cost_day(), first_day=cache.first_cost_day())
forecasts = cache.stored_forecasts()
statuses = view.budgets(cache.budget_statuses())
costs_view.kpis(view, forecasts.get(forecast_key(ALL_MODELS)), statuses, cache.portfolio_figures())

forecast_tab, spend_tab, model_tab = st.tabs(["Forecast and budgets", "Spend", "One model"])
with forecast_tab:
    scope = st.selectbox("Forecast for", [ALL_MODELS, *view.units], key="costs.scope")
    costs_view.forecast(view, scope, forecasts.get(forecast_key(scope)))
    costs_view.budgets(view.budgets(statuses, scope), scope)
    costs.budget_form(view.units, currency)
with spend_tab:
    costs_view.spend(view, cache.monthly_predictions())
with model_tab:
    names = view.models
    model_id = st.selectbox("Model", list(names), format_func=names.get, key="costs.model")
    costs_view.model_costs(view, model_id, costs.model_forecast(model_id, view.last_day, forecasts))
