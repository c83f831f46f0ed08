"""Performance: realised performance from labels per month, with 95% intervals, beside the
validation value the version was approved with; the model's open alerts and thresholds.
The ``model`` query parameter makes the page shareable."""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import empty
from app.components import performance_view as view
from app.components.choice import choose
from app.panels import performance, segments

st.title("Performance")
versions = cache.monitored_versions()
if versions.empty:
    empty.empty_state(
        "No model makes predictions yet",
        "Realised performance needs logged predictions with labels: `steward log-predictions` "
        "(with a `label` column) or a labelling campaign on the **Labelling** page.",
    )
    st.stop()

names = view.model_names(versions)
pick_model, pick_version = st.columns([3, 1])
with pick_model:
    model_id = choose("Model", list(names), key="performance.model", param="model", format_func=names.get)
labels = view.version_labels(versions, model_id)
version_id = pick_version.selectbox(
    "Version", list(labels), key=f"performance.version.{model_id}", format_func=labels.__getitem__
)

report = cache.performance_report(model_id=model_id, version_id=version_id)
estimate = cache.estimated_performance(model_id=model_id, version_id=version_id)
model = view.model_row(versions, model_id)
view.kpis(report)
available = view.metrics_of(report)
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
view.metric_chart(report, metric, target=model["target"], key="performance.chart", estimate=estimate)
view.estimate_notes(estimate, metric)
view.verdicts(report)
view.labels_chart(report, key="performance.labels")
if report.classes:
    st.subheader("By class")
    view.class_table(report, key="performance.classes")
    view.confusion_chart(report, key="performance.confusion")
with st.expander("Every metric per month", icon=":material/table:"):
    view.metrics_table(report, key="performance.table")
with st.expander("Estimated beside realised, per month", icon=":material/query_stats:"):
    view.estimate_table(estimate, key="performance.estimates")
segments.section(model_id, version_id, model["business_unit"])

st.subheader("Alerts")
view.alerts_table(cache.monitoring_alerts(model_id=model_id), key="performance.alerts")
performance.thresholds(model_id, model["business_unit"])
performance.health_check()
with st.expander("Open alerts across the portfolio", icon=":material/notifications:"):
    view.alerts_table(cache.monitoring_alerts(), key="performance.all_alerts", with_model=True)
