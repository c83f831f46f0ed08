"""Costs: what the models cost, per model, business unit and category; what they will cost
(forecast with its uncertainty and backtest error); and where each unit stands against its budget.

Fleet and business-unit forecasts are read from the registry (stored by `steward forecast --all`);
one model's forecast is computed on demand in the detail tab.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app import bootstrap, cache, identity
from app.components import costs_view, empty
from core.costs.budgets import budget_table, set_budget
from core.costs.fleet import total_ahead
from core.costs.queries import (
    complete_months,
    cost_per_thousand,
    currencies_by_spend,
    monthly_totals,
    top_growers,
)
from core.db.engine import write_session
from core.errors import StewardError

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
if len(currencies) > 1:
    st.caption("Amounts in different currencies are never added up; pick the currency to look at.")
monthly = monthly[monthly["currency"] == currency]
last_day = cache.last_cost_day()
forecasts = cache.stored_forecasts()
statuses = [b for b in cache.budget_statuses() if b.currency == currency]
done = complete_months(monthly, last_day, cache.first_cost_day())
fleet = forecasts.get(("fleet", "all"))

last_month = (
    monthly_totals(monthly, currency=currency).set_index("month")["amount"].get(done[-1], 0.0)
    if done
    else None
)
kpis = st.columns(3)
kpis[0].metric(
    f"Spend in {costs_view.month_name(done[-1]) if done else '—'}",
    costs_view.money(last_month, currency),
    border=True,
    help="All models, the last complete month.",
)
if fleet is not None:
    ahead, low, high = total_ahead(fleet.months, fleet.paths, level=fleet.level)
    kpis[1].metric(
        "Next 12 months (forecast)",
        costs_view.money(ahead, currency),
        border=True,
        help=f"{fleet.level:.0%} interval {costs_view.money(low, currency)} – {costs_view.money(high, currency)}",
    )
    kpis[1].caption(
        f"{fleet.level:.0%} interval {costs_view.money(low, currency)} – {costs_view.money(high, currency)}"
    )
over = [b for b in statuses if b.overrun_month]
kpis[2].metric(
    "Budgets projected to overrun",
    f"{len(over)} of {len(statuses)}",
    border=True,
    help="Budgets whose central projection exceeds them before the period ends.",
)

forecast_tab, spend_tab, model_tab = st.tabs(["Forecast and budgets", "Spend", "One model"])
with forecast_tab:
    units = sorted(monthly["business_unit"].unique())
    scope = st.selectbox("Forecast for", ["All models", *units], key="costs.scope")
    stored = fleet if scope == "All models" else forecasts.get(("business_unit", scope))
    history = monthly_totals(
        monthly, currency=currency, business_unit=None if scope == "All models" else scope
    )
    history = history[history["month"].isin(done)]  # part-months would look like drops
    if stored is None:
        st.caption(
            "No forecast stored for this scope yet: `steward forecast --all` computes and stores them (cron)."
        )
    else:
        chart, facts = st.columns([3, 1])
        with chart:
            costs_view.forecast_chart(
                history,
                stored.months,
                level=stored.level,
                currency=currency,
                key="costs.forecast",
                title=f"{scope}: monthly cost and forecast",
            )
        with facts:
            ahead, low, high = total_ahead(stored.months, stored.paths, level=stored.level)
            st.metric("Next 12 months", costs_view.money(ahead, currency), border=True)
            st.caption(
                f"{stored.level:.0%} interval: {costs_view.money(low, currency)} – {costs_view.money(high, currency)}"
            )
            mape = "—" if stored.backtest_mape is None else f"{stored.backtest_mape:.1f}%"
            st.metric(
                "Backtest error (MAPE)",
                mape,
                border=True,
                help=f"The model refitted without the last {stored.backtest_months} full months, "
                "then compared with what was spent in them.",
            )
            st.caption(f"{stored.method}. Stored {stored.computed_at:%Y-%m-%d %H:%M} UTC.")
    st.subheader("Budgets")
    shown = [b for b in statuses if scope == "All models" or b.business_unit == scope]
    if not shown:
        st.caption(
            "No budget set for this scope. Approvers and admins set them below or with `steward set-budget`."
        )
    for status in shown if scope != "All models" else [b for b in shown if b.overrun_month]:
        (st.error if status.overrun_month else st.success)(status.sentence(), icon=":material/savings:")
    picked = [b for b in shown if b.overrun_month] or shown
    if picked:
        costs_view.budget_chart(picked[0], key="costs.budget")
    if scope == "All models" and shown:
        costs_view.budget_overview(budget_table(shown), key="costs.budgets")
    if identity.can("budget.set"):
        with st.expander("Set a budget"):
            with st.form("costs.budget.form"):
                unit = st.selectbox("Business unit", units, key="costs.budget.unit")
                year = st.number_input(
                    "Year",
                    min_value=2000,
                    max_value=2100,
                    value=dt.date.today().year,
                    key="costs.budget.year",
                )
                amount = st.number_input(
                    f"Amount ({currency})", min_value=0.0, step=1000.0, key="costs.budget.amount"
                )
                if st.form_submit_button("Save budget"):
                    try:
                        with write_session(bootstrap.engine()) as session:
                            set_budget(
                                session,
                                actor=identity.current_actor(),
                                business_unit=unit,
                                amount=amount,
                                period_start=dt.date(int(year), 1, 1),
                                period_end=dt.date(int(year), 12, 31),
                                currency=currency,
                            )
                    except StewardError as exc:
                        st.error(str(exc))
                    else:
                        cache.clear_after_write()
                        st.rerun()

with spend_tab:
    split = st.radio(
        "Split by",
        ["category", "business_unit", "model"],
        horizontal=True,
        key="costs.split",
        format_func=lambda s: s.replace("_", " "),
    )
    whole = monthly[monthly["month"].isin(done)]  # part-months would look like drops
    costs_view.spend_chart(
        whole,
        by=split,
        currency=currency,
        key="costs.spend",
        title=f"Cost per month by {split.replace('_', ' ')}",
    )
    if done:
        st.caption(
            f"Complete months only: {costs_view.month_name(done[0])} to {costs_view.month_name(done[-1])}."
        )
    st.subheader("Top cost growers")
    growers = top_growers(monthly, last_day=last_day)
    st.caption("Average monthly cost of the last three complete months against the three before.")
    st.dataframe(
        growers.drop(columns=["model_id"]),
        hide_index=True,
        width="stretch",
        key="costs.growers",
        column_config={
            "model": "Model",
            "business_unit": "Business unit",
            "currency": "Currency",
            "before": st.column_config.NumberColumn("Before (per month)", format="%.0f"),
            "recent": st.column_config.NumberColumn("Recent (per month)", format="%.0f"),
            "change": st.column_config.NumberColumn("Growth (per month)", format="%+.0f"),
            "change_pct": st.column_config.NumberColumn("Growth %", format="%+.1f%%"),
        },
    )
    st.subheader("Cost per 1,000 logged predictions")
    costs_view.per_thousand_chart(
        cost_per_thousand(whole, cache.monthly_predictions(), whole_months=True),
        currency=currency,
        key="costs.per_thousand",
    )
    st.caption(
        "All costs of a model in a month divided by the predictions it logged that month, times 1,000; "
        "only months in which it logged predictions every day. A pipeline that logs a sample of its "
        "predictions (the demo logs a few dozen a day per model) shows a higher figure than its cost per "
        "prediction served."
    )

with model_tab:
    models = monthly.drop_duplicates("model_id").sort_values("model")
    names = dict(zip(models["model_id"], models["model"], strict=True))
    model_id = st.selectbox("Model", list(names), format_func=names.get, key="costs.model")
    costs_view.spend_chart(
        monthly[(monthly["model_id"] == model_id) & monthly["month"].isin(done)],
        by="category",
        currency=currency,
        key="costs.model.spend",
        title=f"{names[model_id]}: cost per month by category",
    )
    with st.spinner("Forecasting this model…"):
        result = cache.model_forecast(int(model_id), 12, last_day)
    if result is not None:
        forecast = result.forecast
        chart, facts = st.columns([3, 1])
        with chart:
            model_history = monthly_totals(monthly, currency=currency, model_id=model_id)
            costs_view.forecast_chart(
                model_history[model_history["month"].isin(done)],
                forecast.months,
                level=forecast.level,
                currency=currency,
                key="costs.model.forecast",
                title=f"{names[model_id]}: forecast",
            )
        with facts:
            st.metric(
                "Next 12 months",
                costs_view.money(float(forecast.months["mean"].iloc[-12:].sum()), currency),
                border=True,
            )
            mape = "—" if forecast.backtest_mape is None else f"{forecast.backtest_mape:.1f}%"
            st.metric("Backtest error (MAPE)", mape, border=True)
            st.dataframe(
                forecast.backtest,
                hide_index=True,
                key="costs.model.backtest",
                column_config={
                    "month": "Held-out month",
                    "actual": st.column_config.NumberColumn("Actual", format="%.0f"),
                    "forecast": st.column_config.NumberColumn("Forecast", format="%.0f"),
                },
            )
