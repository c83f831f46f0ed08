"""The KPI header of the inventory."""

from __future__ import annotations

import streamlit as st

from core.registry.reads import COST_WINDOW_DAYS, InventoryKpis

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}


def money(amounts: dict[str, float]) -> str:
    """Amounts per currency as people read them: "€12,346" or "€1,200 + $300"."""
    if not amounts:
        return "—"
    parts = []
    for currency, amount in sorted(amounts.items(), key=lambda kv: -kv[1]):
        symbol = _SYMBOLS.get(currency)
        parts.append(f"{symbol}{amount:,.0f}" if symbol else f"{amount:,.0f} {currency}")
    return " + ".join(parts)


def kpi_header(kpis: InventoryKpis) -> None:
    """One bordered metric per KPI; KPIs without data (None) are left out rather than shown as 0."""
    items: list[tuple[str, str, str]] = [
        ("Models", f"{kpis.models:,}", "Every model in the registry, whatever its status."),
        ("In production", f"{kpis.in_production:,}", "Models with a version in the production stage."),
    ]
    if kpis.high_risk is not None:
        items.append(
            ("High-risk models", f"{kpis.high_risk:,}", "Models whose latest risk assessment is high.")
        )
    items.append(
        (
            "Drift or performance alerts",
            f"{kpis.with_alerts + kpis.with_warnings:,}",
            f"Models whose monitoring raised an alert ({kpis.with_alerts}) or a warning ({kpis.with_warnings}).",
        )
    )
    if kpis.overdue_reviews is not None:
        items.append(
            (
                "Overdue risk reviews",
                f"{kpis.overdue_reviews:,}",
                "Models whose periodic risk review is past due, or that are in validation or production "
                "and were never assessed.",
            )
        )
    items.append(
        (
            "Monthly cost",
            money(kpis.monthly_cost),
            f"Recorded cost of all models over the last {COST_WINDOW_DAYS} days (compute, storage, "
            "inference, labelling).",
        )
    )
    # Up to four fit a row at 1400 px without cutting labels; more go on rows of three.
    per_row = len(items) if len(items) <= 4 else 3
    for start in range(0, len(items), per_row):
        row = items[start : start + per_row]
        for column, (label, value, help_text) in zip(st.columns(per_row), row, strict=False):
            column.metric(label, value, help=help_text, border=True)
