"""Charts of the Costs page: spend over time, cost per 1,000 predictions, forecasts with their
intervals, and budgets (cumulative spend against the budget line). Amounts in one currency."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components.charts import memo_figure
from app.components.text import chart, plain
from core.costs.budgets import BudgetStatus, budget_table
from core.costs.fleet import StoredForecast, total_ahead
from core.costs.views import ALL_MODELS, CostView
from core.registry.figures import PortfolioFigures
from core.registry.figures import money as figures_money

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "title": {"font": {"size": 14}}}
CATEGORY_COLOURS = {
    "compute": "#1f77b4",
    "storage": "#8c564b",
    "inference": "#ff7f0e",
    "labelling": "#2ca02c",
}


def _month_axis(months: pd.Series) -> pd.Series:
    return pd.PeriodIndex(months, freq="M").to_timestamp().to_series(index=months.index)


def spend_chart(monthly: pd.DataFrame, *, by: str, currency: str, key: str, title: str) -> None:
    """Stacked monthly bars of spend split ``by`` category, business_unit or model."""
    if monthly.empty:
        st.caption("No costs recorded.")
        return
    st.plotly_chart(_spend_figure(monthly, by, currency, title), key=key, width="stretch")


@memo_figure
def _spend_figure(monthly: pd.DataFrame, by: str, currency: str, title: str) -> Any:
    import plotly.graph_objects as go

    grouped = monthly.groupby(["month", by], as_index=False)["amount"].sum()
    grouped["x"] = _month_axis(grouped["month"])
    figure = go.Figure()
    for name, rows in grouped.groupby(by, sort=True):
        figure.add_bar(
            x=rows["x"],
            y=rows["amount"],
            name=chart(name),
            marker_color=CATEGORY_COLOURS.get(str(name)),
            hovertemplate=f"{chart(name)}<br>%{{x|%b %Y}}: {currency} %{{y:,.0f}}<extra></extra>",
        )
    figure.update_layout(
        **_LAYOUT,
        barmode="stack",
        height=360,
        title_text=chart(title),
        xaxis_title="Month",
        yaxis_title=f"Cost per month ({currency})",
        legend_title_text=by.replace("_", " ").capitalize(),
    )
    return figure


def per_thousand_chart(per: pd.DataFrame, *, currency: str, key: str) -> None:
    if per.empty:
        st.caption("No model has both costs and logged predictions, so there is no cost per prediction.")
        return
    st.plotly_chart(_per_thousand_figure(per, currency), key=key, width="stretch")


@memo_figure
def _per_thousand_figure(per: pd.DataFrame, currency: str) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    for name, rows in per.groupby("model", sort=True):
        figure.add_scatter(
            x=_month_axis(rows["month"]),
            y=rows["cost_per_1000"],
            mode="lines+markers",
            name=chart(name),
            customdata=rows["predictions"],
            hovertemplate=f"{chart(name)}<br>%{{x|%b %Y}}: {currency} %{{y:,.2f}} per 1,000 "
            "(%{customdata:,} predictions)<extra></extra>",
        )
    import plotly.express as px

    figure.update_layout(colorway=px.colors.qualitative.Dark24)  # one colour per model, up to 24 models
    figure.update_layout(
        **_LAYOUT,
        height=360,
        title_text="Cost per 1,000 predictions",
        xaxis_title="Month",
        yaxis_title=f"{currency} per 1,000 predictions (log scale)",
        legend_title_text="Model",
        yaxis={"type": "log", "dtick": 1, "tickformat": ",.0f"},
    )
    return figure


def forecast_chart(
    history: pd.DataFrame, months: pd.DataFrame, *, level: float, currency: str, key: str, title: str
) -> None:
    """Monthly history (month, amount) and the forecast (month, mean, lower, upper) with its band.
    The first forecast month may hold the actual spend so far plus the rest of the month."""
    st.plotly_chart(_forecast_figure(history, months, level, currency, title), key=key, width="stretch")


@memo_figure
def _forecast_figure(
    history: pd.DataFrame, months: pd.DataFrame, level: float, currency: str, title: str
) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    x = _month_axis(months["month"])
    figure.add_scatter(
        x=pd.concat([x, x[::-1]]),
        y=pd.concat([months["upper"], months["lower"][::-1]]),
        fill="toself",
        fillcolor="rgba(255,127,14,0.18)",
        line={"width": 0},
        hoverinfo="skip",
        name=f"{level:.0%} prediction interval",
    )
    figure.add_scatter(
        x=_month_axis(history["month"]),
        y=history["amount"],
        mode="lines+markers",
        name="Actual",
        line={"color": "#1f77b4"},
        hovertemplate=f"%{{x|%b %Y}}: {currency} %{{y:,.0f}}<extra>actual</extra>",
    )
    figure.add_scatter(
        x=x,
        y=months["mean"],
        mode="lines+markers",
        name="Forecast",
        line={"color": "#ff7f0e", "dash": "dash"},
        customdata=months[["lower", "upper"]],
        hovertemplate=f"%{{x|%b %Y}}: {currency} %{{y:,.0f}} ({currency} %{{customdata[0]:,.0f}}–"
        "%{customdata[1]:,.0f})<extra>forecast</extra>",
    )
    figure.update_layout(
        **_LAYOUT,
        height=380,
        title_text=chart(title),
        xaxis_title="Month",
        yaxis_title=f"Cost per month ({currency})",
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def budget_chart(status: Any, *, key: str) -> None:
    """Cumulative spend in the budget period: actual, projected with its band, and the budget line."""
    import plotly.graph_objects as go

    frame = status.cumulative
    x = _month_axis(frame["month"])
    figure = go.Figure()
    if "upper" in frame and frame["upper"].notna().any():
        band = frame[frame["upper"].notna()]
        bx = _month_axis(band["month"])
        figure.add_scatter(
            x=pd.concat([bx, bx[::-1]]),
            y=pd.concat([band["upper"], band["lower"][::-1]]),
            fill="toself",
            fillcolor="rgba(255,127,14,0.18)",
            line={"width": 0},
            hoverinfo="skip",
            name=f"{status.level:.0%} interval",
        )
        figure.add_scatter(
            x=bx,
            y=band["mean"],
            mode="lines+markers",
            name="Projected",
            line={"color": "#ff7f0e", "dash": "dash"},
            hovertemplate=f"%{{x|%b %Y}}: {status.currency} %{{y:,.0f}} spent by then<extra>projected</extra>",
        )
    actual = frame[frame["actual"].notna()]
    if not actual.empty:
        figure.add_scatter(
            x=_month_axis(actual["month"]),
            y=actual["actual"],
            mode="lines+markers",
            name="Spent",
            line={"color": "#1f77b4"},
            hovertemplate=f"%{{x|%b %Y}}: {status.currency} %{{y:,.0f}} spent by then<extra>actual</extra>",
        )
    figure.add_scatter(
        x=x,
        y=[status.amount] * len(x),
        mode="lines",
        name="Budget",
        line={"color": "#d62728", "width": 2},
        hovertemplate=f"budget {status.currency} {status.amount:,.0f}<extra></extra>",
    )
    figure.update_layout(
        **_LAYOUT,
        height=340,
        title_text=f"{chart(status.business_unit)}: cumulative spend against the budget",
        xaxis_title="Month",
        yaxis_title=f"Cumulative cost ({status.currency})",
        legend={"orientation": "h", "y": -0.25},
    )
    st.plotly_chart(figure, key=key, width="stretch")


def budget_overview(table: pd.DataFrame, *, key: str) -> None:
    currencies = table["currency"].dropna().unique()
    unit = f" ({currencies[0]})" if len(currencies) == 1 else ""
    # Fits the page without sideways scrolling: the interval and the projection's horizon are in the
    # sentences above; the currency goes into the headers when there is one.
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key=key,
        column_order=[
            "business_unit",
            "period",
            *([] if unit else ["currency"]),
            "budget",
            "spent",
            "projected",
            "overrun_month",
            "overrun_probability",
        ],  # fmt: skip
        column_config={
            "business_unit": "Business unit",
            "period": st.column_config.TextColumn("Period", width="small"),
            "currency": "Currency",
            "budget": st.column_config.NumberColumn(f"Budget{unit}", format="localized"),
            "spent": st.column_config.NumberColumn(f"Spent so far{unit}", format="localized"),
            "projected": st.column_config.NumberColumn(
                f"Projected{unit}", format="localized", help="Central projection at the end of the period."
            ),
            "overrun_month": "Over budget from",
            "overrun_probability": st.column_config.ProgressColumn(
                "Chance of overrun", format="percent", min_value=0, max_value=1
            ),
        },
        placeholder="—",
    )


def month_name(month: str) -> str:
    return pd.Period(month, "M").strftime("%B %Y")


def money(amount: float | None, currency: str) -> str:
    """One amount as every page writes money (core.registry.figures.money): "€38,909"."""
    return "—" if amount is None else figures_money({currency: amount})


# --- the page's sections ------------------------------------------------------------------------


def currency_note(currencies: list[str]) -> None:
    if len(currencies) > 1:
        st.caption("Amounts in different currencies are never added up; pick the currency to look at.")


def kpis(
    view: CostView, fleet: StoredForecast | None, statuses: list[BudgetStatus], figures: PortfolioFigures
) -> None:
    """Last calendar month's cost and the last 30 days' (core.registry.figures, as on the Inventory),
    the fleet's next 12 months, budgets projected to overrun."""
    currency = view.currency
    cells = st.columns(4)
    cells[0].metric(
        figures.month_window.name,
        money(figures.cost_in_month.get(currency), currency),
        border=True,
        help=f"All models, {figures.month_window.period}.",
    )
    cells[1].metric(
        figures.cost_window.name,
        money(figures.cost_last_30_days.get(currency), currency),
        border=True,
        help=f"All models, {figures.cost_window.period}: the figure the Inventory shows.",
    )
    if fleet is not None:
        ahead, low, high = total_ahead(fleet.months, fleet.paths, level=fleet.level)
        interval = f"likely between {money(low, currency)} and {money(high, currency)}"
        cells[2].metric(
            "Next 12 months (forecast)",
            money(ahead, currency),
            border=True,
            help=f"{fleet.level:.0%} of the forecast's outcomes lie in this range.",
        )
        cells[2].caption(interval.capitalize())
    over = [b for b in statuses if b.alert]
    cells[3].metric(
        "Budgets at risk",
        f"{len(over)} of {len(statuses)}",
        border=True,
        help="Budgets already overspent, or whose central projection exceeds them before the period ends.",
    )


