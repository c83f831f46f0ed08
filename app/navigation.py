"""The pages of the app, by section: what st.navigation shows, and what the every-page test opens.

Add a page by adding one line to the section it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"


@dataclass(frozen=True)
class PageSpec:
    file: str  # in pages/
    title: str
    icon: str
    url_path: str
    default: bool = False


SECTIONS: dict[str, tuple[PageSpec, ...]] = {
    "Portfolio": (
        PageSpec("inventory.py", "Inventory", ":material/inventory_2:", "inventory", default=True),
        PageSpec("model.py", "Model", ":material/model_training:", "model"),
        PageSpec("owners.py", "Owners", ":material/groups:", "owners"),
    ),
    "Monitoring": (
        PageSpec("drift.py", "Drift", ":material/query_stats:", "drift"),
        PageSpec("performance.py", "Performance", ":material/monitoring:", "performance"),
        PageSpec("labelling.py", "Labelling", ":material/label:", "labelling"),
    ),
    "Governance": (
        PageSpec("promotions.py", "Promotions", ":material/approval:", "promotions"),
        PageSpec("audit.py", "Audit log", ":material/receipt_long:", "audit"),
        PageSpec("admin.py", "People and roles", ":material/manage_accounts:", "admin"),
        PageSpec("risk.py", "Risk", ":material/shield:", "risk"),
        PageSpec("meetings.py", "Review meetings", ":material/groups_3:", "meetings"),
        PageSpec("documentation.py", "Documentation", ":material/description:", "documentation"),
    ),
    "Insight": (
        PageSpec("explanations.py", "Explanations", ":material/lightbulb:", "explanations"),
        PageSpec("lineage.py", "Lineage", ":material/account_tree:", "lineage"),
        PageSpec("costs.py", "Costs", ":material/euro:", "costs"),
    ),
}


def every_page() -> list[PageSpec]:
    return [page for pages in SECTIONS.values() for page in pages]


def sections() -> dict[str, list[st.Page]]:
    """The sections as st.navigation takes them."""
    return {
        name: [
            st.Page(PAGES_DIR / p.file, title=p.title, icon=p.icon, url_path=p.url_path, default=p.default)
            for p in pages
        ]
        for name, pages in SECTIONS.items()
    }
