"""Labelling: domain experts label sampled production predictions one case at a time; owners
and approvers create campaigns and review agreement between labellers.

The next case always comes from the core (the first case this person has not answered that
still needs labels), and every answer is written at once, so reruns, refreshes and two tabs
neither lose nor repeat anything."""

from __future__ import annotations

import streamlit as st

from app import cache, identity
from app.components import empty
from app.components import labelling_view as view
from app.components.choice import stable_selectbox
from app.feedback_actions import perform
from core.monitoring import labelling

FLASH = "labelling.flash"  # (kind, message) shown once after an answer or a new campaign

st.title("Labelling")
actor = identity.current_actor()
if actor is None:
    empty.empty_state("Nobody to label as", "Pick a person in the sidebar (or sign in) to label cases.")
    st.stop()


def answer(
    item_id: int,
    position: int,
    *,
    comment_key: str,
    value: float | None = None,
    unsure: bool = False,
    skip: bool = False,
    value_key: str | None = None,
) -> None:
    """Button callback: write the answer to the case that was on screen, then say what happened."""
    if value_key is not None:
        value = st.session_state.get(value_key)
        if value is None:
            st.session_state[FLASH] = ("error", "Type the true value first, or choose Unsure or Skip.")
            return
    done = perform(
        labelling.submit_label,
        item_id=item_id,
        value=value,
        unsure=unsure,
        skip=skip,
        comment=st.session_state.get(comment_key) or "",
    )
    what = "skipped" if skip else ("marked unsure" if unsure else f"labelled {value:g}")
    st.session_state[FLASH] = (
        ("success", f"Case {position} {what}. Here is the next one.")
        if done.ok
        else ("warning" if done.conflict else "error", done.error)
    )


def show_flash() -> None:
    kind, message = st.session_state.pop(FLASH, (None, ""))
    if kind:
        getattr(st, kind)(message)


label_tab, manage_tab = st.tabs(["Label cases", "Campaigns"])

with label_tab:
    show_flash()
    campaigns = cache.labelling_campaigns(actor.id)
    if not identity.can("label.submit"):
        st.info(
            "Labelling needs the **labeller** role. Ask an admin to grant it if you are a domain expert.",
            icon=":material/lock:",
        )
    elif campaigns.empty:
        empty.empty_state(
            "No open campaigns",
            "There is nothing to label right now. Model owners and approvers "
            "create campaigns in the **Campaigns** tab (or with `steward campaign create`).",
        )
    else:
        rows = {int(r["id"]): r for _, r in campaigns.iterrows()}
        # The option labels count the cases left, so they change with every answer: keep the one picked.
        campaign_id = stable_selectbox(
            "Campaign",
            list(rows),
            key="labelling.campaign",
            format_func=lambda i: view.campaign_option(rows[i]),
        )
        case = cache.next_case(campaign_id, actor.id)
        if case is None:
            st.success(
                "You have answered every case of this campaign that needs you. Thank you!",
                icon=":material/task_alt:",
            )
        else:
            view.progress(case)
            view.case_header(case)
            features, decision = st.columns([3, 2], gap="large")
            with features:
                view.features_table(case)
            with decision:
                view.answer_panel(case, answer)

with manage_tab:
    can_manage = identity.can("campaign.create")
    versions = cache.monitored_versions()
    if can_manage and not versions.empty:
        with st.expander("New campaign", icon=":material/add_task:", expanded=False):
            choice = view.campaign_form(versions)
            if choice is not None:
                done = perform(labelling.create_campaign, **choice)
                if done.ok and done.result is not None:
                    st.session_state[FLASH] = (
                        "success",
                        f"Campaign created with {done.result.size} cases. " + done.result.note,
                    )
                    st.rerun()
                st.error(done.error)
    elif not can_manage:
        st.caption("Model owners and approvers create campaigns here.")
    show_flash()
    all_campaigns = cache.all_campaigns()
    if all_campaigns.empty:
        st.caption("No campaigns yet.")
        st.stop()
    view.campaigns_table(all_campaigns, key="labelling.campaigns")
    by_id = {int(r["id"]): r for _, r in all_campaigns.iterrows()}
    picked = stable_selectbox(
        "Agreement between labellers in",
        list(by_id),
        key="labelling.review",
        format_func=lambda i: f"#{i} {by_id[i]['name']} ({by_id[i]['status']})",
    )
    report = cache.campaign_agreement(picked)
    view.agreement(report)
    if identity.can("label.resolve"):
        decision = view.resolve_form(report)
        if decision is not None:
            done = perform(labelling.resolve_disagreement, **decision)
            st.session_state[FLASH] = ("success", "Label decided.") if done.ok else ("error", done.error)
            st.rerun()
    if can_manage and by_id[picked]["status"] == "open":
        if st.button("Close this campaign", key="labelling.close", icon=":material/stop_circle:"):
            done = perform(
                labelling.close_campaign, campaign_id=picked, reason="closed on the Labelling page"
            )
            st.session_state[FLASH] = ("success", "Campaign closed.") if done.ok else ("error", done.error)
            st.rerun()
