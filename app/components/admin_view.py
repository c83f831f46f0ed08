"""Admin rendering: the people and grants tables and the forms that change them.

Each form calls one registry service (create_person, grant_role, revoke_role,
set_person_active) as the signed-in person; the service checks the admin role and audits.
The MLflow import form calls core.integrations.mlflow_import, which checks 'registry.import'.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from app import bootstrap, cache, identity
from app.components.promotion import flash
from app.components.tables import date_column, datetime_column, show_table
from app.components.text import plain
from app.feedback_actions import perform
from core.access import ROLES
from core.errors import StewardError
from core.registry import services

ALL_UNITS = ""  # a grant for every business unit


def _unit_label(unit: str) -> str:
    return unit or "All business units"


def _role_label(role: str | None) -> str:
    return role.replace("_", " ").capitalize() + f" — {ROLES[role]}" if role else "No role yet"


def people_table(people: pd.DataFrame, *, key: str) -> None:
    shown = people[~people["is_system"]].assign(active=people["active"].map({True: "Active", False: "Left"}))
    show_table(
        shown,
        {
            "name": "Name",
            "email": "Email",
            "team": "Team",
            "roles": "Roles",
            "active": "Status",
            "left_on": date_column("Left on"),
            "created_at": datetime_column("Added"),
        },
        key=key,
        empty="Nobody is registered yet.",
    )


def grants_table(grants: pd.DataFrame, *, key: str) -> None:
    with st.expander(f"Role grants ({len(grants)})"):
        shown = grants.assign(
            role=grants["role"].str.replace("_", " "), business_unit=grants["business_unit"].map(_unit_label)
        )
        show_table(
            shown,
            {
                "name": "Person",
                "role": "Role",
                "business_unit": "Business unit",
                "granted_at": datetime_column("Granted"),
                "granted_by": "Granted by",
            },
            key=key,
            empty="No role has been granted.",
        )


def _done(result: Any, message: str) -> None:
    if result.ok:
        flash(":material/check:", message)
        st.rerun()
    st.error(result.error, icon=":material/error:")


def add_person_form(units: list[str]) -> None:
    with st.form("admin.add.form", clear_on_submit=False):
        left, right = st.columns(2)
        name = left.text_input("Name", key="admin.add.name")
        email = right.text_input(
            "Email", key="admin.add.email", help="How they sign in (OIDC) and are found."
        )
        team = left.text_input("Team", key="admin.add.team")
        role = right.selectbox("First role", [None, *ROLES], key="admin.add.role", format_func=_role_label)
        unit = right.selectbox(
            "For business unit",
            [ALL_UNITS, *units],
            key="admin.add.unit",
            format_func=_unit_label,
            accept_new_options=True,
        )
        if st.form_submit_button("Add person", key="admin.add.submit", icon=":material/person_add:"):
            done = perform(
                services.create_person,
                name=name,
                email=email,
                team=team,
                roles=[(role, unit or ALL_UNITS)] if role else [],
            )
            _done(done, f"Added {name.strip()}.")


def _person_options(people: pd.DataFrame, *, active: bool | None = None) -> dict[int, str]:
    rows = people[~people["is_system"]]
    if active is not None:
        rows = rows[rows["active"] == active]
    return {int(r.person_id): f"{r.name} ({r.email})" for r in rows.itertuples()}


def grant_form(people: pd.DataFrame, units: list[str]) -> None:
    options = _person_options(people, active=True)
    if not options:
        st.caption("Nobody active to grant a role to.")
        return
    with st.form("admin.grant.form"):
        st.markdown("**Grant a role**")
        cols = st.columns(3)
        person_id = cols[0].selectbox(
            "Person", list(options), key="admin.grant.person", format_func=options.__getitem__
        )
        role = cols[1].selectbox("Role", list(ROLES), key="admin.grant.role", format_func=_role_label)
        unit = cols[2].selectbox(
            "Business unit",
            [ALL_UNITS, *units],
            key="admin.grant.unit",
            format_func=_unit_label,
            accept_new_options=True,
        )
        if st.form_submit_button("Grant", key="admin.grant.submit", icon=":material/add_moderator:"):
            done = perform(
                services.grant_role, person_id=person_id, role=role, business_unit=unit or ALL_UNITS
            )
            _done(
                done,
                f"Granted {role.replace('_', ' ')} ({_unit_label(unit or ALL_UNITS)}) to {options[person_id]}.",
            )


def revoke_form(grants: pd.DataFrame) -> None:
    if grants.empty:
        return
    options = {
        i: f"{r.name}: {r.role.replace('_', ' ')} ({_unit_label(r.business_unit)})"
        for i, r in enumerate(grants.itertuples())
    }
    with st.form("admin.revoke.form"):
        st.markdown("**Revoke a role**")
        pick = st.selectbox("Grant", list(options), key="admin.revoke.grant", format_func=options.__getitem__)
        if st.form_submit_button("Revoke", key="admin.revoke.submit", icon=":material/remove_moderator:"):
            row = grants.iloc[pick]
            done = perform(
                services.revoke_role,
                person_id=int(row["person_id"]),
                role=str(row["role"]),
                business_unit=str(row["business_unit"]),
            )
            _done(done, f"Revoked {options[pick]}.")


def leaver_form(people: pd.DataFrame) -> None:
    active = _person_options(people, active=True)
    left = _person_options(people, active=False)
    with st.form("admin.left.form"):
        st.markdown(
            "**Mark as left** — they can no longer act; models they own are flagged as a knowledge-loss risk."
        )
        cols = st.columns(2)
        person_id = cols[0].selectbox(
            "Person", list(active), key="admin.left.person", format_func=active.__getitem__
        )
        on = cols[1].date_input("Left on", value=date.today(), key="admin.left.on", format="YYYY-MM-DD")
        if st.form_submit_button("Mark as left", key="admin.left.submit", icon=":material/person_remove:"):
            done = perform(services.set_person_active, person_id=person_id, active=False, left_on=on)
            _done(done, f"{active.get(person_id, 'The person')} marked as left on {on:%Y-%m-%d}.")
    if left:
        with st.form("admin.return.form"):
            st.markdown("**Reactivate** someone who returned")
            person_id = st.selectbox(
                "Person", list(left), key="admin.return.person", format_func=left.__getitem__
            )
            if st.form_submit_button("Reactivate", key="admin.return.submit", icon=":material/person_check:"):
                done = perform(services.set_person_active, person_id=person_id, active=True)
                _done(done, f"{left[person_id]} is active again.")


# --- MLflow import ---------------------------------------------------------------------------

MLFLOW_REPORT = "admin.mlflow.report"  # the last import's report, shown until the next import
IMPORT_OUTCOMES = {  # ImportReport field -> what happened, as people read it
    "models_created": "Model created",
    "models_updated": "Model updated",
    "versions_created": "Version created",
    "versions_unchanged": "Version unchanged (imported before)",
    "datasets_created": "Dataset created",
    "stages_set": "Stage set at first import",
}


def mlflow_import_form() -> None:
    """Tracking URI (+ optional model) -> core.integrations.mlflow_import.import_mlflow as the signed-in person."""
    st.subheader("Import from MLflow")
    st.caption(
        "Reads MLflow's model registry: registered models, versions, their runs (parameters, metrics, git "
        "commit) and logged datasets. Importing again updates and never duplicates. A version's MLflow stage "
        "is taken once, at its first import; later stage changes go through Steward's promotion requests."
    )
    with st.form("admin.mlflow.form"):
        left, right = st.columns([3, 2])
        uri = left.text_input(
            "MLflow tracking URI",
            key="admin.mlflow.uri",
            placeholder="sqlite:////srv/mlflow/mlflow.db or http://mlflow.internal:5000",
        )
        model = right.text_input("Only this registered model (optional)", key="admin.mlflow.model")
        submitted = st.form_submit_button(
            "Import from MLflow", key="admin.mlflow.submit", icon=":material/download:"
        )
    if submitted:
        st.session_state.pop(MLFLOW_REPORT, None)
        actor = identity.current_actor()
        if actor is None:
            st.error("Pick or sign in as a person first.", icon=":material/error:")
            return
        from core.integrations.mlflow_import import import_mlflow  # mlflow is heavy and optional

        try:
            with st.spinner("Reading the MLflow registry..."):
                report = import_mlflow(
                    bootstrap.engine(), actor=actor, tracking_uri=uri, model_name=model.strip() or None
                )
        except StewardError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        cache.clear_after_write()
        st.session_state[MLFLOW_REPORT] = report
    report = st.session_state.get(MLFLOW_REPORT)
    if report is not None:
        import_report(report)


def import_report(report: Any) -> None:
    """What an import created, updated or left unchanged, and what it could not map."""
    changes = pd.DataFrame(
        [(label, item) for field, label in IMPORT_OUTCOMES.items() for item in getattr(report, field)],
        columns=["outcome", "item"],
    )
    if changes.empty:
        st.warning(
            f"MLflow at {plain(report.tracking_uri)} holds no registered models: nothing was imported.",
            icon=":material/info:",
        )
    else:
        st.success(plain(report.summary()), icon=":material/check:")
        show_table(changes, {"outcome": "Outcome", "item": "MLflow object"}, key="admin.mlflow.changes")
    if report.not_mapped:
        st.markdown(f"**Not mapped ({len(report.not_mapped)})** — reported, not imported as-is:")
        show_table(
            pd.DataFrame({"item": report.not_mapped}),
            {"item": "What could not be mapped, and what Steward did"},
            key="admin.mlflow.not_mapped",
        )
