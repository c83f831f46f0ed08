"""Admin forms: add a person, grant or revoke a role, mark a leaver or a return, and import
MLflow's registry. Each calls one core service through app.actions as the signed-in person;
the service checks the role (admin; 'registry.import' for MLflow) and audits.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import actions, cache
from app.components.admin_view import ALL_UNITS, import_report, unit_label
from core.access import ROLES
from core.integrations.mlflow_import import import_mlflow
from core.registry import services

STALE = (cache.PEOPLE,)
MLFLOW_REPORT = "admin.mlflow.report"  # the last import's report, shown until the next import
ADD_RESET = "admin.add.reset"  # set after a person is added: the form starts empty on the next run
ADD_EMPTY = {"admin.add.name": "", "admin.add.email": "", "admin.add.team": "", "admin.add.role": None}


def _role_label(role: str | None) -> str:
    return role.replace("_", " ").capitalize() + f" — {ROLES[role]}" if role else "No role yet"


def add_person_form(units: list[str]) -> None:
    if st.session_state.pop(ADD_RESET, False):
        # The next person starts from an empty form: a role and business unit carried over from the
        # previous one would be granted to them unnoticed. (Assigned before the widgets are drawn, so
        # the browser shows it too; a refusal keeps what was typed.)
        st.session_state.update({**ADD_EMPTY, "admin.add.unit": ALL_UNITS})
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
            format_func=unit_label,
            accept_new_options=True,
        )
        if st.form_submit_button("Add person", key="admin.add.submit", icon=":material/person_add:"):
            done = actions.perform(
                services.create_person,
                stale=STALE,
                success=f"Added {name.strip()}.",
                name=name,
                email=email,
                team=team,
                roles=[(role, unit or ALL_UNITS)] if role else [],
            )
            if done.ok:
                st.session_state[ADD_RESET] = True
                st.rerun()
            actions.show_error(done)


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
            format_func=unit_label,
            accept_new_options=True,
        )
        if st.form_submit_button("Grant", key="admin.grant.submit", icon=":material/add_moderator:"):
            actions.submit(
                services.grant_role,
                stale=STALE,
                success=f"Granted {role.replace('_', ' ')} ({unit_label(unit or ALL_UNITS)}) to {options[person_id]}.",
                person_id=person_id,
                role=role,
                business_unit=unit or ALL_UNITS,
            )


def revoke_form(grants: pd.DataFrame) -> None:
    if grants.empty:
        return
    options = {
        i: f"{r.name}: {r.role.replace('_', ' ')} ({unit_label(r.business_unit)})"
        for i, r in enumerate(grants.itertuples())
    }
    with st.form("admin.revoke.form"):
        st.markdown("**Revoke a role**")
        pick = st.selectbox("Grant", list(options), key="admin.revoke.grant", format_func=options.__getitem__)
        if st.form_submit_button("Revoke", key="admin.revoke.submit", icon=":material/remove_moderator:"):
            row = grants.iloc[pick]
            actions.submit(
                services.revoke_role,
                stale=STALE,
                success=f"Revoked {options[pick]}.",
                person_id=int(row["person_id"]),
                role=str(row["role"]),
                business_unit=str(row["business_unit"]),
            )


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
        on = cols[1].date_input("Left on", value=cache.today(), key="admin.left.on", format="YYYY-MM-DD")
        if st.form_submit_button("Mark as left", key="admin.left.submit", icon=":material/person_remove:"):
            actions.submit(
                services.set_person_active,
                stale=STALE,
                success=f"{active.get(person_id, 'The person')} marked as left on {on:%Y-%m-%d}.",
                person_id=person_id,
                active=False,
                left_on=on,
            )
    if left:
        with st.form("admin.return.form"):
            st.markdown("**Reactivate** someone who returned")
            person_id = st.selectbox(
                "Person", list(left), key="admin.return.person", format_func=left.__getitem__
            )
            if st.form_submit_button("Reactivate", key="admin.return.submit", icon=":material/person_check:"):
                actions.submit(
                    services.set_person_active,
                    stale=STALE,
                    success=f"{left[person_id]} is active again.",
                    person_id=person_id,
                    active=True,
                )


# --- MLflow import ---------------------------------------------------------------------------


def mlflow_import_form() -> None:
    """Tracking URI (+ optional model) -> core.integrations.mlflow_import.import_mlflow as the signed-in person."""
    st.subheader("Import from MLflow")
    st.caption(
        "Reads MLflow's model registry without changing it: registered models, versions under MLflow's own "
        "numbers, their runs and logged models (parameters, metrics, git commit), logged datasets and a "
        "hash of each version's files. The same store through its file or its server is one store: "
        "importing again never duplicates. A version's MLflow stage is taken once, at its first import; "
        "later stage changes go through Steward's promotion requests."
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
        done = actions.perform(
            import_mlflow,
            stale=(cache.MODELS,),
            on_engine=True,
            spinner="Reading the MLflow registry...",
            tracking_uri=uri,
            model_name=model.strip() or None,
        )
        if not done.ok:
            actions.show_error(done)
            return
        st.session_state[MLFLOW_REPORT] = done.result
    report = st.session_state.get(MLFLOW_REPORT)
    if report is not None:
        import_report(report)
