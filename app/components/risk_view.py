"""Risk rendering: the portfolio matrix, flags, overdue reviews, tiers and the assessment form.

``model_risk`` is the panel the Model page shows; the rest serve the Risk page.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import streamlit as st

from app.components.tables import date_column, show_table
from app.components.text import chart, plain
from core.governance import risk
from core.governance.risk import (
    RISK_LABELS,
    TIER_RULE,
    AssessmentView,
    Flag,
)
from core.registry.figures import AssessedCounts

TIER_COLOURS = {"high": "red", "medium": "orange", "low": "green", "not assessed": "gray"}
TIER_BAR_COLOURS = {"high": "#e03131", "medium": "#f59f00", "low": "#2f9e44", "not assessed": "#adb5bd"}
# Score zones of the matrix (likelihood x impact): 1-4, 5-9, 10-14, 15-25
ZONE_COLOURS = ["#d3f9d8", "#fff3bf", "#ffd8a8", "#ffc9c9"]
CATEGORY_CHOICES = {"worst": "Highest of the four risks", **RISK_LABELS}


def _zone(score: int) -> int:
    return 0 if score <= 4 else 1 if score <= 9 else 2 if score <= 14 else 3


def tier_badge(tier: str | None) -> None:
    label = tier or "not assessed"
    st.badge(f"Risk tier: {label}", color=TIER_COLOURS.get(label, "gray"), icon=":material/shield:")  # type: ignore[arg-type]


def tier_rule() -> None:
    """The documented tier rule, as the core applies it."""
    with st.container(border=True):
        st.markdown("**How the tier is set**")
        st.markdown("\n".join(f"- {line}" for line in TIER_RULE))


def kpis(
    rows: list[tuple[dict[str, Any], AssessmentView | None]],
    flags: list[Flag],
    overdue: pd.DataFrame,
    assessed: AssessedCounts,
) -> None:
    """Assessed (core.registry.figures), high tier, overdue and flagged models of the portfolio shown."""
    views = [v for _, v in rows if v is not None]
    kpi = st.columns(4)
    kpi[0].metric("Models assessed", assessed.text, help=assessed.explanation)
    kpi[1].metric("High tier", sum(1 for v in views if v.tier == "high"))
    kpi[2].metric(
        "Reviews overdue", len(overdue), help="Past the review date, or in validation/production unassessed."
    )
    kpi[3].metric("Models flagged to re-assess", len({f.model_id for f in flags}))


# --- the matrix -------------------------------------------------------------------------------------


FLAG_MARK = "⚑"


def flag_summary(flags: list[Flag]) -> dict[int, str]:
    """Per flagged model, the risks its evidence calls to re-assess, in words."""
    found: dict[int, set[str]] = {}
    for f in flags:
        label = f.category_label.lower() if f.category != "review" else f.trigger.replace("_", " ")
        found.setdefault(f.model_id, set()).add(label.replace("not assessed", "never assessed"))
    return {model_id: ", ".join(sorted(risks)) for model_id, risks in found.items()}


def heatmap_chart(
    grid: pd.DataFrame, *, title: str, key: str, flagged: dict[int, str] | None = None
) -> tuple[int, int] | None:
    """The 5 x 5 matrix with the count and names per cell, models to re-assess marked with a flag;
    returns the clicked cell (likelihood, impact)."""
    import plotly.graph_objects as go  # lazy: plotly loads only when a chart is drawn

    flagged = flagged or {}

    def marked(names: list[str], ids: list[int]) -> list[str]:
        return [f"{FLAG_MARK} {n}" if i in flagged else n for n, i in zip(names, ids, strict=True)]

    z = [[_zone(li * im) for im in range(1, 6)] for li in range(1, 6)]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(1, 6)),
            y=list(range(1, 6)),
            showscale=False,
            hoverinfo="skip",
            zmin=0,
            zmax=3,
            colorscale=[[i / 3, c] for i, c in enumerate(ZONE_COLOURS)],
            xgap=3,
            ygap=3,
        )
    )
    occupied = grid[grid["count"] > 0]
    figure.add_scatter(
        x=occupied["impact"],
        y=occupied["likelihood"],
        mode="markers",
        showlegend=False,
        marker={"symbol": "square", "size": 96, "color": "#1f2933", "opacity": 0.04},  # the click target
        customdata=[[_names(marked(r.models, r.model_ids), 30, "<br>")] for r in occupied.itertuples()],
        hovertemplate="Likelihood %{y} × impact %{x}<br>%{customdata[0]}<extra></extra>",
    )
    for r in occupied.itertuples():  # up to four names fit a cell; the rest on hover and in the list below
        names = sorted(
            marked(r.models, r.model_ids), key=lambda n: not n.startswith(FLAG_MARK)
        )  # flagged first
        shown = _names(names, 4 if r.count <= 4 else 3, "<br>")
        to_check = sum(i in flagged for i in r.model_ids)
        count = f"{r.count} model{'s' if r.count != 1 else ''}" + (
            f" · {to_check} {FLAG_MARK}" if to_check else ""
        )
        figure.add_annotation(
            x=r.impact,
            y=r.likelihood,
            showarrow=False,
            font={"size": 11, "color": "#1f2933"},
            text=f"<b>{count}</b><br>{shown}",
        )
    figure.update_layout(
        height=640,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title={"text": title, "font": {"size": 14}},
        xaxis={
            "title": "Impact (1 = minor … 5 = severe)",
            "tickmode": "linear",
            "range": [0.5, 5.5],
            "fixedrange": True,
        },
        yaxis={
            "title": "Likelihood (1 = rare … 5 = almost certain)",
            "tickmode": "linear",
            "range": [0.5, 5.5],
            "fixedrange": True,
        },
        clickmode="event+select",
        dragmode=False,
    )
    event = st.plotly_chart(figure, key=key, on_select="rerun", selection_mode="points", width="stretch")
    points = (
        (event or {}).get("selection", {}).get("points", [])
        if isinstance(event, dict)
        else getattr(getattr(event, "selection", None), "points", []) or []
    )
    if points:
        return int(points[0]["y"]), int(points[0]["x"])
    return None


def matrix(
    grid: pd.DataFrame,
    rows: list[tuple[dict[str, Any], AssessmentView | None]],
    flags: list[Flag],
    *,
    category: str,
    basis: str,
) -> None:
    """The matrix of one risk (or the worst of the four), and the models of the cell picked below
    it or clicked in it."""
    flagged = flag_summary(flags)
    clicked = heatmap_chart(
        grid,
        key="risk.heatmap",
        flagged=flagged,
        title=(
            f"{CATEGORY_CHOICES[category]} — {'after' if basis == 'residual' else 'before'} mitigations: "
            f"models per cell ({FLAG_MARK} = evidence calls for a re-assessment)"
        ),
    )
    cells = [
        (r.likelihood, r.impact, r.count)
        for r in grid[grid["count"] > 0].sort_values("score", ascending=False).itertuples()
    ]
    if not cells:
        st.caption("No model is assessed yet; record an assessment below.")
        return
    if clicked is not None and st.session_state.get("risk.cell.clicked") != clicked:
        st.session_state["risk.cell.clicked"] = clicked  # a click on the chart picks the cell below
        st.session_state["risk.cell"] = next((c for c in cells if c[:2] == clicked), cells[0])
    cell = st.selectbox(
        "Models in cell (or click a cell in the matrix)",
        cells,
        key="risk.cell",
        format_func=lambda c: cell_label(*c),
    )
    cell_models(
        risk.cell_rows(rows, category=category, basis=basis, likelihood=cell[0], impact=cell[1]),
        key="risk.cell.models",
        flagged=flagged,
    )


def _names(names: list[str], limit: int, sep: str) -> str:
    shown = [html.escape(n) for n in names[:limit]]
    if len(names) > limit:
        shown.append(f"+{len(names) - limit} more")
    return sep.join(shown)


def cell_label(likelihood: int, impact: int, count: int) -> str:
    return f"Likelihood {likelihood} × impact {impact} — {count} model{'s' if count != 1 else ''}"


def cell_models(rows: list[dict[str, Any]], *, key: str, flagged: dict[int, str] | None = None) -> None:
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["reassess"] = [(flagged or {}).get(i, "") for i in frame["model_id"]]
    show_table(
        frame,
        {
            "link": st.column_config.LinkColumn("Model", display_text=r"model=\d+#(.*)$"),
            "reassess": st.column_config.TextColumn(
                f"{FLAG_MARK} Re-assess",
                help="Risks whose evidence calls for a re-assessment (see the flags below).",
            ),
            "business_unit": "Business unit",
            "tier": "Tier",
            "score": "Score (L × I)",
            "next_review_due": date_column("Next review"),
            "assessed_by": "Assessed by",
        },
        key=key,
        empty="No model in this cell.",
    )


def model_link(model_id: int, name: str) -> str:
    """A relative link to the Model page that shows the model's name (LinkColumn display_text)."""
    return f"/model?model={model_id}#{name}"


