"""Render helpers of the Performance page: realised metrics over time with 95% interval bands
beside the validation value, the verdicts, alerts and thresholds. plotly is imported lazily."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from app.components.text import chart, plain
from core.monitoring.estimation import MIN_LABELS_FOR_ERROR, EstimateReport, error_text
from core.monitoring.performance import (
    LOWER_IS_BETTER,
    METRIC_ALIASES,
    METRIC_LABELS,
    MIN_LABELS_FOR_VERDICT,
    MIN_LABELS_PER_CLASS,
    PerformanceReport,
)
from core.monitoring.thresholds import Thresholds

# Words, not coloured-circle emoji: a viewer without an emoji font saw "□ Alert".
LEVEL_LABELS = {"alert": "Alert", "warning": "Warning", "ok": "OK"}
KIND_LABELS = {
    "drift": "Data drift",
    "performance": "Performance",
    "outage": "Outage",
    "label_coverage": "Label coverage",
    "segment": "Segment accuracy",
    "fairness": "Fairness",
}


def model_names(versions: pd.DataFrame) -> dict[int, str]:
    """Model id -> name of the monitored versions (``version_options`` rows)."""
    rows = versions.drop_duplicates("model_id")
    return {int(i): str(n) for i, n in zip(rows["model_id"], rows["model"], strict=True)}


def version_labels(versions: pd.DataFrame, model_id: int) -> dict[int, str]:
    """Version id -> "v3 (production)" for one model."""
    mine = versions[versions["model_id"] == model_id]
    return {
        int(r.version_id): f"v{r.version}" + (" (production)" if r.stage == "production" else "")
        for r in mine.itertuples()
    }


def model_row(versions: pd.DataFrame, model_id: int) -> pd.Series:
    """The model's facts (name, business unit, primary metric, target) from ``version_options`` rows."""
    return versions[versions["model_id"] == model_id].iloc[0]


def metrics_of(report: PerformanceReport) -> list[str]:
    """The metrics the report holds values of (else the task's usual ones, shown empty)."""
    found = report.table["metric"].unique().tolist()
    usual = {
        "binary_classification": ["accuracy", "roc_auc"],
        "multiclass_classification": ["accuracy", "f1_macro", "f1_weighted"],
    }
    return found or usual.get(report.task, ["mae"])


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


def _estimated_rows(estimate: EstimateReport | None, metric: str) -> pd.DataFrame:
    if estimate is None or not estimate.applies or estimate.table.empty:
        return pd.DataFrame(columns=["month", "estimated"])
    rows = estimate.table[(estimate.table["metric"] == metric) & estimate.table["estimated"].notna()]
    return rows.sort_values("month")


def metric_chart(
    report: PerformanceReport, metric: str, *, target: str, key: str, estimate: EstimateReport | None = None
) -> None:
    """Monthly value with its 95% interval band, the validation value and the alert limit; beside it,
    for classifiers with calibrated scores, the value estimated from scores alone (every month,
    also those whose labels have not arrived)."""
    rows = report.table[report.table["metric"] == metric].sort_values("month")
    estimated = _estimated_rows(estimate, metric)
    if rows.empty and estimated.empty:
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
    if not estimated.empty:
        trusted = estimated["assumption_holds"].astype(bool)
        figure.add_scatter(
            x=pd.to_datetime(estimated["month"] + "-01"),
            y=estimated["estimated"],
            mode="lines+markers",
            name="Estimated from scores (CBPE)",
            line={"color": "#ff7f0e", "dash": "dot"},
            marker={
                "symbol": ["circle" if t else "x" for t in trusted],
                "size": [7 if t else 11 for t in trusted],
            },
            customdata=estimated[["n", "n_labelled"]].to_numpy(),
            hovertemplate="%{x|%Y-%m}: estimated %{y:.3f} from %{customdata[0]:,} scores "
            "(%{customdata[1]:,} labelled so far)<extra></extra>",
        )
        x = pd.concat([x, pd.to_datetime(estimated["month"] + "-01")])
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
            "text": f"{METRIC_LABELS[metric]} per month, {chart(report.model_name)} v{report.version}"
            + (": realised and estimated" if not estimated.empty else ""),
            "font": {"size": 14},
        },
        xaxis_title="Month of the prediction (UTC)",
        yaxis_title=chart(unit_text(metric, target)),
    )
    figure.update_xaxes(dtick="M1", tickformat="%Y-%m")
    st.plotly_chart(figure, key=key, width="stretch")


def estimate_notes(estimate: EstimateReport, metric: str) -> None:
    """What the estimate rests on, when not to trust it, and how far off it was where labels exist."""
    if not estimate.applies:
        st.caption(plain(estimate.note))
        return
    for warning in estimate.warnings:
        st.warning(plain(warning), icon=":material/warning:")
    calibration = f"The {estimate.calibration.text}." if estimate.calibration is not None else ""
    st.caption(
        "**Estimated from scores (CBPE)**: the expected confusion matrix and ROC AUC if the scores are "
        f"calibrated probabilities, for every month, before labels arrive. {plain(estimate.note)} "
        f"{plain(calibration)} Crosses mark months whose scores moved outside the reference."
    )
    if estimate.drifted_months:
        st.caption(
            "Scores drifted from the reference's, within its checked range, in "
            + ", ".join(estimate.drifted_months)
            + ": the estimate follows such shifts as long as the scores stay calibrated."
        )
    errors = estimate.errors[estimate.errors["metric"] == metric]
    if errors.empty:
        st.caption(
            f"No labelled month after the reference has {MIN_LABELS_FOR_ERROR} labels yet, so the estimate's "
            "error is not measured."
        )
        return
    st.caption("**Estimate error where labels arrived**: " + plain(error_text(errors)[0]) + ".")


