"""The Owners page's forms: name, remove and hand over a model's owners; add people and mark
someone as left (with the hand-over of their roles). The core checks every role and writes the
audit event with before and after; these forms only collect the input.

A link with ``?form=owners`` (the Documentation page's "Fill in" links) opens the owners form;
``?model=ID`` preselects the model.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from app import actions, cache, identity
from app.components.choice import choose
from app.components.tables import show_table
from app.components.text import plain
from core import clock
from core.registry import services, stewardship
from core.registry.stewardship import effective_time
from core.registry.stewardship_reads import ROLE_LABELS, PersonChoice

STALE = (cache.MODELS, cache.PEOPLE)


def _day_column(label: str) -> object:
    return st.column_config.DatetimeColumn(label, format="YYYY-MM-DD")


def opened(form: str) -> bool:
    """Whether the page was opened by a link to ``form`` (``?form=NAME``)."""
    return st.query_params.get("form") == form


def owners_section() -> None:
    """Change owners of one model: current and former owners, assign, remove, hand over."""
    models = {c.id: c for c in cache.model_choices()}
    st.subheader("Change owners", anchor="change-owners")
    if not models:
        st.caption("Register a model first (`steward register-model`); then name its owners here.")
        return
    model_id = choose(
        "Model",
        list(models),
        key="owners.edit.model",
        param="model",
        write_url=False,
        format_func=lambda i: f"{models[i].name} ({models[i].business_unit})",
    )
    unit = models[model_id].business_unit
    current = cache.owners_of_model(model_id)
    show_table(
        current[["role_label", "person", "since", "reason"]],
        {"role_label": "Role", "person": "Person", "since": _day_column("Since"), "reason": "Why"},
        key="owners.edit.current",
        empty="Nobody is named yet: start with the accountable business owner and the technical owner.",
    )
    if not identity.can("ownership.assign", unit):
        st.caption(f"Model owners of {plain(unit)} and admins change owners.")
        return
    people = {p.id: p for p in cache.person_choices() if p.active and not p.is_system}
    with st.expander("Name an owner", icon=":material/person_add:", expanded=opened("owners")):
        _assign_form(model_id, people)
    if not current.empty:
        with st.expander("Remove an owner", icon=":material/person_remove:"):
            _remove_form(model_id, current)
    former = cache.former_owners(model_id)
    if not former.empty:
        st.caption("Former owners")
        show_table(
            former,
            {
                "person": "Person",
                "role": "Role",
                "since": "From",
                "until": "Until",
                "why it ended": "Why it ended",
            },
            key="owners.edit.former",
        )


def _assign_form(model_id: int, people: dict[int, PersonChoice]) -> None:
    st.caption(
        "A new accountable business owner or technical owner replaces the current one (kept as a former "
        "owner); a model may have several validators and backups."
    )
    with st.form("owners.assign", clear_on_submit=False):
        left, right = st.columns(2)
        role = left.selectbox(
            "Role", list(ROLE_LABELS), format_func=ROLE_LABELS.get, key="owners.assign.role"
        )
        person = right.selectbox(
            "Person",
            list(people),
            index=None,
            placeholder="Choose an active person",
            format_func=lambda i: people[i].label,
            key="owners.assign.person",
        )
        left, right = st.columns([1, 3])
        since = left.date_input(
            "From", value=clock.today(), max_value=clock.today(), key="owners.assign.since"
        )
        reason = right.text_input(
            "Why", placeholder="e.g. new head of retail lending", key="owners.assign.reason"
        )
        submitted = st.form_submit_button("Name owner", type="primary", key="owners.assign.submit")
    if submitted:
        if person is None:
            st.error("Choose the person to name.", icon=":material/error:")
            return
        actions.submit(
            services.assign_owner,
            stale=STALE,
            success=f"{people[person].name} named {ROLE_LABELS[role].lower()}.",
            model_id=model_id,
            person_id=person,
            role=role,
            since=effective_time(since),
            reason=reason,
        )


def _remove_form(model_id: int, current: pd.DataFrame) -> None:
    rows = {f"{r.role}:{r.person_id}": r for r in current.itertuples()}
    with st.form("owners.remove"):
        chosen = st.selectbox(
            "Owner",
            list(rows),
            format_func=lambda k: f"{rows[k].role_label}: {rows[k].person}",
            key="owners.remove.which",
        )
        left, right = st.columns([1, 3])
        until = left.date_input(
            "Until", value=clock.today(), max_value=clock.today(), key="owners.remove.until"
        )
        reason = right.text_input("Why", key="owners.remove.reason")
        submitted = st.form_submit_button("Remove", key="owners.remove.submit")
    if submitted:
        row = rows[chosen]
        actions.submit(
            services.remove_owner,
            stale=STALE,
            success=f"{row.person} is no longer {row.role_label.lower()}.",
            model_id=model_id,
            person_id=int(row.person_id),
            role=row.role,
            reason=reason,
            until=effective_time(until),
        )


def hand_over_section() -> None:
    """Hand one person's owner roles to another (someone moves on, a team reorganises)."""
    everyone = {p.id: p for p in cache.person_choices() if not p.is_system}
    if len(everyone) < 2 or not identity.can("ownership.assign"):
        return
    with st.expander("Hand over someone's roles", icon=":material/swap_horiz:", expanded=opened("hand-over")):
        giver = st.selectbox(
            "From",
            list(everyone),
            index=None,
            placeholder="Whose roles?",
            format_func=lambda i: everyone[i].label,
            key="owners.handover.from",
        )
        if giver is None:
            return
        roles = cache.roles_of_person(giver)
        if roles.empty:
            st.info(f"{plain(everyone[giver].name)} holds no owner role.")
            return
        show_table(
            roles[["model", "role_label", "since"]],
            {"model": "Model", "role_label": "Role", "since": _day_column("Since")},
            key="owners.handover.roles",
        )
        _hand_over_form(giver, everyone, roles)


