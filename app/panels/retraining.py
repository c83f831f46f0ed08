"""Retraining requests on the Model page (open one from an alert, a flag or a meeting decision; name
the version that answers it; cancel it) and on the Owners page (open requests, loop times).

Buttons show only for people the core would let act; ``core.governance.retraining`` checks again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

from app import actions, cache, identity
from app.components.tables import date_column, datetime_column, show_table
from app.components.text import code, plain
from core import clock
from core.governance import retraining

SOURCE_CHOICES = ("alert", "reassessment", "meeting", "manual")
REQUEST_COLUMNS: dict[str, Any] = {
    "id": st.column_config.NumberColumn("Request", format="#%d"),
    "model": "Model",
    "status": "Status",
    "source": "From",
    "reason": "Why",
    "owner": "Owner",
    "due_on": date_column("Due"),
    "overdue": st.column_config.CheckboxColumn("Overdue"),
    "answered_version": st.column_config.NumberColumn("Answered by", format="v%d"),
    "requested_at": datetime_column("Opened"),
    "closed_at": datetime_column("Closed"),
    "loop_days": st.column_config.NumberColumn("Loop (days)", format="%.1f", help="Opened to in production."),
}
HISTORY_COLUMNS = {  # on one model's page: no model column; the outcome first
    k: REQUEST_COLUMNS[k]
    for k in (
        "id",
        "status",
        "answered_version",
        "loop_days",
        "closed_at",
        "source",
        "reason",
        "owner",
        "requested_at",
    )
}
LOOP_COLUMNS: dict[str, Any] = {
    "model": "Model",
    "business_unit": "Business unit",
    "closed": st.column_config.NumberColumn("Closed", help="Requests whose new version reached production."),
    "open": "Open",
    "overdue": "Overdue",
    "median_days": st.column_config.NumberColumn("Median loop (days)", format="%.1f"),
    "max_days": st.column_config.NumberColumn("Longest loop (days)", format="%.1f"),
    "last_closed_at": datetime_column("Last closed"),
}


# Opening, answering or cancelling a request changes it and queues a notification.
STALE = (cache.RETRAINING, cache.NOTIFICATIONS)


# --- the Model page ------------------------------------------------------------------------------------


def model_section(model_id: int, business_unit: str) -> None:
    """The model's retraining request (or the form to open one) and its earlier requests."""
    st.subheader("Retraining", anchor="retraining")
    view = cache.open_retraining_request(model_id)
    if view is not None:
        _open_request(view, business_unit)
    elif identity.can("retraining.request", business_unit):
        from_alert = st.query_params.get("alert")
        with st.expander(
            "Open a retraining request", expanded=from_alert is not None, icon=":material/model_training:"
        ):
            _open_form(model_id, from_alert)
    else:
        st.caption("No retraining request is open. Model owners and approvers can open one.")
    history = cache.retraining_requests(model_id=model_id, owner_id=None, open_only=False)
    earlier = history[~history["status"].isin(retraining.OPEN_STATUSES)]
    if not earlier.empty:
        with st.expander(f"Earlier retraining requests ({len(earlier)})"):
            show_table(earlier, HISTORY_COLUMNS, key="model.retraining.history")


def _open_request(view: retraining.RequestView, business_unit: str) -> None:
    overdue = view.due_on < clock.today()
    label = retraining.STATUS_LABELS[view.status]
    with st.container(border=True):
        st.markdown(
            f"**Request #{view.id}** · {plain(label)} · from {plain(retraining.SOURCE_LABELS[view.source].lower())}"
        )
        st.text(view.reason)  # what people wrote is shown as written
        owner_col, due_col, version_col = st.columns(3)
        owner_col.metric("Owner", view.owner)
        due_col.metric(
            "Due", f"{view.due_on:%Y-%m-%d}", delta="overdue" if overdue else None, delta_color="inverse"
        )
        version_col.metric("Answered by", f"v{view.answered_version}" if view.answered_version else "not yet")
        st.caption(
            f"Opened by {plain(view.requested_by)} on {view.requested_at:%Y-%m-%d %H:%M} UTC. It closes by itself when the "
            "answering version is promoted to production."
        )
        with st.expander("Evidence, frozen when the request was opened"):
            st.json(view.evidence, expanded=2)
        answer_col, cancel_col = st.columns(2)
        if identity.can("version.register", business_unit):
            with answer_col:
                _answer_form(view)
        if identity.can("retraining.request", business_unit):
            with cancel_col, st.popover("Cancel the request", icon=":material/cancel:"):
                with st.form("model.retraining.cancel"):
                    reason = st.text_input(
                        "Why is it no longer needed?", key="model.retraining.cancel_reason"
                    )
                    if st.form_submit_button("Cancel request", key="model.retraining.cancel_submit"):
                        actions.submit(
                            retraining.cancel,
                            stale=STALE,
                            success=f"Request #{view.id} cancelled.",
                            request_id=view.id,
                            reason=reason,
                        )


