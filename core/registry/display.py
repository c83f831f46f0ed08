"""How registry values read: stage, lifecycle status and health in words, and the inventory as
a table shows them. Shared by the app's tables and badges and the CSV export."""

from __future__ import annotations

import pandas as pd

# The one set of health words and colours (core.registry.figures), re-exported for the app.
from core.registry.figures import HEALTH_COLOURS as HEALTH_COLOURS
from core.registry.figures import HEALTH_LABELS as HEALTH_LABELS

STAGE_LABELS = {
    "production": "Production",
    "staging": "Staging",
    "archived": "Archived",
    "none": "Not staged",
}
STATUS_LABELS = {
    "development": "Development",
    "validation": "Validation",
    "production": "Production",
    "retired": "Retired",
}
# inventory column -> label people read (also the CSV header). What a business owner looks at
# first comes first: the table is wider than the screen.
INVENTORY_LABELS = {
    "name": "Model",
    "business_unit": "Business unit",
    "accountable_owner": "Accountable owner",
    "stage": "Stage",
    "health": "Health",
    "monthly_cost": "Cost, last 30 days",
    "cost_currency": "Currency",
    "health_reason": "Why",
    "last_prediction": "Last prediction seen",
    "technical_owner": "Technical owner",
    "business_process": "Business process",
    "production_version": "Production version",
    "version_count": "Versions",
    "last_retrained": "Last retrained",
    "status": "Status",
}


def health_label(status: str) -> str:
    return HEALTH_LABELS.get(status, HEALTH_LABELS["unknown"])


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def inventory_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The whole inventory as shown: statuses in words, costs in whole units, text held as Arrow
    strings. Same index as ``frame``, so a filtered view picks its rows from it by index (build
    it once per inventory: relabelling and re-encoding 10,000 rows on every rerun is slow)."""
    shown = frame[list(INVENTORY_LABELS)].assign(
        monthly_cost=frame["monthly_cost"].round(0),  # whole currency units read best in a portfolio table
        stage=frame["stage"].map(STAGE_LABELS).fillna(frame["stage"]),
        status=frame["status"].map(STATUS_LABELS).fillna(frame["status"]),
        health=frame["health"].map(HEALTH_LABELS).fillna(HEALTH_LABELS["unknown"]),
    )
    text = [c for c in shown.columns if shown[c].dtype == object]
    return shown.astype({c: "string[pyarrow]" for c in text})


def inventory_csv(view: pd.DataFrame) -> bytes:
    """Inventory rows as CSV with readable headers, dates in ISO 8601 UTC."""
    export = view[list(INVENTORY_LABELS)].copy()
    for column in ("last_retrained", "last_prediction"):
        export[column] = export[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return export.rename(columns=INVENTORY_LABELS).to_csv(index=False).encode("utf-8")