def estimate_table(estimate: EstimateReport, *, key: str) -> None:
    """Estimated beside realised values of every month and metric, with the score-shift checks."""
    if not estimate.applies or estimate.table.empty:
        return
    table = estimate.table.assign(metric=estimate.table["metric"].map(METRIC_LABELS))
    st.dataframe(
        table,
        key=key,
        hide_index=True,
        width="stretch",
        column_config={
            "month": "Month",
            "metric": "Metric",
            "estimated": st.column_config.NumberColumn("Estimated", format="%.3f"),
            "realised": st.column_config.NumberColumn("Realised", format="%.3f"),
            "error": st.column_config.NumberColumn("Estimated − realised", format="%+.3f"),
            "n": st.column_config.NumberColumn("Predictions", format="%d"),
            "n_labelled": st.column_config.NumberColumn("Labelled", format="%d"),
            "n_realised": st.column_config.NumberColumn(
                "n",
                format="%d",
                help="Labelled cases the realised value rests on (precision: predicted "
                "positives; recall: actual positives)",
            ),
            "in_reference": st.column_config.CheckboxColumn(
                "Reference", help="Month of the calibration reference"
            ),
            "shift": st.column_config.NumberColumn(
                "Score shift",
                format="%.3f",
                help="Jensen-Shannon distance of the month's scores from the reference's (0 to 1)",
            ),
            "outside": st.column_config.NumberColumn(
                "Outside reference",
                format="percent",
                help="Share of the month's scores outside the range of the reference's labelled scores",
            ),
            "assumption_holds": st.column_config.CheckboxColumn("Scores within reference"),
        },
    )


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
            st.error(f"**Concept drift** — {plain(verdict.message)}.", icon=":material/trending_down:")
        elif verdict.level == "warning":
            st.warning(
                f"{plain(verdict.message)}: beyond the limit, but not significantly: the interval, widened for the "
                "validation value's own sampling error, still reaches it.",
                icon=":material/warning:",
            )
        else:
            st.success(f"{plain(verdict.message)}: within the limit.", icon=":material/check_circle:")


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


def class_table(report: PerformanceReport, *, key: str) -> None:
    """A multiclass classifier's precision, recall and F1 per class over every labelled prediction."""
    if report.per_class.empty or report.n_labelled == 0:
        st.caption("No per-class figures yet: they need labelled predictions.")
        return
    st.dataframe(
        report.per_class,
        key=key,
        hide_index=True,
        width="stretch",
        column_config={
            "class": st.column_config.TextColumn("Class"),
            "precision": st.column_config.NumberColumn(
                "Precision", format="%.3f", help="Of the cases predicted as this class, the share that were."
            ),
            "recall": st.column_config.NumberColumn(
                "Recall", format="%.3f", help="Of the cases of this class, the share predicted as it."
            ),
            "f1": st.column_config.NumberColumn("F1", format="%.3f"),
            "support": st.column_config.NumberColumn("Labelled as it", format="%d"),
            "predicted": st.column_config.NumberColumn("Predicted as it", format="%d"),
        },
    )


def confusion_chart(report: PerformanceReport, *, key: str) -> None:
    """Counts of labelled predictions by actual and predicted class, as a heatmap."""
    if report.confusion.empty or report.n_labelled == 0:
        return
    import plotly.graph_objects as go

    names = [chart(c) for c in report.classes]
    counts = report.confusion.to_numpy()
    figure = go.Figure(
        go.Heatmap(
            z=counts,
            x=names,
            y=names,
            text=counts,
            texttemplate="%{text:,}",
            colorscale="Blues",
            colorbar={"title": {"text": "Count"}},
            hovertemplate="Actual %{y}, predicted %{x}: %{z:,}<extra></extra>",
        )
    )
    figure.update_layout(
        height=120 + 40 * len(names),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title={"text": "Confusion matrix (labelled predictions, count)", "font": {"size": 14}},
        xaxis_title="Predicted class",
        yaxis_title="Actual class",
    )
    figure.update_xaxes(type="category", side="bottom")
    figure.update_yaxes(type="category", autorange="reversed")
    st.plotly_chart(figure, key=key, width="stretch")


def alerts_table(frame: pd.DataFrame, *, key: str, with_model: bool = False) -> None:
    if frame.empty:
        st.caption("No open alerts.")
        return
    shown = frame.assign(
        level=frame["level"].map(lambda v: LEVEL_LABELS.get(v, str(v).capitalize())),
        kind=frame["kind"].map(KIND_LABELS),
    )
    if "condition_since" not in shown:
        shown = shown.assign(condition_since=pd.NaT)
    columns = (["model"] if with_model else []) + ["level", "kind", "message", "condition_since", "opened_at"]
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
            "condition_since": st.column_config.DatetimeColumn(
                "Condition since",
                format="YYYY-MM-DD",
                timezone="UTC",
                help="When the condition began: the last prediction before an outage, the first day of the "
                "drifted period, the month performance dropped.",
            ),
            "opened_at": st.column_config.DatetimeColumn(
                "Alert opened",
                format="YYYY-MM-DD HH:mm",
                timezone="UTC",
                help="When the monitoring job first raised it (UTC).",
            ),
        },
        placeholder="—",
    )


def thresholds_text(limits: Thresholds) -> str:
    source = "defaults" if limits.is_default else f"version {limits.version}"
    return (
        f"Alert thresholds ({source}): data drift at {limits.drift_share:.0%} of features; performance drop "
        f"{limits.performance_drop:g} below validation (relative for MAE/RMSE); outage after "
        f"{limits.outage_days} days without predictions; warning below {limits.min_label_coverage:.0%} labelled."
    )