# --- tables and charts --------------------------------------------------------------------------------


def flags_table(flags: list[Flag], *, key: str) -> None:
    frame = pd.DataFrame([{**f.as_dict(), "link": model_link(f.model_id, f.model)} for f in flags])
    show_table(
        frame,
        {  # the reason is what the room reads: before the business unit, wide
            "link": st.column_config.LinkColumn("Model", display_text=r"model=\d+#(.*)$"),
            "risk": "Risk",
            "since": date_column("Evidence from"),
            "reason": st.column_config.TextColumn("Why re-assess", width="large"),
            "business_unit": "Business unit",
        },
        key=key,
        empty="No evidence calls for a re-assessment.",
    )


def overdue_table(frame: pd.DataFrame, *, key: str) -> None:
    view = frame.assign(
        link=[model_link(i, n) for i, n in zip(frame["model_id"], frame["model"], strict=True)]
    )
    show_table(
        view,
        {
            "link": st.column_config.LinkColumn("Model", display_text=r"model=\d+#(.*)$"),
            "business_unit": "Business unit",
            "tier": "Tier",
            "last_assessed": date_column("Last assessed"),
            "due": date_column("Review due"),
            "days_overdue": st.column_config.NumberColumn("Days overdue", format="%d"),
            "reason": "Reason",
        },
        key=key,
        empty="Every assessed model was reviewed within its interval.",
    )


