"""Charts and panels of the Explanations page: importance, beeswarm, dependence, waterfall, drift.

Every chart says the unit of its contributions: probability points, log-odds or the prediction's
own unit, as the explainer reports it. plotly is imported when a chart is drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from app.components.text import chart, plain
from core.explain.sentence import readable_name, readable_value, signed
from core.monitoring.labelling import ANSWERS as LABEL_ANSWERS

BEESWARM_FEATURES = 12
WATERFALL_FEATURES = 10
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "title": {"font": {"size": 14}}}


def _name(feature: str) -> str:
    """A feature's readable name for a plotly label (escaped: plotly renders HTML tags)."""
    return chart(readable_name(feature))


def _value(value: Any, feature: str = "") -> str:
    return chart(readable_value(value, feature))


def unit(space: str) -> str:
    return {
        "probability": "probability points",
        "log-odds": "log-odds",
        "decision score": "decision score",
    }.get(space, "units of the prediction")


def importance_chart(summary: Any, *, key: str) -> None:
    import plotly.graph_objects as go

    items = list(summary.importance.items())[::-1]
    figure = go.Figure(
        go.Bar(
            x=[v for _, v in items],
            y=[_name(f) for f, _ in items],
            orientation="h",
            marker_color="#1f77b4",
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    figure.update_layout(
        **_LAYOUT,
        height=max(260, 26 * len(items) + 80),
        title_text=f"Global importance: mean |SHAP| over {summary.n_rows:,} rows",
        xaxis_title=f"Mean |contribution| ({unit(summary.space)})",
        yaxis_title="Feature",
    )
    st.plotly_chart(figure, key=key, width="stretch")


def _colour_values(column: pd.Series) -> tuple[np.ndarray, bool]:
    """Colour scale position 0..1 per row: rank for numbers, category code otherwise."""
    numeric = pd.to_numeric(column, errors="coerce")
    if numeric.notna().mean() > 0.9:
        return numeric.rank(pct=True).fillna(0.5).to_numpy(), True
    codes = column.astype(str).astype("category").cat.codes.to_numpy().astype(float)
    return codes / max(codes.max(), 1.0), False


def beeswarm_chart(summary: Any, *, key: str) -> None:
    """One row of dots per feature (most important on top): where each row's contribution lies,
    coloured from low (blue) to high (red) feature value."""
    import plotly.graph_objects as go

    features = list(summary.importance)[:BEESWARM_FEATURES]
    rng = np.random.default_rng(0)
    figure = go.Figure()
    for position, feature in enumerate(reversed(features)):
        values = summary.values[feature].to_numpy()
        colours, numeric = _colour_values(summary.data[feature])
        shown = [_value(v, feature) for v in summary.data[feature]]
        figure.add_scatter(
            x=values,
            y=position + rng.uniform(-0.3, 0.3, len(values)),
            mode="markers",
            showlegend=False,
            marker={
                "size": 5,
                "color": colours,
                "colorscale": "RdBu_r",
                "cmin": 0,
                "cmax": 1,
                "opacity": 0.7,
                "showscale": position == 0,
                "colorbar": {"title": "Feature value", "tickvals": [0, 1], "ticktext": ["low", "high"]},
            },
            customdata=shown,
            name=_name(feature),
            hovertemplate=f"{_name(feature)} = %{{customdata}}<br>contribution %{{x:+.4f}}<extra></extra>",
        )
    figure.update_layout(
        **_LAYOUT,
        height=max(300, 34 * len(features) + 100),
        title_text="Each dot is one row: its contribution per feature",
        xaxis_title=f"Contribution ({unit(summary.space)})",
        yaxis_title="Feature",
        yaxis={
            "tickvals": list(range(len(features))),
            "ticktext": [_name(f) for f in reversed(features)],
        },
    )
    figure.add_vline(x=0, line_color="#888", line_width=1)
    st.plotly_chart(figure, key=key, width="stretch")


def dependence_chart(summary: Any, feature: str, *, key: str) -> None:
    """How the contribution of one feature depends on its value (one dot per row)."""
    import plotly.graph_objects as go

    x = summary.data[feature]
    y = summary.values[feature]
    numeric = pd.to_numeric(x, errors="coerce")
    figure = go.Figure()
    if numeric.notna().mean() > 0.9:
        figure.add_scatter(
            x=numeric,
            y=y,
            mode="markers",
            marker={"size": 6, "opacity": 0.6},
            hovertemplate=f"{_name(feature)} = %{{x:,}}<br>contribution %{{y:+.4f}}<extra></extra>",
        )
    else:
        figure.add_box(
            x=x.astype(str).map(chart),
            y=y,
            boxpoints="all",
            jitter=0.4,
            pointpos=0,
            marker={"size": 4},
            hovertemplate=f"{_name(feature)} = %{{x}}<br>contribution %{{y:+.4f}}<extra></extra>",
        )
    figure.add_hline(y=0, line_color="#888", line_width=1)
    figure.update_layout(
        **_LAYOUT,
        height=360,
        showlegend=False,
        title_text=f"Contribution of {_name(feature)} by its value",
        xaxis_title=f"{_name(feature)} (feature value)",
        yaxis_title=f"Contribution ({unit(summary.space)})",
    )
    st.plotly_chart(figure, key=key, width="stretch")


def waterfall_chart(local: Any, *, key: str) -> None:
    """From the average output (base) through the largest contributions to this prediction."""
    import plotly.graph_objects as go

    rows = local.contributions
    top = rows.head(WATERFALL_FEATURES)
    rest = float(rows["contribution"].iloc[WATERFALL_FEATURES:].sum())
    labels = [f"{_name(r.feature)} = {_value(r.value, r.feature)}" for r in top.itertuples()]
    values = list(top["contribution"])
    if len(rows) > WATERFALL_FEATURES:
        labels.append(f"{len(rows) - WATERFALL_FEATURES} other features")
        values.append(rest)
    figure = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=["absolute", *["relative"] * len(values), "total"],
            y=["average (base)", *labels, "this prediction"],
            x=[local.base_value, *values, local.model_output],
            text=[f"{local.base_value:.3g}", *[signed(v) for v in values], f"{local.model_output:.3g}"],
            # base and total inside their bars: outside, a negative base's number would cover its label
            textposition=["inside", *["outside"] * len(values), "inside"],
            cliponaxis=False,
            connector={"line": {"color": "#bbb"}},
            increasing={"marker": {"color": "#d62728"}},
            decreasing={"marker": {"color": "#1f77b4"}},
            totals={"marker": {"color": "#555"}},
        )
    )
    figure.update_layout(
        **_LAYOUT,
        height=max(320, 30 * (len(values) + 2) + 90),
        title_text="How this prediction was built up",
        yaxis={"autorange": "reversed"},
        xaxis_title=f"Model output ({_output_unit(local.space)})",
        yaxis_title="",
    )
    st.plotly_chart(figure, key=key, width="stretch")