def forecast(view: CostView, scope: str, stored: StoredForecast | None) -> None:
    """The scope's monthly cost with its stored forecast, next 12 months and backtest error."""
    if stored is None:
        st.caption(
            "No forecast stored for this scope yet: `steward forecast --all` computes and stores them (cron)."
        )
        return
    currency = view.currency
    left, facts = st.columns([3, 1])
    with left:
        forecast_chart(
            view.history(scope=scope),
            stored.months,
            level=stored.level,
            currency=currency,
            key="costs.forecast",
            title=f"{scope}: monthly cost and forecast",
        )
    with facts:
        ahead, low, high = total_ahead(stored.months, stored.paths, level=stored.level)
        st.metric("Next 12 months", money(ahead, currency), border=True)
        if low is not None and high is not None:
            st.caption(f"Likely between {money(low, currency)} and {money(high, currency)}.")
        how_computed(stored.method, stored.backtest_mape, stored.backtest_months, stored.level)
        st.caption(f"Forecast made {stored.computed_at:%Y-%m-%d %H:%M} UTC.")


def how_computed(method: str, error: float | None, months: int, level: float) -> None:
    """The method and its measured error, for those who ask: business owners read the figures."""
    with st.expander("How this is computed"):
        st.markdown(
            "The forecast extends each model's recent weekly cost with its trend (damped, so a few "
            f"months of growth are not extended for ever); a unit's forecast adds up its models'. The "
            f"range holds {level:.0%} of 500 simulated futures."
        )
        if error is not None:
            st.markdown(
                f"**Accuracy:** refitted without the last {months} full months, the forecast missed what "
                f"was spent in them by {error:.0f}% on average (mean absolute percentage error, MAPE)."
            )
        st.caption(f"Method: {plain(method)}.")


