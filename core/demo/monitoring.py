"""Demo area step for feedback labelling, realised performance and health.

Creates one open labelling campaign per model whose labels come from people (Lisa Meyer,
Sven Olsen), has both labellers answer the first cases (with one disagreement per campaign,
so agreement and the review list have something to show), then computes health and alerts
for every model so the inventory shows the outage, the concept drift and (when the drift
step ran before this one) the data drift. Every timestamp derives from the demo's ``today``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from core import audit
from core.db.engine import read_session, write_session
from core.db.models import Alert, CampaignItem, Label, LabellingCampaign, ModelHealth, PredictionLog
from core.demo.catalogue import DEMO_FACTS, LISA, PRIYA, SVEN, TOM
from core.monitoring import alerts, labelling

CAMPAIGN_SIZE = 40
CASES_LABELLED = 6
DISAGREEMENT_AT = 3  # the case the two labellers answer differently
WINDOW_DAYS = 60  # campaigns sample the last two months' unlabelled predictions
STRATEGIES = {  # model -> (strategy, segment feature); others get a random sample
    "Card fraud detection": ("uncertainty", ""),
    "Merchant risk scoring": ("stratified", ""),
    "Claims triage": ("stratified", ""),
}
INSTRUCTIONS = {
    SVEN: "Open the case in the fraud case manager and judge from the investigation notes, not from the score.",
    LISA: "Look the claim up in the claims system; judge from the settled file, not from the first notice.",
}


def populate(engine: Engine, context: dict[str, Any]) -> None:
    """Campaigns with a few answered cases, then health and alerts of every model."""
    people = context["people"]
    rng = context["rng"]("monitoring_feedback")
    campaigns = []
    for name, labeller in sorted(DEMO_FACTS["labelled_by_people"].items()):
        if name not in context["production_versions"]:
            continue
        creator = people[TOM] if labeller == SVEN else people[PRIYA]
        strategy, segment = STRATEGIES.get(name, ("random", ""))
        with write_session(engine) as session:
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
                period_from=context["today"] - timedelta(days=WINDOW_DAYS),
                period_to=context["today"],
                name=f"{name}: recent cases for expert review",
                instructions=INSTRUCTIONS[labeller],
                seed=int(rng.integers(0, 2**31 - 1)),
            )
        campaigns.append(created.campaign_id)
        _answer_first_cases(engine, created.campaign_id, [people[SVEN], people[LISA]], rng)
    as_of = context["at"](0, hour=12)
    with write_session(engine) as session:
        results = alerts.evaluate_health(session, actor=context["system"], as_of=as_of)
    _date(engine, context, campaigns, as_of, results)


def _answer_first_cases(engine: Engine, campaign_id: int, labellers: list[Any], rng: Any) -> None:
    """Both labellers answer the first cases; they disagree on one of them."""
    first, second = labellers
    answers: list[tuple[int, int, str, float]] = []  # item id, position, task, first labeller's value
    for _ in range(CASES_LABELLED):
        with read_session(engine) as session:
            case = labelling.next_case(session, campaign_id=campaign_id, labeller_id=first.id)
            if case is None:
                break
            prediction = session.get(
                PredictionLog, session.get(CampaignItem, case.item_id).prediction_log_id
            ).prediction  # type: ignore[union-attr]
        value = _expert_answer(case.task, prediction, rng)
        answers.append((case.item_id, case.position, case.task, value))
        with write_session(engine) as session:
            labelling.submit_label(
                session,
                actor=first,
                item_id=case.item_id,
                value=value,
                comment="checked in the source system" if case.position == 1 else "",
            )
    for item_id, position, task, value in answers:
        differ = position == DISAGREEMENT_AT
        with write_session(engine) as session:
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


def _date(
    engine: Engine, context: dict[str, Any], campaigns: list[int], as_of: Any, results: list[Any]
) -> None:
    """Put this step's timestamps on the demo's calendar, so two builds give the same registry."""
    created = context["at"](2, hour=9)
    with write_session(engine) as session:
        session.execute(
            update(LabellingCampaign).where(LabellingCampaign.id.in_(campaigns)).values(created_at=created)
        )  # type: ignore[union-attr]
        labels = (
            session.execute(select(Label).where(Label.campaign_id.in_(campaigns)).order_by(Label.id))
            .scalars()
            .all()
        )
        for i, label in enumerate(labels):
            label.created_at = context["at"](1, hour=10, minute=i % 60)
            session.add(label)
        items = select(CampaignItem.prediction_log_id).where(
            CampaignItem.campaign_id.in_(campaigns),  # type: ignore[attr-defined]
            CampaignItem.status == "final",
        )
        session.execute(
            update(PredictionLog)
            .where(PredictionLog.id.in_(items))
            .values(labelled_at=context["at"](1, hour=11))
        )  # type: ignore[union-attr]
        session.execute(update(Alert).values(opened_at=as_of, updated_at=as_of))
        session.execute(update(ModelHealth).values(updated_at=as_of))
        audit.record(
            session,
            actor=context["system"],
            action="demo.monitoring_dated",
            object_type="registry",
            object_id="demo",
            after={
                "campaigns": len(campaigns),
                "labels": len(labels),
                "health": {r.model_name: r.status for r in results},
            },
            reason="Demo portfolio: campaign, label and alert times set to the portfolio's calendar.",
        )
