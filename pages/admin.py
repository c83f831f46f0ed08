"""Admin: people and their role grants. Everybody sees who holds which role; admins add people,
mark leavers and grant or revoke roles (globally or for one business unit); model owners import
MLflow's registry. Every change is audited."""

from __future__ import annotations

import streamlit as st

from app import cache, identity
from app.components import admin_view
from app.panels import admin, audit_anchor, notifications, tokens

st.title("People and roles")
st.caption(
    "Roles: viewer, labeller, model owner, approver, admin — held globally or for one business unit. "
    "Admin is not a super-role: approving and labelling need their own grants."
)

audit_anchor.render()  # admins: how old the newest audit anchor is
people = cache.people_table()
admin_view.people_table(people, key="admin.people")
admin_view.grants_table(cache.role_grants(), key="admin.grants")

if identity.can("person.manage"):
    units = cache.business_units()
    add, grant, leave = st.tabs(["Add a person", "Grant or revoke a role", "Mark as left"])
    with add:
        admin.add_person_form(units)
    with grant:
        admin.grant_form(people, units)
        admin.revoke_form(cache.role_grants())
    with leave:
        admin.leaver_form(people)
else:
    st.info("Adding people and changing role grants needs the admin role.", icon=":material/lock:")

# Importing registers models and versions, so it follows core's 'registry.import' (model owners).
if identity.can("registry.import"):
    admin.mlflow_import_form()
else:
    st.caption(
        "Importing models from an MLflow registry (here, or `steward import-mlflow` in a pipeline) "
        "needs the model owner role, because it registers models and versions."
    )

notifications.admin_section()  # delivery health and failures, my notifications, webhooks
tokens.render()  # personal access tokens for the CLI and pipelines
