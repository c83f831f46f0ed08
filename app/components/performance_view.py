"""Render helpers of the Performance page: realised metrics over time with 95% interval bands
beside the validation value, the verdicts, alerts and thresholds. plotly is imported lazily."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from core.monitoring.alerts import Thresholds
from core.monitoring.performance import (
    LOWER_IS_BETTER,
    METRIC_ALIASES,
    METRIC_LABELS,
    MIN_LABELS_FOR_VERDICT,
    MIN_LABELS_PER_CLASS,
    PerformanceReport,
)

LEVEL_ICONS = {"alert": "🔴", "warning": "🟠", "ok": "🟢"}
KIND_LABELS = {
    "drift": "Data drift",
    "performance": "Performance",
    "outage": "Outage",
    "label_coverage": "Label coverage",
}


def default_metric(report: PerformanceReport, primary: str, available: list[str]) -> str:
    """The model's primary metric when it can be computed, else the first with a validation value."""
    wanted = METRIC_ALIASES.get((primary or "").lower())
    if wanted in available:
        return wanted  # type: ignore[return-value]
    return next((m for m in available if m in report.validation), available[0])


def unit_text(metric: str, target: str) -> str:
    """Axis title with the unit: a score's range, or an error's unit taken from the target
    ("total claim cost at settlement (EUR)" -> "MAE (EUR)")."""
    if metric not in LOWER_IS_BETTER:
        return f"{METRIC_LABELS[metric]} (0 to 1, higher is better)"
    unit = re.search(r"\(([^()]+)\)\s*$", target or "")
    return f"{METRIC_LABELS[metric]} ({unit.group(1) if unit else 'unit of the target'}, lower is better)"


def kpis(report: PerformanceReport) -> None:
    total, campaigns, pipelines, months = st.columns(4)
    total.metric(
        "Labelled predictions",
        f"{report.n_labelled:,}",
        help="Predictions of this version with a known outcome.",
    )
    campaigns.metric(
        "From labelling campaigns",
        f"{report.n_from_campaigns:,}",
        help="Cases whose label was decided in a labelling campaign on the Labelling page.",
    )
    pipelines.metric(
        "From other sources",
        f"{report.n_from_pipelines:,}",
        help="Labels logged by pipelines with the predictions, or attached later from source systems.",
    )
    months.metric("Months with labels", report.table["month"].nunique() if not report.table.empty else 0)


def metric_chart(report: PerformanceReport, metric: str, *, target: str, key: str) -> None:
    """Monthly value with its 95% interval band, the validation value and the alert limit."""
    rows = report.table[report.table["metric"] == metric].sort_values("month")
    if rows.empty:
        st.caption(
            f"No {METRIC_LABELS[metric]} yet: it needs labelled predictions"
            + (" with scores." if metric == "roc_auc" else ".")
        )
        return
    import plotly.graph_objects as go  # lazy: only pages that draw a chart pay for plotly

    x = pd.to_datetime(rows["month"] + "-01")
    band = rows["lower"].notna()
    figure = go.Figure()
    figure.add_scatter(
        x=pd.concat([x[band], x[band][::-1]]),
        y=pd.concat([rows["upper"][band], rows["lower"][band][::-1]]),
        fill="toself",
        fillcolor="rgba(31,119,180,0.18)",
        line={"width": 0},
        hoverinfo="skip",
        name="95% interval",
    )
    figure.add_scatter(
        x=x,
        y=rows["value"],
        mode="lines+markers",
        name="Realised",
        line={"color": "#1f77b4"},
        customdata=rows[["lower", "upper", "n"]].to_numpy(),
        hovertemplate="%{x|%Y-%m}: %{y:.3f} (95% CI %{customdata[0]:.3f}-%{customdata[1]:.3f}, "
        "n=%{customdata[2]:,})<extra></extra>",
    )
    validation = report.validation.get(metric)
    span = [x.min() - pd.Timedelta(days=15), x.max() + pd.Timedelta(days=15)]
    if validation is not None:
        figure.add_scatter(
            x=span,
            y=[validation] * 2,
            mode="lines",
            line={"color": "#2ca02c"},
            name=f"At validation ({validation:.3f})",
            hoverinfo="skip",
        )
        limit = rows["limit"].dropna()
        if not limit.empty:
            figure.add_scatter(
                x=span,
                y=[float(limit.iloc[0])] * 2,
                mode="lines",
                line={"color": "#d62728", "dash": "dash"},
                name=f"Alert limit ({float(limit.iloc[0]):.3f})",
                hoverinfo="skip",
            )
    figure.update_layout(
        height=380,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.22},
        title={
            "text": f"{METRIC_LABELS[metric]} per month, {report.model_name} v{report.version}",
            "font": {"size": 14},
        },
        xaxis_title="Month of the prediction (UTC)",
        yaxis_title=unit_text(metric, target),
    )
    figure.update_xaxes(dtick="M1", tickformat="%Y-%m")
    st.plotly_chart(figure, key=key, width="stretch")


