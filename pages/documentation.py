"""Documentation: how complete each model's documentation is against SR 11-7, EU AI Act Annex IV
(high-risk models) and the Model Card; what is missing and where to fill it in; the
documentation pack as HTML or PDF. ``?model=ID`` opens that model."""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import documentation_view, empty
from app.components.choice import choose
from app.components.text import plain

st.title("Documentation")
choices = {c.id: c for c in cache.model_choices()}
if not choices:
    empty.empty_registry()
    st.stop()

st.caption(
    "Share of each template's items documented, per model (Annex IV applies to high-risk models only)."
)
documentation_view.overview_table(cache.documentation_overview(), key="documentation.overview")

model_id = choose(
    "Model",
    list(choices),
    key="documentation.model",
    param="model",
    format_func=lambda i: f"{choices[i].name} ({choices[i].business_unit})",
)
name = choices[model_id].name
documentation_view.scores(cache.documentation_scores(model_id))

st.subheader("Documentation pack")
st.caption(
    f"Model card, risk assessment, validation metrics, monitoring and explanation summaries, lineage, and the "
    f"approval and change history of {plain(name)}, from the registry as it is now."
)
left, right, _ = st.columns([1, 1, 3])
slug = documentation_view.file_slug(name)
left.download_button(
    "Pack (HTML)",
    data=lambda: cache.documentation_pack_file(model_id, "html"),
    mime="text/html",
    file_name=f"{slug}-documentation.html",
    key="documentation.pack.html",
    on_click="ignore",
    icon=":material/download:",
)
right.download_button(
    "Pack (PDF)",
    data=lambda: cache.documentation_pack_file(model_id, "pdf"),
    mime="application/pdf",
    file_name=f"{slug}-documentation.pdf",
    key="documentation.pack.pdf",
    on_click="ignore",
    icon=":material/download:",
)
