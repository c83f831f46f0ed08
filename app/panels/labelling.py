"""Labelling: domain experts answer sampled cases one at a time; owners and approvers create
campaigns, review agreement between labellers, decide disputed cases and close campaigns.

Every answer button carries the id of the case it was drawn with, so a click always labels the
case the labeller saw, even if another tab moved on meanwhile; the answer is written in the
button's callback (before the page runs again), so the next run draws the next case.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app import actions, cache, identity
from app.components import empty
from app.components import labelling_view as view
from app.components.choice import choose
from app.components.labelling_view import STRATEGY_LABELS, feature_name, strategy_help
from core.access import Actor
from core.monitoring import labelling
from core.monitoring.labelling import MAX_CAMPAIGN_SIZE, AgreementReport, Case
from core.registry import services

STALE = (cache.LABELS,)


def label_cases(actor: Actor) -> None:
    """The next case of the picked campaign that waits for this labeller, and the answer buttons."""
    campaigns = cache.labelling_campaigns(labeller_id=actor.id)
    if not identity.can("label.submit"):
        st.info(
            "Labelling needs the **labeller** role. Ask an admin to grant it if you are a domain expert.",
            icon=":material/lock:",
        )
        return
    if campaigns.empty:
        empty.empty_state(
            "No open campaigns",
            "There is nothing to label right now. Model owners and approvers "
            "create campaigns in the **Campaigns** tab (or with `steward campaign create`).",
        )
        return
    rows = {int(r["id"]): r for _, r in campaigns.iterrows()}
    # The option labels count the cases left, so they change with every answer: choose keeps the pick.
    campaign_id = choose(
        "Campaign", list(rows), key="labelling.campaign", format_func=lambda i: view.campaign_option(rows[i])
    )
    case = cache.next_case(campaign_id=campaign_id, labeller_id=actor.id)
    if case is None:
        st.success(
            "You have answered every case of this campaign that needs you. Thank you!",
            icon=":material/task_alt:",
        )
        return
    view.progress(case)
    view.case_header(case)
    features, decision = st.columns([3, 2], gap="large")
    with features:
        view.features_table(case)
    with decision:
        _answer_panel(case)


def _answer(
    item_id: int,
    position: int,
    *,
    comment_key: str,
    value: float | str | None = None,
    unsure: bool = False,
    skip: bool = False,
    value_key: str | None = None,
    answer: str = "",
) -> None:
    """Button callback: write the answer to the case that was on screen, then say what happened."""
    if value_key is not None:
        value = st.session_state.get(value_key)
        if value is None:
            actions.flash("Type the true value first, or choose Unsure or Skip.", kind="error")
            return
    done = actions.perform(
        labelling.submit_label,
        stale=STALE,
        item_id=item_id,
        value=value,
        unsure=unsure,
        skip=skip,
        comment=st.session_state.get(comment_key) or "",
    )
    what = "skipped" if skip else ("marked unsure" if unsure else f"answered {answer or _number(value)}")
    actions.flash_outcome(done, f"Case {position} {what}. Here is the next one.")


def _number(value: float | str | None) -> str:
    return value if isinstance(value, str) else f"{value:,.2f}"


def _class_buttons(case: Case, comment_key: str) -> None:
    """One button per class of a multiclass classifier, named by the class: the answer is the name."""
    names = list(case.class_names.items())
    per_row = 3 if len(names) > 4 else max(len(names), 1)
    for start in range(0, len(names), per_row):
        for column, (position, name) in zip(
            st.columns(per_row), names[start : start + per_row], strict=False
        ):
            column.button(
                name,
                key=f"labelling.class.{position}",
                type="primary",
                width="stretch",
                on_click=_answer,
                args=(case.item_id, case.position),
                kwargs={"value": name, "comment_key": comment_key, "answer": name},
            )


def _answer_panel(case: Case) -> None:
    """The question, the label buttons (or a number), 'unsure', 'skip' and a comment."""
    with st.container(border=True):
        view.question(case)
        view.model_answer(case)
        comment_key = f"labelling.comment.{case.item_id}"
        st.text_area(
            "Comment (optional, saved with your answer)",
            key=comment_key,
            max_chars=2000,
            height=80,
            placeholder="Why you chose this label, or what is unusual about the case",
        )
        if case.task == "binary_classification":
            yes, no = st.columns(2)
            yes.button(
                case.class_names[1],
                key="labelling.answer.1",
                type="primary",
                width="stretch",
                on_click=_answer,
                args=(case.item_id, case.position),
                kwargs={"value": 1.0, "comment_key": comment_key, "answer": case.class_names[1]},
            )
            no.button(
                case.class_names[0],
                key="labelling.answer.0",
                type="primary",
                width="stretch",
                on_click=_answer,
                args=(case.item_id, case.position),
                kwargs={"value": 0.0, "comment_key": comment_key, "answer": case.class_names[0]},
            )
        elif case.task == "multiclass_classification":
            _class_buttons(case, comment_key)
        else:
            value_key = f"labelling.value.{case.item_id}"
            st.number_input(
                "True value",
                key=value_key,
                value=None,
                step=1.0,
                format="%.2f",
                placeholder="Type the true value",
            )
            st.button(
                "Save value",
                key="labelling.save_value",
                type="primary",
                on_click=_answer,
                args=(case.item_id, case.position),
                kwargs={"value_key": value_key, "comment_key": comment_key},
            )
        unsure, skip = st.columns(2)
        unsure.button(
            "Unsure",
            key="labelling.unsure",
            icon=":material/help:",
            width="stretch",
            help="You cannot tell from this information; the case goes to another labeller.",
            on_click=_answer,
            args=(case.item_id, case.position),
            kwargs={"unsure": True, "comment_key": comment_key},
        )
        skip.button(
            "Skip",
            key="labelling.skip",
            icon=":material/skip_next:",
            width="stretch",
            help="Leave this case to someone else; you will not see it again. A skip is not an answer.",
            on_click=_answer,
            args=(case.item_id, case.position),
            kwargs={"skip": True, "comment_key": comment_key},
        )


def campaigns() -> None:
    """New campaign (owners, approvers), every campaign, agreement, disputed cases, closing."""
    can_manage = identity.can("campaign.create")
    versions = cache.monitored_versions()
    if can_manage and not versions.empty:
        with st.expander("New campaign", icon=":material/add_task:", expanded=False):
            choice = _campaign_form(versions)
            if choice is not None:
                actions.submit(
                    labelling.create_campaign,
                    stale=STALE,
                    success=lambda created: f"Campaign created with {created.size} cases. " + created.note,
                    **choice,
                )
    elif not can_manage:
        st.caption("Model owners and approvers create campaigns here.")
    # model owners of a business unit set these for that unit's models only
    editable = versions[[identity.can("model.update", unit) for unit in versions["business_unit"]]]
    if not editable.empty:
        with st.expander("Case links and outcome horizon", icon=":material/link:", expanded=False):
            change = _case_settings_form(editable)
            if change is not None:
                actions.submit(
                    services.update_model,
                    stale=(cache.MODELS, cache.LABELS),
                    success="Saved: labellers see the new link and question from their next case.",
                    **change,
                )
    every = cache.all_campaigns()
    if every.empty:
        st.caption("No campaigns yet.")
        return
    view.campaigns_table(every, key="labelling.campaigns")
    by_id = {int(r["id"]): r for _, r in every.iterrows()}
    picked = choose(
        "Agreement between labellers in",
        list(by_id),
        key="labelling.review",
        format_func=lambda i: f"#{i} {by_id[i]['name']} ({by_id[i]['status']})",
    )
    report = cache.campaign_agreement(campaign_id=picked)
    view.agreement(report)
    if identity.can("label.resolve"):
        decision = _resolve_form(report)
        if decision is not None:
            done = actions.perform(labelling.resolve_disagreement, stale=STALE, **decision)
            actions.flash_outcome(done, "Label decided.")
            st.rerun()
    if can_manage and by_id[picked]["status"] == "open":
        if st.button("Close this campaign", key="labelling.close", icon=":material/stop_circle:"):
            done = actions.perform(
                labelling.close_campaign,
                stale=STALE,
                campaign_id=picked,
                reason="closed on the Labelling page",
            )
            actions.flash_outcome(done, "Campaign closed.")
            st.rerun()


def _campaign_form(versions: pd.DataFrame) -> dict[str, Any] | None:
    """Inputs of a new campaign; the create_campaign arguments when the button is pressed."""
    labels = {
        int(r.version_id): f"{r.model} v{r.version} ({r.stage if r.stage != 'none' else 'not staged'})"
        for r in versions.itertuples()
    }
    version_id = st.selectbox(
        "Model version",
        list(labels),
        key="labelling.new.version",
        format_func=labels.__getitem__,
        help="Cases are sampled from this version's logged production predictions without a label.",
    )
    row = versions.set_index("version_id").loc[version_id]
    strategy = st.selectbox(
        "Sampling",
        list(STRATEGY_LABELS),
        key="labelling.new.strategy",
        format_func=STRATEGY_LABELS.__getitem__,
        help=strategy_help(),
    )
    segment = ""
    if strategy == "stratified":
        segment = st.selectbox(
            "Stratify by",
            ["", *list(row["feature_names"] or [])],
            key="labelling.new.segment",
            format_func=lambda f: "Predicted class" if not f else feature_name(f),
        )
    size_col, per_col = st.columns(2)
    size = size_col.number_input(
        "Number of cases",
        min_value=1,
        max_value=MAX_CAMPAIGN_SIZE,
        value=50,
        step=10,
        key="labelling.new.size",
    )
    per_case = per_col.selectbox(
        "Labellers per case",
        [1, 2, 3],
        key="labelling.new.per_case",
        help="Two or three labellers per case let you measure their agreement.",
    )
    hide = st.checkbox(
        "Hide the model's answer from labellers",
        value=True,
        key="labelling.new.hide",
        help="Labellers who see the model's answer tend to agree with it (anchoring).",
    )
    name = st.text_input("Name (optional)", key="labelling.new.name", max_chars=200)
    instructions = st.text_area(
        "Instructions for labellers (optional)",
        key="labelling.new.instructions",
        placeholder="What should labellers look at, and where do they find the true outcome?",
    )
    if not st.button(
        "Create campaign", key="labelling.new.create", type="primary", icon=":material/add_task:"
    ):
        return None
    return {
        "model_id": int(row["model_id"]),
        "version_id": version_id,
        "size": int(size),
        "strategy": strategy,
        "labels_per_item": int(per_case),
        "hide_prediction": bool(hide),
        "segment_feature": segment,
        "name": name,
        "instructions": instructions,
    }


def _case_settings_form(versions: pd.DataFrame) -> dict[str, Any] | None:
    """A model's link template to the system where its cases live, and its outcome horizon."""
    models = versions.drop_duplicates("model_id").set_index("model_id")
    model_id = st.selectbox(
        "Model",
        list(models.index),
        key="labelling.settings.model",
        format_func=lambda i: models.loc[i, "model"],
    )
    row = models.loc[model_id]
    template = st.text_input(
        "Link to a case",
        value=row["case_link_template"] or "",
        key=f"labelling.settings.link.{model_id}",
        placeholder="https://claims.example.com/cases/{request_id}",
        help="An http(s) address with {request_id} where the case's request id goes. Empty: no link.",
    )
    horizon = st.number_input(
        "Outcome horizon (days after the prediction)",
        min_value=0,
        max_value=3660,
        value=None if pd.isna(row["outcome_horizon_days"]) else int(row["outcome_horizon_days"]),
        step=1,
        key=f"labelling.settings.horizon.{model_id}",
        help="When the outcome is known, e.g. 365 for 'defaults within 12 months'. Predictions younger than "
        "this are not sampled, and the question asks what had happened by then. Empty: no horizon.",
    )
    reason = st.text_input("Reason", key="labelling.settings.reason", placeholder="e.g. new case system")
    if not st.button("Save case settings", key="labelling.settings.save", icon=":material/save:"):
        return None
    return {
        "model_id": int(model_id),
        "case_link_template": template,
        "outcome_horizon_days": None if horizon is None else int(horizon),
        "reason": reason,
    }


