"""Performance: realised performance from labels per month, with 95% intervals, beside the
validation value the version was approved with; the model's open alerts and thresholds.
The ``model`` query parameter makes the page shareable."""

from __future__ import annotations

import streamlit as st

from app import cache, identity
from app.components import empty
from app.components import performance_view as view
from app.feedback_actions import perform
from core.monitoring import alerts

MODEL_KEY = "performance.model"
FLASH = "performance.flash"

st.title("Performance")
versions = cache.monitored_versions()
if versions.empty:
    empty.empty_state(
        "No model makes predictions yet",
        "Realised performance needs logged predictions with labels: `steward log-predictions` "
        "(with a `label` column) or a labelling campaign on the **Labelling** page.",
    )
    st.stop()

models = versions.drop_duplicates("model_id").set_index("model_id")
param = st.query_params.get("model")
if MODEL_KEY not in st.session_state and param and param.isdigit() and int(param) in models.index:
    st.session_state[MODEL_KEY] = int(param)
pick_model, pick_version = st.columns([3, 1])
model_id = pick_model.selectbox(
    "Model", list(models.index), key=MODEL_KEY, format_func=lambda i: models.loc[i, "model"]
)
st.query_params["model"] = str(model_id)
mine = versions[versions["model_id"] == model_id]
labels = {
    int(r.version_id): f"v{r.version}" + (" (production)" if r.stage == "production" else "")
    for r in mine.itertuples()
}
version_id = pick_version.selectbox(
    "Version", list(labels), key=f"performance.version.{model_id}", format_func=labels.__getitem__
)

report = cache.performance_report(model_id, version_id)
model = models.loc[model_id]
view.kpis(report)
available = report.table["metric"].unique().tolist() or (
    ["accuracy", "roc_auc"] if report.task == "binary_classification" else ["mae"]
)
metric = (
    st.segmented_control(
        "Metric",
        available,
        key=f"performance.metric.{model_id}",
        default=view.default_metric(report, model["primary_metric"], available),
        format_func=lambda m: view.METRIC_LABELS[m],
    )
    or available[0]
)
view.metric_chart(report, metric, target=model["target"], key="performance.chart")
view.verdicts(report)
view.labels_chart(report, key="performance.labels")
with st.expander("Every metric per month", icon=":material/table:"):
    view.metrics_table(report, key="performance.table")

st.subheader("Alerts")
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH))
view.alerts_table(cache.monitoring_alerts(model_id), key="performance.alerts")
limits = cache.monitoring_thresholds(model_id)
st.caption(view.thresholds_text(limits))
if identity.can("thresholds.set", model["business_unit"]):
    with st.expander("Change thresholds", icon=":material/tune:"):
        change = view.thresholds_form(limits)
        if change is not None:
            done = perform(alerts.set_thresholds, model_id=model_id, **change)
            if done.ok:
                st.session_state[FLASH] = "Thresholds saved; they apply from the next health check."
                st.rerun()
            st.error(done.error)
if identity.can("monitoring.run"):
    if st.button("Check health of all models now", key="performance.health", icon=":material/monitor_heart:"):
        done = perform(alerts.evaluate_health)
        if done.ok and done.result is not None:
            changed = [r for r in done.result if r.changed]
            st.success(f"Health checked for {len(done.result)} models; {len(changed)} changed status.")
        else:
            st.error(done.error)
with st.expander("Open alerts across the portfolio", icon=":material/notifications:"):
    view.alerts_table(cache.monitoring_alerts(), key="performance.all_alerts", with_model=True)
