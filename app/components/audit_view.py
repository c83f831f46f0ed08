"""Audit rendering: the chain verdict, the events table and the CSV export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from app.components.tables import datetime_column, show_table
from core import audit

EVENT_COLUMNS: dict[str, Any] = {
    "id": st.column_config.NumberColumn("Event", format="%d"),
    "ts": datetime_column("When"),
    "actor": "Who",
    "action": "Action",
    "object_type": "Object",
    "object_id": "Id",
    "model": "Model",
    "reason": "Reason",
    "after": st.column_config.TextColumn("After", help="The object after the change (JSON)."),
    "before": st.column_config.TextColumn("Before", help="The object before the change (JSON)."),
}


def verdict(result: audit.ChainVerdict) -> None:
    """The same verdict as `steward audit verify`, on top of the page."""
    if result.ok:
        st.success(
            f"**{result.message()}** Each event is chained to the one before by its hash, so an edited, "
            "deleted, reordered or inserted row would show here.",
            icon=":material/verified:",
        )
    else:
        st.error(
            f"**{result.message()}** Events from {result.first_bad_id} on cannot be trusted. Restore the "
            "registry from a backup and investigate who had direct database access.",
            icon=":material/gpp_bad:",
        )


def date_range(value: Any) -> tuple[date | None, date | None]:
    """The (from, to) of a date_input range, which is empty or half-picked while the user chooses."""
    picked = list(value) if isinstance(value, list | tuple) else [value] if value else []
    if not picked:
        return None, None
    return picked[0], picked[-1] if len(picked) > 1 else picked[0]


def events_table(events: pd.DataFrame, *, key: str) -> None:
    show_table(events, EVENT_COLUMNS, key=key, empty="No event matches these filters.")


def export_button(frame: Callable[[], pd.DataFrame], *, key: str, too_many: bool, cap: int) -> None:
    """Download the matching events as CSV (built when clicked)."""
    st.download_button(
        "Export CSV",
        data=lambda: audit.events_csv(frame()),
        file_name="steward-audit.csv",
        mime="text/csv",
        key=key,
        icon=":material/download:",
        help=f"At most the newest {cap:,} events." if too_many else "Every matching event.",
    )
