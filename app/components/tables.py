"""Tables: readable column labels, dates and money, row selection and CSV export."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components.status import HEALTH, STAGE_LABELS, STATUS_LABELS

DATE = "YYYY-MM-DD"
DATETIME = "YYYY-MM-DD HH:mm"

# inventory column -> label people read (also the CSV header)
# What a business owner looks at first comes first: the table is wider than the screen.
INVENTORY_LABELS = {
    "name": "Model",
    "business_unit": "Business unit",
    "accountable_owner": "Accountable owner",
    "stage": "Stage",
    "health": "Health",
    "health_reason": "Why",
    "monthly_cost": "Monthly cost",
    "cost_currency": "Currency",
    "last_prediction": "Last prediction seen",
    "technical_owner": "Technical owner",
    "business_process": "Business process",
    "production_version": "Production version",
    "version_count": "Versions",
    "last_retrained": "Last retrained",
    "status": "Status",
}
EMPTY_CELL = "—"


def date_column(label: str, help_text: str | None = None) -> Any:
    return st.column_config.DatetimeColumn(label, format=DATE, timezone="UTC", help=help_text)


def datetime_column(label: str, help_text: str | None = None) -> Any:
    return st.column_config.DatetimeColumn(
        label, format=DATETIME, timezone="UTC", help=(help_text + " " if help_text else "") + "Times in UTC."
    )


def single_currency(currencies: pd.Series) -> str | None:
    """The one currency of a cost column, or None when it mixes currencies (or has none)."""
    found = currencies.dropna().unique()
    return str(found[0]) if len(found) == 1 and "," not in str(found[0]) else None


def inventory_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The whole inventory as shown: statuses in words, costs in whole units, text held as
    Arrow strings. Same index as ``frame``; build it once per inventory (app/cache.py) and
    pick a view's rows from it, so reruns neither relabel nor re-encode 10,000 rows."""
    shown = frame[list(INVENTORY_LABELS)].assign(
        monthly_cost=frame["monthly_cost"].round(0),  # whole currency units read best in a portfolio table
        stage=frame["stage"].map(STAGE_LABELS).fillna(frame["stage"]),
        status=frame["status"].map(STATUS_LABELS).fillna(frame["status"]),
        health=frame["health"]
        .map({k: label for k, (label, _) in HEALTH.items()})
        .fillna(HEALTH["unknown"][0]),
    )
    text = [c for c in shown.columns if shown[c].dtype == object]
    return shown.astype({c: "string[pyarrow]" for c in text})


def inventory_table(view: pd.DataFrame, display: pd.DataFrame, *, key: str) -> int | None:
    """Show the rows of ``view`` (from ``display``, see ``inventory_display``); return the model id
    of the row the user selected, if any."""
    currency = single_currency(view["cost_currency"])
    cost_label = f"Monthly cost ({currency})" if currency else "Monthly cost"
    order = [c for c in INVENTORY_LABELS if not (c == "cost_currency" and currency)]
    config = {c: INVENTORY_LABELS[c] for c in order}
    config.update(
        {
            "name": st.column_config.TextColumn("Model", width="medium"),
            "production_version": st.column_config.NumberColumn(
                "Prod. version", format="v%d", width="small", help="The version currently in production."
            ),
            "version_count": st.column_config.NumberColumn("Versions", width="small"),
            "stage": st.column_config.TextColumn(
                "Stage",
                width=95,
                help="Stage of the production version, else the most advanced stage any version reached.",
            ),
            "last_retrained": date_column("Last retrained", "When the newest version was registered."),
            "last_prediction": datetime_column("Last prediction seen", "Newest logged prediction."),
            "monthly_cost": st.column_config.NumberColumn(
                cost_label, format="localized", help="Recorded cost over the last 30 days."
            ),
            "health": st.column_config.TextColumn(
                "Health", width=115, help="From monitoring: drift, performance, outages."
            ),
            "health_reason": st.column_config.TextColumn(
                "Why", width="medium", help="What raised the warning or alert."
            ),
        }
    )
    state = st.dataframe(
        display.loc[view.index],
        key=key,
        hide_index=True,
        column_order=order,
        column_config=config,
        on_select="rerun",
        selection_mode="single-row",
        height=min(38 + 35 * max(len(view), 1), 740),
        placeholder=EMPTY_CELL,
    )
    rows = state.selection.rows if state is not None else []
    return int(view.iloc[rows[0]]["model_id"]) if rows and rows[0] < len(view) else None


def inventory_csv(view: pd.DataFrame) -> bytes:
    """The inventory rows as CSV with readable headers, dates in ISO 8601 UTC."""
    export = view[list(INVENTORY_LABELS)].copy()
    for column in ("last_retrained", "last_prediction"):
        export[column] = export[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return export.rename(columns=INVENTORY_LABELS).to_csv(index=False).encode("utf-8")


def show_table(
    frame: pd.DataFrame,
    columns: dict[str, Any],
    *,
    key: str | None = None,
    empty: str = "",
    max_rows: int = 20,
) -> None:
    """A read-only table of ``columns`` (name -> label or column config), or ``empty`` when there
    are no rows. Tall enough for ``max_rows`` rows before it scrolls."""
    if frame.empty:
        st.caption(empty or "Nothing recorded.")
        return
    st.dataframe(
        frame,
        key=key,
        hide_index=True,
        column_order=list(columns),
        column_config={k: v for k, v in columns.items()},
        placeholder=EMPTY_CELL,
        height=38 + 35 * min(len(frame), max_rows),
    )
