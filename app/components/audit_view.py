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
    "label": st.column_config.TextColumn("What happened", width="medium"),
    "object_type": "Object",
    "object_id": "Id",
    "model": "Model",
    "reason": "Reason",
    "action": st.column_config.TextColumn("Action code", help="The action's name as stored in the log."),
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


def page_picker(total: int, page_size: int, *, key: str, filters: dict[str, Any]) -> int:
    """Which page of ``total`` events (newest first, ``page_size`` a page) to show: 0-based offset.
    Back to the first page whenever the filters change.

    A number input rather than a slider: it keeps working for logs of any length."""
    pages = max(1, -(-total // page_size))
    if st.session_state.get(f"{key}.filters") != filters:
        st.session_state[f"{key}.filters"] = filters
        st.session_state.pop(key, None)
    if pages == 1:
        return 0
    page = st.number_input(
        f"Page (of {pages:,})",
        min_value=1,
        max_value=pages,
        value=1,
        step=1,
        key=key,
        help=f"{page_size:,} events a page, newest first.",
    )
    return (int(page) - 1) * page_size


def shown_caption(total: int, offset: int, shown: int) -> str:
    """E.g. "1,234 matching events; showing 201–400, newest first." """
    if total == 0:
        return "0 matching events."
    if shown >= total:
        return f"{total:,} matching events, newest first."
    return f"{total:,} matching events; showing {offset + 1:,}–{offset + shown:,}, newest first."


def export_button(frame: Callable[[], pd.DataFrame], *, key: str, too_many: bool, cap: int) -> None:
    """Download the matching events as CSV (built when clicked)."""
    st.download_button(
        "Export CSV",
        data=lambda: audit.events_csv(frame()),
        file_name="steward-audit.csv",
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
        help=f"At most the newest {cap:,} events." if too_many else "Every matching event.",
    )
