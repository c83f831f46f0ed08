"""Documentation completeness: the portfolio overview and one model's templates item by item."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.tables import show_table
from app.components.text import plain
from core.governance.documentation import TEMPLATES, TemplateScore


def overview_table(overview: pd.DataFrame, *, key: str) -> None:
    """Share of each template's items documented, per model."""
    percent = {  # whole percentages ("93%", not "92.86%"), narrow enough to fit every column
        t: st.column_config.ProgressColumn(title, format="%.0f%%", min_value=0.0, max_value=100.0, width=150)
        for t, title in TEMPLATES.items()
    }
    show_table(
        overview.assign(**{t: overview[t] * 100 for t in TEMPLATES if t in overview}),
        {
            "model": "Model",
            "business_unit": "Business unit",
            "card_sections": st.column_config.TextColumn(
                "Model card",
                help="The eight model-card sections (as on the Model page and the promotion gate), of the "
                "production version, else the newest.",
            ),
            **percent,
            "missing": st.column_config.NumberColumn("Items missing", width="small"),
        },
        key=key,
    )


def scores(template_scores: list[TemplateScore]) -> None:
    """One bordered column per template: its completeness, then every item, done or what is missing
    and where to fill it in."""
    for col, score in zip(st.columns(len(template_scores)), template_scores, strict=True):
        with col, st.container(border=True):
            st.markdown(f"**{plain(score.title)}**")
            if not score.applicable:
                st.metric("Completeness", "n/a")
                st.caption(plain(score.why_not))
                continue
            st.metric(
                "Completeness",
                f"{score.score:.0%}",
                help=f"{score.done} of {len(score.items)} items documented.",
            )
            for item in score.items:
                if item.done:
                    st.markdown(f":green[:material/check_circle:] {plain(item.label)}")
                else:
                    st.markdown(
                        f":red[:material/cancel:] **{plain(item.label)}** — {plain(item.detail)}  \n"
                        f"Fill in: [{plain(item.where)}]({item.link})"
                    )


def file_slug(name: str) -> str:
    """A model name as a file name: "Credit scoring (EU)" -> "credit-scoring--eu"."""
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
