"""Risk: the portfolio risk matrix, re-assessment flags from registry evidence, overdue reviews,
tiers per business unit, and the assessment form. ``?model=ID`` opens the form on that model."""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import empty, risk_view
from app.panels import risk as risk_panel

st.title("Risk")
st.caption(
    "Four risks per model — unavailable for a period, wrong predictions for certain cases, fairness or "
    "accuracy decaying, knowledge to maintain it lost — each scored likelihood × impact, before and after "
    "mitigations. Monitoring evidence raises a re-assess flag when an assessment no longer holds."
)
choices = {c.id: c for c in cache.model_choices()}
if not choices:
    empty.empty_registry()
    st.stop()

units = sorted({c.business_unit for c in choices.values()})
unit = st.selectbox(
    "Business unit", [None, *units], key="risk.filter.unit", format_func=lambda u: u or "All units"
)
rows = cache.risk_portfolio(business_unit=unit)
flags = cache.risk_flags(business_unit=unit)
overdue = cache.risk_overdue(business_unit=unit)
risk_view.kpis(rows, flags, overdue, cache.assessed_counts(business_unit=unit))

st.subheader("Portfolio risk matrix")
left, right = st.columns([3, 2])
category = left.selectbox(
    "Risk",
    list(risk_view.CATEGORY_CHOICES),
    key="risk.heatmap.category",
    format_func=risk_view.CATEGORY_CHOICES.__getitem__,
)
basis = right.segmented_control(
    "Scores",
    ["residual", "inherent"],
    key="risk.heatmap.basis",
    default="residual",
    format_func=lambda b: "After mitigations" if b == "residual" else "Before mitigations",
)
basis = basis or "residual"
grid = cache.risk_heatmap(category=category, basis=basis, business_unit=unit)
risk_view.matrix(grid, rows, flags, category=category, basis=basis)

st.subheader("Re-assessment flags")
risk_view.flags_table(flags, key="risk.flags")
st.subheader("Reviews overdue")
risk_view.overdue_table(overdue, key="risk.overdue")
risk_view.tier_chart(cache.risk_tiers(business_unit=unit), key="risk.tiers")
risk_view.tier_rule()

st.subheader("Assess a model")
risk_panel.assess(choices)
