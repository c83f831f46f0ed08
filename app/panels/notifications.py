"""Notifications on the Admin page: whether delivery works (and what failed, attempt by attempt),
your own preferences and e-mail subscriptions, and the webhook / Slack / Teams endpoints.

Nothing here sends anything: the worker does (``steward notify deliver`` from cron, or the app's
background thread with STEWARD_NOTIFY_IN_APP, app/background.py). Every change goes through ``core.notify`` as the
signed-in person, which checks the role and audits it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app import actions, cache, identity
from app.components.tables import datetime_column, show_table
from app.components.text import plain
from core import clock
from core.notify import delivery, subscriptions
from core.outbox import EVENT_TYPES

SECRET_KEY = "admin.notify.new_secret"  # (endpoint id, secret): shown once, right after it is made
WORKER_LATE_MINUTES = 5
FAILURE_COLUMNS: dict[str, Any] = {
    "id": st.column_config.NumberColumn("Delivery", format="#%d"),
    "status": "Status",
    "channel": "Channel",
    "recipient": "To",
    "event": "Event",
    "model": "Model",
    "occurred_at": datetime_column("Happened"),
    "attempts": "Attempts",
    "last_status_code": st.column_config.NumberColumn(
        "Last code", format="%d", help="HTTP status or SMTP reply."
    ),
    "last_error": "Last error",
    "next_attempt_at": datetime_column("Next try"),
}
ATTEMPT_COLUMNS: dict[str, Any] = {
    "attempted_at": datetime_column("Tried"),
    "ok": st.column_config.CheckboxColumn("Delivered"),
    "status_code": st.column_config.NumberColumn("Code", format="%d"),
    "error": "Error",
    "duration_ms": st.column_config.NumberColumn("Took (ms)", format="%d"),
}
SUBSCRIPTION_COLUMNS: dict[str, Any] = {
    "id": st.column_config.NumberColumn("#", format="%d"),
    "channel": "Channel",
    "name": "Name",
    "url": "Address",
    "scope": "About",
    "event_types": "Events",
    "created_by": "Set up by",
    "created_at": datetime_column("Since"),
}


STALE = (cache.NOTIFICATIONS,)


def _finish(done: actions.Done[Any]) -> None:
    """After a write: the next run shows the flash; a refusal is shown here."""
    if done.ok:
        st.rerun()
    actions.show_error(done)


def admin_section() -> None:
    """Delivery health and failures, my notifications, and endpoints (for who may manage them)."""
    st.header("Notifications", anchor="notifications")
    _delivery_state()
    mine, endpoints = st.tabs(["My notifications", "Webhooks, Slack and Teams"])
    with mine:
        _my_notifications()
    with endpoints:
        _endpoints()


def _delivery_state() -> None:
    state = cache.delivery_health()
    cols = st.columns(5)
    cols[0].metric("E-mail", "configured" if state.email_configured else "off")
    cols[1].metric("Waiting for the worker", state.undispatched, help="Events not yet turned into messages.")
    cols[2].metric("Retrying", state.retrying)
    cols[3].metric("Failed", state.failed, help="Given up after every retry; an admin can send them again.")
    cols[4].metric("Sent in 24 h", state.sent_last_day)
    if not state.email_configured:
        st.info(
            "E-mail is off: set STEWARD_SMTP_HOST (and the other STEWARD_SMTP_ settings) to send e-mail. "
            "Webhooks, Slack and Teams work without it.",
            icon=":material/mail_off:",
        )
    oldest = state.oldest_undispatched_at
    if oldest is not None and (clock.now() - oldest).total_seconds() > WORKER_LATE_MINUTES * 60:
        st.warning(
            f"{state.undispatched} events have waited since {oldest:%Y-%m-%d %H:%M} UTC: the delivery worker "
            "is not running. Run `steward notify deliver` every minute (deploy/steward.cron).",
            icon=":material/schedule:",
        )
    failures = cache.delivery_problems(problems_only=True)
    if failures.empty:
        st.caption("No delivery is failing.")
        return
    st.markdown("**Failing deliveries**")
    show_table(failures, FAILURE_COLUMNS, key="admin.notify.failures", max_rows=10)
    labels = {int(r.id): f"#{r.id} {r.event} to {r.recipient} ({r.status})" for r in failures.itertuples()}
    delivery_id = st.selectbox(
        "Show every attempt of", list(labels), key="admin.notify.failure", format_func=labels.get
    )
    row = failures.set_index("id").loc[delivery_id]
    st.markdown(
        f"**Attempts of delivery #{delivery_id}** ({plain(row['event'])} to {plain(row['recipient'])})"
    )
    show_table(cache.delivery_attempts(delivery_id=delivery_id), ATTEMPT_COLUMNS, key="admin.notify.attempts")
    if row["status"] == "failed" and identity.can("notify.deliver"):
        if st.button("Send again", key="admin.notify.retry", icon=":material/send:"):
            actions.submit(
                delivery.send_again,
                stale=STALE,
                success=f"Delivery #{delivery_id} will be sent again.",
                delivery_id=delivery_id,
            )


def _my_notifications() -> None:
    actor = identity.current_actor()
    if actor is None:
        return
    pref = cache.notification_preference(actor.id)
    st.caption(
        "You are told about the models you own and, as an approver, about the models of your business "
        "units. Alerts that open or escalate always go out at once."
    )
    modes = list(subscriptions.MODE_LABELS)
    with st.form("admin.notify.preference"):
        mode = st.radio(
            "Send me",
            modes,
            index=modes.index(pref.mode),
            key="admin.notify.mode",
            format_func=subscriptions.MODE_LABELS.get,
        )
        cols = st.columns(4)
        digest_hour = cols[0].number_input(
            "Digest at (hour)", 0, 23, pref.digest_hour, key="admin.notify.digest_hour"
        )
        quiet = cols[1].checkbox("Quiet hours", value=pref.has_quiet_hours, key="admin.notify.quiet")
        quiet_start = cols[2].number_input(
            "From (hour)",
            0,
            23,
            pref.quiet_start if pref.quiet_start is not None else 22,
            key="admin.notify.quiet_start",
        )
        quiet_end = cols[3].number_input(
            "Until (hour)",
            0,
            23,
            pref.quiet_end if pref.quiet_end is not None else 7,
            key="admin.notify.quiet_end",
        )
        timezone = st.text_input(
            "Time zone",
            value=pref.timezone,
            key="admin.notify.timezone",
            help="IANA name, e.g. Europe/Amsterdam.",
        )
        if st.form_submit_button("Save", key="admin.notify.save_preference"):
            actions.submit(
                subscriptions.set_preference,
                stale=STALE,
                success="Notification preference saved.",
                mode=mode,
                digest_hour=int(digest_hour),
                quiet_start=int(quiet_start) if quiet else None,
                quiet_end=int(quiet_end) if quiet else None,
                timezone=timezone,
            )
    mine = cache.notification_subscriptions(person_id=actor.id, endpoints=False)
    st.markdown("**Also send me**")
    show_table(mine, SUBSCRIPTION_COLUMNS, key="admin.notify.mine", empty="No extra subscriptions.")
    _scope_form("admin.notify.subscribe", "Subscribe", subscriptions.subscribe_email)
    _remove_form("admin.notify.unsubscribe", mine, "Unsubscribe")


def _endpoints() -> None:
    st.caption(
        "Steward POSTs every event to these addresses: generic webhooks get a signed JSON body "
        "(docs/events.schema.json), Slack and Teams a message. Admins and the unit's model owners manage them."
    )
    if SECRET_KEY in st.session_state:
        endpoint_id, secret = st.session_state.pop(SECRET_KEY)
        st.warning(
            f"Signing secret of webhook #{endpoint_id}. Copy it into the receiver now: it is not shown again.",
            icon=":material/key:",
        )
        st.code(secret, language=None)
    table = cache.notification_subscriptions(person_id=None, endpoints=True)
    show_table(table, SUBSCRIPTION_COLUMNS, key="admin.notify.endpoints", empty="No endpoint is set up.")
    units = sorted({c.business_unit for c in cache.model_choices()})
    if not (identity.can("webhook.manage") or any(identity.can("webhook.manage", unit) for unit in units)):
        st.caption("Setting up endpoints needs the admin or model owner role.")
        return
    with st.expander("Add an endpoint", icon=":material/add_link:"):
        cols = st.columns([1, 2, 2])
        channel = cols[0].selectbox(
            "Kind",
            list(subscriptions.ENDPOINT_CHANNELS),
            key="admin.notify.channel",
            format_func=subscriptions.CHANNEL_LABELS.get,
        )
        name = cols[1].text_input("Name", key="admin.notify.endpoint_name", placeholder="CI deploy hook")
        url = cols[2].text_input("URL", key="admin.notify.endpoint_url", placeholder="https://")

        endpoint = {"channel": channel, "url": url, "name": name}
        _scope_form(
            "admin.notify.add_endpoint", "Add endpoint", subscriptions.add_endpoint, secret=True, **endpoint
        )
    _remove_form("admin.notify.remove_endpoint", table, "Remove endpoint")


def _scope_form(key: str, label: str, service: Any, *, secret: bool = False, **fields: Any) -> None:
    """Model / business unit / everything and event types, then ``service(model_id=, business_unit=,
    event_types=, **fields)`` through app.actions."""
    choices = {c.id: c.name for c in cache.model_choices()}
    units = sorted({c.business_unit for c in cache.model_choices()})
    cols = st.columns(3)
    model_id = cols[0].selectbox(
        "Model",
        [None, *choices],
        key=f"{key}.model",
        format_func=lambda i: "Any model" if i is None else choices[i],
    )
    unit = cols[1].selectbox(
        "Business unit",
        ["", *units],
        key=f"{key}.unit",
        format_func=lambda u: u or "Every unit",
        disabled=model_id is not None,
    )
    types = cols[2].multiselect("Events", list(EVENT_TYPES), key=f"{key}.events", placeholder="All events")
    if st.button(label, key=f"{key}.submit"):
        done = actions.perform(
            service,
            stale=STALE,
            success=f"{label}: done.",
            model_id=model_id,
            business_unit="" if model_id is not None else unit,
            event_types=types,
            **fields,
        )
        if secret and done.ok and done.result is not None and done.result.secret:
            st.session_state[SECRET_KEY] = (done.result.id, done.result.secret)
        _finish(done)


def _remove_form(key: str, table: pd.DataFrame, label: str) -> None:
    if table.empty:
        return
    options = {int(r.id): f"#{r.id} {r.name} ({r.scope})" for r in table.itertuples()}
    cols = st.columns([3, 1], vertical_alignment="bottom")
    chosen = cols[0].selectbox(label, list(options), key=f"{key}.choice", format_func=options.get)
    if cols[1].button(label, key=f"{key}.submit"):
        actions.submit(
            subscriptions.remove, stale=STALE, success=f"#{chosen} removed.", subscription_id=chosen
        )
