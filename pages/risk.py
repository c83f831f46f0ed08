"""Risk: the portfolio risk matrix, re-assessment flags from registry evidence, overdue reviews,
tiers per business unit, and the assessment form. ``?model=ID`` opens the form on that model."""

from __future__ import annotations

import streamlit as st

from app import cache, identity
from app.components import empty, risk_view
from app.components.text import plain
from app.feedback_actions import perform
from core.governance import risk

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
rows = cache.risk_portfolio(unit)
flags = cache.risk_flags(unit)
overdue = cache.risk_overdue(unit)
assessed = sum(1 for _, v in rows if v is not None)
kpi = st.columns(4)
kpi[0].metric("Models assessed", f"{assessed} of {len(rows)}")
kpi[1].metric("High tier", sum(1 for _, v in rows if v is not None and v.tier == "high"))
kpi[2].metric(
    "Reviews overdue", len(overdue), help="Past the review date, or in validation/production unassessed."
)
kpi[3].metric("Models flagged to re-assess", len({f.model_id for f in flags}))

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
grid = cache.risk_heatmap(category, basis, unit)
flagged = risk_view.flag_summary(flags)
clicked = risk_view.heatmap_chart(
    grid,
    key="risk.heatmap",
    flagged=flagged,
    title=(
        f"{risk_view.CATEGORY_CHOICES[category]} — {'after' if basis == 'residual' else 'before'} mitigations: "
        f"models per cell ({risk_view.FLAG_MARK} = evidence calls for a re-assessment)"
    ),
)
cells = [
    (r.likelihood, r.impact, r.count)
    for r in grid[grid["count"] > 0].sort_values("score", ascending=False).itertuples()
]
if cells:
    if clicked is not None and st.session_state.get("risk.cell.clicked") != clicked:
        st.session_state["risk.cell.clicked"] = clicked  # a click on the chart picks the cell below
        st.session_state["risk.cell"] = next((c for c in cells if c[:2] == clicked), cells[0])
    cell = st.selectbox(
        "Models in cell (or click a cell in the matrix)",
        cells,
        key="risk.cell",
        format_func=lambda c: risk_view.cell_label(*c),
    )
    risk_view.cell_models(
        risk.cell_rows(rows, category=category, basis=basis, likelihood=cell[0], impact=cell[1]),
        key="risk.cell.models",
        flagged=flagged,
    )
else:
    st.caption("No model is assessed yet; record an assessment below.")

st.subheader("Re-assessment flags")
risk_view.flags_table(flags, key="risk.flags")
st.subheader("Reviews overdue")
risk_view.overdue_table(overdue, key="risk.overdue")
risk_view.tier_chart(cache.risk_tiers(unit), key="risk.tiers")
risk_view.tier_rule()

st.subheader("Assess a model")
param = st.query_params.get("model")
if param and param.isdigit() and int(param) in choices and "risk.assess.model" not in st.session_state:
    st.session_state["risk.assess.model"] = int(param)
model_id = st.selectbox(
    "Model",
    list(choices),
    key="risk.assess.model",
    format_func=lambda i: f"{choices[i].name} ({choices[i].business_unit})",
)
history = cache.risk_history(model_id)
if history:
    risk_view.assessment_summary(history[0])
else:
    st.info(f"{plain(choices[model_id].name)} has not been assessed yet.", icon=":material/info:")
if identity.can("risk.assess", choices[model_id].business_unit):
    submitted = risk_view.assessment_form(history[0] if history else None, key=f"risk.assess.form.{model_id}")
    if submitted is not None:
        done = perform(risk.assess_model, model_id=model_id, **submitted)
        if done.ok:
            st.toast(f"Assessment recorded for {plain(choices[model_id].name)}.", icon=":material/check:")
            st.rerun()
        st.error(done.error, icon=":material/error:")
else:
    st.caption("Recording an assessment needs the model owner or approver role for this business unit.")
if len(history) > 1:
    with st.expander(f"Earlier assessments ({len(history) - 1})"):
        for view in history[1:]:
            st.markdown(
                f"**Assessment {view.version}** — {view.assessed_at:%Y-%m-%d} by {plain(view.assessed_by)}, "
                f"tier {view.tier}"
            )
            risk_view.assessment_summary(view)
