"""The log-retention panel of the Model page: how long the model's raw prediction rows are kept,
what the log store holds, and (for the model's owners) the form that changes it.

``core.logstore.retention`` checks the role again; the scheduled `steward retention apply`
deletes what the policy no longer keeps.
"""

from __future__ import annotations

import streamlit as st

from app import actions, cache, identity
from app.components.text import plain
from core.logstore import retention

KEEP_CHOICES = {"days": "Keep raw rows for a number of days", "forever": "Keep raw rows for ever"}


def model_panel(model_id: int, business_unit: str) -> None:
    view = cache.log_retention(model_id)
    with st.container(border=True, key="model.retention"):
        st.markdown("**Prediction log retention**")
        st.caption(plain(view.policy_text))
        kept_col, rows_col, span_col = st.columns(3)
        kept_col.metric("Raw rows kept", "for ever" if view.raw_days is None else f"{view.raw_days} days")
        rows_col.metric("Rows in the log store", f"{view.stored_rows:,}")
        span_col.metric("Oldest day stored", f"{view.oldest_day:%Y-%m-%d}" if view.oldest_day else "-")
        for version, location, rows, read_at in view.sources:
            when = f", read {read_at:%Y-%m-%d %H:%M} UTC" if read_at is not None else ""
            st.caption(
                f"Version {version} reads its logs where they live, {plain(location)} "
                f"({rows or 0:,} rows{when}; `steward log-source sync` reads them again). "
                "Retention never deletes those files."
            )
        if view.last_applied_at is not None:
            st.caption(
                f"Last applied {view.last_applied_at:%Y-%m-%d %H:%M} UTC by `steward retention apply`."
            )
        if identity.can("retention.set", business_unit):
            with st.expander("Change retention", icon=":material/auto_delete:"):
                _form(model_id, view)


def _form(model_id: int, view: retention.RetentionView) -> None:
    with st.form("model.retention.form"):
        keep = st.radio(
            "Raw prediction rows",
            list(KEEP_CHOICES),
            format_func=KEEP_CHOICES.__getitem__,
            index=1 if view.raw_days is None else 0,
            key="model.retention.keep",
        )
        days = st.number_input(
            "Days to keep",
            min_value=1,
            max_value=retention.MAX_DAYS,
            value=view.raw_days or 365,
            step=1,
            key="model.retention.days",
            help="Raw rows of older days are deleted by the daily job. Daily aggregates, drift results and "
            "the labelled sample are kept for ever.",
        )
        if st.form_submit_button("Save retention", key="model.retention.save"):
            raw_days = int(days) if keep == "days" else None
            actions.submit(
                retention.set_retention,
                stale=(cache.MODELS,),
                success="Retention saved." if raw_days is None else f"Raw rows are now kept {raw_days} days.",
                model_id=model_id,
                raw_days=raw_days,
            )
