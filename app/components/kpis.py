"""The KPI header of the inventory."""

from __future__ import annotations

import streamlit as st

from core.registry.figures import COST_LAST_30_DAYS, last_30_days, money
from core.registry.reads import InventoryKpis


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
    window = last_30_days(kpis.today)
    items.append(
        (
            COST_LAST_30_DAYS,
            money(kpis.monthly_cost, empty="—"),
            f"Recorded cost of all models from {window.period} (compute, storage, inference, labelling). "
            "The Costs page gives it per calendar month.",
        )
    )
    # Up to four fit a row at 1400 px without cutting labels; more go on rows of three.
    per_row = len(items) if len(items) <= 4 else 3
    for start in range(0, len(items), per_row):
        row = items[start : start + per_row]
        for column, (label, value, help_text) in zip(st.columns(per_row), row, strict=False):
            column.metric(label, value, help=help_text, border=True)
