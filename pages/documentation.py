"""Documentation: how complete each model's documentation is against SR 11-7, EU AI Act Annex IV
(high-risk models) and the Model Card; what is missing and where to fill it in; the
documentation pack as HTML or PDF. ``?model=ID`` opens that model."""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import empty
from app.components.tables import show_table
from app.components.text import plain
from core.governance.documentation import TEMPLATES

st.title("Documentation")
choices = {c.id: c for c in cache.model_choices()}
if not choices:
    empty.empty_registry()
    st.stop()

overview = cache.documentation_overview()
st.caption(
    "Share of each template's items documented, per model (Annex IV applies to high-risk models only)."
)
percent = {
    t: st.column_config.ProgressColumn(title, format="percent", min_value=0.0, max_value=1.0)
    for t, title in TEMPLATES.items()
}
show_table(
    overview,
    {
        "model": "Model",
        "business_unit": "Business unit",
        **percent,
        "missing": st.column_config.NumberColumn("Items missing"),
    },
    key="documentation.overview",
)

param = st.query_params.get("model")
if param and param.isdigit() and int(param) in choices and "documentation.model" not in st.session_state:
    st.session_state["documentation.model"] = int(param)
model_id = st.selectbox(
    "Model",
    list(choices),
    key="documentation.model",
    format_func=lambda i: f"{choices[i].name} ({choices[i].business_unit})",
)
st.query_params["model"] = str(model_id)
name = choices[model_id].name

cols = st.columns(len(TEMPLATES))
for col, score in zip(cols, cache.documentation_scores(model_id), strict=True):
    with col, st.container(border=True):
        st.markdown(f"**{score.title}**")
        if not score.applicable:
            st.metric("Completeness", "n/a")
            st.caption(plain(score.why_not))
            continue
        st.metric(
            "Completeness", f"{score.score:.0%}", help=f"{score.done} of {len(score.items)} items documented."
        )
        for item in score.items:
            if item.done:
                st.markdown(f":green[:material/check_circle:] {plain(item.label)}")
            else:
                st.markdown(
                    f":red[:material/cancel:] **{plain(item.label)}** — {plain(item.detail)}  \n"
                    f"Fill in: [{plain(item.where)}]({item.link})"
                )

st.subheader("Documentation pack")
st.caption(
    f"Model card, risk assessment, validation metrics, monitoring and explanation summaries, lineage, and the "
    f"approval and change history of {plain(name)}, from the registry as it is now."
)
left, right, _ = st.columns([1, 1, 3])
slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
left.download_button(
    "Pack (HTML)",
    data=lambda: cache.documentation_pack_file(model_id, "html"),
    mime="text/html",
    file_name=f"{slug}-documentation.html",
    key="documentation.pack.html",
    icon=":material/download:",
)
right.download_button(
    "Pack (PDF)",
    data=lambda: cache.documentation_pack_file(model_id, "pdf"),
    mime="application/pdf",
    file_name=f"{slug}-documentation.pdf",
    key="documentation.pack.pdf",
    icon=":material/download:",
)
