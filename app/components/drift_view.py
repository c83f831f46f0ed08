"""The Drift page's parts: a run's verdict in words, drifted features with their distributions,
the per-column table, drift share over time, the portfolio's status and the Evidently report.

They draw the stored results they are given (``RunDetail`` and DataFrames); plotly is
imported when a chart is drawn.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components.charts import memo_figure
from app.components.tables import EMPTY_CELL, datetime_column
from app.components.text import chart, plain
from core.monitoring.drift.reads import RunDetail
from core.monitoring.thresholds import DEFAULTS as DRIFT_DEFAULTS

# status -> (label, badge colour); labels are words so they read the same in tables and menus
STATUS = {
    "drift": ("Drift detected", "red"),
    "ok": ("No drift", "green"),
    "no_data": ("No predictions in the period", "gray"),
    "not_computed": ("Nothing could be compared", "orange"),
    "never_run": ("Not checked yet", "gray"),
}
REFERENCE_COLOUR, CURRENT_COLOUR = "#566573", "#d35400"


def status_text(status: str) -> str:
    return STATUS.get(status, (status, "gray"))[0]


def status_badge(status: str) -> str:
    label, colour = STATUS.get(status, (status, "gray"))
    return f":{colour}-badge[{label}]"


def share_text(share: float | None) -> str:
    return "—" if share is None or pd.isna(share) else f"{share:.0%}"


def run_labels(runs: pd.DataFrame) -> dict[int, str]:
    """Run id -> "May 2024 · v3 · Drift detected (25%)" of ``drift_runs`` rows."""
    return {
        int(r.run_id): f"{r.label} · v{r.version} · {status_text(r.status)}"
        + (f" ({share_text(r.drift_share)})" if pd.notna(r.drift_share) else "")
        for r in runs.itertuples()
    }


def model_labels(choices: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """Model id -> its row of ``drift_model_choices`` (name, business unit, has_reference)."""
    return dict(zip(choices["model_id"], choices.to_dict(orient="records"), strict=True))


def stable_columns(detail: RunDetail, *, key: str) -> None:
    """Every stable column's distributions, reference against current, folded away: a chart is
    drawn when its expander is opened (dozens of folded charts would slow every run)."""
    for name in detail.columns.loc[detail.columns["drifted"] == False, "column"]:  # noqa: E712
        box = st.expander(f"{plain(name)}: reference vs current", key=f"{key}.{name}.open", on_change="rerun")
        if box.open:
            with box:
                distribution_chart(name, detail.histograms.get(name, {}), key=f"{key}.{name}")


# --- one run ---------------------------------------------------------------------------------


def run_header(detail: RunDetail, alerts: pd.DataFrame | None = None) -> None:
    """The verdict of one run: KPIs and what it means for the business (read with the model's open
    ``alerts``, ``alerts_table`` rows, so it never contradicts them)."""
    what = f"**{plain(detail.model_name)} v{detail.version}** — {plain(detail.label)}"
    st.markdown(f"{what} &nbsp; {status_badge(detail.status)}")
    prediction = {True: "Shifted", False: "Stable", None: "—"}[detail.prediction_drifted]
    cells = [
        (
            "Drifted features",
            f"{detail.n_drifted} of {detail.n_computed}" if detail.n_computed else "—",
            "Input features whose distribution now differs from the training data, out of those that could be compared.",
        ),
        (
            "Drift share",
            share_text(detail.drift_share),
            "Drifted features as a share of compared features. From 50% Evidently calls the whole dataset drifted.",
        ),
        (
            "Model output",
            prediction,
            "Whether the model's predictions/scores are distributed differently than in the "
            "reference (— when they could not be compared).",
        ),
        (
            "Rows: now vs reference",
            f"{detail.current_rows:,} vs {detail.reference_rows:,}",
            f"Predictions logged in the period vs rows of the reference ({detail.reference_description}).",
        ),
    ]
    for column, (label, value, help_text) in zip(st.columns(len(cells)), cells, strict=True):
        column.metric(label, value, help=help_text, border=True)
    st.markdown(meaning(detail, alerts))
    st.caption(
        f"Reference: {plain(detail.reference_description)}. Computed by {plain(detail.created_by or 'the system')} "
        f"on {detail.created_at:%Y-%m-%d %H:%M} UTC with Steward's drift engine (tests and thresholds as "
        "Evidently's defaults). " + plain(detail.status_note)
    )


def meaning(detail: RunDetail, alerts: pd.DataFrame | None = None) -> str:
    """One paragraph a business owner can act on."""
    performance = (
        alerts[alerts["kind"] == "performance"] if alerts is not None and not alerts.empty else pd.DataFrame()
    )
    if detail.status == "no_data":
        return (
            "**No predictions were logged in this period**, so there is nothing to compare. If the model should "
            "have been running, that is an outage to look into."
        )
    if detail.status == "not_computed":
        reasons = detail.columns.loc[detail.columns["role"] == "feature", "reason"]
        common = reasons.mode().iloc[0] if not reasons.empty else ""
        if common.startswith("only "):
            return (
                f"**Only {detail.current_rows:,} predictions were logged in this period — too few to judge drift.** "
                "If the model should have been running as usual, look into an outage."
            )
        return (
            f"**No input feature could be compared.** Most common reason: {plain(common)}. Every column's "
            "reason is listed below."
        )
    drifted = detail.columns[(detail.columns["role"] == "feature") & (detail.columns["drifted"] == True)]  # noqa: E712
    if drifted.empty and not performance.empty:
        text = (
            "**The inputs look like the training data, but the model performs worse on them**: "
            f"{plain(performance['message'].iloc[0])} The same kind of cases now lead to different outcomes "
            "(concept drift), so input drift cannot show it. See the Performance page; retraining on recent "
            "labelled cases is the usual remedy."
        )
    elif drifted.empty:
        text = (
            "**The inputs look like the training data.** No compared feature changed beyond its test's threshold, "
            "so the model is working on the kind of cases it learned from."
        )
    else:
        names = ", ".join(f"**{plain(c)}**" for c in drifted["column"].head(5))
        more = f" and {len(drifted) - 5} more" if len(drifted) > 5 else ""
        text = (
            f"**The model now sees different cases than it was trained on:** {names}{more} "
            f"{'has' if len(drifted) == 1 else 'have'} shifted. Its predictions for these cases may be less reliable. "
            "Drift alone does not prove the model got worse: check realised performance on labelled cases, and "
            "consider retraining on recent data if it persists."
        )
    if detail.prediction_drifted:
        text += " The model's **outputs shifted too**, so decisions built on them (approval rates, alerts) have likely changed."
    return text


def column_sentence(row: pd.Series) -> str:
    """What a column's test found, in words, with the figures behind it."""
    if row["reason"]:
        return f"Not computed: {row['reason']}."
    verdict = "drifted" if row["drifted"] else "no drift"
    if row["test"] == "wasserstein":
        head = (
            f"Values moved by {row['score']:.2f} standard deviations on average (Wasserstein distance, "
            f"drift from {row['threshold']:g})"
        )
    elif row["test"] == "jensenshannon":
        head = f"The mix of values changed: Jensen-Shannon distance {row['score']:.3f} (drift from {row['threshold']:g})"
    else:
        head = (
            f"{row['statistic'].capitalize()} {row['score']:.3g} (drift below {row['threshold']:g}: a difference this "
            "large is unlikely to be chance)"
        )
    return f"{head} — {verdict}. {_change_sentence(row)}".strip()