def labels_chart(report: PerformanceReport, *, key: str) -> None:
    """Predictions and labelled predictions per month (the sample size behind each interval)."""
    if report.coverage.empty:
        return
    import plotly.graph_objects as go

    cov = report.coverage
    figure = go.Figure()
    figure.add_bar(
        x=cov["month"],
        y=cov["labelled"],
        name="Labelled",
        marker_color="#1f77b4",
        customdata=cov["coverage"].fillna(0).to_numpy(),
        hovertemplate="%{x}: %{y:,} labelled (%{customdata:.1%} of predictions)<extra></extra>",
    )
    figure.update_layout(
        height=260,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title={"text": "Labelled predictions per month", "font": {"size": 14}},
        xaxis_title="Month of the prediction (UTC)",
        yaxis_title="Labelled (count)",
    )
    figure.update_xaxes(type="category")
    st.plotly_chart(figure, key=key, width="stretch")


def verdicts(report: PerformanceReport) -> None:
    if not report.verdicts:
        st.caption(
            f"Not judged yet: the newest months need {MIN_LABELS_FOR_VERDICT} labelled predictions between "
            + (
                f"them (at least {MIN_LABELS_PER_CLASS} of each class)"
                if report.task == "binary_classification"
                else "them"
            )
            + ", and the version a validation metric to compare with."
        )
        return
    for verdict in report.verdicts:
        if verdict.level == "alert":
            st.error(f"**Concept drift** — {verdict.message}.", icon=":material/trending_down:")
        elif verdict.level == "warning":
            st.warning(
                f"{verdict.message}: beyond the limit, but not significantly: the interval, widened for the "
                "validation value's own sampling error, still reaches it.",
                icon=":material/warning:",
            )
        else:
            st.success(f"{verdict.message}: within the limit.", icon=":material/check_circle:")


def metrics_table(report: PerformanceReport, *, key: str) -> None:
    table = report.table.assign(metric=report.table["metric"].map(METRIC_LABELS))
    st.dataframe(
        table[["month", "metric", "value", "lower", "upper", "n", "validation", "limit", "method"]],
        key=key,
        hide_index=True,
        width="stretch",
        column_config={
            "month": "Month",
            "metric": "Metric",
            "value": st.column_config.NumberColumn("Realised", format="%.3f"),
            "lower": st.column_config.NumberColumn("95% CI low", format="%.3f"),
            "upper": st.column_config.NumberColumn("95% CI high", format="%.3f"),
            "n": st.column_config.NumberColumn(
                "n",
                format="%d",
                help="Labelled cases the value rests on "
                "(precision: predicted positives; recall: actual positives)",
            ),
            "validation": st.column_config.NumberColumn("At validation", format="%.3f"),
            "limit": st.column_config.NumberColumn("Alert limit", format="%.3f"),
            "method": st.column_config.TextColumn(
                "Interval", help="Wilson score interval or percentile bootstrap (1000 resamples, fixed seed)"
            ),
        },
    )


def alerts_table(frame: pd.DataFrame, *, key: str, with_model: bool = False) -> None:
    if frame.empty:
        st.caption("No open alerts.")
        return
    shown = frame.assign(
        level=frame["level"].map(lambda v: f"{LEVEL_ICONS.get(v, '')} {v.capitalize()}"),
        kind=frame["kind"].map(KIND_LABELS),
    )
    columns = (["model"] if with_model else []) + ["level", "kind", "message", "opened_at"]
    st.dataframe(
        shown[columns],
        key=key,
        hide_index=True,
        width="stretch",
        column_config={
            "model": "Model",
            "level": "Level",
            "kind": "Signal",
            "message": st.column_config.TextColumn("What", width="large"),
            "opened_at": st.column_config.DatetimeColumn(
                "Open since", format="YYYY-MM-DD HH:mm", timezone="UTC"
            ),
        },
    )


def thresholds_text(limits: Thresholds) -> str:
    source = "defaults" if limits.is_default else f"version {limits.version}"
    return (
        f"Alert thresholds ({source}): data drift at {limits.drift_share:.0%} of features; performance drop "
        f"{limits.performance_drop:g} below validation (relative for MAE/RMSE); outage after "
        f"{limits.outage_days} days without predictions; warning below {limits.min_label_coverage:.0%} labelled."
    )


def thresholds_form(limits: Thresholds) -> dict[str, Any] | None:
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
