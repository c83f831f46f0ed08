"""The Lineage page's forms: data sources, business processes, features and the links between
recorded objects. The core checks the role (model owners, admins) and audits every change.

``?form=link`` opens the link form (the Documentation page's "Fill in" link for a training
dataset without a source), ``?form=source`` / ``process`` / ``feature`` the others.
"""

from __future__ import annotations

import streamlit as st

from app import actions, cache, identity
from app.panels.owner_forms import opened
from core.registry import services, stewardship
from core.registry.stewardship_reads import NODE_LABELS, LineageChoices

STALE = (cache.MODELS,)
KINDS = ["database", "api", "file", "stream", "warehouse"]


def section() -> None:
    """Everything a model owner records about where data comes from and what it serves."""
    if not identity.can("lineage.write") and not identity.can("model.register"):
        # Data sources and links are shared by every business unit, so recording them needs a role
        # held for all units; say so rather than leave a unit's model owner looking for the forms.
        st.caption(
            "Recording lineage (data sources, business processes, links) needs the model owner or admin "
            "role for all business units. Ask an admin, who can record it here."
        )
        return
    st.subheader("Record lineage", anchor="record-lineage")
    choices = cache.lineage_choices()
    with st.expander("Link two objects", icon=":material/link:", expanded=opened("link")):
        _link_form(choices)
    with st.expander("Add or change a data source", icon=":material/database:", expanded=opened("source")):
        _source_forms()
    with st.expander(
        "Add or change a business process", icon=":material/account_tree:", expanded=opened("process")
    ):
        _process_forms()
    with st.expander("Add a feature to a dataset", icon=":material/view_column:", expanded=opened("feature")):
        _feature_form(choices)


def _link_form(choices: LineageChoices) -> None:
    st.caption(
        "Links run downstream: data source → dataset → feature → model version → deployment → business "
        "process. Linking a data source to a dataset without one records it as that dataset's source."
    )
    types = [t for t in NODE_LABELS if choices.of(t)]
    if len(types) < 1:
        st.info("Nothing is recorded yet: add a data source or register a dataset first.")
        return
    c = st.columns(2)
    src_type = c[0].selectbox("From (type)", types, format_func=NODE_LABELS.get, key="lineage.link.src_type")
    later = [t for t in types if list(NODE_LABELS).index(t) > list(NODE_LABELS).index(src_type)] or types
    dst_type = c[1].selectbox("To (type)", later, format_func=NODE_LABELS.get, key="lineage.link.dst_type")
    with st.form("lineage.link"):
        c = st.columns(2)
        sources = {n.id: n.label for n in choices.of(src_type)}
        targets = {n.id: n.label for n in choices.of(dst_type)}
        src = c[0].selectbox("From", list(sources), format_func=sources.get, key="lineage.link.src")
        dst = c[1].selectbox("To", list(targets), format_func=targets.get, key="lineage.link.dst")
        relation = st.text_input(
            "Relation", value="feeds", help="e.g. feeds, extracts, serves", key="lineage.link.rel"
        )
        submitted = st.form_submit_button("Link", type="primary", key="lineage.link.submit")
    if submitted:
        actions.submit(
            stewardship.link_lineage,
            stale=STALE,
            success=f"Linked {sources.get(src)} → {targets.get(dst)}.",
            src_type=src_type,
            src_id=src,
            dst_type=dst_type,
            dst_id=dst,
            relation=relation,
        )