def _change_sentence(row: pd.Series) -> str:
    stats: dict[str, Any] = row["stats"] or {}
    parts = []
    if stats.get("reference_mean") is not None and stats.get("current_mean") is not None:
        ref, cur = stats["reference_mean"], stats["current_mean"]
        change = f" ({(cur - ref) / abs(ref):+.0%})" if ref else ""
        where = stats.get("reference") or "the reference"
        parts.append(f"Average {_number(ref)} in {where}, {_number(cur)} now{change}.")
    new = stats.get("new_categories") or {}
    if new:
        listed = ", ".join(f"'{k}' ({v:.0%})" for k, v in list(new.items())[:3])
        parts.append(f"New values not in the reference: {listed}.")
    if row["current_missing"] - row["reference_missing"] >= 0.05:
        parts.append(
            f"Missing values rose from {row['reference_missing']:.0%} to {row['current_missing']:.0%}."
        )
    return " ".join(parts)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def distribution_chart(column: str, histogram: dict[str, Any], *, key: str) -> None:
    """Reference vs current shares of rows, side by side (bars per value range or per category)."""
    if not histogram:
        return
    st.plotly_chart(_distribution_figure(column, histogram), key=key, width="stretch")


@memo_figure
def _distribution_figure(column: str, histogram: dict[str, Any]) -> Any:
    import plotly.graph_objects as go  # lazy

    figure = go.Figure()
    kind = histogram.get("type")
    if kind == "numeric":
        # current as bars, reference as a step outline over them: both stay visible where they overlap
        figure.add_bar(
            x=histogram["x"],
            y=histogram["current"],
            name="Current",
            marker_color=CURRENT_COLOUR,
            opacity=0.7,
            width=histogram.get("width"),
            hovertemplate="%{x:.4g}: %{y:.1f}% of rows<extra>Current</extra>",
        )
        figure.add_scatter(
            x=histogram["x"],
            y=histogram["reference"],
            name="Reference",
            mode="lines",
            line={"shape": "hvh", "color": REFERENCE_COLOUR, "width": 2.5},
            hovertemplate="%{x:.4g}: %{y:.1f}% of rows<extra>Reference</extra>",
        )
    else:
        for name, values, colour in (
            ("Reference", histogram["reference"], REFERENCE_COLOUR),
            ("Current", histogram["current"], CURRENT_COLOUR),
        ):
            figure.add_bar(
                x=[chart(c) for c in histogram["categories"]],
                y=values,
                name=name,
                marker_color=colour,
                hovertemplate="%{x}: %{y:.1f}% of rows<extra>" + name + "</extra>",
            )
        figure.update_xaxes(type="category")
    figure.update_layout(
        barmode="group",
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title={"text": f"{chart(column)}: reference vs current", "font": {"size": 14}},
        xaxis_title=f"{chart(column)} ({'category' if kind == 'categorical' else 'value'})",
        yaxis_title="Share of rows (%)",
        legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
    )
    return figure


