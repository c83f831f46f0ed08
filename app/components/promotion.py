"""Promotion rendering: request lists, the request view (evidence checklist, diff against
production, decisions, the decision forms) and the Model page's promotion panel.

Buttons appear only for people the core would let act; the core checks again on every write
(``core.governance.promotions``), so a stale page or a crafted request is still refused.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from app import cache, identity
from app.components.links import PAGES_DIR
from app.components.status import stage_label
from app.components.tables import EMPTY_CELL, datetime_column, show_table
from app.components.text import plain
from app.feedback_actions import perform, prepare
from core.access import Actor
from core.governance import promotions
from core.governance.promotions import RequestView

FLASH = "governance.flash"  # (icon, message) shown once after a write and its rerun
GATE_LOOK: dict[str, tuple[str, str, str]] = {  # status -> (label, colour, icon)
    "pass": ("Pass", "green", ":material/check_circle:"),
    "warn": ("Warn", "orange", ":material/warning:"),
    "fail": ("Fail", "red", ":material/cancel:"),
    "na": ("No data", "gray", ":material/remove_circle_outline:"),
}
STATUS_LOOK: dict[str, tuple[str, str]] = {
    "pending": ("Pending", "blue"),
    "approved": ("Approved", "green"),
    "rejected": ("Rejected", "red"),
    "cancelled": ("Cancelled", "gray"),
}
REQUEST_COLUMNS: dict[str, Any] = {
    "id": st.column_config.NumberColumn("Request", format="#%d"),
    "model": "Model",
    "version": st.column_config.NumberColumn("Version", format="v%d"),
    "target_stage": "To",
    "status": "Status",
    "evidence_status": st.column_config.TextColumn("Evidence", help="Worst gate when the request was made."),
    "approvals_text": st.column_config.TextColumn(
        "Approvals", help="Given / needed (two for a high-risk model)."
    ),
    "requested_by": "Requested by",
    "requested_at": datetime_column("Requested"),
    "decided_by": "Decided by",
    "decided_at": datetime_column("Decided"),
}


def flash(icon: str, message: str) -> None:
    st.session_state[FLASH] = (icon, message)


def show_flash() -> None:
    if FLASH in st.session_state:
        icon, message = st.session_state.pop(FLASH)
        st.success(message, icon=icon)


def request_link(request_id: int, label: str | None = None) -> None:
    st.page_link(
        PAGES_DIR / "promotions.py",
        label=label or f"Open request #{request_id}",
        icon=":material/approval:",
        query_params={"request": str(request_id), **_persona()},
    )


def _persona() -> dict[str, str]:
    persona = st.query_params.get("as")  # keep the local-mode persona when moving between pages
    return {"as": persona} if persona else {}


# --- lists ------------------------------------------------------------------------------------------


def requests_table(frame: pd.DataFrame, *, key: str, empty: str) -> int | None:
    """Requests as a table; returns the id of the row the user selected, if any."""
    if frame.empty:
        st.caption(empty)
        return None
    shown = frame.assign(
        target_stage=frame["target_stage"].map(stage_label),
        status=frame["status"].map(lambda s: STATUS_LOOK.get(s, (s, ""))[0]),
        evidence_status=frame["evidence_status"].map(lambda s: GATE_LOOK.get(s, (s, "", ""))[0]),
        approvals_text=[
            f"{a} / {n}" for a, n in zip(frame["approvals"], frame["required_approvals"], strict=True)
        ],
    )
    state = st.dataframe(
        shown,
        key=key,
        hide_index=True,
        column_order=list(REQUEST_COLUMNS),
        column_config=REQUEST_COLUMNS,
        on_select="rerun",
        selection_mode="single-row",
        placeholder=EMPTY_CELL,
    )
    rows = state.selection.rows if state is not None else []
    return int(frame.iloc[rows[0]]["id"]) if rows and rows[0] < len(frame) else None


# --- one request -------------------------------------------------------------------------------------


def request_header(view: RequestView) -> None:
    label, colour = STATUS_LOOK.get(view.status, (view.status, "gray"))
    tier_colour = "red" if promotions.is_high_risk(view.risk_tier) else "gray"
    st.subheader(f"Request #{view.id}: {view.model} v{view.version} → {stage_label(view.target_stage)}")
    st.markdown(
        f":{colour}-badge[{label}] :blue-badge[:material/how_to_reg: Approvals {view.approvals} of "
        f"{view.required_approvals}] :{tier_colour}-badge[:material/shield: Risk tier: "
        f"{view.risk_tier or 'not assessed'}] :gray-badge[{plain(view.business_unit)}]"
    )
    st.markdown(
        f"Requested by **{plain(view.requested_by)}** on {view.requested_at:%Y-%m-%d %H:%M} UTC · version created by "
        f"**{plain(view.version_created_by)}** · stage when requested: {stage_label(view.from_stage).lower()}"
    )
    st.markdown(f"**Justification:** {plain(view.justification)}")
    if view.status != "pending":
        st.info(
            f"{label} by {view.decided_by} on {view.decided_at:%Y-%m-%d %H:%M} UTC. Decided requests never change.",
            icon=":material/lock:",
        )


def override_notice(view: RequestView) -> None:
    """Overrides stay visible in red on the request for good."""
    for decision in view.decisions:
        if decision.override_reason:
            st.error(
                f"**Failing gates overridden by {plain(decision.person)}** on {decision.decided_at:%Y-%m-%d %H:%M} "
                f"UTC: {plain(decision.override_reason)}",
                icon=":material/gpp_maybe:",
            )


def evidence_checklist(view: RequestView) -> None:
    """The gates as evaluated when the request was made, each with its figure."""
    frozen = str(view.evidence.get("frozen_at", ""))[:16].replace("T", " ")
    counts = {s: sum(1 for g in view.gates if g["status"] == s) for s in GATE_LOOK}
    summary = " · ".join(f"{n} {GATE_LOOK[s][0].lower()}" for s, n in counts.items() if n)
    st.markdown(
        f"**Evidence: {summary}** — frozen at request time ({frozen} UTC); the approver sees what was "
        "true then."
    )
    for gate in view.gates:
        label, colour, icon = GATE_LOOK.get(gate["status"], (gate["status"], "gray", ":material/help:"))
        with st.container(border=True):  # the badge inline: a narrow column clipped it to "W…"
            st.markdown(
                f":{colour}-badge[{icon} {label}] **{plain(gate['title'])}** — {plain(gate['figure'])}"
            )
            if gate.get("detail"):
                st.caption(plain(gate["detail"]))


def evidence_diff(view: RequestView) -> None:
    """Candidate against the production version of request time: metrics, params, data."""
    diff = promotions.evidence_diff(view.evidence)
    production = view.evidence.get("production")
    st.markdown("**Candidate vs production**" + ("" if production else " — no version was in production"))
    tabs = st.tabs(["Metrics", "Parameters", "Data"])
    for tab, name in zip(tabs, ("metrics", "params", "data"), strict=True):
        with tab:
            frame = diff[name]
            columns: dict[str, Any] = {c: c for c in frame.columns if c != "changed"}
            columns["name"] = "Name"
            if production:
                columns["changed"] = st.column_config.CheckboxColumn("Changed")
            show_table(
                frame.astype({c: "string" for c in frame.columns if c not in ("name", "changed")}),
                columns,
                key=f"promotions.diff.{name}",
                empty=f"No {name} recorded.",
            )


def decision_log(view: RequestView) -> None:
    st.markdown("**Decisions and comments**")
    entries = [
        (
            d.decided_at,
            f"**{plain(d.person)}** {_verb(d.decision)}" + (f": {plain(d.comment)}" if d.comment else ""),
        )
        for d in view.decisions
    ]
    entries += [(c.created_at, f"**{plain(c.author)}** commented: {plain(c.body)}") for c in view.comments]
    if not entries:
        st.caption("No decisions or comments yet.")
    for when, text in sorted(entries, key=lambda e: e[0]):
        st.markdown(f"- {when:%Y-%m-%d %H:%M} UTC — {text}")


def _verb(decision: str) -> str:
    return {"approve": "approved", "reject": "rejected", "cancel": "cancelled the request"}.get(
        decision, decision
    )


def decision_forms(view: RequestView, actor: Actor | None) -> None:
    """Approve / reject / cancel / comment, each shown only to those allowed; refusals explained."""
    if view.status != "pending" or actor is None:
        return
    actions = cache.promotion_actions(actor.id, view.id)
    may_decide = identity.can("promotion.decide", view.business_unit)
    if actions.approve is not None and may_decide:
        st.warning(actions.approve, icon=":material/block:")  # e.g. four-eyes: you requested or built it
    deciding = [
        f
        for f, refusal in (
            (_approve_form, actions.approve),
            (_reject_form, actions.reject),
            (_cancel_form, actions.cancel),
        )
        if refusal is None
    ]
    if deciding:
        st.markdown("**Your decision**")
        for column, form in zip(st.columns(len(deciding)), deciding, strict=True):
            with column:
                form(view, actions)
    if actions.comment is None:
        with st.form("promotions.comment.form", clear_on_submit=True):
            body = st.text_area("Comment or question", key="promotions.comment.body", height=80)
            if st.form_submit_button(
                "Add comment", key="promotions.comment.submit", icon=":material/comment:"
            ):
                _do(promotions.add_comment, view, "Comment added.", body=body)


def _reject_form(view: RequestView, actions: promotions.Actions) -> None:
    with st.form("promotions.reject.form"):
        comment = st.text_area("Why reject? (required)", key="promotions.reject.comment", height=80)
        if st.form_submit_button("Reject", key="promotions.reject.submit", icon=":material/thumb_down:"):
            _do(
                promotions.reject,
                view,
                "Request rejected.",
                comment=comment,
                expected_row_version=actions.row_version,
            )


def _cancel_form(view: RequestView, actions: promotions.Actions) -> None:
    with st.form("promotions.cancel.form"):
        comment = st.text_area("Why withdraw? (optional)", key="promotions.cancel.comment", height=80)
        if st.form_submit_button("Cancel request", key="promotions.cancel.submit", icon=":material/undo:"):
            _do(
                promotions.cancel,
                view,
                "Request cancelled.",
                comment=comment,
                expected_row_version=actions.row_version,
            )


def _approve_form(view: RequestView, actions: promotions.Actions) -> None:
    with st.form("promotions.approve.form"):
        comment = st.text_area("Comment (optional)", key="promotions.approve.comment", height=80)
        override = ""
        if actions.needs_override:
            st.error(
                "Gates failing: "
                + ", ".join(view.failing_gates)
                + ". Approving overrides them: your written "
                "reason is recorded and stays on this request in red.",
                icon=":material/gpp_maybe:",
            )
            override = st.text_area(
                "Override reason (required)", key="promotions.approve.override", height=80
            )
        label = "Override and approve" if actions.needs_override else "Approve"
        if st.form_submit_button(
            label, key="promotions.approve.submit", type="primary", icon=":material/thumb_up:"
        ):
            _do(
                promotions.approve,
                view,
                "Approval recorded.",
                comment=comment,
                override_reason=override,
                expected_row_version=actions.row_version,
            )


def _do(service: Any, view: RequestView, success: str, **kwargs: Any) -> None:
    done = perform(service, request_id=view.id, **kwargs)
    if done.ok:
        if done.result == "approved":
            success = f"Approved: {view.model} v{view.version} is now in {view.target_stage}."
        elif done.result == "pending":
            success = "Approval recorded; a second, different approver must approve too."
        flash(":material/check:", success)
        st.rerun()
    st.error(done.error, icon=":material/error:")


def request_view(request_id: int, actor: Actor | None) -> None:
    """The request page: what is asked, the frozen evidence and the diff, the history, then the decision."""
    view = cache.promotion_request(request_id)
    request_header(view)
    override_notice(view)
    evidence, diff = st.columns([1, 1], gap="large")
    with evidence:
        evidence_checklist(view)
    with diff:
        evidence_diff(view)
        decision_log(view)
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
        value=date.today(),
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
        request_link(
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
        if st.form_submit_button("Request promotion", key="model.promote.submit", icon=":material/approval:"):
            evidence = prepare(promotions.prepare_evidence, version_id=version_id, target_stage=target)
            done = perform(
                promotions.request_promotion,
                version_id=version_id,
                target_stage=target,
                justification=justification,
                evidence=evidence,
            )
            if done.ok:
                flash(":material/check:", f"Request #{done.result} opened; its evidence was frozen now.")
                st.switch_page(
                    PAGES_DIR / "promotions.py", query_params={"request": str(done.result), **_persona()}
                )
            st.error(done.error, icon=":material/error:")
