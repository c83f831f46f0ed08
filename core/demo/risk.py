"""Demo area step: risk assessments, a pending rule change and review meetings.

- Most models get an assessment of the four risks, dated in the past; the consumer-credit
  models are high-risk under EU AI Act Annex III point 5(b) (creditworthiness of natural
  persons); fraud detection is exempt from 5(b) and scored on materiality instead.
- "Account takeover detection" was assessed 230 days ago at tier high (6-monthly review), so
  its review is overdue; the leaver's model and the models without backup raise
  knowledge-loss flags from the registry itself.
- A pending proposal to tighten "Automatic decline" of "Retail credit scoring".
- A closed committee meeting 35 days ago with decisions and an action that is still open,
  and (``next_meeting``, a later step) the next meeting planned three days from today, its
  agenda generated from the registry: promotion requests, rule change, risk flags, alerts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from core import clock
from core.db.engine import write_session
from core.demo.catalogue import ANNA, MARCO, PRIYA, TOM
from core.governance import meetings, risk, rules

# (L, I) or (L, I, residual L, residual I, mitigations) per risk:
# unavailability, wrong predictions, decay, knowledge loss
Score = tuple[int, int] | tuple[int, int, int, int, str]

FALLBACK = "Fallback to the previous rule set; outage alert after one day without predictions."
REVIEW = "Manual review of cases near the decision threshold."
MONITOR = "Monthly drift and performance monitoring with alert thresholds; retraining on alert."
DOCS = "Documented pipeline, named backup owner, runbook in the team wiki."

# model -> (days ago, assessor, materiality, exposure EUR, AI Act class, Annex III area, scores, rationale)
ASSESSMENTS: dict[
    str, tuple[int, str, str, float | None, str, str, tuple[Score, Score, Score, Score], str]
] = {
    "Retail credit scoring": (
        60,
        PRIYA,
        "high",
        250_000_000,
        "high",
        "5(b)",
        ((3, 4, 2, 3, FALLBACK), (3, 5, 2, 4, REVIEW), (3, 4, 2, 4, MONITOR), (2, 4, 2, 3, DOCS)),
        "Decides consumer loan applications for natural persons: Annex III 5(b).",
    ),
    "Credit limit recommendation": (
        90,
        PRIYA,
        "high",
        80_000_000,
        "high",
        "5(b)",
        ((2, 3), (3, 4, 2, 3, REVIEW), (4, 4, 3, 3, MONITOR), (2, 3)),
        "Sets credit limits for private customers, which assesses their creditworthiness.",
    ),
    "SME default probability": (
        120,
        MARCO,
        "high",
        120_000_000,
        "minimal",
        "",
        ((2, 4, 2, 3, FALLBACK), (3, 4, 2, 4, REVIEW), (2, 4), (2, 3)),
        "Scores companies, not natural persons, so outside Annex III; material for capital.",
    ),
    "Mortgage early repayment": (
        150,
        MARCO,
        "medium",
        30_000_000,
        "minimal",
        "",
        ((2, 2), (2, 3), (3, 3, 2, 3, MONITOR), (2, 3)),
        "Feeds prepayment assumptions for hedging; no decision on individuals.",
    ),
    "Retail churn propensity": (
        100,
        TOM,
        "medium",
        5_000_000,
        "minimal",
        "",
        ((2, 2), (3, 2), (3, 3, 2, 3, MONITOR), (2, 2)),
        "Selects customers for retention offers; a wrong score costs an offer, not a right.",
    ),
    "Customer lifetime value": (
        200,
        TOM,
        "low",
        2_000_000,
        "minimal",
        "",
        ((2, 2), (2, 2), (2, 3), (2, 2)),
        "Used for segment reporting and offer budgets.",
    ),
    "Card fraud detection": (
        45,
        PRIYA,
        "high",
        40_000_000,
        "minimal",
        "",
        ((3, 5, 2, 4, FALLBACK), (3, 4, 3, 3, REVIEW), (4, 4, 3, 3, MONITOR), (2, 3)),
        "Real-time blocking of card payments; fraud detection is exempt from Annex III 5(b).",
    ),
    "Account takeover detection": (
        230,
        MARCO,
        "high",
        15_000_000,
        "minimal",
        "",
        ((3, 4, 2, 4, FALLBACK), (3, 3), (3, 3, 2, 3, MONITOR), (2, 3)),
        "Blocks suspicious log-ins in real time; customers are locked out when it errs.",
    ),
    "Merchant risk scoring": (
        80,
        PRIYA,
        "medium",
        10_000_000,
        "minimal",
        "",
        ((2, 3), (3, 3, 2, 3, REVIEW), (3, 3), (2, 3)),
        "Prioritises merchant reviews; analysts decide.",
    ),
    "Weekly demand forecast": (
        300,
        TOM,
        "low",
        3_000_000,
        "minimal",
        "",
        ((2, 2), (2, 2), (3, 2), (2, 2)),
        "Planning aid; planners adjust every forecast.",
    ),
    "Supplier delay risk": (
        180,
        TOM,
        "low",
        None,
        "minimal",
        "",
        ((1, 2), (2, 2), (2, 2), (2, 2)),
        "Advisory signal for buyers.",
    ),
    "Claims triage": (
        70,
        MARCO,
        "medium",
        12_000_000,
        "limited",
        "",
        ((3, 3, 2, 3, FALLBACK), (3, 3, 2, 3, REVIEW), (2, 3), (2, 2)),
        "Routes claims to fast track or an adjuster; claimants are told a system is used.",
    ),
    "Claim severity estimate": (
        110,
        MARCO,
        "medium",
        20_000_000,
        "minimal",
        "",
        ((2, 2), (3, 3), (3, 3, 2, 3, MONITOR), (2, 3)),
        "Sets initial reserves; actuaries review.",
    ),
    "Campaign response propensity": (
        260,
        TOM,
        "low",
        1_000_000,
        "minimal",
        "",
        ((1, 2), (2, 2), (2, 2), (2, 2)),
        "Chooses whom to mail; low stakes.",
    ),
    "Marketing mix budget model": (
        20,
        TOM,
        "low",
        None,
        "minimal",
        "",
        ((1, 1), (2, 2), (2, 2), (2, 2)),
        "In development; informs budget splits.",
    ),
}
NOTES = {
    "review_overdue": "Not assessed yet: the assessment is part of its validation, before any promotion.",
    "reassessment": "Noted; the owners confirm a backup or a new owner before the next committee.",
}
HUMAN_OVERSIGHT = (
    "Underwriters review every automatic decline on request and can override it; the credit "
    "committee can switch the model off and fall back to the scorecard."
)


def populate(engine: Engine, context: dict[str, Any]) -> None:
    """Assessments, a past meeting with an open action, and a pending rule proposal."""
    people, models, at, on = context["people"], context["models"], context["at"], context["on"]
    with write_session(engine) as s:
        for name, (days, who, materiality, exposure, ai_act, annex, scores, rationale) in ASSESSMENTS.items():
            with on(days, 11) as assessed_at:
                risk.assess_model(
                    s,
                    actor=people[who],
                    model_id=models[name],
                    scores=[_score(c, v) for c, v in zip(risk.RISK_LABELS, scores, strict=True)],
                    materiality=materiality,
                    exposure_amount=exposure,
                    ai_act_class=ai_act,
                    annex_iii_area=annex,
                    rationale=rationale,
                    human_oversight=HUMAN_OVERSIGHT if ai_act == "high" else "",
                    assessed_at=assessed_at,
                )
    _past_meeting(engine, people, at)
    with on(5, 10) as proposed, write_session(engine) as s:
        rules.propose_rule(
            s,
            actor=people[ANNA],
            model_id=models["Retail credit scoring"],
            name="Automatic decline",
            operator=">",
            threshold=0.33,
            outcome="decline application",
            at=proposed,
            description="Tighten the decline threshold after the Q3 loss review.",
        )


def next_meeting(engine: Engine, context: dict[str, Any]) -> None:
    """The committee planned three days from today. A step of its own, run after the promotion
    requests and budgets exist, so that its agenda lists them next to the risk items."""
    people, at, on = context["people"], context["at"], context["on"]
    # The agenda is drawn up just after the monitoring step's evaluation (today, noon).
    with on(0, 12, 5) as moment, write_session(engine) as s:
        meetings.create_meeting(
            s,
            actor=people[PRIYA],
            title="Model risk committee",
            held_at=at(-3, 14),
            attendee_ids=[people[e].id for e in (PRIYA, MARCO, TOM, ANNA)],
            at=moment,
        )


def _score(category: str, value: Score) -> dict[str, Any]:
    if len(value) == 2:
        return {"category": category, "likelihood": value[0], "impact": value[1]}
    like, imp, r_like, r_imp, mitigations = value
    return {
        "category": category,
        "likelihood": like,
        "impact": imp,
        "residual_likelihood": r_like,
        "residual_impact": r_imp,
        "mitigations": mitigations,
    }


def _past_meeting(engine: Engine, people: dict[str, Any], at: Any) -> None:
    """The committee 35 days ago: agenda as it stood then, decisions, an action still open."""
    held = at(35, 14)
    chair = people[PRIYA]
    present = [people[e].id for e in (PRIYA, MARCO, TOM, ANNA)]
    with write_session(engine) as s:
        with clock.frozen(held - timedelta(hours=2)) as drawn_up:
            meeting_id = meetings.create_meeting(
                s,
                actor=chair,
                title="Model risk committee",
                held_at=held,
                attendee_ids=present,
                at=drawn_up,
            )
        _decide_past_items(s, meeting_id, chair, present, held, people)
        with clock.frozen(held + timedelta(hours=2)) as closed:
            meetings.close_meeting(s, actor=chair, meeting_id=meeting_id, at=closed)


def _decide_past_items(
    s: Any, meeting_id: int, chair: Any, present: list[int], held: Any, people: dict[str, Any]
) -> None:
    with clock.frozen(held):
        view = meetings.meeting_view(s, meeting_id)
        for item in view.items:
            if item.kind == "review_overdue" and item.evidence.get("last_assessed"):
                meetings.record_decision(
                    s,
                    actor=chair,
                    item_id=item.id,
                    outcome="action",
                    present_ids=present,
                    at=held,
                    comment="Re-assess before the next committee; the outage playbook must be part of it.",
                    action_title=f"Re-assess {item.title.removeprefix('Review overdue: ')}",
                    action_owner_id=people[TOM].id,
                    action_due=(held + timedelta(days=14)).date(),
                )
            else:
                meetings.record_decision(
                    s,
                    actor=chair,
                    item_id=item.id,
                    outcome="noted",
                    present_ids=present,
                    at=held,
                    comment=NOTES.get(item.kind, "Discussed; no change needed now."),
                )