def drifted_features(detail: RunDetail, *, key: str) -> None:
    """Each drifted column (features, then model outputs) with its sentence and its distributions."""
    drifted = detail.columns[detail.columns["drifted"] == True]  # noqa: E712
    if drifted.empty:
        return
    st.subheader("What changed")
    for _, row in drifted.iterrows():
        with st.container(border=True):
            label = "model output" if row["role"] == "prediction" else "feature"
            st.markdown(f"**{plain(row['column'])}** · {label} · :red[drifted]")
            st.caption(plain(column_sentence(row)))
            distribution_chart(
                row["column"], detail.histograms.get(row["column"], {}), key=f"{key}.{row['column']}"
            )


COLUMN_LABELS = {
    "column": "Column",
    "role": "Role",
    "verdict": "Verdict",
    "test": "Test",
    "score": "Score",
    "threshold": "Threshold",
    "current_rows": "Current rows",
    "reference_rows": "Reference rows",
    "current_missing": "Missing now",
    "reference_missing": "Missing in reference",
    "detail": "What it means",
}


def columns_table(detail: RunDetail, *, key: str) -> None:
    """Every column: drifted first, then stable, then not computed with its reason."""
    if detail.columns.empty:
        st.caption("This run compared no columns.")
        return
    frame = detail.columns.copy()
    frame["role"] = frame["role"].map({"feature": "Feature", "prediction": "Model output"})
    frame["verdict"] = [
        ("Drifted" if d else "No drift") if r == "" else "Not computed"
        for d, r in zip(frame["drifted"], frame["reason"], strict=True)
    ]
    frame["detail"] = [column_sentence(row) for _, row in detail.columns.iterrows()]
    st.dataframe(
        frame,
        key=key,
        hide_index=True,
        placeholder=EMPTY_CELL,  # "—" where a column was not computed, never "None"
        column_order=list(COLUMN_LABELS),
        column_config={
            **COLUMN_LABELS,
            "score": st.column_config.NumberColumn(
                "Score", format="%.4g", help="p-value for KS / chi-square / z tests; distance otherwise."
            ),
            "current_missing": st.column_config.NumberColumn("Missing now", format="percent"),
            "reference_missing": st.column_config.NumberColumn("Missing in reference", format="percent"),
            "detail": st.column_config.TextColumn("What it means", width="large"),
        },
    )


# --- over time and across the portfolio -----------------------------------------------------


def history_chart(history: pd.DataFrame, *, key: str, alert_share: float | None = None) -> None:
    """Drift share per period (bars), the model's alert limit (``alert_share``, the health check's
    threshold), Evidently's 50% dataset-drift line, and periods without data marked."""
    if history.empty:
        st.caption(
            "No scheduled drift runs yet for this model. Compute one above, or schedule `steward drift --all`."
        )
        return
    st.plotly_chart(_history_figure(history, alert_share), key=key, width="stretch")


