"""Empty states: say what is missing and the command that fills it."""

from __future__ import annotations

import streamlit as st


def empty_state(title: str, body: str) -> None:
    with st.container(border=True):
        st.markdown(f"#### {title}")
        st.markdown(body)


def empty_registry() -> None:
    """The inventory of a registry that holds no model yet."""
    empty_state(
        "No models registered yet",
        "Steward's registry is empty.\n\n"
        "- **See a demo portfolio:** run `steward demo` (or `make run`, which creates the registry, "
        "loads the demo and starts the app), then reload this page.\n"
        "- **Register your own model:** `steward register-model` then `steward register-version` "
        "(add `--help` to either for the options).",
    )
