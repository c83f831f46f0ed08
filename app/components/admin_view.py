"""Admin rendering: the people and role grants tables, and what an MLflow import did."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components.tables import date_column, datetime_column, show_table
from app.components.text import plain

ALL_UNITS = ""  # a grant for every business unit
IMPORT_OUTCOMES = {  # ImportReport field -> what happened, as people read it
    "models_created": "Model created",
    "models_updated": "Model updated",
    "versions_created": "Version created",
    "versions_unchanged": "Version unchanged (imported before)",
    "versions_skipped": "Version not imported (see below)",
    "datasets_created": "Dataset created",
    "stages_set": "Stage set at first import",
}


def unit_label(unit: str) -> str:
    return unit or "All business units"


def people_table(people: pd.DataFrame, *, key: str) -> None:
    shown = people[~people["is_system"]].assign(active=people["active"].map({True: "Active", False: "Left"}))
    show_table(
        shown,
        {
            "name": "Name",
            "email": "Email",
            "team": "Team",
            "roles": "Roles",
            "active": "Status",
            "left_on": date_column("Left on"),
            "created_at": datetime_column("Added"),
        },
        key=key,
        empty="Nobody is registered yet.",
    )


def grants_table(grants: pd.DataFrame, *, key: str) -> None:
    with st.expander(f"Role grants ({len(grants)})"):
        shown = grants.assign(
            role=grants["role"].str.replace("_", " "), business_unit=grants["business_unit"].map(unit_label)
        )
        show_table(
            shown,
            {
                "name": "Person",
                "role": "Role",
                "business_unit": "Business unit",
                "granted_at": datetime_column("Granted"),
                "granted_by": "Granted by",
            },
            key=key,
            empty="No role has been granted.",
        )


def import_report(report: Any) -> None:
    """What an import created, updated or left unchanged, and what it could not map."""
    changes = pd.DataFrame(
        [(label, item) for field, label in IMPORT_OUTCOMES.items() for item in getattr(report, field)],
        columns=["outcome", "item"],
    )
    if changes.empty:
        st.warning(
            f"MLflow at {plain(report.tracking_uri)} holds no registered models: nothing was imported.",
            icon=":material/info:",
        )
    else:
        st.success(plain(report.summary()), icon=":material/check:")
        show_table(changes, {"outcome": "Outcome", "item": "MLflow object"}, key="admin.mlflow.changes")
    if report.not_mapped:
        st.markdown(f"**Not mapped ({len(report.not_mapped)})** — reported, not imported as-is:")
        show_table(
            pd.DataFrame({"item": report.not_mapped}),
            {"item": "What could not be mapped, and what Steward did"},
            key="admin.mlflow.not_mapped",
        )