def budgets(shown: list[BudgetStatus], scope: str) -> None:
    """The scope's budgets in words (for all models: only those projected to overrun), the first
    overrunning one's cumulative chart, and every budget's figures."""
    st.subheader("Budgets")
    if not shown:
        st.caption(
            "No budget set for this scope. Approvers and admins set them below or with `steward set-budget`."
        )
    for status in shown if scope != ALL_MODELS else [b for b in shown if b.alert]:
        # Red once the period runs; a period still ahead that is projected to overrun is a warning.
        if status.alert and status.started:
            st.error(plain(status.sentence()), icon=":material/savings:")
        elif status.alert:
            st.warning(plain(status.sentence()), icon=":material/savings:")
        else:
            st.success(plain(status.sentence()), icon=":material/savings:")
    picked = [b for b in shown if b.alert] or shown
    if picked:
        budget_chart(picked[0], key="costs.budget")
    if scope == ALL_MODELS and shown:
        budget_overview(budget_table(shown), key="costs.budgets")


def spend(view: CostView, predictions: pd.DataFrame) -> None:
    """Spend per complete month split by category, unit or model; top growers; cost per 1,000."""
    split = st.radio(
        "Split by",
        ["category", "business_unit", "model"],
        horizontal=True,
        key="costs.split",
        format_func=lambda s: s.replace("_", " "),
    )
    spend_chart(
        view.spend(),
        by=split,
        currency=view.currency,
        key="costs.spend",
        title=f"Cost per month by {split.replace('_', ' ')}",
    )
    if view.complete:
        st.caption(
            f"Complete months only: {month_name(view.complete[0])} to {month_name(view.complete[-1])}."
        )
    st.subheader("Top cost growers")
    st.caption("Average monthly cost of the last three complete months against the three before.")
    st.dataframe(
        view.growers().drop(columns=["model_id"]),
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
    per_thousand_chart(view.per_thousand(predictions), currency=view.currency, key="costs.per_thousand")
    st.caption(
        "All costs of a model in a month divided by the predictions it logged that month, times 1,000; "
        "only months in which it logged predictions every day. A pipeline that logs a sample of its "
        "predictions (the demo logs a few dozen a day per model) shows a higher figure than its cost per "
        "prediction served."
    )


def model_costs(view: CostView, model_id: int, result: Any) -> None:
    """One model's spend by category, and its forecast (``result``: the stored one, or one computed
    on request, which also has its backtest months)."""
    name = view.models[model_id]
    spend_chart(
        view.spend(model_id),
        by="category",
        currency=view.currency,
        key="costs.model.spend",
        title=f"{name}: cost per month by category",
    )
    if result is None:
        return
    predicted = getattr(result, "forecast", result)  # a fresh ScopedForecast, or a StoredForecast
    left, facts = st.columns([3, 1])
    with left:
        forecast_chart(
            view.history(model_id=model_id),
            predicted.months,
            level=predicted.level,
            currency=view.currency,
            key="costs.model.forecast",
            title=f"{name}: forecast",
        )
    with facts:
        ahead = float(predicted.months["mean"].iloc[-12:].sum())
        st.metric("Next 12 months", money(ahead, view.currency), border=True)
        how_computed(predicted.method, predicted.backtest_mape, predicted.backtest_months, predicted.level)
        backtest = getattr(predicted, "backtest", None)  # a stored forecast keeps no backtest table
        if backtest is None or backtest.empty:
            return
        st.dataframe(
            backtest,
            hide_index=True,
            key="costs.model.backtest",
            column_config={
                "month": "Held-out month",
                "actual": st.column_config.NumberColumn("Actual", format="%.0f"),
                "forecast": st.column_config.NumberColumn("Forecast", format="%.0f"),
            },
        )
