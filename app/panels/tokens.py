"""Personal access tokens on the People and roles page: everyone sees and manages their own;
admins see everyone's, create tokens for service accounts and add service accounts.

A new token's secret is shown once, right after it is created, and stored nowhere (only its
SHA-256). Every creation and revocation goes through core.identity and is audited.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import actions, cache, identity
from app.components.tables import datetime_column, show_table
from core.identity import (
    DEFAULT_TOKEN_DAYS,
    MAX_TOKEN_DAYS,
    NewToken,
    create_service_account,
    create_token,
    revoke_token,
)

KEY = "admin.tokens"


def render() -> None:
    actor = identity.current_actor()
    if actor is None:
        return
    is_admin = identity.can("person.manage")
    views = cache.tokens(person_id=None if is_admin else actor.id)
    st.subheader("Personal access tokens")
    st.caption(
        "The `steward` command line and pipelines act only as the person whose token they hold "
        "(`--token-file FILE` or `STEWARD_TOKEN_FILE`). Create your own here; admins create tokens "
        "for service accounts, never for another person. A token is shown once."
    )
    frame = pd.DataFrame(
        [
            {
                "id": v.id,
                "person": f"{v.person} ({v.email})" + (" · service account" if v.is_service_account else ""),
                "name": v.name,
                "prefix": f"{v.prefix}…",
                "status": v.status,
                "created_at": v.created_at,
                "created_by": v.created_by,
                "expires_at": v.expires_at,
                "last_used_at": v.last_used_at,
            }
            for v in views
        ],
        columns=[
            "id",
            "person",
            "name",
            "prefix",
            "status",
            "created_at",
            "created_by",
            "expires_at",
            "last_used_at",
        ],
    )
    show_table(
        frame,
        {
            "id": "Id",
            "person": "Acts as",
            "name": "Name",
            "prefix": "Starts with",
            "status": "Status",
            "created_at": datetime_column("Created"),
            "created_by": "Created by",
            "expires_at": datetime_column("Expires"),
            "last_used_at": datetime_column("Last used"),
        },
        key=f"{KEY}.table",
        empty="No tokens yet.",
    )
    _create_form(actor.id, is_admin)
    _revoke_form([v for v in views if v.status == "active"])
    if is_admin:
        _service_account_form()


def _create_form(own_id: int, is_admin: bool) -> None:
    choices = {own_id: "Myself"}
    if is_admin:
        choices.update({p.id: f"{p.name} ({p.email}) · service account" for p in _service_accounts()})
    with st.form(f"{KEY}.create.form"):
        st.markdown("**Create a token**")
        cols = st.columns(3)
        person_id = cols[0].selectbox(
            "Acts as", list(choices), key=f"{KEY}.create.person", format_func=choices.__getitem__
        )
        name = cols[1].text_input(
            "What it is for", key=f"{KEY}.create.name", placeholder="laptop, nightly cron"
        )
        days = cols[2].number_input(
            "Days until it expires",
            min_value=1,
            max_value=MAX_TOKEN_DAYS,
            value=DEFAULT_TOKEN_DAYS,
            key=f"{KEY}.create.days",
        )
        if st.form_submit_button("Create token", key=f"{KEY}.create.submit", icon=":material/key:"):
            done = actions.perform(
                create_token, stale=(cache.PEOPLE,), person_id=int(person_id), name=name, days=int(days)
            )
            if done.ok and isinstance(done.result, NewToken):
                st.success(
                    "Copy the token now: it is not shown again. Keep it in a file only you can read "
                    "(chmod 600) and pass it with --token-file.",
                    icon=":material/key:",
                )
                st.code(done.result.secret, language=None)
            else:
                actions.show_error(done)


def _revoke_form(active: list) -> None:
    if not active:
        return
    options = {v.id: f"{v.name} ({v.prefix}…) of {v.person}" for v in active}
    with st.form(f"{KEY}.revoke.form"):
        st.markdown("**Revoke a token**")
        cols = st.columns([2, 3])
        token_id = cols[0].selectbox(
            "Token", list(options), key=f"{KEY}.revoke.token", format_func=options.__getitem__
        )
        reason = cols[1].text_input("Why", key=f"{KEY}.revoke.reason")
        if st.form_submit_button("Revoke", key=f"{KEY}.revoke.submit", icon=":material/block:"):
            actions.submit(
                revoke_token,
                stale=(cache.PEOPLE,),
                success="Token revoked.",
                token_id=int(token_id),
                reason=reason,
            )


def _service_account_form() -> None:
    with st.expander("Add a service account (a pipeline's identity)"):
        with st.form(f"{KEY}.service.form"):
            cols = st.columns(2)
            name = cols[0].text_input(
                "Name", key=f"{KEY}.service.name", placeholder="Credit retraining pipeline"
            )
            email = cols[1].text_input(
                "Email", key=f"{KEY}.service.email", placeholder="credit-pipeline@corp"
            )
            st.caption("It gets the model owner role: it can register, log and request, never decide.")
            if st.form_submit_button("Add service account", key=f"{KEY}.service.submit"):
                actions.submit(
                    create_service_account,
                    stale=(cache.PEOPLE,),
                    success=f"Service account {email} added.",
                    name=name,
                    email=email,
                    roles=[("model_owner", "")],
                )


def _service_accounts() -> list:
    return [p for p in cache.personas() if p.is_system]
