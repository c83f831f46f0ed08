"""Demo area step: promotion requests in every state an approver meets.

- "Retail credit scoring" v4 (staging) -> production, requested by Anna Dekker: the model is
  high-risk, so it needs two approvers; Priya Shah approved, the second approval is pending.
- "Retail churn propensity" v3 (staging) -> production, requested by Sophie Laurent: its model
  card leaves the evaluation section blank, so the "model card complete" gate fails and an
  approver can only approve with a written override; Priya asked a question in a comment.
- "Claims triage" v3 (staging) -> production, requested by Ruth Okafor 20 days ago and rejected
  by Marco Rossi: a decided request, closed for good.

Requests are dated from the context; their evidence is evaluated at build time. This step
runs last, so that the versions' stages and cards no longer change under the frozen evidence.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from core.db.engine import write_session
from core.demo.catalogue import ANNA, MARCO, PRIYA, RUTH, SOPHIE
from core.governance import promotions


def populate(engine: Engine, context: dict[str, Any]) -> None:
    people, versions, on = context["people"], context["versions"], context["on"]

    def request(model: str, version: int, who: str, days_ago: int, justification: str) -> int:
        with on(days_ago, hour=10) as moment, write_session(engine) as session:
            return promotions.request_promotion(
                session,
                actor=people[who],
                version_id=versions[model][version],
                target_stage="production",
                justification=justification,
                at=moment,
            )

    credit = request(
        "Retail credit scoring",
        4,
        ANNA,
        3,
        "v4 adds the bureau's new affordability fields; out-of-time AUC is up and the approval rate at "
        "the current cut-off is unchanged. Shadow-scored in staging for 12 days without incidents.",
    )
    with on(2, hour=15) as moment, write_session(engine) as session:
        promotions.approve(
            session,
            actor=people[PRIYA],
            request_id=credit,
            at=moment,
            comment="Validation report reviewed; challenger results reproduced on the holdout.",
        )

    churn = request(
        "Retail churn propensity",
        3,
        SOPHIE,
        1,
        "Retrained after the app redesign changed how customers use the product; the retention team "
        "wants it live before the spring campaign.",
    )
    with on(1, hour=9) as moment, write_session(engine) as session:
        promotions.add_comment(
            session,
            actor=people[PRIYA],
            request_id=churn,
            at=moment,
            body="The evaluation section of the model card is empty: which months is the "
            "holdout, and was it scored before or after the redesign?",
        )

    claims = request(
        "Claims triage",
        3,
        RUTH,
        20,
        "Routes more simple claims to straight-through processing; handlers asked for it.",
    )
    with on(18, hour=11) as moment, write_session(engine) as session:
        promotions.reject(
            session,
            actor=people[MARCO],
            request_id=claims,
            at=moment,
            comment="The holdout has too few storm-damage claims to judge the new routing; "
            "re-evaluate after the autumn season and request again.",
        )