def _output_unit(space: str) -> str:
    return space if space in ("probability", "log-odds", "decision score") else "units of the prediction"


def contributions_table(local: Any, *, key: str) -> None:
    table = local.contributions.assign(
        value=lambda f: [readable_value(v, n) for v, n in zip(f["value"], f["feature"], strict=True)],
        feature=lambda f: f["feature"].map(readable_name),
        direction=lambda f: np.where(f["contribution"] >= 0, "raises", "lowers"),
    )[["feature", "value", "direction", "contribution"]]
    st.dataframe(
        table,
        key=key,
        hide_index=True,
        width="stretch",
        column_config={
            "feature": "Feature",
            "value": "Value",
            "direction": "Effect",
            "contribution": st.column_config.NumberColumn(
                "Contribution",
                format="%+.3f",
                help=f"In {unit(local.space)}: how far this feature moved the score",
            ),
        },
    )


def drift_chart(drift: pd.DataFrame, *, key: str) -> None:
    import plotly.graph_objects as go

    names = [_name(f) for f in drift["feature"]]
    figure = go.Figure()
    figure.add_bar(x=names, y=drift["validation_share"] * 100, name="Validation sample")
    figure.add_bar(x=names, y=drift["production_share"] * 100, name="Recent production")
    figure.update_layout(
        **_LAYOUT,
        barmode="group",
        height=340,
        title_text="Share of total attribution per feature",
        xaxis_title="Feature",
        yaxis_title="Share of mean |SHAP| (%)",
        legend_title_text="Data",
    )
    st.plotly_chart(figure, key=key, width="stretch")


