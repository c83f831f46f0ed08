"""The one selectbox of the app that remembers: its choice follows the page's URL and survives
its options' labels changing and visits to other pages.

Streamlit identifies a selectbox by its label *and its options as shown*; when a shown text
changes ("3 cases waiting" becomes "2 cases waiting", a meeting turns from planned to held) the
widget is new and falls back to its first option, silently moving the user elsewhere; and a
widget's state is dropped while another page is shown. So the choice is assigned to the
widget's key before it is drawn: the URL's when the URL changed (a link, a shared address),
else the current one, else the remembered one, else ``default()``, else the first option.
A value the page assigned to the key itself (e.g. a meeting just created) wins.

Option texts of a select box are shown as text (never Markdown): ``format_func`` may return
registry text as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st


def _as_id(raw: str) -> int | None:
    return int(raw) if raw.strip().isdigit() else None


def choose(
    label: str,
    options: Sequence[Any],
    *,
    key: str,
    format_func: Callable[[Any], str],
    param: str | None = None,
    lookup: Callable[[str], Any] = _as_id,
    aliases: Mapping[str, Callable[[str], Any]] | None = None,
    default: Callable[[], Any] | None = None,
    write_url: bool = True,
    on_unknown: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> Any:
    """``st.selectbox`` over ``options`` (hashable values) keyed ``key``; returns the choice.

    ``param``: the query parameter that carries the choice (``lookup`` turns its text into an
    option; ``aliases`` are other parameters consulted when it is absent, e.g. ``?model=`` for a
    version picker). ``write_url``: put the choice back into the URL, so the address shares
    what is shown. ``on_unknown(raw)``: the URL named no option.
    """
    options = list(options)
    if not options:
        return None
    synced, last = f"{key}.synced", f"{key}.last"
    if param is not None:
        found = [(name, st.query_params.get(name)) for name in (param, *(aliases or {}))]
        raw = next(((name, value) for name, value in found if value is not None), None)
        if raw != st.session_state.get(synced):  # arrived by a link, or the address changed: it wins
            st.session_state[synced] = raw
            if raw is not None:
                name, value = raw
                wanted = (lookup if name == param else (aliases or {})[name])(value)
                if wanted in options:
                    st.session_state[key] = wanted
                elif on_unknown is not None:
                    on_unknown(value)
    current = st.session_state.get(key)
    if current not in options:
        remembered = st.session_state.get(last)
        current = remembered if remembered in options else (default() if default else None)
        current = current if current in options else options[0]
    st.session_state[key] = current

    def remember() -> None:
        st.session_state[last] = st.session_state[key]

    chosen = st.selectbox(label, options, key=key, format_func=format_func, on_change=remember, **kwargs)
    st.session_state[last] = chosen
    if param is not None and write_url and st.query_params.get(param) != str(chosen):
        st.query_params[param] = str(chosen)
        st.session_state[synced] = (param, str(chosen))
    return chosen
