"""A selectbox whose choice survives its options' labels changing.

Streamlit identifies a selectbox by its label *and its options as shown*; when a shown text
changes ("3 cases waiting" becomes "2 cases waiting", a meeting turns from planned to held),
the widget is new and falls back to its first option, silently moving the user elsewhere.
``stable_selectbox`` assigns the current choice (or, failing that, the remembered one) to the
widget's key before rendering, which Streamlit carries over to the new widget. A value the page
assigned to the key itself (e.g. a meeting just created) wins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st


def stable_selectbox(
    label: str, options: Sequence[Any], *, key: str, format_func: Callable[[Any], str], **kwargs: Any
) -> Any:
    """``st.selectbox`` over ``options`` (hashable values) keyed ``key``, keeping the last choice."""
    last = f"{key}.last"

    def remember() -> None:
        st.session_state[last] = st.session_state[key]

    current = st.session_state.get(key)
    value = current if current in options else st.session_state.get(last)
    if value in options:
        st.session_state[key] = value
    chosen = st.selectbox(label, options, key=key, format_func=format_func, on_change=remember, **kwargs)
    st.session_state[last] = chosen
    return chosen