def _resolve_form(report: AgreementReport) -> dict[str, Any] | None:
    """For approvers: decide the label of a case the labellers disagreed on, with a reason."""
    waiting = report.disagreements[report.disagreements["status"] == "disagreement"]
    if waiting.empty:
        return None
    st.markdown("**Decide a disputed case**")
    rows = {int(r.item_id): r for r in waiting.itertuples()}
    item_id = st.selectbox(
        "Case",
        list(rows),
        key="labelling.resolve.item",
        format_func=lambda i: f"Case {rows[i].position}: {rows[i].answers}",
    )
    value: float | str | None
    if report.task == "multiclass_classification":
        value = st.radio(
            "Final class",
            list(report.class_names.values()),
            index=None,
            key="labelling.resolve.class",
            horizontal=True,
        )
    elif report.task == "binary_classification":
        names = report.class_names
        value = st.radio(
            "Final answer",
            list(names),
            index=None,
            key="labelling.resolve.value",
            format_func=names.__getitem__,
            horizontal=True,
        )
    else:
        value = st.number_input("Final value", key="labelling.resolve.value", value=None, step=1.0)
    reason = st.text_input(
        "Reason", key="labelling.resolve.reason", placeholder="e.g. confirmed in the case file"
    )
    if not st.button("Decide the label", key="labelling.resolve.save", icon=":material/gavel:"):
        return None
    return {"item_id": item_id, "value": value, "reason": reason}