def _hand_over_form(giver: int, everyone: dict[int, PersonChoice], roles: pd.DataFrame) -> None:
    takers = [i for i, p in everyone.items() if p.active and i != giver]
    models = dict(zip(roles["model_id"], roles["model"], strict=False))
    with st.form("owners.handover"):
        left, right = st.columns(2)
        taker = left.selectbox(
            "To",
            takers,
            index=None,
            placeholder="Who takes over?",
            format_func=lambda i: everyone[i].label,
            key="owners.handover.to",
        )
        model = right.selectbox(
            "Model",
            [None, *models],
            format_func=lambda m: "All their models" if m is None else models[m],
            key="owners.handover.model",
        )
        left, right = st.columns([1, 3])
        day = left.date_input("From", value=clock.today(), max_value=clock.today(), key="owners.handover.on")
        reason = right.text_input("Why", placeholder="e.g. moved to Treasury", key="owners.handover.reason")
        submitted = st.form_submit_button("Hand over", type="primary", key="owners.handover.submit")
    if submitted:
        if taker is None:
            st.error("Choose who takes over.", icon=":material/error:")
            return
        actions.submit(
            stewardship.hand_over,
            stale=STALE,
            success=lambda n: f"{n} role(s) handed over to {everyone[taker].name}.",
            from_person_id=giver,
            to_person_id=taker,
            model_id=model,
            effective=effective_time(day),
            reason=reason,
        )


def people_section() -> None:
    """Add a person; mark someone as left, handing their owner roles to a successor."""
    if not identity.can("person.manage"):
        return
    st.subheader("Change people", anchor="change-people")
    with st.expander("Add a person", icon=":material/person_add:", expanded=opened("add-person")):
        with st.form("owners.person.add"):
            c = st.columns(3)
            name = c[0].text_input("Name", key="owners.person.add.name")
            email = c[1].text_input("Email", key="owners.person.add.email")
            team = c[2].text_input("Team", key="owners.person.add.team")
            st.caption("Roles (what they may do in Steward) are granted on the People and roles page.")
            submitted = st.form_submit_button("Add person", type="primary", key="owners.person.add.submit")
        if submitted:
            actions.submit(
                services.create_person,
                stale=STALE,
                success=f"{name.strip()} added.",
                name=name,
                email=email,
                team=team,
            )
    with st.expander("Mark someone as left", icon=":material/logout:", expanded=opened("left")):
        _leave_form()


def _leave_form() -> None:
    active = {p.id: p for p in cache.person_choices() if p.active and not p.is_system}
    leaver = st.selectbox(
        "Who left",
        list(active),
        index=None,
        placeholder="Choose a person",
        format_func=lambda i: active[i].label,
        key="owners.left.person",
    )
    if leaver is None:
        return
    roles = cache.roles_of_person(leaver)
    if roles.empty:
        st.caption(f"{plain(active[leaver].name)} holds no owner role: nothing to hand over.")
    else:
        st.warning(
            f"{plain(active[leaver].name)} holds {len(roles)} owner role(s). Name who takes them over, "
            "or they stay with a leaver and show as knowledge-loss risks above.",
            icon=":material/warning:",
        )
        show_table(
            roles[["model", "role_label", "since"]],
            {"model": "Model", "role_label": "Role", "since": _day_column("Since")},
            key="owners.left.roles",
        )
    successors = [i for i in active if i != leaver]
    with st.form("owners.left"):
        left, right = st.columns(2)
        day: date = left.date_input(
            "Left on", value=clock.today(), max_value=clock.today(), key="owners.left.on"
        )
        successor = right.selectbox(
            "Hand their roles to",
            [None, *successors],
            format_func=lambda i: "Nobody yet" if i is None else active[i].label,
            key="owners.left.successor",
            disabled=roles.empty,
        )
        reason = st.text_input("Why (kept with the hand-over)", key="owners.left.reason")
        submitted = st.form_submit_button("Mark as left", type="primary", key="owners.left.submit")
    if submitted:
        name = active[leaver].name
        actions.submit(
            stewardship.person_leaves,
            stale=STALE,
            success=lambda n: f"{name} marked as left" + (f"; {n} role(s) handed over." if n else "."),
            person_id=leaver,
            left_on=day,
            successor_id=successor,
            reason=reason,
        )