def local_explanation(local: Any, task: str, class_names: tuple[str, ...] = ()) -> None:
    """One prediction explained: the sentence, where it comes from, the waterfall and the table."""
    st.info(plain(local.sentence), icon=":material/lightbulb:")
    source = local.source[:1].upper() + local.source[1:]
    facts = [part for part in (source, outcome_text(local.label, task, class_names)) if part]
    if facts:
        st.caption(plain(" · ".join(facts)))
    st.caption(f"Additivity {local.check} · {local.method} · explained in {local.seconds * 1000:.0f} ms")
    left, right = st.columns([5, 4])
    with left:
        waterfall_chart(local, key="explanations.waterfall")
    with right:
        contributions_table(local, key="explanations.contributions")


def global_caption(summary: Any) -> None:
    st.caption(
        f"{summary.method}; {summary.n_rows:,} rows of the validation sample"
        + (
            f" explained for class {plain(summary.source.split('class ', 1)[1])}"
            if "class " in summary.source
            else ""
        )
        + "; contributions in "
        f"{unit(summary.space)}; computed {summary.computed_at:%Y-%m-%d %H:%M} UTC "
        f"in {summary.seconds:.1f} s; largest additivity error {summary.additivity_error:.1e}."
    )


def version_labels(versions: pd.DataFrame) -> dict[int, str]:
    """Version id -> "Credit scoring v3 (production, Retail)" of ``explainable_versions`` rows."""
    return {
        int(r.version_id): f"{r.model} v{r.version} ({r.stage}, {r.business_unit})"
        for r in versions.itertuples()
    }


def version_of_model(versions: pd.DataFrame, model_id: str) -> int | None:
    """The version a link to a model (``?model=ID``) opens: the first listed (production first)."""
    if not model_id.isdigit():
        return None
    found = versions[versions["model_id"] == int(model_id)]["version_id"]
    return int(found.iloc[0]) if len(found) else None


def target_caption(target: str, task: str) -> str:
    """What the explained number means, said before the explanation."""
    if not target:
        return ""
    if task == "binary_classification":
        return f"The model scores how likely this is: **{plain(target)}** (0 = not at all, 1 = certain)."
    if task == "multiclass_classification":
        return f"The model chooses the class of: **{plain(target)}**; each class is explained on its own."
    return f"The model predicts: **{plain(target)}**."


def _predicted(row: Any, task: str, class_names: tuple[str, ...]) -> str:
    """The logged prediction in words: a score, a class name (multiclass, never its position) or a value."""
    if task == "binary_classification" and pd.notna(row.score):
        return f"score {row.score:.2f}"
    if class_names and pd.notna(row.prediction) and 0 <= int(row.prediction) < len(class_names):
        return f"predicted {class_names[int(row.prediction)]}"
    return f"prediction {readable_value(row.prediction)}"


def prediction_label(row: Any, task: str, class_names: tuple[str, ...] = ()) -> str:
    when = pd.Timestamp(row.ts).strftime("%Y-%m-%d %H:%M")
    shown = _predicted(row, task, class_names)
    return f"{when} UTC · {shown}" + (f" · {row.request_id}" if row.request_id else "")


def item_label(row: Any, task: str, class_names: tuple[str, ...] = ()) -> str:
    """'Q3 review #4 · 2025-06-01 12:00 UTC · score 0.71 · labelled Yes' (answers in words, never 0/1)."""
    when = pd.Timestamp(row.ts).strftime("%Y-%m-%d %H:%M")
    shown = _predicted(row, task, class_names)
    state = (
        f"labelled {class_names[int(row.final_label)]}"
        if class_names and pd.notna(row.final_label) and 0 <= int(row.final_label) < len(class_names)
        else f"labelled {LABEL_ANSWERS.get(int(row.final_label), readable_value(row.final_label))}"
        if pd.notna(row.final_label) and task == "binary_classification"
        else f"labelled {readable_value(row.final_label)}"
        if pd.notna(row.final_label)
        else {"open": "not labelled yet", "disagreement": "labellers disagree"}.get(row.status, row.status)
    )
    return f"{row.campaign} #{row.position} · {when} UTC · {shown} · {state}"


def outcome_text(label: Any, task: str, class_names: tuple[str, ...] = ()) -> str:
    """The recorded true outcome of an explained prediction, or '' when none is recorded."""
    if label is None or pd.isna(label):
        return ""
    if class_names and 0 <= int(label) < len(class_names):
        return f"true class: {class_names[int(label)]}"
    if task == "binary_classification":
        return "true outcome: " + ("1 (it happened)" if float(label) >= 0.5 else "0 (it did not happen)")
    return f"true value: {readable_value(label)}"
