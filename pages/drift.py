"""Drift: have a model's inputs and outputs changed since training? Per period, over time, across
the portfolio, and for an uploaded file. The page reads stored runs only; computing a run is a
button (or `steward drift` from cron). ``?model=ID`` opens that model."""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import drift_view, empty
from app.components.choice import choose
from app.panels import drift
from core.monitoring.drift.reads import first_to_look_at

st.title("Drift")
st.caption("Whether a model's production inputs and outputs still look like the data it was trained on.")
choices = cache.drift_model_choices()
if choices.empty:
    empty.empty_state(
        "No model to monitor yet",
        "Drift is checked for models with a production version. "
        "Load the demo with `steward demo`, or promote a version to production.",
    )
    st.stop()

models = drift_view.model_labels(choices)
pick, period_pick = st.columns([1, 1])
with pick:
    model_id = choose(
        "Model",
        list(models),
        key="drift.model",
        param="model",
        default=lambda: first_to_look_at(cache.portfolio_drift(), models),  # the one that most needs a look
        format_func=lambda i: f"{models[i]['name']} ({models[i]['business_unit']})",
    )
model = models[model_id]
run_id = drift.run_picker(model_id, period_pick)
drift.compute(model_id, model)

detail = cache.drift_run_detail(run_id) if run_id is not None else None
if detail is not None:
    drift_view.run_header(detail, cache.monitoring_alerts(model_id=model_id))
    drift_view.drifted_features(detail, key="drift.chart")

columns_tab, time_tab, report_tab, portfolio_tab, upload_tab = st.tabs(
    ["All columns", "Drift over time", "Evidently report", "All models", "Check a file"]
)
with columns_tab:
    if detail is None:
        st.caption("No drift run for this model yet: compute one above.")
    else:
        drift_view.columns_table(detail, key="drift.columns")
        drift_view.stable_columns(detail, key="drift.stable")
with time_tab:
    drift_view.history_chart(
        cache.drift_history(model_id),
        key="drift.history",
        alert_share=cache.monitoring_thresholds(model_id=model_id).drift_share,
    )
with report_tab:
    if detail is None:
        st.caption("Pick a drift run first.")
    else:
        drift.report(detail, model)
with portfolio_tab:
    drift_view.portfolio_table(cache.portfolio_drift(), key="drift.portfolio")
with upload_tab:
    drift.check_file(model_id, model)
