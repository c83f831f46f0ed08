"""Render helpers of the Performance page's segment section: a rate per group with its 95% interval
as error bars, the groups table ("too few cases" instead of a number), disparities and findings.
plotly is imported lazily."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.text import chart, plain
from core.monitoring.segments import MEASURE_LABELS, RATE_LABELS, WINDOW_DAYS, SegmentReport

SOURCE_LABELS = {"feature": "model input", "sensitive": "sensitive attribute"}
LEVEL_WORDS = {
    "alert": "🔴 Alert",
    "warning": "🟠 Beyond the limit, not significant",
    "ok": "🟢 Within the limit",
}
HELP = {
    "error_rate": "Share of labelled cases the model got wrong.",
    "selection_rate": "Share of cases predicted positive (the outcome rate demographic parity compares).",
    "recall": "Share of actual positives predicted positive (true positive rate).",
    "false_positive_rate": "Share of actual negatives predicted positive.",
    "precision": "Share of predicted positives that were positive.",
    "mae": "Mean absolute error, in the target's unit.",
}


def summary(report: SegmentReport) -> None:
    limits = report.thresholds
    st.caption(
        f"{report.n_labelled:,} labelled predictions of v{report.version} made in the last {WINDOW_DAYS} days "
        f"({report.start:%Y-%m-%d} to {report.end:%Y-%m-%d}). Groups with fewer than {limits.min_group_size} "
        f"cases show *too few cases*. Alerts: a segment's error rate {limits.segment_gap:.0%} points above the "
        f"rest's, a sensitive attribute's parity or equalised-odds difference above {limits.disparity_limit:g}, "
        "each only when its 95% interval lies beyond the limit."
    )


def findings(report: SegmentReport) -> None:
    for finding in report.findings:
        title = "Segment accuracy" if finding.kind == "segment" else "Fairness"
        st.error(
            f"**{title}: {plain(finding.subject)}** — {plain(finding.message)}", icon=":material/groups:"
        )
    if not report.findings and not report.groups.empty:
        st.success("No segment beyond its limit.", icon=":material/check_circle:")


def segment_label(report: SegmentReport, segment: str) -> str:
    source = report.segments.set_index("segment")["source"].get(segment, "feature")
    return f"{segment} ({SOURCE_LABELS.get(str(source), source)})"


def metrics_for(report: SegmentReport) -> list[str]:
    return list(dict.fromkeys(report.groups["metric"])) or ["error_rate"]


def segment_chart(report: SegmentReport, segment: str, metric: str, *, key: str) -> None:
    """The metric per group with its 95% interval as error bars; groups with too few cases are
    named under the chart, not drawn."""
    rows = report.groups[(report.groups["segment"] == segment) & (report.groups["metric"] == metric)]
    shown = rows[rows["enough"] & rows["value"].notna()]
    few = rows[~rows["enough"]]
    if shown.empty:
        st.caption(
            f"No group of {plain(segment)} has enough labelled cases for a {RATE_LABELS[metric].lower()}."
        )
    else:
        import plotly.graph_objects as go  # lazy: only pages that draw a chart pay for plotly

        percent = metric != "mae"
        scale = 100.0 if percent else 1.0
        figure = go.Figure()
        figure.add_scatter(
            x=[chart(f"{g} (n={n:,})") for g, n in zip(shown["group"], shown["n"], strict=True)],
            y=shown["value"] * scale,
            mode="markers",
            marker={"size": 11, "color": "#1f77b4"},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (shown["upper"] - shown["value"]) * scale,
                "arrayminus": (shown["value"] - shown["lower"]) * scale,
                "thickness": 1.6,
            },
            name="Group (95% interval)",
            customdata=shown[["lower", "upper", "count"]].to_numpy() * [scale, scale, 1],
            hovertemplate="%{x}: %{y:.1f}"
            + ("%" if percent else "")
            + " (95% CI %{customdata[0]:.1f}-%{customdata[1]:.1f}, on %{customdata[2]:,} cases)<extra></extra>",
        )
        unit = "% of the cases it rests on" if percent else "unit of the target"
        figure.update_layout(
            height=340,
            margin={"l": 10, "r": 10, "t": 40, "b": 10},
            showlegend=False,
            title={
                "text": f"{RATE_LABELS[metric]} per group of {chart(segment)}, {chart(report.model_name)} "
                f"v{report.version}",
                "font": {"size": 14},
            },
            xaxis_title=f"Group of {chart(segment)} (labelled cases)",
            yaxis_title=f"{RATE_LABELS[metric]} ({unit})",
        )
        if percent:
            figure.update_yaxes(rangemode="tozero")
        st.plotly_chart(figure, key=key, width="stretch")
    if not few.empty:
        names = ", ".join(f"{g} (n={n})" for g, n in zip(few["group"], few["n"], strict=True))
        st.caption(
            f"Too few cases for a number (fewer than {report.thresholds.min_group_size}): {plain(names)}."
        )


def groups_table(report: SegmentReport, segment: str, *, key: str) -> None:
    """Every metric of every group of one segment; groups with too few cases say so."""
    rows = report.groups[report.groups["segment"] == segment]
    if rows.empty:
        return
    text = [
        "too few cases" if not ok else ("-" if pd.isna(v) else f"{v:.3f} ({lo:.3f}-{hi:.3f})")
        for v, lo, hi, ok in zip(rows["value"], rows["lower"], rows["upper"], rows["enough"], strict=True)
    ]
    wide = rows.assign(text=text).pivot(index=["group", "n"], columns="metric", values="text").reset_index()
    columns = ["group", "n", *[m for m in metrics_for(report) if m in wide.columns]]
    st.dataframe(
        wide[columns],
        key=key,
        hide_index=True,
        width="stretch",
        column_config={
            "group": "Group",
            "n": st.column_config.NumberColumn("Labelled cases", format="%d"),
            **{
                m: st.column_config.TextColumn(f"{RATE_LABELS[m]} (95% CI)", help=HELP[m])
                for m in RATE_LABELS
            },
        },
    )


def disparities_table(report: SegmentReport, *, key: str) -> None:
    if report.disparities.empty:
        st.caption("No disparity measured: a segment needs two groups with enough cases (classifiers only).")
        return
    table = report.disparities.assign(
        segment=[segment_label(report, s) for s in report.disparities["segment"]],
        measure=report.disparities["measure"].map(MEASURE_LABELS),
        level=report.disparities["level"].map(LEVEL_WORDS),
    )
    st.dataframe(
        table[["segment", "measure", "value", "lower", "upper", "groups", "limit", "level"]],
        key=key,
        hide_index=True,
        width="stretch",
        column_config={
            "segment": "Segment",
            "measure": st.column_config.TextColumn(
                "Measure",
                help="Demographic parity difference: largest minus smallest selection rate. Equalised-odds "
                "difference: the larger of the recall and false-positive-rate differences (fairlearn).",
            ),
            "value": st.column_config.NumberColumn("Value", format="%.3f"),
            "lower": st.column_config.NumberColumn("95% CI low", format="%.3f"),
            "upper": st.column_config.NumberColumn("95% CI high", format="%.3f"),
            "groups": st.column_config.NumberColumn("Groups compared", format="%d"),
            "limit": st.column_config.NumberColumn("Limit", format="%.2f"),
            "level": "Verdict",
        },
    )
