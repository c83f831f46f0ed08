"""Messages about what just happened (a write done or refused), shown literally."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import streamlit as st

from app.components.text import plain

_ICONS = {
    "success": ":material/check:",
    "info": ":material/info:",
    "warning": ":material/warning:",
    "error": ":material/error:",
}


@dataclass(frozen=True)
class Flash:
    kind: Literal["success", "info", "warning", "error"]
    message: str  # plain text
    icon: str | None = None


def show(flashes: Iterable[Flash]) -> None:
    for item in flashes:
        getattr(st, item.kind)(plain(item.message), icon=item.icon or _ICONS[item.kind])