def tier_chart(frame: pd.DataFrame, *, key: str) -> None:
    """Stacked bars: models per business unit and tier."""
    if frame.empty:
        st.caption("No models.")
        return
    import plotly.graph_objects as go

    figure = go.Figure()
    for tier in ("high", "medium", "low", "not assessed"):
        rows = frame[frame["tier"] == tier]
        figure.add_bar(
            x=rows["business_unit"].map(chart),
            y=rows["models"],
            name=tier.capitalize(),
            marker_color=TIER_BAR_COLOURS[tier],
            hovertemplate="%{x}: %{y} model(s)<extra>" + tier + "</extra>",
        )
    figure.update_layout(
        barmode="stack",
        height=340,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title={"text": "Risk tier per business unit", "font": {"size": 14}},
        xaxis_title="Business unit",
        yaxis_title="Models (count)",
        legend_title_text="Tier",
    )
    st.plotly_chart(figure, key=key, width="stretch")


# --- one model ------------------------------------------------------------------------------------------


def assessment_summary(view: AssessmentView) -> None:
    """The current assessment: tier and why, class, dates, and the four risks."""
    cols = st.columns(4)
    cols[0].metric("Tier", view.tier.capitalize(), help=f"Because of {plain(view.tier_reason)}.")
    cols[1].metric(
        "Next review due",
        f"{view.next_review_due:%Y-%m-%d}",
        help=f"Every {view.review_interval_months} months for tier {view.tier}.",
    )
    cols[2].metric(
        "Materiality",
        view.materiality.capitalize(),
        help=f"Exposure {view.exposure_amount:,.0f} {view.exposure_currency}"
        if view.exposure_amount
        else None,
    )
    cols[3].metric(
        "Assessed",
        f"{view.assessed_at:%Y-%m-%d}",
        help=f"By {plain(view.assessed_by)}, assessment {view.version}.",
    )
    st.caption(f"EU AI Act: {plain(view.ai_act_label)}. Rationale: {plain(view.rationale)}")
    if view.human_oversight:
        st.caption(f"Human oversight: {plain(view.human_oversight)}")
    frame = pd.DataFrame(
        [
            {
                "risk": s.label,
                "inherent": f"{s.likelihood} × {s.impact} = {s.inherent_score}",
                "mitigations": s.mitigations,
                "residual": f"{s.residual_likelihood} × {s.residual_impact}",
                "residual_score": s.residual_score,
            }
            for s in view.scores
        ]
    )
    show_table(
        frame,
        {
            "risk": "Risk",
            "inherent": "Likelihood × impact",
            "mitigations": "Mitigations",
            "residual": "Residual L × I",
            "residual_score": st.column_config.NumberColumn("Residual score"),
        },
    )
