"""Render helpers of the Performance page's segment section: a rate per group with its 95% interval
as error bars, the groups table ("too few cases" instead of a number), disparities and findings.
plotly is imported lazily."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.text import chart, plain
from core.monitoring.segments import CLASS_RATES, MEASURE_LABELS, RATE_LABELS, WINDOW_DAYS, SegmentReport

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
    "accuracy": "Share of labelled cases the model got right (1 - error rate).",
    "recall_macro": "Mean of the recalls of the classes the group has cases of (balanced accuracy).",
    "f1_macro": "Mean F1 over the classes, each class weighing the same (as on the Performance page).",
    "class_recall": "Share of the group's cases of this class that the model predicted as this class.",
    "class_selection_rate": "Share of the group's cases predicted as this class (the outcome rate "
    "demographic parity compares, one class against the rest).",
}
SCORES = ("recall_macro", "f1_macro")  # means of rates, shown on a 0-1 scale rather than as % of cases
SEPARATOR = ":"  # a per-class metric's key: "class_recall:high" (metric names hold no colon)
MULTICLASS_PARITY_NOTE = (
    "Demographic parity and equalised-odds differences (fairlearn) are defined for a yes/no outcome, so "
    "for this multiclass model each class is compared against the rest: the predicted-class rate "
    "difference is the largest, over the classes, of the gap between groups in the share predicted as "
    "that class (demographic parity per class); the per-class recall difference the largest gap in a "
    "class's recall (equal opportunity per class, over the classes every group has cases of); the "
    "accuracy difference the gap in accuracy. Each names the class it is largest for."
)


def summary(report: SegmentReport) -> None:
    limits = report.thresholds
    measures = (
        "accuracy, per-class recall or predicted-class rate difference"
        if report.classes
        else "parity or equalised-odds difference"
    )
    classes = (
        f" Classes: {plain(', '.join(report.classes))}; per-class rates are named by class."
        if report.classes
        else ""
    )
    st.caption(
        f"{report.n_labelled:,} labelled predictions of v{report.version} made in the last {WINDOW_DAYS} days "
        f"({report.start:%Y-%m-%d} to {report.end:%Y-%m-%d}). Groups with fewer than {limits.min_group_size} "
        f"cases show *too few cases*. Alerts: a segment's error rate {limits.segment_gap:.0%} points above the "
        f"rest's, a sensitive attribute's {measures} above {limits.disparity_limit:g}, "
        "each only when its 95% interval lies beyond the limit." + classes
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


def metric_key(metric: str, class_name: object) -> str:
    """The key of a metric of one group: its name, or for a per-class metric name and class."""
    return f"{metric}{SEPARATOR}{class_name}" if isinstance(class_name, str) else metric


def split_key(key: str) -> tuple[str, str | None]:
    metric, _, class_name = key.partition(SEPARATOR)
    return metric, (class_name if metric in CLASS_RATES else None)


def metric_label(key: str) -> str:
    """A metric's name for people: "Recall of class high", "Share predicted high", "Accuracy"."""
    metric, class_name = split_key(key)
    if metric == "class_recall":
        return f"Recall of class {class_name}"
    if metric == "class_selection_rate":
        return f"Share predicted {class_name}"
    return RATE_LABELS[metric]


def metric_keys(rows: pd.DataFrame) -> list[str]:
    """The metric keys of group rows, one per (metric, class)."""
    if "class" not in rows.columns:
        return list(rows["metric"])
    return [metric_key(m, c) for m, c in zip(rows["metric"], rows["class"], strict=True)]


def metrics_for(report: SegmentReport) -> list[str]:
    """The metrics to choose from: group-wide ones first, then per class (in the classes' order)."""
    keys = list(dict.fromkeys(metric_keys(report.groups))) or ["error_rate"]
    if not report.classes:
        return keys
    order = {name: i for i, name in enumerate(report.classes)}
    return sorted(
        keys,
        key=lambda k: (
            split_key(k)[0] in CLASS_RATES,
            CLASS_RATES.index(split_key(k)[0]) if split_key(k)[0] in CLASS_RATES else 0,
            order.get(split_key(k)[1] or "", -1),
        ),
    )


