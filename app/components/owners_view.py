"""The sections of the Owners page: risk flags, the model x role matrix, people."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from app.components.tables import show_table
from core.registry.reads import ROLE_COLUMNS

_RISK_ORDER = [
    "Owner has left",
    "No accountable owner",
    "No technical owner",
    "No backup",
    "Owns many models",
]


def risk_summary(flags: pd.DataFrame) -> None:
    counts = flags["risk"].value_counts()
    items = [
        ("Models with an owner who left", flags.loc[flags["risk"] == "Owner has left", "model_id"].nunique()),
        ("Models without a backup", int(counts.get("No backup", 0))),
        (
            "Models missing an owner",
            flags.loc[
                flags["risk"].isin(("No accountable owner", "No technical owner")), "model_id"
            ].nunique(),
        ),
        ("People owning many models", int(counts.get("Owns many models", 0))),
    ]
    for column, (label, value) in zip(st.columns(len(items)), items, strict=True):
        column.metric(label, f"{value:,}", border=True)


def flags_table(flags: pd.DataFrame) -> None:
    ordered = flags.assign(_order=flags["risk"].map({r: i for i, r in enumerate(_RISK_ORDER)}))
    ordered = ordered.sort_values(["_order", "model", "person"], kind="stable")
    show_table(
        ordered,
        {
            "risk": "Risk",
            "model": "Model",
            "business_unit": "Business unit",
            "person": "Person",
            "detail": st.column_config.TextColumn("What it means", width="large"),
        },
        key="owners.flags",
        empty="No knowledge-loss risks found for this selection.",
    )


def matrix_table(matrix: pd.DataFrame) -> None:
    show_table(
        matrix,
        {"model": "Model", "business_unit": "Business unit", **{label: label for label in ROLE_COLUMNS}},
        key="owners.matrix",
        empty="No models for this selection.",
    )
    st.caption("“(left)” marks a person who has left the organisation.")


def people_table(people: pd.DataFrame) -> None:
    shown = people.assign(
        state=[
            ("Active" if a else (f"Left {d:%Y-%m-%d}" if isinstance(d, date) else "Left"))
            for a, d in zip(people["active"], people["left_on"], strict=True)
        ],
        flag=people["owns_many"].map({True: "Owns many models", False: ""}),
    )
    show_table(
        shown,
        {
            "person": "Person",
            "team": "Team",
            "state": "Status",
            **{label: st.column_config.NumberColumn(label) for label in ROLE_COLUMNS},
            "models": st.column_config.NumberColumn("Models in total"),
            "flag": st.column_config.TextColumn("Flag", width="medium"),
        },
        key="owners.people",
        empty="Nobody holds an ownership role in this selection.",
    )
