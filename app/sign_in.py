"""Deciding who acts, before every page: Streamlit's OIDC sign-in, or the clearly labelled local mode.

Local mode (STEWARD_AUTH_MODE=local, the default): a sidebar picker of active people. The
choice lives in session state and in the ``as=<email>`` query parameter, so shared links
and browser tests can pick a persona. OIDC mode (STEWARD_AUTH_MODE=oidc): ``st.login()``
with the [auth] section of .streamlit/secrets.toml; the identity is mapped to a Person by
core.identity.resolve_identity (the one write before anybody acts, through app.actions).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import actions, cache, identity
from app.components.text import plain
from core.access import Actor
from core.config import get_settings
from core.identity import claim_is_true, default_persona, resolve_identity

PICKER_KEY = "identity.person"
_OIDC_RESOLVED = "steward.oidc_identity"  # ((issuer, subject), Actor | None) of this session
LOCAL_LABEL = "Local mode — pick a person"
LOCAL_HELP = "For local use and demos; off when sign-in is configured."


def sign_in() -> None:
    """Decide who is acting for this run; stop with an explanation when nobody may see data."""
    if get_settings().auth_mode == "oidc":
        _oidc()
    else:
        _local()


def _local() -> None:
    people = cache.personas()
    by_email = {p.email: p for p in people}
    with st.sidebar:
        if not people:
            st.caption(f"{LOCAL_LABEL}: the registry holds nobody yet.")
            identity.set_actor(None)
            return
        if st.session_state.get(PICKER_KEY) not in by_email:
            wanted = str(st.query_params.get("as", "")).strip().lower()
            fallback = default_persona(people) or people[0]
            st.session_state[PICKER_KEY] = wanted if wanted in by_email else fallback.email
        email = st.selectbox(
            LOCAL_LABEL,
            options=list(by_email),
            key=PICKER_KEY,
            help=LOCAL_HELP,
            format_func=lambda e: by_email[e].name,  # the name alone fits the sidebar; roles below
        )
        st.caption(f"**Roles:** {plain(identity.role_text(by_email[email].roles))}. {LOCAL_HELP}")
    identity.set_actor(by_email[email].actor)
    if st.query_params.get("as") != email:
        st.query_params["as"] = email


# --- OIDC ------------------------------------------------------------------------------------


def _oidc() -> None:
    if not _auth_configured():
        st.error(
            "**Sign-in is switched on but not configured.** STEWARD_AUTH_MODE is 'oidc', yet "
            ".streamlit/secrets.toml has no [auth] section. Copy .streamlit/secrets.toml.example to "
            ".streamlit/secrets.toml and fill it in, or set STEWARD_AUTH_MODE=local for local use.",
            icon=":material/lock:",
        )
        st.stop()
    user = st.user
    if not user.is_logged_in:
        _sign_in_page()
    actor = _resolved(user)
    if actor is None:
        _unknown_identity_page(user)
    identity.set_actor(actor)
    with st.sidebar:
        st.caption(f"Signed in as **{plain(actor.name)}** ({plain(actor.email)})")
        if st.button("Sign out", key="identity.logout", icon=":material/logout:"):
            st.session_state.pop(_OIDC_RESOLVED, None)
            st.logout()


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def _claim(user: Any, name: str) -> Any:
    try:
        return user.get(name)
    except (AttributeError, KeyError):
        return None


def _resolved(user: Any) -> Actor | None:
    """The registry person behind the signed-in identity, looked up once per session."""
    key = (str(_claim(user, "iss") or ""), str(_claim(user, "sub") or ""))
    cached = st.session_state.get(_OIDC_RESOLVED)
    if cached and cached[0] == key:
        return cached[1]
    actor = actions.sign_in_write(
        resolve_identity,
        issuer=key[0],
        subject=key[1],
        email=_claim(user, "email"),
        email_verified=_claim(user, "email_verified"),
    )
    if actor is not None and not cache.grants(actor.id):
        actor = None  # known, but holds no role: same answer as an unknown person
    st.session_state[_OIDC_RESOLVED] = (key, actor)
    return actor


def _sign_in_page() -> None:
    st.title("Steward")
    st.write(
        "Steward holds your organisation's model inventory, approvals and monitoring. Sign in to continue."
    )
    if st.button("Sign in", key="identity.login", type="primary", icon=":material/login:"):
        st.login()
    st.stop()


def _unknown_identity_page(user: Any) -> None:
    name = _claim(user, "name") or _claim(user, "email") or "an unknown user"
    email = _claim(user, "email") or "no email given"
    st.title("Steward")
    if _claim(user, "email") and not claim_is_true(_claim(user, "email_verified")):
        why = (
            "Your identity provider did not mark this email address as verified, so Steward will not "
            "match it to a person on its own.\n\n"
            "Ask a Steward admin to link your sign-in to your person (or to have the provider verify "
            "the address). Then sign in again."
        )
    else:
        why = (
            "Steward does not know you yet or you hold no role.\n\n"
            "Ask a Steward admin to add you with this email address and give you a role "
            "(viewer is enough to read the inventory). Then sign in again."
        )
    st.warning(
        f"You are signed in as **{plain(name)}** ({plain(email)}). {why}", icon=":material/person_off:"
    )
    if st.button("Sign out", key="identity.logout", icon=":material/logout:"):
        st.session_state.pop(_OIDC_RESOLVED, None)
        st.logout()
    st.stop()
