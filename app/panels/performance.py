"""The monitoring tools of the Performance page: a model's alert thresholds, and the health check
of every model. Both write through app.actions."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import actions, cache, identity
from app.components import performance_view as view
from core.monitoring import alerts
from core.monitoring import thresholds as alert_thresholds
from core.monitoring.thresholds import Thresholds


def thresholds(model_id: int, business_unit: str) -> None:
    """The model's alert thresholds in words; people allowed change them here."""
    limits = cache.monitoring_thresholds(model_id=model_id)
    st.caption(view.thresholds_text(limits))
    if not identity.can("thresholds.set", business_unit):
        return
    with st.expander("Change thresholds", icon=":material/tune:"):
        change = _thresholds_form(limits)
        if change is not None:
            actions.submit(
                alert_thresholds.set_thresholds,
                stale=(cache.ALERTS,),
                success="Thresholds saved; they apply from the next health check.",
                model_id=model_id,
                **change,
            )


def health_check() -> None:
    """Check the health of every model now (what `steward health` does from cron)."""
    if not identity.can("monitoring.run"):
        return
    if st.button("Check health of all models now", key="performance.health", icon=":material/monitor_heart:"):
        done = actions.perform(alerts.evaluate_health, stale=(cache.ALERTS,))
        if done.ok and done.result is not None:
            changed = [r for r in done.result if r.changed]
            st.success(f"Health checked for {len(done.result)} models; {len(changed)} changed status.")
        else:
            actions.show_error(done)


def _thresholds_form(limits: Thresholds) -> dict[str, Any] | None:
    """Inputs for new thresholds; the set_thresholds arguments when saved."""
    with st.form("performance.thresholds"):
        left, right = st.columns(2)
        drift = left.number_input(
            "Drift share for an alert (0-1)",
            0.01,
            1.0,
            float(limits.drift_share),
            0.05,
            key="performance.thr.drift",
        )
        drop = right.number_input(
            "Allowed performance drop",
            0.0,
            10.0,
            float(limits.performance_drop),
            0.01,
            key="performance.thr.drop",
            help="Absolute for scores (0.05 AUC), relative for MAE/RMSE (0.1 = 10%).",
        )
        outage = left.number_input(
            "Outage after (days)", 1, 365, int(limits.outage_days), 1, key="performance.thr.outage"
        )
        coverage = right.number_input(
            "Minimum label coverage (0-1)",
            0.0,
            1.0,
            float(limits.min_label_coverage),
            0.01,
            key="performance.thr.coverage",
        )
        reason = st.text_input("Reason for the change", key="performance.thr.reason")
        if not st.form_submit_button("Save thresholds", type="primary"):
            return None
    return {
        "drift_share": drift,
        "performance_drop": drop,
        "outage_days": int(outage),
        "min_label_coverage": coverage,
        "reason": reason,
    }
