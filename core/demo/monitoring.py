"""Demo area step for feedback labelling, realised performance and health.

Gives each model whose labels come from people (Lisa Meyer, Sven Olsen) a link to the system where
its cases live and an outcome horizon, creates one open labelling campaign per such model, has both labellers answer the first cases (with one disagreement per campaign,
so agreement and the review list have something to show), then computes health and alerts
for every model so the inventory shows the outage, the concept drift, the segment whose error
rate grows (Claims triage, web claims) and (when the drift step ran before this one) the data
drift. The triage model's claimants' age band is attached from a join file (a sensitive
attribute that is not a model input). Every timestamp derives from the demo's ``today``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlmodel import col

from core.db.engine import read_session, write_session
from core.db.models import CampaignItem, PredictionLog
from core.demo.catalogue import DEMO_FACTS, LISA, PRIYA, SVEN, TOM
from core.monitoring import alerts, labelling
from core.registry import attributes, services

CAMPAIGN_SIZE = 40
CASES_LABELLED = 6
DISAGREEMENT_AT = 3  # the case the two labellers answer differently
WINDOW_DAYS = 60  # campaigns sample two months of unlabelled predictions whose outcome horizon passed
STRATEGIES = {  # model -> (strategy, segment feature); others get a random sample
    "Card fraud detection": ("uncertainty", ""),
    "Merchant risk scoring": ("stratified", ""),
    "Claims triage": ("stratified", ""),
}
# Where each labeller's cases live (a request id goes into {request_id}), and how long after a
# prediction its outcome is known, as the model's target says (a question asks about a horizon
# that has passed, so the campaign reaches that far back).
CASE_SYSTEMS = {
    SVEN: "https://case-manager.fraud.example/cases/{request_id}",
    LISA: "https://claims.insurer.example/claims/{request_id}",
}
OUTCOME_HORIZON_DAYS = {
    "Card fraud detection": 60,  # chargebacks and cardholder reports come within about two months
    "Account takeover detection": 30,
    "Merchant risk scoring": 182,  # "terminated ... within 6 months"
    "Claims triage": 30,
    "Claim severity estimate": 90,
}
INSTRUCTIONS = {
    SVEN: "Open the case in the fraud case manager and judge from the investigation notes, not from the score.",
    LISA: "Look the claim up in the claims system; judge from the settled file, not from the first notice.",
}


def populate(engine: Engine, context: dict[str, Any]) -> None:
    """Campaigns with a few answered cases, then health and alerts of every model."""
    people = context["people"]
    rng = context["rng"]("monitoring_feedback")
    for name, labeller in sorted(DEMO_FACTS["labelled_by_people"].items()):
        if name not in context["production_versions"]:
            continue
        creator = people[TOM] if labeller == SVEN else people[PRIYA]
        strategy, segment = STRATEGIES.get(name, ("random", ""))
        with context["on"](3, hour=9), write_session(engine) as session:
            services.update_model(
                session,
                actor=context["system"],
                model_id=context["models"][name],
                case_link_template=CASE_SYSTEMS[labeller],
                outcome_horizon_days=OUTCOME_HORIZON_DAYS.get(name, 30),
                reason="Labellers open each case in its own system and judge it once its outcome is known.",
            )
        with context["on"](2, hour=9), write_session(engine) as session:
            created = labelling.create_campaign(
                session,
                actor=creator,
                model_id=context["models"][name],
                size=CAMPAIGN_SIZE,
                strategy=strategy,
                segment_feature=segment,
                labels_per_item=2,
                hide_prediction=True,
                version_id=context["production_versions"][name],
                period_from=context["today"]
                - timedelta(days=WINDOW_DAYS + OUTCOME_HORIZON_DAYS.get(name, 30)),
                period_to=context["today"],
                name=f"{name}: recent cases for expert review",
                instructions=INSTRUCTIONS[labeller],
                seed=int(rng.integers(0, 2**31 - 1)),
            )
        _answer_first_cases(engine, context, created.campaign_id, [people[SVEN], people[LISA]], rng)
    _sensitive_attributes(engine, context)
    with context["on"](0, hour=12) as as_of, write_session(engine) as session:
        alerts.evaluate_health(session, actor=context["system"], as_of=as_of)


SENSITIVE_MODEL = "Claims triage"  # its claimants' age band arrives from the CRM in a join file


def _sensitive_attributes(engine: Engine, context: dict[str, Any]) -> None:
    """A join file of the claimants' age band (not a model input) for the triage model's logged
    requests: measured per group on the Performance page, with no disparity beyond the limit."""
    if SENSITIVE_MODEL not in context["production_versions"]:
        return
    rng = context["rng"]("segments")
    with read_session(engine) as session:
        ids = (
            session.execute(
                select(col(PredictionLog.request_id))
                .where(col(PredictionLog.model_version_id) == context["production_versions"][SENSITIVE_MODEL])
                .order_by(col(PredictionLog.id))
            )
            .scalars()
            .all()
        )
    bands = rng.choice(["18-34", "35-54", "55-74", "75+"], size=len(ids), p=[0.3, 0.38, 0.25, 0.07])
    frame = pd.DataFrame({"request_id": ids, "age_band": bands})
    with context["on"](1, hour=7), write_session(engine) as session:
        attributes.attach_attributes(
            session, actor=context["system"], model_id=context["models"][SENSITIVE_MODEL], frame=frame
        )


def _answer_first_cases(
    engine: Engine, context: dict[str, Any], campaign_id: int, labellers: list[Any], rng: Any
) -> None:
    """Both labellers answer the first cases yesterday morning; they disagree on one of them."""
    first, second = labellers
    answers: list[tuple[int, int, str, float]] = []  # item id, position, task, first labeller's value
    for _ in range(CASES_LABELLED):
        with read_session(engine) as session:
            case = labelling.next_case(session, campaign_id=campaign_id, labeller_id=first.id)
            if case is None:
                break
            item = session.get(CampaignItem, case.item_id)
            logged = session.get(PredictionLog, item.prediction_log_id) if item is not None else None
            assert logged is not None, f"campaign item {case.item_id} has no logged prediction"
            prediction = logged.prediction
        value = _expert_answer(case.task, prediction, rng)
        answers.append((case.item_id, case.position, case.task, value))
        with context["on"](1, hour=10, minute=len(answers)), write_session(engine) as session:
            labelling.submit_label(
                session,
                actor=first,
                item_id=case.item_id,
                value=value,
                comment="checked in the source system" if case.position == 1 else "",
            )
    for item_id, position, task, value in answers:
        differ = position == DISAGREEMENT_AT
        with context["on"](1, hour=11, minute=position), write_session(engine) as session:
            labelling.submit_label(
                session,
                actor=second,
                item_id=item_id,
                value=_disagree(task, value) if differ else value,
                comment="I read the file differently: see my notes" if differ else "",
            )


def _expert_answer(task: str, prediction: float, rng: Any) -> float:
    """What an expert finds: mostly the model's answer, sometimes not (the model is not perfect)."""
    if task == "binary_classification":
        return float(1 - prediction) if rng.uniform() < 0.25 else float(prediction)
    return round(float(prediction) * float(rng.uniform(0.8, 1.25)), 2)


def _disagree(task: str, value: float) -> float:
    return 1.0 - value if task == "binary_classification" else round(value * 1.3, 2)
