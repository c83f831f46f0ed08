"""Data within reach, on the Model page: upload a version's training, evaluation, drift reference
or SHAP background file (CSV or Parquet). Steward keeps it in the artifact store, named by its
sha256, and links it to the version; ``core.registry.datasets`` checks the file and the role."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import actions, cache, identity
from app.components.text import plain
from core.config import get_settings
from core.registry.datasets import ROLE_LABELS, ROLES, register_upload

STALE = (cache.MODELS, cache.DRIFT, cache.EXPLANATIONS)
ROLE_HELP = {
    "training": "What the version was trained on; the drift reference and SHAP background unless you give others.",
    "evaluation": "Held-out data with the label: SHAP's validation summary and the size behind the metrics.",
    "reference": "What drift compares production inputs with (default: the training data).",
    "background": "SHAP's background sample (default: the training data).",
}


def upload(model_id: int, business_unit: str, versions: pd.DataFrame) -> None:
    """The upload form for one of the model's versions (for people who may record lineage)."""
    limit = get_settings().upload_max_mb
    with st.expander("Add a dataset file", icon=":material/upload_file:"):
        if versions.empty:
            st.caption("Register a version first; its data is uploaded here afterwards.")
            return
        if not identity.can("lineage.write", business_unit):
            st.caption("Adding data needs the role model owner or admin.")
            return
        labels = {int(r.version_id): f"v{r.version} ({r.stage})" for r in versions.itertuples()}
        left, right = st.columns(2)
        version_id = left.selectbox("Version", list(labels), format_func=labels.get, key="model.data.version")
        role = right.selectbox(
            "Used as",
            list(ROLES),
            format_func=lambda r: ROLE_LABELS[r][:1].upper() + ROLE_LABELS[r][1:],
            key="model.data.role",
        )
        st.caption(plain(ROLE_HELP[role]))
        name = left.text_input("Dataset name", key="model.data.name", placeholder="e.g. loan_applications")
        label = right.text_input(
            "Dataset version", key="model.data.label", placeholder="empty: the start of the file's sha256"
        )
        file = st.file_uploader(
            f"CSV or Parquet file, up to {limit} MB",
            type=["csv", "parquet"],
            key="model.data.file",
        )
        if not st.button(
            "Keep this file for the version",
            key="model.data.submit",
            disabled=file is None,
            icon=":material/upload_file:",
        ):
            return
        assert file is not None
        done = actions.perform(
            register_upload,
            stale=STALE,
            spinner="Reading and checking the file…",
            success=f"{file.name} kept as the {ROLE_LABELS[role]} of {labels[version_id]}.",
            version_id=int(version_id),
            role=role,
            name=name,
            content=file.getvalue(),
            filename=file.name,
            version=label,
        )
        if done.ok:
            st.rerun()
        actions.show_error(done, prefix="Nothing was stored. ")
