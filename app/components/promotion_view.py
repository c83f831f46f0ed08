"""Promotion rendering: request lists, one request's header, frozen evidence, the diff against
production and its decisions and comments. The forms that decide are app/panels/promotion.py."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components.links import PAGES_DIR, persona_params
from app.components.status import stage_label
from app.components.tables import EMPTY_CELL, datetime_column, show_table
from app.components.text import plain
from core.governance import promotions
from core.governance.promotions import RequestView

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


def request_link(request_id: int, label: str | None = None) -> None:
    st.page_link(
        PAGES_DIR / "promotions.py",
        label=label or f"Open request #{request_id}",
        icon=":material/approval:",
        query_params={"request": str(request_id), **persona_params()},
    )


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
    st.subheader(
        f"Request #{view.id}: {plain(view.model)} v{view.version} → {stage_label(view.target_stage)}",
        anchor=False,
    )
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
            f"{label} by {plain(view.decided_by)} on {view.decided_at:%Y-%m-%d %H:%M} UTC. Decided requests never change.",
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
    gate_list(view.gates)


def gate_list(gates: list[dict[str, Any]]) -> None:
    """Each gate with its verdict, figure and why."""
    for gate in gates:
        label, colour, icon = GATE_LOOK.get(gate["status"], (gate["status"], "gray", ":material/help:"))
        with st.container(border=True):  # the badge inline: a narrow column clipped it to "W…"
            st.markdown(
                f":{colour}-badge[{icon} {label}] **{plain(gate['title'])}** — {plain(gate['figure'])}"
            )
            if gate.get("detail"):
                st.caption(plain(gate["detail"]))


def evidence_preview(evidence: dict[str, Any]) -> None:
    """The gates a request would freeze now, and what a failing one means for its approval."""
    gates = evidence.get("gates", [])
    failing = [g["title"] for g in gates if g["status"] == "fail"]
    warned = [g["title"] for g in gates if g["status"] == "warn"]
    if failing:
        st.error(
            f"{len(failing)} gate{'s' if len(failing) != 1 else ''} would fail: "
            + ", ".join(plain(t) for t in failing)
            + ". You may still request it, but approving it then takes two approvers, each writing why "
            "they override. Better: fix what fails first.",
            icon=":material/gpp_maybe:",
        )
    elif warned:
        st.warning(
            "No gate fails; the approver will see warnings on: " + ", ".join(plain(t) for t in warned) + ".",
            icon=":material/warning:",
        )
    else:
        st.success("Every gate passes.", icon=":material/check_circle:")
    with st.expander("The evidence the request would freeze", expanded=bool(failing)):
        gate_list(gates)


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


def failing_gates_notice(view: RequestView) -> None:
    """Above the approval of a request whose evidence fails: approving overrides, on the record."""
    st.error(
        "Gates failing: "
        + ", ".join(plain(g) for g in view.failing_gates)
        + ". Approving overrides them: your written reason is recorded and stays on this request in red, "
        "and a second approver must override too before the stage changes.",
        icon=":material/gpp_maybe:",
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
