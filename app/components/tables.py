"""Tables: readable column labels, dates and money, row selection and CSV export."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.registry.display import HEALTH_COLOURS, HEALTH_LABELS, INVENTORY_LABELS
from core.registry.figures import CURRENCY_SYMBOLS

DATE = "YYYY-MM-DD"
DATETIME = "YYYY-MM-DD HH:mm"
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


# What a business owner looks at first, and fits a 1400 px screen without scrolling sideways; the
# other columns are added on demand (``more``).
INVENTORY_FIRST = (
    "name",
    "business_unit",
    "accountable_owner",
    "stage",
    "health",
    "health_reason",
    "monthly_cost",
)
INVENTORY_MORE = tuple(c for c in INVENTORY_LABELS if c not in INVENTORY_FIRST and c != "cost_currency")


def inventory_table(
    view: pd.DataFrame, display: pd.DataFrame, *, key: str, more: tuple[str, ...] = ()
) -> int | None:
    """Show the rows of ``view`` (picked by index from ``display``, core.registry.display.inventory_display); return the model id
    of the row the user selected, if any. ``more``: columns of ``INVENTORY_MORE`` to add."""
    currency = single_currency(view["cost_currency"])
    unit = CURRENCY_SYMBOLS.get(currency, currency) if currency else None
    cost_label = f"Cost, 30 days ({unit})" if unit else "Cost, 30 days"
    wanted = set(INVENTORY_FIRST) | set(more) | ({"cost_currency"} if not currency else set())
    order = [c for c in INVENTORY_LABELS if c in wanted]
    config = {c: INVENTORY_LABELS[c] for c in order}
    config.update(
        {
            "name": st.column_config.TextColumn("Model", width=190),
            "business_unit": st.column_config.TextColumn("Business unit", width=125),
            "accountable_owner": st.column_config.TextColumn("Accountable owner", width=125),
            "production_version": st.column_config.NumberColumn(
                "Prod. version", format="v%d", width="small", help="The version currently in production."
            ),
            "version_count": st.column_config.NumberColumn("Versions", width="small"),
            "stage": st.column_config.TextColumn(
                "Stage",
                width=85,
                help="Stage of the production version, else the most advanced stage any version reached.",
            ),
            "last_retrained": date_column("Last retrained", "When the newest version was registered."),
            "last_prediction": datetime_column("Last prediction seen", "Newest logged prediction."),
            "monthly_cost": st.column_config.NumberColumn(
                cost_label, format="localized", width=115, help="Recorded cost over the last 30 days."
            ),
            "health": st.column_config.MultiselectColumn(  # read-only: a coloured badge per model
                "Health",
                width=110,
                options=[HEALTH_LABELS[s] for s in HEALTH_LABELS],
                color=[HEALTH_COLOURS[s] for s in HEALTH_LABELS],
                help="From monitoring: drift, performance, outages.",
            ),
            "health_reason": st.column_config.TextColumn(
                "Why", width=165, help="What raised the warning or alert (hover a cell for all of it)."
            ),
        }
    )
    shown = display.loc[view.index]
    shown = shown.assign(health=[[h] for h in shown["health"]])  # one badge per cell
    state = st.dataframe(
        shown,
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
