"""How statuses look: health (ok / warning / alert), version stages, model lifecycle status.
The words come from core.registry.display; the colours are the app's."""

from __future__ import annotations

import streamlit as st

from app.components.text import plain
from core.registry.display import health_label, stage_label, status_label

__all__ = ["health_badge", "health_label", "stage_label", "status_badge", "status_label"]

_HEALTH_COLOURS = {"ok": "green", "warning": "orange", "alert": "red", "unknown": "gray"}
_STATUS_COLOURS = {"development": "blue", "validation": "violet", "production": "green", "retired": "gray"}


def health_badge(status: str, reasons: list[str] | None = None) -> None:
    help_text = "\n\n".join(plain(r) for r in reasons) if reasons else None
    colour = _HEALTH_COLOURS.get(status, "gray")
    st.badge(f"Health: {health_label(status)}", color=colour, icon=":material/monitor_heart:", help=help_text)  # type: ignore[arg-type]


def status_badge(status: str) -> None:
    st.badge(f"Status: {status_label(status)}", color=_STATUS_COLOURS.get(status, "gray"))  # type: ignore[arg-type]
