"""Render helpers of the Labelling page: the case card, answer buttons, campaign tables and
agreement. Every answer button carries the id of the case it was drawn with, so a click always
labels the case the labeller saw, even if another tab moved on meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.explain.sentence import readable_name, readable_value
from core.monitoring.labelling import MAX_CAMPAIGN_SIZE, STRATEGY_TEXT, AgreementReport, Case

STRATEGY_LABELS = {
    "random": "Random sample",
    "stratified": "Stratified by class or segment",
    "uncertainty": "Uncertain cases",
    "disagreement": "Model and rule disagree",
}
Answer = Callable[..., None]  # answer(item_id, **submit_label kwargs)


def feature_name(name: str) -> str:
    """A column name as people read it, capitalised: "prior_claims_5y" -> "Prior claims in the last 5 years",
    "avg_ticket_eur" -> "Avg ticket (EUR)", "mcc_group" -> "MCC group"."""
    text = readable_name(name)
    return text[:1].upper() + text[1:]


def feature_value(value: Any, feature: str = "") -> str:
    """A value as people read it (core.explain.sentence.readable_value), missing said in words."""
    return readable_value(value, feature, missing="— (missing)")


def features_table(case: Case) -> None:
    frame = pd.DataFrame(
        {
            "Feature": [feature_name(n) for n, _ in case.features],
            "Value": [feature_value(v, n) for n, v in case.features],
        }
    )
    st.table(frame, hide_index=True)


def progress(case: Case) -> None:
    p = case.progress
    st.progress(
        p.my_fraction,
        text=f"You have answered {p.answered_by_me} of {p.answered_by_me + p.remaining_for_me} "
        f"cases for you in this campaign · {p.remaining_for_me} to go",
    )


def case_header(case: Case) -> None:
    st.markdown(f"#### Case {case.position} of {case.size} · {case.model_name}")
    st.caption(f"Prediction made {case.ts:%Y-%m-%d %H:%M} UTC")
    if case.instructions:
        st.info(case.instructions, icon=":material/info:")


def model_answer(case: Case) -> None:
    if case.prediction is None:
        st.caption(
            ":material/visibility_off: The model's answer is hidden in this campaign, so that it does not "
            "sway your judgement."
        )
        return
    if case.task == "binary_classification":
        said = case.class_names.get(int(case.prediction), f"{case.prediction:g}")
        score = f" (score {case.score:.2f})" if case.score is not None else ""
        st.caption(f"The model said: **{said}**{score}")
    else:
        st.caption(f"The model predicted **{feature_value(case.prediction)}**")


def answer_panel(case: Case, answer: Answer) -> None:
    """The question, the label buttons (or a number), 'unsure', 'skip' and a comment."""
    with st.container(border=True):
        st.markdown(case.question)
        model_answer(case)
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
                on_click=answer,
                args=(case.item_id, case.position),
                kwargs={"value": 1.0, "comment_key": comment_key},
            )
            no.button(
                case.class_names[0],
                key="labelling.answer.0",
                type="primary",
                width="stretch",
                on_click=answer,
                args=(case.item_id, case.position),
                kwargs={"value": 0.0, "comment_key": comment_key},
            )
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
                on_click=answer,
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
            on_click=answer,
            args=(case.item_id, case.position),
            kwargs={"unsure": True, "comment_key": comment_key},
        )
        skip.button(
            "Skip",
            key="labelling.skip",
            icon=":material/skip_next:",
            width="stretch",
            help="Leave this case to someone else; you will not see it again.",
            on_click=answer,
            args=(case.item_id, case.position),
            kwargs={"skip": True, "comment_key": comment_key},
        )


def campaign_option(row: pd.Series) -> str:
    return f"#{row['id']} {row['name']} — {int(row['remaining_for_me'])} case(s) waiting for you"


def campaigns_table(frame: pd.DataFrame, *, key: str) -> None:
    shown = frame.assign(
        progress=(frame["items_done"] / frame["size"]).astype(float),
        strategy=frame["strategy"].map(STRATEGY_LABELS),
        prediction=frame["hide_prediction"].map({True: "hidden", False: "shown"}),
    )[
        [
            "name",
            "progress",
            "items_done",
            "size",
            "status",
            "strategy",
            "labels_per_item",
            "prediction",
            "model",
            "version",
            "created_at",
            "id",
        ]
    ]
    st.dataframe(
        shown,
        key=key,
        hide_index=True,
        width="stretch",
        column_config={
            "id": st.column_config.NumberColumn("Id", width="small"),
            "name": st.column_config.TextColumn("Campaign", width="large"),
            "model": "Model",
            "version": st.column_config.NumberColumn("Version", format="v%d"),
            "strategy": st.column_config.TextColumn("Sampling", help=strategy_help()),
            "size": "Cases",
            "items_done": st.column_config.NumberColumn(
                "Decided", help="Cases whose label is final or awaits review"
            ),
            "progress": st.column_config.ProgressColumn(
                "Progress", min_value=0.0, max_value=1.0, format="percent"
            ),
            "labels_per_item": "Labels per case",
            "prediction": "Model's answer",
            "status": "Status",
            "created_at": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD", timezone="UTC"),
        },
    )


def agreement(report: AgreementReport) -> None:
    names = {"cohen": "Cohen's kappa", "fleiss": "Fleiss' kappa", "mean_abs_difference": "Mean difference"}
    left, right, third = st.columns(3)
    value = "—" if report.value is None else f"{report.value:.2f}"
    left.metric(names.get(report.method, "Agreement"), value, help=_kappa_help(report.method))
    right.metric("Cases compared", report.n_items)
    third.metric("Labellers", report.n_labellers)
    st.caption(report.note[:1].upper() + report.note[1:] + "." if report.note else "")
    if report.disagreements.empty:
        st.caption("No disagreements to review.")
        return
    st.markdown("**Disagreements to review**")
    st.dataframe(
        report.disagreements.drop(columns=["item_id"]),
        key="labelling.disagreements",
        hide_index=True,
        width="stretch",
        column_config={
            "position": "Case",
            "prediction_log_id": "Prediction id",
            "status": st.column_config.TextColumn(
                "Status", help="disagreement: awaits an approver's decision"
            ),
            "answers": "Answers",
            "comments": "Comments",
        },
    )


def _kappa_help(method: str) -> str:
    if method in ("cohen", "fleiss"):
        return (
            "Agreement beyond chance: 1 is perfect, 0 is what chance alone gives. Above 0.6 is usually "
            "considered substantial; below 0.4, check the instructions before trusting the labels."
        )
    return "Mean absolute difference between two labellers' values, in the target's unit."


def strategy_help() -> str:
    return "\n".join(f"- **{STRATEGY_LABELS[k]}**: {v}." for k, v in STRATEGY_TEXT.items())


def campaign_form(versions: pd.DataFrame) -> dict[str, Any] | None:
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


def resolve_form(report: AgreementReport) -> dict[str, Any] | None:
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
    value = st.number_input(
        "Final label",
        key="labelling.resolve.value",
        value=None,
        step=1.0,
        help="For a classifier: 1 (it happened) or 0 (it did not).",
    )
    reason = st.text_input(
        "Reason", key="labelling.resolve.reason", placeholder="e.g. confirmed in the case file"
    )
    if not st.button("Decide the label", key="labelling.resolve.save", icon=":material/gavel:"):
        return None
    return {"item_id": item_id, "value": value, "reason": reason}
