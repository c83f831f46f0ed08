"""How statuses read: health (ok / warning / alert), version stages, model lifecycle status."""

from __future__ import annotations

import streamlit as st

# status -> (label, badge colour). Table cells show the label only: the table is drawn on a
# canvas, where emoji markers depend on the viewer's fonts.
HEALTH: dict[str, tuple[str, str]] = {
    "ok": ("Healthy", "green"),
    "warning": ("Warning", "orange"),
    "alert": ("Alert", "red"),
    "unknown": ("Not monitored", "gray"),
}
STAGE_LABELS = {
    "production": "Production",
    "staging": "Staging",
    "archived": "Archived",
    "none": "Not staged",
}
STATUS_LABELS = {
    "development": "Development",
    "validation": "Validation",
    "production": "Production",
    "retired": "Retired",
}
_STATUS_COLOURS = {"development": "blue", "validation": "violet", "production": "green", "retired": "gray"}


def health_text(status: str) -> str:
    """A table cell for a health status, e.g. "Alert"."""
    return HEALTH.get(status, HEALTH["unknown"])[0]


def health_badge(status: str, reasons: list[str] | None = None) -> None:
    label, colour = HEALTH.get(status, HEALTH["unknown"])
    help_text = "\n\n".join(reasons) if reasons else None
    st.badge(f"Health: {label}", color=colour, icon=":material/monitor_heart:", help=help_text)  # type: ignore[arg-type]


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def status_badge(status: str) -> None:
    st.badge(f"Status: {status_label(status)}", color=_STATUS_COLOURS.get(status, "gray"))  # type: ignore[arg-type]
