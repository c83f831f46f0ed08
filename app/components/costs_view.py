"""Charts of the Costs page: spend over time, cost per 1,000 predictions, forecasts with their
intervals, and budgets (cumulative spend against the budget line). Amounts in one currency."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

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
    import plotly.graph_objects as go

    if monthly.empty:
        st.caption("No costs recorded.")
        return
    grouped = monthly.groupby(["month", by], as_index=False)["amount"].sum()
    grouped["x"] = _month_axis(grouped["month"])
    figure = go.Figure()
    for name, rows in grouped.groupby(by, sort=True):
        figure.add_bar(
            x=rows["x"],
            y=rows["amount"],
            name=str(name),
            marker_color=CATEGORY_COLOURS.get(str(name)),
            hovertemplate=f"{name}<br>%{{x|%b %Y}}: {currency} %{{y:,.0f}}<extra></extra>",
        )
    figure.update_layout(
        **_LAYOUT,
        barmode="stack",
        height=360,
        title_text=title,
        xaxis_title="Month",
        yaxis_title=f"Cost per month ({currency})",
        legend_title_text=by.replace("_", " ").capitalize(),
    )
    st.plotly_chart(figure, key=key, width="stretch")


def per_thousand_chart(per: pd.DataFrame, *, currency: str, key: str) -> None:
    import plotly.graph_objects as go

    if per.empty:
        st.caption("No model has both costs and logged predictions, so there is no cost per prediction.")
        return
    figure = go.Figure()
    for name, rows in per.groupby("model", sort=True):
        figure.add_scatter(
            x=_month_axis(rows["month"]),
            y=rows["cost_per_1000"],
            mode="lines+markers",
            name=str(name),
            customdata=rows["predictions"],
            hovertemplate=f"{name}<br>%{{x|%b %Y}}: {currency} %{{y:,.2f}} per 1,000 "
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
    st.plotly_chart(figure, key=key, width="stretch")


def forecast_chart(
    history: pd.DataFrame, months: pd.DataFrame, *, level: float, currency: str, key: str, title: str
) -> None:
    """Monthly history (month, amount) and the forecast (month, mean, lower, upper) with its band.
    The first forecast month may hold the actual spend so far plus the rest of the month."""
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
        title_text=title,
        xaxis_title="Month",
        yaxis_title=f"Cost per month ({currency})",
        legend={"orientation": "h", "y": -0.2},
    )
    st.plotly_chart(figure, key=key, width="stretch")


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
        title_text=f"{status.business_unit}: cumulative spend against the budget",
        xaxis_title="Month",
        yaxis_title=f"Cumulative cost ({status.currency})",
        legend={"orientation": "h", "y": -0.25},
    )
    st.plotly_chart(figure, key=key, width="stretch")


def budget_overview(table: pd.DataFrame, *, key: str) -> None:
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key=key,
        column_config={
            "business_unit": "Business unit",
            "period": "Period",
            "currency": "Currency",
            "budget": st.column_config.NumberColumn("Budget", format="localized"),
            "spent": st.column_config.NumberColumn("Spent so far", format="localized"),
            "projected": st.column_config.NumberColumn("Projected", format="localized"),
            "projected_lower": st.column_config.NumberColumn("Projected (low)", format="localized"),
            "projected_upper": st.column_config.NumberColumn("Projected (high)", format="localized"),
            "projected_until": "Projection until",
            "overrun_month": "Over budget from",
            "overrun_probability": st.column_config.ProgressColumn(
                "Chance of overrun", format="percent", min_value=0, max_value=1
            ),
        },
    )


def month_name(month: str) -> str:
    return pd.Period(month, "M").strftime("%B %Y")


def money(amount: float | None, currency: str) -> str:
    return "—" if amount is None else f"{currency} {amount:,.0f}"
