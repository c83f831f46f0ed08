"""Who is acting in this session, and what they may do.

Pages ask ``current_actor()`` / ``current_roles()`` / ``can()`` to decide what to show; the core
re-checks every write, so hiding a button is never the control. Who that is gets decided by
app/sign_in.py before every page.
"""

from __future__ import annotations

import streamlit as st

from app import cache
from core.access import Actor, Grant, allowed

_ACTOR = "steward.actor"


def current_actor() -> Actor | None:
    """The person acting in this session (None: nobody is picked, e.g. an empty registry)."""
    return st.session_state.get(_ACTOR)


def set_actor(actor: Actor | None) -> None:
    """Record who acts for this run (app/sign_in.py, once it knows)."""
    st.session_state[_ACTOR] = actor


def current_roles() -> list[Grant]:
    """Role grants of the acting person (fresh within a minute; cleared after writes)."""
    actor = current_actor()
    return cache.grants(actor.id) if actor else []


def can(action: str, business_unit: str | None = None) -> bool:
    """Whether the core would allow ``action`` to the acting person: for hiding buttons only."""
    return allowed(current_roles(), action, business_unit)


def role_text(roles: tuple[tuple[str, str], ...] | list[Grant]) -> str:
    """Roles as people read them: "model owner, approver (Credit risk)"."""
    parts = []
    for grant in roles:
        role, unit = (grant.role, grant.business_unit) if isinstance(grant, Grant) else grant
        parts.append(role.replace("_", " ") + (f" ({unit})" if unit else ""))
    return ", ".join(parts) or "no role"