def _source_forms() -> None:
    with st.form("lineage.source.add"):
        c = st.columns([2, 1, 2])
        name = c[0].text_input("Name", key="lineage.source.add.name")
        kind = c[1].selectbox("Kind", KINDS, accept_new_options=True, key="lineage.source.add.kind")
        team = c[2].text_input("Owner team", key="lineage.source.add.team")
        location = st.text_input(
            "Location", placeholder="connection, URL or path", key="lineage.source.add.location"
        )
        description = st.text_input("Description", key="lineage.source.add.description")
        submitted = st.form_submit_button("Add data source", type="primary", key="lineage.source.add.submit")
    if submitted:
        actions.submit(
            services.create_data_source,
            stale=STALE,
            success=f"Data source {name.strip()} added.",
            name=name,
            kind=kind or "",
            location=location,
            owner_team=team,
            description=description,
        )
    sources = {s.id: s for s in cache.data_sources()}
    if not sources:
        return
    st.markdown("**Change a data source**")
    chosen = st.selectbox(
        "Data source", list(sources), format_func=lambda i: sources[i].name, key="lineage.source.edit.which"
    )
    row = sources[chosen]
    with st.form(f"lineage.source.edit.{chosen}"):
        c = st.columns([1, 2])
        kind = c[0].text_input("Kind", value=row.kind, key=f"lineage.source.edit.{chosen}.kind")
        team = c[1].text_input("Owner team", value=row.owner_team, key=f"lineage.source.edit.{chosen}.team")
        location = st.text_input("Location", value=row.location, key=f"lineage.source.edit.{chosen}.location")
        description = st.text_input(
            "Description", value=row.description, key=f"lineage.source.edit.{chosen}.description"
        )
        submitted = st.form_submit_button("Save data source", key="lineage.source.edit.submit")
    if submitted:
        actions.submit(
            stewardship.update_data_source,
            stale=STALE,
            success=f"Data source {row.name} saved.",
            source_id=chosen,
            **_changed(row, kind=kind, owner_team=team, location=location, description=description),
        )


def _changed(row: object, **values: str) -> dict[str, str]:
    return {k: v for k, v in values.items() if v != getattr(row, k)}


def _process_forms() -> None:
    with st.form("lineage.process.add"):
        c = st.columns(2)
        name = c[0].text_input("Name", key="lineage.process.add.name")
        unit = c[1].selectbox(
            "Business unit", cache.business_units(), accept_new_options=True, key="lineage.process.add.unit"
        )
        c = st.columns([2, 1])
        kpi = c[0].text_input("KPI it is steered on", key="lineage.process.add.kpi")
        kpi_unit = c[1].text_input("KPI unit", placeholder="%, EUR, days", key="lineage.process.add.kpi_unit")
        description = st.text_input("Description", key="lineage.process.add.description")
        submitted = st.form_submit_button(
            "Add business process", type="primary", key="lineage.process.add.submit"
        )
    if submitted:
        actions.submit(
            services.create_business_process,
            stale=STALE,
            success=f"Business process {name.strip()} added.",
            name=name,
            business_unit=unit or "",
            description=description,
            kpi=kpi,
            kpi_unit=kpi_unit,
        )
    processes = {p.id: p for p in cache.business_processes()}
    if not processes:
        return
    st.markdown("**Change a business process**")
    chosen = st.selectbox(
        "Business process",
        list(processes),
        format_func=lambda i: processes[i].name,
        key="lineage.process.edit.which",
    )
    row = processes[chosen]
    with st.form(f"lineage.process.edit.{chosen}"):
        c = st.columns([2, 1])
        kpi = c[0].text_input("KPI", value=row.kpi, key=f"lineage.process.edit.{chosen}.kpi")
        kpi_unit = c[1].text_input(
            "KPI unit", value=row.kpi_unit, key=f"lineage.process.edit.{chosen}.kpi_unit"
        )
        description = st.text_input(
            "Description", value=row.description, key=f"lineage.process.edit.{chosen}.description"
        )
        submitted = st.form_submit_button("Save business process", key="lineage.process.edit.submit")
    if submitted:
        actions.submit(
            stewardship.update_business_process,
            stale=STALE,
            success=f"Business process {row.name} saved.",
            process_id=chosen,
            **_changed(row, kpi=kpi, kpi_unit=kpi_unit, description=description),
        )


def _feature_form(choices: LineageChoices) -> None:
    datasets = {n.id: n.label for n in choices.of("dataset")}
    if not datasets:
        st.info("Register a dataset first (`steward register-dataset`).")
        return
    with st.form("lineage.feature.add"):
        c = st.columns([2, 2, 1])
        dataset = c[0].selectbox(
            "Dataset", list(datasets), format_func=datasets.get, key="lineage.feature.dataset"
        )
        name = c[1].text_input("Feature (column) name", key="lineage.feature.name")
        dtype = c[2].text_input("Type", placeholder="float", key="lineage.feature.dtype")
        description = st.text_input("What it means", key="lineage.feature.description")
        submitted = st.form_submit_button("Add feature", type="primary", key="lineage.feature.submit")
    if submitted:
        actions.submit(
            stewardship.create_feature,
            stale=STALE,
            success=f"Feature {name.strip()} added to {datasets[dataset]}.",
            dataset_id=dataset,
            name=name,
            dtype=dtype,
            description=description,
        )
