"""Entry point: `streamlit run app/main.py`. Page config, identity, navigation.

Each page is one thin script in pages/. Add a page by adding one ``st.Page`` line to the
section it belongs to in ``sections()``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts only app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import bootstrap, identity  # noqa: E402


def sections() -> dict[str, list[st.Page]]:
    pages = ROOT / "pages"
    return {
        "Portfolio": [
            st.Page(
                pages / "inventory.py",
                title="Inventory",
                icon=":material/inventory_2:",
                url_path="inventory",
                default=True,
            ),
            st.Page(pages / "model.py", title="Model", icon=":material/model_training:", url_path="model"),
            st.Page(pages / "owners.py", title="Owners", icon=":material/groups:", url_path="owners"),
        ],
        "Monitoring": [
            st.Page(pages / "drift.py", title="Drift", icon=":material/query_stats:", url_path="drift"),
            st.Page(
                pages / "performance.py",
                title="Performance",
                icon=":material/monitoring:",
                url_path="performance",
            ),
            st.Page(pages / "labelling.py", title="Labelling", icon=":material/label:", url_path="labelling"),
        ],
        "Governance": [
            st.Page(
                pages / "promotions.py", title="Promotions", icon=":material/approval:", url_path="promotions"
            ),
            st.Page(pages / "audit.py", title="Audit log", icon=":material/receipt_long:", url_path="audit"),
            st.Page(
                pages / "admin.py",
                title="People and roles",
                icon=":material/manage_accounts:",
                url_path="admin",
            ),
            st.Page(pages / "risk.py", title="Risk", icon=":material/shield:", url_path="risk"),
            st.Page(
                pages / "meetings.py",
                title="Review meetings",
                icon=":material/groups_3:",
                url_path="meetings",
            ),
            st.Page(
                pages / "documentation.py",
                title="Documentation",
                icon=":material/description:",
                url_path="documentation",
            ),
        ],
        "Insight": [
            st.Page(
                pages / "explanations.py",
                title="Explanations",
                icon=":material/lightbulb:",
                url_path="explanations",
            ),
            st.Page(
                pages / "lineage.py", title="Lineage", icon=":material/account_tree:", url_path="lineage"
            ),
            st.Page(pages / "costs.py", title="Costs", icon=":material/euro:", url_path="costs"),
        ],
    }


def main() -> None:
    st.set_page_config(page_title="Steward", page_icon=":material/shield:", layout="wide")
    bootstrap.start()  # stops with one clear message when the registry is unusable
    identity.sign_in()  # stops when nobody signed in may see data
    navigation = st.navigation(sections(), expanded=True)  # every page in view, none folded away
    with bootstrap.database_errors():
        navigation.run()


main()
