"""Business rules of one model on the Model page: the version history with who proposed and who
approved each version, and the four-eyes forms (an owner proposes, another person decides).

The forms only collect input; ``core.governance.rules`` checks roles and four-eyes on every call.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import streamlit as st

from app import cache, identity
from app.components.tables import date_column, show_table
from app.components.text import plain
from app.feedback_actions import perform
from core.db.types import utcnow
from core.governance import rules
from core.governance.rules import OPERATORS


def history(model_id: int) -> None:
    """Every version of every rule, newest first per rule, with its state in words."""
    st.caption(
        "Rules acting on the model's output. Each change is a new version, proposed by a model owner and "
        "approved by another person; the rule in force drives labelling samples and explanations."
    )
    show_table(
        cache.rule_history(model_id),
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


def forms(model_id: int, business_unit: str) -> None:
    """Propose a rule version (model owners) and decide open proposals (approvers, not the proposer)."""
    frame = cache.rule_history(model_id)
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
            if row.effective_from > utcnow()
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
        done = perform(rules.decide_rule, rule_id=rule_id, approve=bool(approve), comment=comment)
        if done.ok:
            st.toast(f"Rule proposal {'approved' if approve else 'rejected'}.", icon=":material/check:")
            st.rerun()
        st.error(done.error, icon=":material/error:")


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
        done = perform(
            rules.propose_rule,
            model_id=model_id,
            name=name or "",
            operator=operator,
            threshold=threshold,
            outcome=outcome,
            description=description,
            effective_from=datetime.combine(start, time(0), tzinfo=UTC) if start else None,
        )
        if done.ok:
            st.toast("Rule change proposed; an approver decides it.", icon=":material/check:")
            st.rerun()
        st.error(done.error, icon=":material/error:")
