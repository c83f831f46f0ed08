"""Business rules of one model on the Model page: the version history, and the four-eyes forms
(an owner proposes, another person decides). ``core.governance.rules`` checks roles and
four-eyes on every call; the forms only collect input and write through app.actions.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import streamlit as st

from app import actions, cache, identity
from app.components import rules_view
from app.components.text import plain
from core import clock
from core.governance import rules
from core.governance.rules import OPERATORS


def history(model_id: int) -> None:
    """Every version of every rule of the model (newest first per rule)."""
    rules_view.history_table(cache.rule_history(model_id=model_id))


def forms(model_id: int, business_unit: str) -> None:
    """Propose a rule version (model owners) and decide open proposals (approvers, not the proposer)."""
    frame = cache.rule_history(model_id=model_id)
    pending = frame[frame["status"] == "proposed"]
    if identity.can("rule.decide", business_unit):
        for row in pending.itertuples():
            _decide_form(row)
    elif not pending.empty:
        st.caption("Open proposals wait for an approver's decision (here or in a review meeting).")
    if identity.can("rule.propose", business_unit):
        _propose_form(model_id, sorted(set(frame["rule"])))


def _decide_form(row: Any) -> None:
    rule_id = int(row.id)
    with st.form(f"model.rules.decide.{rule_id}"):
        start = (
            f"in force from {row.effective_from:%Y-%m-%d} once approved"
            if row.effective_from > clock.now()
            else "in force as soon as it is approved"
        )
        st.markdown(
            f"**Decide:** '{plain(row.rule)}' v{row.version}: {plain(row.condition)} — proposed by "
            f"{plain(row.proposed_by)}, {start}"
        )
        comment = st.text_input(
            "Comment (a reason is required to reject)", key=f"model.rules.decide.{rule_id}.comment"
        )
        left, right, _ = st.columns([1, 1, 4])
        approve = left.form_submit_button(
            "Approve", type="primary", key=f"model.rules.decide.{rule_id}.approve"
        )
        reject = right.form_submit_button("Reject", key=f"model.rules.decide.{rule_id}.reject")
    if approve or reject:
        actions.submit(
            rules.decide_rule,
            stale=(cache.RULES,),
            success=f"Rule proposal {'approved' if approve else 'rejected'}.",
            rule_id=rule_id,
            approve=bool(approve),
            comment=comment,
        )


def _propose_form(model_id: int, names: list[str]) -> None:
    with st.expander("Propose a rule change", icon=":material/rule:"), st.form("model.rules.propose"):
        c = st.columns([3, 1, 1, 3])
        name = c[0].selectbox(
            "Rule",
            names,
            index=None,
            accept_new_options=True,
            key="model.rules.propose.name",
            placeholder="Existing rule, or type a new name",
        )
        operator = c[1].selectbox("Score", list(OPERATORS), key="model.rules.propose.operator")
        threshold = c[2].number_input(
            "Threshold", value=0.5, step=0.01, format="%.3f", key="model.rules.propose.threshold"
        )
        outcome = c[3].text_input(
            "Outcome", key="model.rules.propose.outcome", placeholder="e.g. decline application"
        )
        c = st.columns([1, 3])
        start = c[0].date_input(
            "In force from (empty: on approval)", value=None, key="model.rules.propose.from"
        )
        description = c[1].text_input("Why", key="model.rules.propose.description")
        submitted = st.form_submit_button("Propose", type="primary", key="model.rules.propose.submit")
    if submitted:
        actions.submit(
            rules.propose_rule,
            stale=(cache.RULES,),
            success="Rule change proposed; an approver decides it.",
            model_id=model_id,
            name=name or "",
            operator=operator,
            threshold=threshold,
            outcome=outcome,
            description=description,
            effective_from=datetime.combine(start, time(0), tzinfo=UTC) if start else None,
        )
