"""The segment section of the Performance page: performance and outcome rates per group of each
categorical feature and sensitive attribute, with disparities and findings; model owners attach
sensitive attributes from a join file here (through app.actions)."""

from __future__ import annotations

import streamlit as st

from app import actions, cache, identity
from app.components import segments_view as view
from core.registry import attributes


def section(model_id: int, version_id: int, business_unit: str) -> None:
    st.subheader("Segments and fairness")
    report = cache.segment_report(model_id=model_id, version_id=version_id)
    view.summary(report)
    view.findings(report)
    measured = report.segments[report.segments["measured"]]
    if measured.empty:
        st.caption(
            "No segment to measure yet: segments are the model's categorical inputs and the sensitive "
            "attributes attached to its requests, over labelled predictions of the last 90 days."
        )
    else:
        names = list(measured["segment"])
        pick, rate = st.columns([2, 2])
        segment = pick.selectbox(
            "Segment",
            names,
            key=f"performance.segments.segment.{model_id}",
            format_func=lambda s: view.segment_label(report, s),
        )
        metrics = view.metrics_for(report)
        metric = rate.selectbox(
            "Rate",
            metrics,
            key=f"performance.segments.metric.{model_id}",
            format_func=view.metric_label,
        )
        view.segment_chart(report, segment, metric, key="performance.segments.chart")
        view.groups_table(report, segment, key="performance.segments.groups")
        view.disparities_table(report, key="performance.segments.disparities")
    _attach(model_id, business_unit)


def _attach(model_id: int, business_unit: str) -> None:
    """Upload a join file of sensitive attributes (request_id + one column per attribute)."""
    if not identity.can("predictions.log", business_unit):
        return
    with st.expander("Attach sensitive attributes (join file)", icon=":material/person_search:"):
        st.caption(
            "A CSV or Parquet file with a `request_id` column and one column per attribute (e.g. `age_band`). "
            "Every request id must be in this model's prediction log; values given again replace the old ones."
        )
        upload = st.file_uploader("Join file", type=["csv", "parquet"], key="performance.segments.upload")
        if st.button(
            "Attach", key="performance.segments.attach", disabled=upload is None, icon=":material/link:"
        ):
            assert upload is not None
            done = actions.perform(
                attributes.attach_attributes_file,
                stale=(cache.LABELS,),
                success=lambda r: f"Attached {', '.join(r['attributes'])} to {r['rows']:,} requests.",
                model_id=model_id,
                data=upload.getvalue(),
                name=upload.name,
            )
            if done.ok:
                st.rerun()
            actions.show_error(done)
