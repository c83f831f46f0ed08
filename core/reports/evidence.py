"""Frozen evidence (agenda items, decisions) as people read it: money with its currency,
shares as percentages, months by name, labels in words.

The meeting page, the presenter view and the minutes (HTML and PDF) all print evidence through
``figures``, so "Budget 1.339e+05" or "Overrun probability 0.785" never reach a reader.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.registry.figures import money, percent
from core.reports.document import cell_text

__all__ = ["figures", "label", "value_text"]

# Evidence keys that hold an amount in the evidence's "currency".
MONEY_KEYS = frozenset(
    {"budget", "spent", "projected", "projected_lower", "projected_upper", "amount", "cost", "exposure"}
)
# Keys that hold a share between 0 and 1.
SHARE_SUFFIXES = ("_probability", "_share", "_rate", "_ratio")
SHARE_KEYS = frozenset({"probability", "share", "coverage", "agreement"})
# Keys that hold a month as "YYYY-MM".
MONTH_KEYS = frozenset({"over_budget_from", "overrun_month", "earliest_overrun_month", "projected_until"})
LABELS = {
    "over_budget_from": "Over budget from",
    "overrun_probability": "Probability of overrunning",
    "projected": "Projected by the end of the period",
}


def label(key: str) -> str:
    """An evidence key in words: "overrun_probability" -> "Probability of overrunning"."""
    return LABELS.get(key) or key.replace("_", " ").capitalize()


def value_text(key: str, value: Any, *, currency: str | None = None) -> str:
    """One evidence value as read; "—" when empty."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if key in MONEY_KEYS and isinstance(value, int | float) and not isinstance(value, bool) and currency:
        return money({currency: float(value)})
    if (key in SHARE_KEYS or key.endswith(SHARE_SUFFIXES)) and isinstance(value, float) and 0 <= value <= 1:
        return percent(value)
    if key in MONTH_KEYS and isinstance(value, str) and len(value) == 7:
        try:
            return pd.Period(value, "M").strftime("%B %Y")
        except ValueError:
            return value
    return cell_text(value) or "—"


def figures(evidence: dict[str, Any], *, skip_ids: bool = False) -> list[tuple[str, str]]:
    """The evidence's single values as (label, text), in order. The currency is folded into the
    amounts it belongs to; ``skip_ids`` leaves out database ids (they help the minutes, not a room)."""
    currency = evidence.get("currency") if isinstance(evidence.get("currency"), str) else None
    has_money = currency is not None and any(k in MONEY_KEYS for k in evidence)
    return [
        (label(k), value_text(k, v, currency=currency))
        for k, v in evidence.items()
        if not isinstance(v, list | dict)
        and not (k == "currency" and has_money)
        and not (skip_ids and k.endswith("_id"))
    ]
