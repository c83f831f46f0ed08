"""Setting a business unit's yearly budget (approvers and admins), through app.actions; one model's
forecast: the stored one (`steward forecast --all`), or a fresh one when asked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from app import actions, cache, identity
from app.components.text import plain
from core.costs.budgets import set_budget
from core.errors import StewardError

FRESH = "costs.model.fresh"  # models whose fresh forecast was asked for in this session


def budget_form(units: list[str], currency: str) -> None:
    if not identity.can("budget.set"):
        return
    with st.expander("Set a budget"), st.form("costs.budget.form"):
        unit = st.selectbox("Business unit", units, key="costs.budget.unit")
        year = st.number_input(
            "Year", min_value=2000, max_value=2100, value=cache.today().year, key="costs.budget.year"
        )
        amount = st.number_input(
            f"Amount ({currency})", min_value=0.0, step=1000.0, key="costs.budget.amount"
        )
        if st.form_submit_button("Save budget"):
            actions.submit(
                set_budget,
                stale=(cache.COSTS,),
                success=f"Budget of {unit} for {int(year)} saved.",
                business_unit=unit,
                amount=amount,
                period_start=dt.date(int(year), 1, 1),
                period_end=dt.date(int(year), 12, 31),
                currency=currency,
            )


def model_forecast(model_id: int, last_day: dt.date | None, stored: dict[tuple[str, str], Any]) -> Any:
    """The model's stored forecast, or the one computed now when asked (statsmodels: seconds)."""
    kept = stored.get(("model", str(model_id)))
    asked = model_id in st.session_state.get(FRESH, set())
    if not asked:
        if kept is not None:
            st.caption(
                f"Forecast stored {kept.computed_at:%Y-%m-%d %H:%M} UTC by the scheduled forecast job."
            )
        label = "Forecast again now" if kept is not None else "Forecast this model"
        if not st.button(label, key="costs.model.forecast_now", icon=":material/refresh:"):
            return kept
        st.session_state[FRESH] = st.session_state.get(FRESH, set()) | {model_id}
    try:
        with st.spinner("Forecasting this model…"):
            return cache.model_forecast(model_id, last_day)
    except StewardError as exc:  # e.g. too short a history to forecast
        st.caption(plain(f"No forecast for this model: {exc}"))
        return None
