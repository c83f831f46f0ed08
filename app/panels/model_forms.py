"""The Model page's forms: edit the model's details, revise a version's model card (a new
revision, never an overwrite), record and end deployments, retire the model. The core checks
the role for the model's business unit and audits before and after.

``?form=details`` / ``?form=card`` / ``?form=deployment`` / ``?form=retire`` open that form (the
Documentation page's "Fill in" links use them).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import actions, cache, identity
from app.components.tables import show_table
from app.components.text import plain
from app.panels.owner_forms import opened
from core import clock
from core.registry import services, stewardship
from core.registry.stewardship import effective_time
from core.registry.stewardship_reads import CARD_TITLES, ModelFacts

STALE = (cache.MODELS,)
STATUSES = {"development": "In development", "validation": "In validation", "production": "In production"}
_FIELDS = {
    "purpose": ("Purpose", "What decision or task the model supports."),
    "intended_use": ("Intended use", "Where, by whom and within which limits it may be used."),
    "out_of_scope_uses": ("Out-of-scope uses", "Uses it must not be put to."),
    "target": ("What it predicts", "The output, in words (e.g. probability of default within 12 months)."),
    "methodology": ("Methodology", "e.g. gradient boosted trees on application data."),
    "kpi": ("Business KPI", "The KPI the model moves (e.g. default rate of approved loans)."),
}


def details(model_id: int) -> None:
    """Edit purpose, uses, output, methodology, KPI, business process and status."""
    facts = cache.model_facts(model_id)
    if facts is None or not identity.can("model.update", facts.business_unit):
        return
    if facts.status == "retired":
        st.caption(f"Retired on {facts.retired_at:%Y-%m-%d}: its details are kept as they were.")
        return
    with st.expander("Edit model details", icon=":material/edit:", expanded=opened("details")):
        _details_form(facts)


def _details_form(facts: ModelFacts) -> None:
    processes = {p.id: p for p in cache.business_processes()}
    with st.form("model.details"):
        values = {}
        for key, (label, hint) in _FIELDS.items():
            widget = (
                st.text_area if key in ("purpose", "intended_use", "out_of_scope_uses") else st.text_input
            )
            values[key] = widget(label, value=getattr(facts, key), help=hint, key=f"model.details.{key}")
        left, right = st.columns(2)
        options = [None, *processes]
        process = left.selectbox(
            "Business process it serves",
            options,
            index=options.index(facts.business_process_id) if facts.business_process_id in options else 0,
            format_func=lambda i: (
                "None" if i is None else f"{processes[i].name} ({processes[i].business_unit})"
            ),
            help="Missing? Add it on the Lineage page (Record lineage).",
            key="model.details.process",
        )
        status = right.selectbox(
            "Status",
            list(STATUSES),
            index=list(STATUSES).index(facts.status),
            format_func=STATUSES.get,
            help="Retire a model with 'Retire this model' below.",
            key="model.details.status",
        )
        reason = st.text_input("Why (kept in the audit log)", key="model.details.reason")
        submitted = st.form_submit_button("Save details", type="primary", key="model.details.submit")
    if submitted:
        changes = {k: v for k, v in values.items() if v != getattr(facts, k)}
        if process != facts.business_process_id:
            changes["business_process_id"] = process
        if status != facts.status:
            changes["status"] = status
        actions.submit(
            services.update_model,
            stale=STALE,
            success=f"Details of {facts.name} saved.",
            model_id=facts.id,
            reason=reason,
            **changes,
        )


def card(model_id: int, business_unit: str) -> None:
    """Revise the card of the version shown above (the card tab's version picker) and list its
    revisions."""
    versions = cache.versions_of_model(model_id)
    if not versions:
        return
    shown = st.session_state.get("model.card.version")  # the version whose card the tab shows
    chosen = next((v for v in versions if v.version == shown), versions[0])
    can_edit = identity.can("model.update", business_unit)
    title = f"Revise the model card of {chosen.label}" if can_edit else f"Card revisions of {chosen.label}"
    with st.expander(title, icon=":material/history_edu:", expanded=opened("card")):
        if can_edit:
            _card_form(chosen.card, chosen.id, chosen.label)
        st.caption("Revisions, newest first. A promotion request names the revision its approvers saw.")
        show_table(
            cache.card_revisions(chosen.id),
            {
                "revision": "Revision",
                "written_at": st.column_config.DatetimeColumn("Written (UTC)", format="YYYY-MM-DD HH:mm"),
                "written_by": "By",
                "reason": "Why",
            },
            key="model.card.revisions",
            empty="No revision recorded.",
        )


def _card_form(current: dict[str, str], version_id: int, label: str) -> None:
    with st.form(f"model.card.{version_id}"):
        texts = {
            key: st.text_area(title, value=current.get(key, ""), key=f"model.card.{version_id}.{key}")
            for key, title in CARD_TITLES.items()
        }
        reason = st.text_input("Why this revision", key=f"model.card.{version_id}.reason")
        submitted = st.form_submit_button("Save as a new revision", type="primary", key="model.card.submit")
    if submitted:
        actions.submit(
            services.update_model_card,
            stale=STALE,
            success=lambda n: f"Model card of {label}: revision {n} saved.",
            version_id=version_id,
            reason=reason,
            **{k: v for k, v in texts.items() if v != current.get(k, "")},
        )


def deployments(model_id: int, business_unit: str) -> None:
    """Record where a version runs, and end a deployment."""
    if not identity.can("lineage.write", business_unit):
        return
    versions = cache.versions_of_model(model_id)
    if not versions:
        return
    with st.expander("Record a deployment", icon=":material/rocket_launch:", expanded=opened("deployment")):
        _deployment_form(model_id, {v.id: v.label for v in versions})
    open_ones = cache.deployments_of_model(model_id)
    open_ones = open_ones[open_ones["until"].isna()]
    if not open_ones.empty:
        with st.expander("End a deployment", icon=":material/stop_circle:"):
            _end_form(open_ones)


def _deployment_form(model_id: int, versions: dict[int, str]) -> None:
    processes = {p.id: p.name for p in cache.business_processes()}
    with st.form("model.deploy"):
        c = st.columns(3)
        version_id = c[0].selectbox(
            "Version", list(versions), format_func=versions.get, key="model.deploy.version"
        )
        environment = c[1].selectbox(
            "Environment",
            ["production", "staging", "batch", "shadow"],
            accept_new_options=True,
            key="model.deploy.environment",
        )
        process = c[2].selectbox(
            "Serves process",
            [None, *processes],
            format_func=lambda i: "None" if i is None else processes[i],
            key="model.deploy.process",
        )
        endpoint = st.text_input(
            "Endpoint", placeholder="URL, batch job or queue it serves from", key="model.deploy.endpoint"
        )
        c = st.columns(2)
        since = c[0].date_input(
            "Since", value=clock.today(), max_value=clock.today(), key="model.deploy.since"
        )
        until = c[1].date_input(
            "Until (empty: still running)", value=None, max_value=clock.today(), key="model.deploy.until"
        )
        submitted = st.form_submit_button("Record deployment", type="primary", key="model.deploy.submit")
    if submitted:
        actions.submit(
            stewardship.add_deployment,
            stale=STALE,
            success=f"Deployment of {versions[version_id]} in {environment} recorded.",
            version_id=version_id,
            environment=environment or "",
            endpoint=endpoint,
            business_process_id=process,
            since=effective_time(since),
            until=effective_time(until) if until is not None else None,
        )


def _end_form(open_ones: pd.DataFrame) -> None:
    rows = {int(r.id): r for r in open_ones.itertuples()}
    with st.form("model.deploy.end"):
        c = st.columns([3, 1])
        chosen = c[0].selectbox(
            "Deployment",
            list(rows),
            format_func=lambda i: (
                f"v{rows[i].version} in {rows[i].environment}"
                + (f" at {rows[i].endpoint}" if rows[i].endpoint else "")
            ),
            key="model.deploy.end.which",
        )
        until = c[1].date_input(
            "Ended on", value=clock.today(), max_value=clock.today(), key="model.deploy.end.on"
        )
        submitted = st.form_submit_button("End deployment", key="model.deploy.end.submit")
    if submitted:
        actions.submit(
            stewardship.end_deployment,
            stale=STALE,
            success="Deployment ended.",
            deployment_id=chosen,
            until=effective_time(until),
        )


def retire(model_id: int) -> None:
    """Retire the model: its open deployments end; the reason is required."""
    facts = cache.model_facts(model_id)
    if facts is None or facts.status == "retired" or not identity.can("model.update", facts.business_unit):
        return
    with st.expander("Retire this model", icon=":material/archive:", expanded=opened("retire")):
        st.caption(
            f"{plain(facts.name)} leaves the inventory's active models and every open deployment ends. "
            "Its versions, history and audit trail stay."
        )
        with st.form("model.retire"):
            c = st.columns([1, 3])
            day = c[0].date_input(
                "Retired on", value=clock.today(), max_value=clock.today(), key="model.retire.on"
            )
            reason = c[1].text_input(
                "Why", placeholder="e.g. replaced by Credit scoring 2", key="model.retire.reason"
            )
            sure = st.checkbox(f"Yes, retire {plain(facts.name)}", key="model.retire.sure")
            submitted = st.form_submit_button("Retire model", key="model.retire.submit")
        if submitted:
            if not sure:
                st.error("Tick the box to confirm the retirement.", icon=":material/error:")
                return
            actions.submit(
                stewardship.retire_model,
                stale=STALE,
                success=lambda n: f"{facts.name} retired; {n} open deployment(s) ended.",
                model_id=model_id,
                reason=reason,
                at=effective_time(day),
            )
