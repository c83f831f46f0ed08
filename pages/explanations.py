"""Explanations: why a model version decides what it decides, on its original features.

``?version=<id>`` (or ``?model=<id>``: its production version) makes the page shareable.
"""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import empty, explain_view, links
from app.components.choice import choose
from app.panels import explanations

st.title("Explanations")
versions = cache.explainable_versions()
if versions.empty:
    empty.empty_state(
        "No model artifacts to explain",
        "Register a version with its artifact "
        "(`steward register-version --artifact FILE`) or load the demo with `steward demo`.",
    )
    st.stop()

labels = explain_view.version_labels(versions)
pick_col, share_col = st.columns([4, 1], vertical_alignment="bottom")
with pick_col:
    version_id = choose(
        "Model version",
        list(labels),
        key="explanations.version",
        param="version",
        aliases={"model": lambda raw: explain_view.version_of_model(versions, raw)},
        format_func=labels.get,
    )
with share_col:
    links.share_popover("explanations", version=version_id)
context = cache.version_context(version_id)
class_name = ""
if context.class_names:  # a multiclass classifier is explained one class at a time
    class_name = st.selectbox(
        "Class to explain", list(context.class_names), key=f"explanations.class.{version_id}"
    )
explanations.one_decision(version_id, context, class_name)
explanations.overall(version_id, context, class_name)
