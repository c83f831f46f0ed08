"""Business rules of one model: every version with its state, who proposed and who decided it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.tables import date_column, show_table


def history_table(frame: pd.DataFrame) -> None:
    """Every version of every rule, newest first per rule, with its state in words."""
    st.caption(
        "Rules acting on the model's output. Each change is a new version, proposed by a model owner and "
        "approved by another person; the rule in force drives labelling samples and explanations."
    )
    show_table(
        frame,
        {
            "rule": "Rule",
            "version": st.column_config.NumberColumn("Rule version", format="v%d"),
            "condition": "Condition",
            "state": "State",
            "effective_from": date_column("In force from"),
            "effective_to": date_column("In force until"),
            "model_version": st.column_config.NumberColumn("For model version", format="v%d"),
            "proposed_by": "Proposed by",
            "decided_by": "Decided by",
            "comment": "Decision comment",
            "description": "Description",
        },
        key="model.rules",
        empty="No business rules recorded.",
    )
