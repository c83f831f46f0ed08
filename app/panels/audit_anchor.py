"""The age of the newest audit anchor, for admins: anchors kept outside the database are what
make cutting or wiping the audit log detectable, so a stale or missing one is worth a warning."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from app import identity
from core.anchors import anchor_dir, newest_anchor_age

STALE_AFTER = timedelta(days=2)  # the cron anchors nightly


def render() -> None:
    if not identity.can("registry.admin"):
        return
    directory = anchor_dir()
    if directory is None:
        st.warning(
            "Audit anchors are not configured (STEWARD_AUDIT_ANCHOR_DIR): if someone cut or wiped the "
            "audit log in the database, nothing would notice. Set it and run `steward audit anchor` nightly.",
            icon=":material/anchor:",
        )
        return
    age = newest_anchor_age(directory)
    if age is None:
        st.warning(
            f"No audit anchor has been written to {directory} yet: run `steward audit anchor`.",
            icon=":material/anchor:",
        )
        return
    hours = age.total_seconds() / 3600
    text = f"{hours:.0f} hours" if hours < 48 else f"{age.days} days"
    if age > STALE_AFTER:
        st.warning(
            f"The newest audit anchor is {text} old: check the nightly `steward audit anchor` job.",
            icon=":material/anchor:",
        )
    else:
        st.caption(f":material/anchor: Newest audit anchor: {text} ago ({directory}).")
