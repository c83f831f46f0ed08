"""A small but complete portfolio for the inventory, model and owners reads and pages.

Four models over four business units, built through the core services: stage history with a
replaced production version, owners (one who has left, one model without backup, one model
with no owner at all), a business process, datasets, a deployment, a business rule,
predictions (through the daily rollup), costs in two currencies and health rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine

from core import clock
from core.db.engine import write_session
from core.db.models import ModelHealth
from core.registry import ingest, services
from tests.factories import World, approved_rule, make_world

CARD_FULL = {
    "card_training_data": "Loan applications 2021-2023, 180k rows.",
    "card_evaluation": "Holdout of 2023 Q4; ROC AUC 0.81.",
    "card_limitations": "Not validated for applicants under 21.",
    "card_ethical_considerations": "No protected attributes used; disparate impact checked quarterly.",
    "card_caveats": "Retrain when the approval rate moves by more than 5 points.",
}


@dataclass
class Portfolio:
    world: World
    credit: int
    churn: int
    fraud: int
    demand: int
    credit_versions: list[int]
    bianca: int  # accountable owner of credit scoring and fraud detection
    tom: int  # technical owner who has left
    pia: int  # backup
    promoted_v1_at: datetime
    promoted_v2_at: datetime


def make_portfolio(engine: Engine, *, today: datetime | None = None) -> Portfolio:
    """Build the portfolio; ``today`` anchors predictions and costs (default: now)."""
    now = today or clock.now()
    world = make_world(engine)
    with write_session(engine) as s:
        bianca = services.create_person(
            s,
            actor=world.system,
            name="Bianca Business",
            email="bianca@example.com",
            team="Credit",
            roles=[("viewer", "")],
        )
        tom = services.create_person(
            s,
            actor=world.system,
            name="Tom Tech",
            email="tom@example.com",
            team="Data science",
            roles=[("model_owner", "")],
        )
        pia = services.create_person(
            s,
            actor=world.system,
            name="Pia Backup",
            email="pia@example.com",
            team="Data science",
            roles=[("viewer", "")],
        )
        process = services.create_business_process(
            s,
            actor=world.owner,
            name="Loan approval",
            business_unit="Credit risk",
            kpi="Default rate",
            kpi_unit="%",
        )
        source = services.create_data_source(s, actor=world.owner, name="Core banking")
        train = services.create_dataset(
            s, actor=world.owner, name="Loans", version="2023", data_source_id=source, row_count=180000
        )
        credit = services.register_model(
            s,
            actor=world.owner,
            name="Credit scoring",
            business_unit="Credit risk",
            business_process_id=process,
            status="production",
            purpose="Score loan applications",
            intended_use="Consumer loans up to 50k",
            out_of_scope_uses="Mortgages",
            primary_metric="roc_auc",
            metric_thresholds={"roc_auc": {"min": 0.7}},
            methodology="gradient boosted trees",
            target="default within 12 months",
        )
        credit_versions = [
            services.register_version(
                s,
                actor=world.owner,
                model_id=credit,
                metrics={"roc_auc": 0.78 + i / 100, "accuracy": 0.7 + i / 100},
                params={"depth": 3 + i},
                feature_names=["income", "age"],
                git_commit=f"c0ffee{i}",
                training_dataset_id=train,
                evaluation_dataset_id=train,
                created_at=now - timedelta(days=300 - 100 * i),
                **(CARD_FULL if i == 1 else {"card_training_data": "Loan applications 2021-2024."}),
            )
            for i in range(3)
        ]
        promoted_v1_at = now - timedelta(days=250)
        promoted_v2_at = now - timedelta(days=150)
        services.apply_stage_change(
            s,
            actor=world.system,
            version_id=credit_versions[0],
            to_stage="production",
            reason="first release",
            at=promoted_v1_at,
        )
        services.apply_stage_change(
            s,
            actor=world.system,
            version_id=credit_versions[1],
            to_stage="production",
            reason="better AUC",
            at=promoted_v2_at,
        )
        services.apply_stage_change(
            s,
            actor=world.system,
            version_id=credit_versions[2],
            to_stage="staging",
            reason="candidate",
            at=now - timedelta(days=5),
        )
        services.create_deployment(
            s,
            actor=world.owner,
            version_id=credit_versions[1],
            environment="production",
            endpoint="https://scoring.internal/credit",
            business_process_id=process,
            since=promoted_v2_at,
        )
        approved_rule(
            s,
            proposer=world.owner,
            approver=world.approver,
            model_id=credit,
            name="Auto-approve",
            operator=">",
            threshold=0.69,
            outcome="approve",
            effective_from=promoted_v2_at,
        )
        for person, role in (
            (bianca, "business_owner"),
            (tom, "technical_owner"),
            (pia, "backup"),
            (world.approver.id, "validator"),
        ):
            services.assign_owner(s, actor=world.owner, model_id=credit, person_id=person, role=role)

        churn = services.register_model(
            s,
            actor=world.owner,
            name="Churn propensity",
            business_unit="Marketing",
            status="validation",
            purpose="Find customers about to leave",
        )
        churn_v1 = services.register_version(
            s,
            actor=world.owner,
            model_id=churn,
            metrics={"roc_auc": 0.74},
            created_at=now - timedelta(days=40),
        )
        services.apply_stage_change(
            s,
            actor=world.system,
            version_id=churn_v1,
            to_stage="staging",
            reason="trial",
            at=now - timedelta(days=30),
        )
        services.register_version(
            s,
            actor=world.owner,
            model_id=churn,
            metrics={"roc_auc": 0.76},
            created_at=now - timedelta(days=10),
        )
        services.assign_owner(
            s, actor=world.owner, model_id=churn, person_id=world.owner.id, role="business_owner"
        )
        services.assign_owner(s, actor=world.owner, model_id=churn, person_id=tom, role="technical_owner")

        fraud = services.register_model(
            s,
            actor=world.owner,
            name="Fraud detection",
            business_unit="Fraud",
            status="production",
            purpose="Flag card payments for review",
        )
        fraud_v1 = services.register_version(
            s,
            actor=world.owner,
            model_id=fraud,
            metrics={"roc_auc": 0.91},
            created_at=now - timedelta(days=90),
        )
        services.apply_stage_change(
            s,
            actor=world.system,
            version_id=fraud_v1,
            to_stage="production",
            reason="go-live",
            at=now - timedelta(days=80),
        )
        for person, role in ((bianca, "business_owner"), (tom, "technical_owner"), (pia, "backup")):
            services.assign_owner(s, actor=world.owner, model_id=fraud, person_id=person, role=role)

        demand = services.register_model(
            s,
            actor=world.owner,
            name="Demand forecast",
            business_unit="Supply chain",
            task="regression",
            purpose="",
        )
    _log_activity(engine, world, now, credit_versions[1], fraud_v1)
    with write_session(engine) as s:
        services.set_person_active(
            s, actor=world.system, person_id=tom, active=False, left_on=(now - timedelta(days=20)).date()
        )
        # Monitoring writes model_health; these rows stand in for its output.
        s.add(
            ModelHealth(
                model_id=credit,
                status="alert",
                reasons=[{"kind": "drift", "level": "alert", "message": "Drift in 4 of 10 features"}],
            )
        )
        s.add(
            ModelHealth(
                model_id=churn,
                status="warning",
                reasons=[{"kind": "label_coverage", "level": "warning", "message": "Few labels"}],
            )
        )
        s.add(ModelHealth(model_id=fraud, status="ok", reasons=[]))
    return Portfolio(
        world=world,
        credit=credit,
        churn=churn,
        fraud=fraud,
        demand=demand,
        credit_versions=credit_versions,
        bianca=bianca,
        tom=tom,
        pia=pia,
        promoted_v1_at=promoted_v1_at,
        promoted_v2_at=promoted_v2_at,
    )


def _log_activity(engine: Engine, world: World, now: datetime, credit_v2: int, fraud_v1: int) -> None:
    """Predictions (3 days of credit scoring, 1 old day of fraud) and 40 days of costs."""
    day0 = now.astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    credit_ts = [day0 - timedelta(days=d, minutes=m) for d in (0, 1, 2) for m in range(10)]
    credit_ts = [t for t in credit_ts if t <= now]
    with write_session(engine) as s:
        ingest.log_predictions(
            s,
            actor=world.owner,
            model_version_id=credit_v2,
            frame=pd.DataFrame(
                {
                    "ts": credit_ts,
                    "prediction": [1.0] * len(credit_ts),
                    "score": [0.8] * len(credit_ts),
                    "income": [50000] * len(credit_ts),
                    "age": [40] * len(credit_ts),
                }
            ),
        )
        ingest.log_predictions(
            s,
            actor=world.owner,
            model_version_id=fraud_v1,
            frame=pd.DataFrame(
                {
                    "ts": [day0 - timedelta(days=12)] * 5,
                    "prediction": [0.0] * 5,
                    "score": [0.1] * 5,
                }
            ),
        )
        days = [(now - timedelta(days=d)).date() for d in range(40)]
        ingest.log_costs(
            s,
            actor=world.owner,
            frame=pd.DataFrame(
                [
                    {
                        "day": d,
                        "model": "Credit scoring",
                        "category": "compute",
                        "amount": 10.0,
                        "currency": "EUR",
                    }
                    for d in days
                ]
                + [
                    {
                        "day": d,
                        "model": "Fraud detection",
                        "category": "inference",
                        "amount": 2.5,
                        "currency": "USD",
                    }
                    for d in days
                ]
            ),
        )