def _answer_form(view: retraining.RequestView) -> None:
    candidates = dict(cache.retraining_answers(view.id))
    if not candidates:
        st.caption(
            "Register the new version with "
            + code(f'steward register-version --model "{view.model}" --answers {view.id} ...')
            + " (or register it, then name it here)."
        )
        return
    with st.form("model.retraining.answer"):
        version_id = st.selectbox(
            "Version that answers it",
            list(candidates),
            key="model.retraining.version",
            format_func=candidates.get,
        )
        if st.form_submit_button("This version answers the request", key="model.retraining.answer_submit"):
            actions.submit(
                retraining.answer,
                stale=STALE,
                success=f"{candidates[version_id].split(' ')[0]} answers request #{view.id}.",
                request_id=view.id,
                version_id=version_id,
            )


def _open_form(model_id: int, from_alert: str | None) -> None:
    sources = cache.retraining_sources(model_id)
    alerts, flags, decisions = dict(sources.alerts), dict(sources.flags), dict(sources.decisions)
    available = {
        "alert": bool(alerts),
        "reassessment": bool(flags),
        "meeting": bool(decisions),
        "manual": True,
    }
    labels = {
        "alert": f"A monitoring alert ({len(alerts)})",
        "reassessment": f"A risk re-assessment flag ({len(flags)})",
        "meeting": f"A review meeting decision ({len(decisions)})",
        "manual": "My own judgement",
    }
    choices = [c for c in SOURCE_CHOICES if available[c]]
    wanted_alert = (
        int(from_alert) if from_alert and from_alert.isdigit() and int(from_alert) in alerts else None
    )
    source = st.radio(
        "It comes from",
        choices,
        key="model.retraining.source",
        index=0,  # an alert first when there is one (and when the link named one)
        format_func=labels.get,
        horizontal=True,
    )
    alert_id = flag = decision_id = None
    if source == "alert":
        ids = list(alerts)
        alert_id = st.selectbox(
            "Alert",
            ids,
            key="model.retraining.alert",
            index=ids.index(wanted_alert) if wanted_alert in ids else 0,
            format_func=alerts.get,
        )
    elif source == "reassessment":
        flag = st.selectbox("Flag", list(flags), key="model.retraining.flag", format_func=flags.get)
    elif source == "meeting":
        decision_id = st.selectbox(
            "Decision", list(decisions), key="model.retraining.decision", format_func=decisions.get
        )
    people = cache.people_table()
    active = people[people["active"] & ~people["is_system"]]
    owners = {int(r.person_id): f"{r.name} ({r.email})" for r in active.itertuples()}
    with st.form("model.retraining.open"):
        reason = st.text_area(
            "Why does the model need retraining?",
            key="model.retraining.reason",
            placeholder="What is wrong, and what the new version should fix.",
        )
        left, right = st.columns(2)
        owner_id = left.selectbox(
            "Owner",
            [None, *owners],
            key="model.retraining.owner",
            format_func=lambda i: "The model's technical owner" if i is None else owners[i],
        )
        due = right.date_input(
            "Due",
            value=clock.today() + timedelta(days=retraining.DEFAULT_DUE_DAYS),
            key="model.retraining.due",
        )
        if st.form_submit_button(
            "Open retraining request", key="model.retraining.submit", icon=":material/model_training:"
        ):
            actions.submit(
                retraining.open_request,
                stale=STALE,
                success="Retraining request opened; its owner is told.",
                model_id=model_id,
                reason=reason,
                owner_id=owner_id,
                due_on=due,
                alert_id=alert_id,
                flag_trigger=flag,
                decision_id=decision_id,
            )


# --- the Owners page -------------------------------------------------------------------------------------


def owners_section(person_id: int | None) -> None:
    """Open retraining requests (of one person, when chosen) and how long the loop takes per model."""
    st.subheader("Retraining requests")
    requests = cache.retraining_requests(model_id=None, owner_id=person_id, open_only=True)
    show_table(
        requests,
        REQUEST_COLUMNS,
        key="owners.retraining.open",
        empty="No retraining request is open" + (" for this person." if person_id else "."),
    )
    loops = cache.retraining_loops()
    if not loops.empty:
        st.caption("Time from a retraining request to its new version in production, per model.")
        show_table(loops, LOOP_COLUMNS, key="owners.retraining.loops")
