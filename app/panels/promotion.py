"""Promotion decisions and requests: the request page with its decision forms, and the Model
page's promotion panel with "Request promotion".

Buttons appear only for people the core would let act; the core checks again on every write
(``core.governance.promotions``), so a stale page or a crafted request is still refused.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app import actions, cache, identity
from app.components import promotion_view as view_
from app.components.links import PAGES_DIR, persona_params
from app.components.status import stage_label
from app.components.tables import datetime_column, show_table
from app.components.text import plain
from core.access import Actor
from core.governance import promotions
from core.governance.promotions import RequestView

STALE = (
    cache.PROMOTIONS,
    cache.MODELS,
    cache.RETRAINING,
)  # a decision may change stages and close a retraining request
PREVIEW = "model.promote.preview"  # ((version id, target), evidence) of the last "Check the evidence"


def decision_forms(view: RequestView, actor: Actor | None) -> None:
    """Approve / reject / cancel / comment, each shown only to those allowed; refusals explained."""
    if view.status != "pending" or actor is None:
        return
    allowed = cache.promotion_actions(actor.id, view.id)
    may_decide = identity.can("promotion.decide", view.business_unit)
    if allowed.approve is not None and may_decide:
        st.warning(
            plain(allowed.approve), icon=":material/block:"
        )  # e.g. four-eyes: you requested or built it
    deciding = [
        f
        for f, refusal in (
            (_approve_form, allowed.approve),
            (_reject_form, allowed.reject),
            (_cancel_form, allowed.cancel),
        )
        if refusal is None
    ]
    if deciding:
        st.markdown("**Your decision**")
        for column, form in zip(st.columns(len(deciding)), deciding, strict=True):
            with column:
                form(view, allowed)
    if allowed.comment is None:
        with st.form("promotions.comment.form", clear_on_submit=True):
            body = st.text_area("Comment or question", key="promotions.comment.body", height=80)
            if st.form_submit_button(
                "Add comment", key="promotions.comment.submit", icon=":material/comment:"
            ):
                _do(promotions.add_comment, view, "Comment added.", body=body)


def _reject_form(view: RequestView, allowed: promotions.Actions) -> None:
    with st.form("promotions.reject.form"):
        comment = st.text_area("Why reject? (required)", key="promotions.reject.comment", height=80)
        if st.form_submit_button("Reject", key="promotions.reject.submit", icon=":material/thumb_down:"):
            _do(
                promotions.reject,
                view,
                "Request rejected.",
                comment=comment,
                expected_row_version=allowed.row_version,
            )


def _cancel_form(view: RequestView, allowed: promotions.Actions) -> None:
    with st.form("promotions.cancel.form"):
        comment = st.text_area("Why withdraw? (optional)", key="promotions.cancel.comment", height=80)
        if st.form_submit_button("Cancel request", key="promotions.cancel.submit", icon=":material/undo:"):
            _do(
                promotions.cancel,
                view,
                "Request cancelled.",
                comment=comment,
                expected_row_version=allowed.row_version,
            )


def _approve_form(view: RequestView, allowed: promotions.Actions) -> None:
    with st.form("promotions.approve.form"):
        comment = st.text_area("Comment (optional)", key="promotions.approve.comment", height=80)
        override = ""
        if allowed.needs_override:
            view_.failing_gates_notice(view)
            override = st.text_area(
                "Override reason (required)", key="promotions.approve.override", height=80
            )
        label = "Override and approve" if allowed.needs_override else "Approve"
        if st.form_submit_button(
            label, key="promotions.approve.submit", type="primary", icon=":material/thumb_up:"
        ):
            _do(
                promotions.approve,
                view,
                "Approval recorded.",
                comment=comment,
                override_reason=override,
                expected_row_version=allowed.row_version,
            )


def _do(service: Any, view: RequestView, success: str, **kwargs: Any) -> None:
    def said(result: Any) -> str:
        if result == "approved":
            return f"Approved: {view.model} v{view.version} is now in {view.target_stage}."
        if result == "pending":
            return "Approval recorded; a second, different approver must approve too."
        return success

    actions.submit(service, stale=STALE, success=said, request_id=view.id, **kwargs)


def request_view(request_id: int, actor: Actor | None) -> None:
    """The request page: what is asked, the frozen evidence and the diff, the history, then the decision."""
    view = cache.promotion_request(request_id)
    view_.request_header(view)
    view_.override_notice(view)
    evidence, diff = st.columns([1, 1], gap="large")
    with evidence:
        view_.evidence_checklist(view)
    with diff:
        view_.evidence_diff(view)
        view_.decision_log(view)
    decision_forms(view, actor)


# --- the Model page's panel ----------------------------------------------------------------------------


def model_promotions(model_id: int) -> None:
    """Production history, "what was in production on…", open requests and "Request promotion"."""
    detail = cache.model_detail(model_id)
    st.markdown("**Production history**")
    periods = pd.DataFrame(
        [
            {"version": p.version, "since": p.since, "until": p.until}
            for p in cache.production_periods(model_id)
        ],
        columns=["version", "since", "until"],
    )
    show_table(
        periods,
        {
            "version": st.column_config.NumberColumn("Version", format="v%d"),
            "since": datetime_column("In production from"),
            "until": datetime_column("Until", "Empty while still in production."),
        },
        key="model.promotions.periods",
        empty="No version has been in production yet.",
    )
    day = st.date_input(
        "Which version was in production on",
        value=cache.today(),
        key="model.promotions.on",
        format="YYYY-MM-DD",
        width=260,
    )
    ref = cache.production_version_on(model_id, day)
    st.caption(
        f"At the end of {day:%Y-%m-%d} (UTC): "
        + (f"version {ref.version}." if ref else "no version in production.")
    )

    open_requests = cache.promotion_requests(model_id=model_id, status="pending")
    for row in open_requests.itertuples():
        view_.request_link(
            int(row.id),
            f"Pending request #{row.id}: v{row.version} → {row.target_stage} "
            f"({row.approvals}/{row.required_approvals} approvals)",
        )
    if identity.can("promotion.request", detail.business_unit):
        _request_form(model_id, detail)
    else:
        st.caption("Requesting a promotion needs the model owner role for this business unit.")


def _request_form(model_id: int, detail: Any) -> None:
    versions = detail.versions[detail.versions["stage"] != "production"]
    if versions.empty:
        st.caption("Every version is in production; register a new version to promote.")
        return
    rollback = cache.rollback_candidate(model_id)
    options = {
        int(r.version_id): f"v{r.version} ({stage_label(r.stage).lower()})" for r in versions.itertuples()
    }
    if rollback is not None and rollback.version_id in options:
        options[rollback.version_id] += " — rollback to the previous production version"
    with st.form(f"model.promote.form.{model_id}"):
        st.markdown("**Request promotion**")
        left, right = st.columns(2)
        version_id = left.selectbox(
            "Version", list(options), format_func=options.__getitem__, key="model.promote.version"
        )
        target = right.selectbox(
            "To", ["production", "staging"], format_func=stage_label, key="model.promote.target"
        )
        justification = st.text_area(
            "Justification",
            key="model.promote.justification",
            help="Why this version should be promoted; the approver reads it with the evidence.",
        )
        check_col, submit_col = st.columns(2)
        check = check_col.form_submit_button(
            "Check the evidence first",
            key="model.promote.check",
            icon=":material/fact_check:",
            help="Evaluates the gates now, without opening a request.",
        )
        submit = submit_col.form_submit_button(
            "Request promotion", key="model.promote.submit", icon=":material/approval:", type="primary"
        )
    chosen = (version_id, target)
    if check:
        with st.spinner("Evaluating the gates…"):
            evidence = actions.prepare(
                promotions.prepare_evidence, version_id=version_id, target_stage=target
            )
        st.session_state[PREVIEW] = (chosen, evidence)
    checked = st.session_state.get(PREVIEW)
    prepared = checked[1] if checked and checked[0] == chosen else None
    if prepared:
        view_.evidence_preview(prepared)
    if submit:
        evidence = prepared or actions.prepare(
            promotions.prepare_evidence, version_id=version_id, target_stage=target
        )
        done = actions.perform(
            promotions.request_promotion,
            stale=STALE,
            success=lambda request_id: f"Request #{request_id} opened; its evidence was frozen now.",
            version_id=version_id,
            target_stage=target,
            justification=justification,
            evidence=evidence,
        )
        if done.ok:
            st.session_state.pop(PREVIEW, None)
            st.switch_page(
                PAGES_DIR / "promotions.py",
                query_params={"request": str(done.result), **persona_params()},
            )
        actions.show_error(done)
