"""Review meeting rendering: the agenda with frozen evidence, decision inputs, presenter mode, actions.

Text from the registry (model names, comments) goes through ``text.plain`` before it reaches
markdown, so a name can never turn into formatting or a link.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, time
from typing import Any

import pandas as pd
import streamlit as st

from app.components.tables import date_column, show_table
from app.components.text import plain
from core.governance.meetings import KIND_LABELS, OUTCOME_LABELS, ItemRead, MeetingView
from core.reports.document import cell_text
from core.reports.evidence import figures as evidence_figures

KIND_COLOURS = {
    "open_action": "violet",
    "promotion_request": "blue",
    "rule_change": "blue",
    "review_overdue": "red",
    "reassessment": "orange",
    "alert": "red",
    "cost_overrun": "orange",
    "campaign_finished": "green",
}
OUTCOME_COLOURS = {
    "approve": "green",
    "reject": "red",
    "action": "orange",
    "noted": "gray",
    "close_action": "green",
}


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def header(view: MeetingView, *, compact: bool = False) -> None:
    st.markdown(f"### {plain(view.title)} — {view.held_at:%Y-%m-%d %H:%M} UTC")
    if compact:
        return
    st.badge(
        "Closed: minutes are final" if view.status == "closed" else "Planned: agenda open for decisions",
        color="gray" if view.status == "closed" else "blue",
    )
    previous = (
        f"since the previous meeting ({plain(view.previous[1])}, {view.previous[2]:%Y-%m-%d})"
        if view.previous
        else "over the 90 days before it (first meeting)"
    )
    st.caption(
        f"{plain(view.scope)} · organised by {plain(view.created_by)} · attendees: "
        f"{plain(', '.join(name for _, name, _ in view.attendees))} · agenda generated from the registry "
        f"{previous}"
        + (
            f", last refreshed {view.agenda_generated_at:%Y-%m-%d %H:%M} UTC"
            if view.agenda_generated_at
            else ""
        )
    )


def evidence(values: dict[str, Any], *, caption: str) -> None:
    """Frozen evidence: figures as a list, lists (gates, flags) as static tables (light on a long agenda)."""
    simple = evidence_figures(values)
    if simple:
        st.markdown("\n".join(f"- {plain(name)}: **{plain(text)}**" for name, text in simple))
    for key, rows in values.items():
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            st.caption(plain(_label(key)))
            _table(rows)
    st.caption(caption)


def _table(rows: list[dict[str, Any]]) -> None:
    """Rows of frozen evidence as a static table (st.table renders Markdown in its cells)."""
    frame = pd.DataFrame(rows).rename(columns=_label).fillna("—")
    st.table(frame.rename(columns=plain).map(lambda v: plain(_cell(v))))


def _cell(value: Any) -> str:
    """An evidence value as read (timestamps, yes/no), "—" when empty."""
    return cell_text(value) or "—"


def item_heading(item: ItemRead) -> None:
    colour = KIND_COLOURS.get(item.kind, "gray")
    st.markdown(f"**{item.position}. {plain(item.title)}** &nbsp; :{colour}-badge[{KIND_LABELS[item.kind]}]")


def decisions(item: ItemRead) -> None:
    for d in item.decisions:
        st.badge(f"Decision: {OUTCOME_LABELS[d.outcome]}", color=OUTCOME_COLOURS[d.outcome])  # type: ignore[arg-type]
        st.markdown(plain(d.summary))
        st.caption(
            f"Recorded by {plain(d.recorded_by)} on {d.recorded_at:%Y-%m-%d %H:%M} UTC; present: "
            f"{plain(', '.join(d.present))}."
        )


def item_card(item: ItemRead) -> None:
    """One agenda item: heading, reason with the link to its evidence, decisions so far."""
    item_heading(item)
    st.markdown(plain(item.reason) + (f" · [Open the evidence]({item.link})" if item.link else ""))
    decisions(item)


def frozen_evidence(item: ItemRead) -> None:
    """The item's evidence as listed (or as frozen with its decision), in an expander."""
    shown = item.decisions[-1].evidence if item.decisions else item.evidence
    with st.expander("Evidence (frozen)", icon=":material/inventory:"):
        evidence(shown, caption=f"As listed on {item.listed_at:%Y-%m-%d %H:%M} UTC.")


def presenter(view: MeetingView, index: int) -> None:
    """One agenda item at a time in large type, for a shared screen."""
    item = view.items[index]
    st.caption(f"Item {index + 1} of {len(view.items)} · {plain(view.title)} · {view.held_at:%Y-%m-%d}")
    st.html(
        f"<div style='font-size:2.6rem;font-weight:700;line-height:1.2;margin:.4rem 0 1rem'>"
        f"{item.position}. {html.escape(item.title)}</div>"
        f"<div style='font-size:1.5rem;line-height:1.45;margin-bottom:1rem'>{html.escape(item.reason)}</div>"
    )
    st.badge(KIND_LABELS[item.kind], color=KIND_COLOURS.get(item.kind, "gray"))  # type: ignore[arg-type]
    figures = evidence_figures(
        item.decisions[-1].evidence if item.decisions else item.evidence, skip_ids=True
    )
    if figures:
        cells = "".join(
            f"<div><div style='color:#6b7280;font-size:1rem'>{html.escape(name)}</div>"
            f"<div style='font-size:1.6rem;font-weight:600'>{html.escape(text)}</div></div>"
            for name, text in figures
        )
        st.html(
            f"<div style='display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:1rem 2rem;"
            f"margin:.5rem 0 1rem'>{cells}</div>"
        )
    nested = {k: v for k, v in item.evidence.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
    for key, rows in nested.items():
        st.caption(plain(_label(key)))
        _table(rows)
    decisions(item)


def actions_table(frame: pd.DataFrame, *, key: str) -> None:
    show_table(
        frame,
        {
            "title": "Action",
            "owner": "Owner",
            "due_on": date_column("Due"),
            "overdue": st.column_config.CheckboxColumn("Overdue"),
            "model": "Model",
            "meeting": "Agreed in",
            "meeting_date": date_column("On"),
        },
        key=key,
        empty="No open actions.",
    )


def meeting_when(day: date, at: time) -> datetime:
    """The meeting's moment in UTC from a picked day and time (the app works in UTC)."""
    return datetime.combine(day, at, tzinfo=UTC)
