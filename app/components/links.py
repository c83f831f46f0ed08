"""Moving between pages and links people can share."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"


def persona_params() -> dict[str, str]:
    """The local-mode persona, kept when moving between pages (a switch replaces the query string)."""
    persona = st.query_params.get("as")
    return {"as": persona} if persona else {}


def open_model(model_id: int) -> None:
    """Open the Model page on ``model_id`` (ends this run)."""
    st.switch_page(PAGES_DIR / "model.py", query_params={"model": str(model_id), **persona_params()})


def this_page_link(fallback_path: str, **params: object) -> str:
    """The URL of the current page with ``params`` (relative ``/fallback_path`` when the browser URL is unknown)."""
    url = st.context.url or f"/{fallback_path}"
    query = urlencode({k: str(v) for k, v in params.items() if v is not None})
    return f"{url}?{query}" if query else url


def share_popover(fallback_path: str, **params: object) -> None:
    """A "Share" button showing a copyable link to this page.

    The link leaves out the local-mode persona: a shared link must not choose who you are.
    """
    with st.popover("Share link", icon=":material/share:", width="stretch"):
        st.caption("Anyone with access to Steward can open this page with this link.")
        st.code(this_page_link(fallback_path, **params), language=None)


# The pages that look at one model, in the order a reader goes from "what is it" to "can I trust it".
MODEL_PAGES = (
    ("explanations.py", "Why it decides", ":material/lightbulb:"),
    ("drift.py", "Drift", ":material/query_stats:"),
    ("performance.py", "Real performance", ":material/monitoring:"),
    ("lineage.py", "Lineage", ":material/account_tree:"),
    ("risk.py", "Risk", ":material/shield:"),
    ("documentation.py", "Documentation", ":material/description:"),
)


def model_page_links(model_id: int) -> None:
    """One row of links to the other pages, each opened on this model."""
    params = {"model": str(model_id), **persona_params()}
    for column, (page, label, icon) in zip(st.columns(len(MODEL_PAGES)), MODEL_PAGES, strict=True):
        with column:
            st.page_link(PAGES_DIR / page, label=label, icon=icon, query_params=params)
