"""Render helpers of the Labelling page: the case card, campaign tables and agreement between
labellers. The answer buttons and the forms are app/panels/labelling.py."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components.text import code, emphasised, plain
from core.explain.sentence import readable_name, readable_value
from core.monitoring.labelling import STRATEGY_TEXT, AgreementReport, Case, Measure

STRATEGY_LABELS = {
    "random": "Random sample",
    "stratified": "Stratified by class or segment",
    "uncertainty": "Uncertain cases",
    "disagreement": "Model and rule disagree",
}


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
            "Feature": [plain(feature_name(n)) for n, _ in case.features],  # st.table renders Markdown
            "Value": [plain(feature_value(v, n)) for n, v in case.features],
        }
    )
    st.table(frame, hide_index=True)


def progress(case: Case) -> None:
    """How far this labeller is: answers, and apart from them the cases marked unsure or skipped."""
    p = case.progress
    aside = [f"{p.unsure_by_me} unsure"] * bool(p.unsure_by_me) + [f"{p.skipped_by_me} skipped"] * bool(
        p.skipped_by_me
    )
    st.progress(
        p.my_fraction,
        text=f"You have labelled {p.answered_by_me} case{'s' if p.answered_by_me != 1 else ''}"
        + (f" ({', '.join(aside)}, not counted as answers)" if aside else "")
        + f" · {p.remaining_for_me} to go in this campaign",
    )


def case_header(case: Case) -> None:
    """Which case this is: its business identifier, when the prediction was made, and a link to the
    case in the system where it lives."""
    st.markdown(f"#### Case {case.position} of {case.size} · {plain(case.model_name)}")
    ident, link = st.columns([3, 2], vertical_alignment="center")
    ident.markdown(
        (f"Request {code(case.request_id)} · " if case.request_id else "No request id logged · ")
        + f"prediction made {case.ts:%Y-%m-%d %H:%M} UTC"
    )
    if case.case_url:
        link.link_button(
            "Open the case",
            case.case_url,
            icon=":material/open_in_new:",
            help="In the system where the case lives",
        )
    if case.instructions:
        st.info(plain(case.instructions), icon=":material/info:")


def model_answer(case: Case) -> None:
    if case.prediction is None:
        st.caption(
            ":material/visibility_off: The model's answer is hidden in this campaign, so that it does not "
            "sway your judgement."
        )
        return
    if case.task in ("binary_classification", "multiclass_classification"):
        said = case.class_names.get(int(case.prediction), f"{case.prediction:g}")
        score = f" (score {case.score:.2f})" if case.score is not None else ""
        st.caption(f"The model said: **{plain(said)}**{score}")
    else:
        st.caption(f"The model predicted **{plain(feature_value(case.prediction))}**")


def question(case: Case) -> None:
    st.markdown(emphasised(case.question))
    if case.outcome_by is not None:
        st.caption(
            f"Answer from what was known by {case.outcome_by:%Y-%m-%d}, the end of the outcome horizon."
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


MEASURE_NAMES = {
    "krippendorff": "Krippendorff's alpha",
    "cohen": "Cohen's kappa",
    "fleiss": "Fleiss' kappa",
    "mean_abs_difference": "Mean difference",
}


def agreement(report: AgreementReport) -> None:
    """Krippendorff's alpha over every compared case, the kappa that applies beside it, and the
    cases the labellers disagree on (answers in words)."""
    first, second, third, fourth = st.columns(4)
    alpha = report.measure("krippendorff")
    first.metric(MEASURE_NAMES["krippendorff"], _value(alpha), help=_kappa_help("krippendorff"))
    other = next((m for m in report.measures if m.method != "krippendorff"), None)
    if other is not None:
        second.metric(MEASURE_NAMES[other.method], _value(other), help=_kappa_help(other.method))
    else:
        second.metric(
            "Cohen's / Fleiss' kappa",
            "—",
            help="Cohen's kappa needs the same two labellers on every case, Fleiss' kappa the same number of "
            "labels on every case; Krippendorff's alpha needs neither.",
        )
    third.metric("Cases compared", report.n_items)
    fourth.metric("Labellers", report.n_labellers)
    notes = [m.note for m in report.measures] or [report.note]
    st.caption(" · ".join(plain(n[:1].upper() + n[1:]) + "." for n in notes if n))
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


def _value(measure: Measure | None) -> str:
    return "—" if measure is None or measure.value is None else f"{measure.value:.2f}"


def _kappa_help(method: str) -> str:
    if method == "krippendorff":
        return (
            "Agreement beyond chance over every case with two or more labels, whatever the number of labellers "
            "on each: 1 is perfect, 0 is chance. Above 0.8 is reliable; from 0.667, tentative conclusions only."
        )
    if method in ("cohen", "fleiss"):
        return (
            "Agreement beyond chance: 1 is perfect, 0 is what chance alone gives. Above 0.6 is usually "
            "considered substantial; below 0.4, check the instructions before trusting the labels."
        )
    return "Mean absolute difference between two labellers' values, in the target's unit."


def strategy_help() -> str:
    return "\n".join(f"- **{STRATEGY_LABELS[k]}**: {v}." for k, v in STRATEGY_TEXT.items())