def segment_chart(report: SegmentReport, segment: str, metric: str, *, key: str) -> None:
    """The metric per group with its 95% interval as error bars; groups with too few cases are
    named under the chart, not drawn."""
    in_segment = report.groups[report.groups["segment"] == segment]
    rows = in_segment[[k == metric for k in metric_keys(in_segment)]]
    label = metric_label(metric)
    metric = split_key(metric)[0]
    shown = rows[rows["enough"] & rows["value"].notna()]
    few = rows[~rows["enough"]]
    if shown.empty:
        st.caption(
            f"No group of {plain(segment)} has enough labelled cases for a value of {plain(label.lower())}."
        )
    else:
        import plotly.graph_objects as go  # lazy: only pages that draw a chart pay for plotly

        percent = metric not in ("mae", *SCORES)
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
            hovertemplate="%{x}: %{y:"
            + (".1f}%" if percent else ".3f}")
            + " (95% CI %{customdata[0]:"
            + (".1f" if percent else ".3f")
            + "}-%{customdata[1]:"
            + (".1f" if percent else ".3f")
            + "}, on %{customdata[2]:,} cases)<extra></extra>",
        )
        unit = (
            "% of the cases it rests on"
            if percent
            else "0-1, a mean over the classes"
            if metric in SCORES
            else "unit of the target"
        )
        figure.update_layout(
            height=340,
            margin={"l": 10, "r": 10, "t": 40, "b": 10},
            showlegend=False,
            title={
                "text": f"{chart(label)} per group of {chart(segment)}, {chart(report.model_name)} "
                f"v{report.version}",
                "font": {"size": 14},
            },
            xaxis_title=f"Group of {chart(segment)} (labelled cases)",
            yaxis_title=f"{chart(label)} ({unit})",
        )
        if percent or metric in SCORES:
            figure.update_yaxes(rangemode="tozero")
        st.plotly_chart(figure, key=key, width="stretch")
    if not few.empty:
        names = ", ".join(f"{g} (n={n})" for g, n in zip(few["group"], few["n"], strict=True))
        st.caption(
            f"Too few cases for a number (fewer than {report.thresholds.min_group_size}): {plain(names)}."
        )
    absent = rows[rows["enough"] & rows["value"].isna()]
    if not absent.empty and rows["metric"].iloc[0] == "class_recall":
        st.caption(
            f"No labelled case of class {plain(str(rows['class'].iloc[0]))} in "
            f"{plain(', '.join(absent['group']))}: no recall for it there."
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
    wide = (
        rows.assign(text=text, key=metric_keys(rows))
        .pivot(index=["group", "n"], columns="key", values="text")
        .reset_index()
    )
    keys = [m for m in metrics_for(report) if m in wide.columns]
    st.dataframe(
        wide[["group", "n", *keys]],
        key=key,
        hide_index=True,
        width="stretch",
        column_config={
            "group": "Group",
            "n": st.column_config.NumberColumn("Labelled cases", format="%d"),
            **{
                m: st.column_config.TextColumn(f"{metric_label(m)} (95% CI)", help=HELP[split_key(m)[0]])
                for m in keys
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
        **{"class": report.disparities["class"].fillna("(all classes)")},
    )
    multiclass = bool(report.classes)
    if multiclass:
        st.caption(plain(MULTICLASS_PARITY_NOTE))
    columns = ["segment", "measure", *(["class"] if multiclass else []), "value", "lower", "upper"]
    st.dataframe(
        table[[*columns, "groups", "limit", "level"]],
        key=key,
        hide_index=True,
        width="stretch",
        column_config={
            "segment": "Segment",
            "class": st.column_config.TextColumn(
                "Class", help="The class the difference is largest for (per-class measures)."
            ),
            "measure": st.column_config.TextColumn(
                "Measure",
                help=(
                    "Accuracy difference: largest minus smallest accuracy. Predicted-class rate difference: "
                    "the largest, over the classes, of the largest minus smallest share predicted as that "
                    "class. Per-class recall difference: the same for a class's recall."
                    if multiclass
                    else "Demographic parity difference: largest minus smallest selection rate. Equalised-odds "
                    "difference: the larger of the recall and false-positive-rate differences (fairlearn)."
                ),
            ),
            "value": st.column_config.NumberColumn("Value", format="%.3f"),
            "lower": st.column_config.NumberColumn("95% CI low", format="%.3f"),
            "upper": st.column_config.NumberColumn("95% CI high", format="%.3f"),
            "groups": st.column_config.NumberColumn("Groups compared", format="%d"),
            "limit": st.column_config.NumberColumn("Limit", format="%.2f"),
            "level": "Verdict",
        },
    )