@memo_figure
def _history_figure(history: pd.DataFrame, alert_share: float | None) -> Any:
    import plotly.graph_objects as go  # lazy

    shown = history.copy()
    shown["share_pct"] = shown["drift_share"].astype(float) * 100
    shown["text"] = [
        f"{n}/{m}" if m else "no data" if s == "no_data" else "—"
        for n, m, s in zip(shown["n_drifted"], shown["n_computed"], shown["status"], strict=True)
    ]
    colours = [
        CURRENT_COLOUR if s == "drift" else "#27ae60" if s == "ok" else "#bdc3c7" for s in shown["status"]
    ]
    figure = go.Figure(
        go.Bar(
            x=shown["period_start"],
            y=shown["share_pct"].fillna(0),
            marker_color=colours,
            text=shown["text"],
            textposition="outside",
            customdata=shown[["period", "version", "current_rows"]].to_numpy(),
            hovertemplate="%{customdata[0]} (v%{customdata[1]}): %{y:.0f}% of features drifted, "
            "%{customdata[2]:,} predictions<extra></extra>",
        )
    )
    figure.add_hline(
        y=50,
        line_dash="dot",
        line_color="#7f8c8d",
        annotation_text="Evidently's dataset drift (50%)",
        annotation_position="top left",
    )
    if alert_share is not None and abs(alert_share - 0.5) > 1e-9:
        figure.add_hline(
            y=alert_share * 100,
            line_dash="dash",
            line_color="#c0392b",
            annotation_text=f"alert limit of this model ({alert_share:.0%})",
            annotation_position="bottom left",
        )
    figure.update_layout(
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title={"text": "Drift share per period", "font": {"size": 14}},
        xaxis_title="Period start (UTC)",
        yaxis_title="Drifted features (% of compared)",
        yaxis_range=[0, 110],
        showlegend=False,
    )
    return figure


def portfolio_table(frame: pd.DataFrame, *, key: str) -> None:
    if frame.empty:
        st.caption("No model is in production or has drift runs yet.")
        return
    shown = frame.copy()
    shown["status"] = shown["status"].map(status_text)
    shown["drift_share"] = shown["drift_share"].astype(float) * 100
    shown["prediction_drifted"] = (
        shown["prediction_drifted"].map({True: "Shifted", False: "Stable"}).fillna("—")
    )
    st.dataframe(
        shown,
        key=key,
        hide_index=True,
        column_order=[
            "model",
            "business_unit",
            "status",
            "drift_share",
            "drifted_features",
            "prediction_drifted",
            "version",
            "period",
            "run_at",
        ],
        column_config={
            "model": st.column_config.TextColumn("Model", pinned=True),
            "business_unit": "Business unit",
            "status": st.column_config.TextColumn(
                "Drift status",
                help="Drift detected: at least one feature drifted in the "
                "latest period. The model's health turns to alert only when the drift share "
                f"reaches its limit ({DRIFT_DEFAULTS['drift_share']:.0%} unless changed on the "
                "Performance page).",
            ),
            "drift_share": st.column_config.NumberColumn("Drift share", format="%.0f%%"),
            "drifted_features": st.column_config.TextColumn("Drifted features", width="large"),
            "prediction_drifted": "Model output",
            "version": st.column_config.NumberColumn("Version", format="v%d"),
            "period": "Latest period",
            "run_at": datetime_column("Checked"),
        },
    )


def report_viewer(html: bytes, *, filename: str, key: str, height: int = 900) -> None:
    """The Evidently report inline (it needs its own JavaScript, hence an iframe) and as a download."""
    st.download_button(
        "Download the Evidently report (HTML)",
        data=html,
        file_name=filename,
        mime="text/html",
        key=f"{key}.download",
        icon=":material/download:",
    )
    st.iframe(html.decode("utf-8"), height=height, alt="Evidently data drift report")


def evidently_agreement(detail: RunDetail) -> str:
    info = detail.params.get("evidently") or {}
    if not info:
        return ""
    columns = info.get("columns", {})
    return (
        f"Evidently ran on a sample of {info.get('current_rows', 0):,} current and {info.get('reference_rows', 0):,} "
        f"reference rows and agreed with Steward's engine on that sample for {info.get('agreeing_columns', 0)} of "
        f"{len(columns)} columns (drift share {info.get('drift_share', 0):.0%}). The figures above are computed on all rows. "
        "Evidently calls the whole dataset drifted only from 50% of columns; Steward flags a period as soon as one "
        "feature drifts and shows the share."
    )
