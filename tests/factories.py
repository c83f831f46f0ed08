"""Small builders for test registries. Larger fixtures come from core.demo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from core import clock
from core.access import Actor, actor_by_id
from core.db.engine import write_session
from core.db.models import Person
from core.governance import risk, rules
from core.registry import services
from core.registry.rules import RuleInForce


@dataclass
class World:
    system: Actor
    owner: Actor
    approver: Actor
    approver2: Actor
    labeller: Actor
    viewer: Actor
    admin: Actor


def make_world(engine: Engine) -> World:
    """A system account plus one person per role (all global grants)."""
    with write_session(engine) as s:
        system = services.ensure_system_person(s)
        ids = {}
        for key, name, role in [
            ("owner", "Olivia Owner", "model_owner"),
            ("approver", "Arthur Approver", "approver"),
            ("approver2", "Anna Approver", "approver"),
            ("labeller", "Lena Labeller", "labeller"),
            ("viewer", "Victor Viewer", "viewer"),
            ("admin", "Ada Admin", "admin"),
        ]:
            ids[key] = services.create_person(
                s, actor=system, name=name, email=f"{key}@example.com", team="Test", roles=[(role, "")]
            )
        people = {k: actor_by_id(s, v) for k, v in ids.items()}
    return World(system=system, **people)


def make_model(
    engine: Engine,
    actor: Actor,
    *,
    name: str = "Credit scoring",
    business_unit: str = "Credit risk",
    versions: int = 1,
    task: str = "binary_classification",
) -> tuple[int, list[int]]:
    """A model with ``versions`` versions (stage none). Returns (model id, version ids)."""
    with write_session(engine) as s:
        model_id = services.register_model(
            s,
            actor=actor,
            name=name,
            business_unit=business_unit,
            task=task,
            purpose="Score applications",
            primary_metric="roc_auc",
            metric_thresholds={"roc_auc": {"min": 0.7}},
        )
        version_ids = [
            services.register_version(
                s,
                actor=actor,
                model_id=model_id,
                metrics={"roc_auc": 0.8 + i / 100},
                feature_names=["income", "age"],
                git_commit=f"abc{i}",
            )
            for i in range(versions)
        ]
    return model_id, version_ids


def make_promotable_model(
    engine: Engine,
    world: World,
    *,
    name: str = "Churn",
    business_unit: str = "Credit risk",
    versions: int = 2,
    creator: Actor | None = None,
    aucs: tuple[float, ...] = (),
    assessed: bool = True,
) -> tuple[int, list[int]]:
    """A model whose versions pass every promotion gate it can: full card, thresholds met, same
    evaluation data, stored artifact, active owner and backup, a current (low-tier) risk
    assessment unless ``assessed`` is False. Returns (model id, version ids)."""
    import tempfile
    from pathlib import Path

    from core.registry import artifacts

    creator = creator or world.owner
    with write_session(engine) as s:
        model_id = services.register_model(
            s,
            actor=world.owner,
            name=name,
            business_unit=business_unit,
            purpose="Predict churn",
            intended_use="Retention offers",
            out_of_scope_uses="Credit decisions",
            primary_metric="roc_auc",
            metric_thresholds={"roc_auc": {"min": 0.7}},
        )
        eval_id = services.create_dataset(
            s, actor=world.owner, name=f"{name} eval", version="1", row_count=1000
        )
        ids = []
        for i in range(versions):
            with tempfile.TemporaryDirectory() as tmp:
                source = Path(tmp) / "model.pkl"
                source.write_bytes(f"{name} model {i + 1}".encode())
                uri, sha = artifacts.store_artifact(source, model_name=name, version=i + 1)
            auc = aucs[i] if i < len(aucs) else 0.75 + i / 100
            ids.append(
                services.register_version(
                    s,
                    actor=creator,
                    model_id=model_id,
                    metrics={"roc_auc": auc},
                    params={"depth": 3 + i},
                    feature_names=["tenure", "spend"],
                    artifact_uri=uri,
                    artifact_sha256=sha,
                    artifact_format="pickle",
                    evaluation_dataset_id=eval_id,
                    training_dataset_id=eval_id,
                    card_training_data="12 months of customers",
                    card_evaluation="holdout, 2024",
                    card_limitations="not for new customers",
                    card_ethical_considerations="no protected attributes",
                    card_caveats="retrain quarterly",
                )
            )
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.owner.id, role="business_owner"
        )
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.viewer.id, role="backup"
        )
        if assessed:  # production needs a current risk assessment (low tier: one approver)
            risk.assess_model(
                s,
                actor=world.approver,
                model_id=model_id,
                scores=[{"category": c, "likelihood": 2, "impact": 2} for c in risk.RISK_LABELS],
                materiality="low",
                ai_act_class="minimal",
                rationale="Fixture: internal ranking only.",
            )
    return model_id, ids


FIXTURE_VALIDATOR_EMAIL = "validator@example.com"


def approved_rule(
    session: Session,
    *,
    proposer: Actor,
    model_id: int,
    name: str,
    operator: str,
    threshold: float,
    outcome: str,
    approver: Actor | None = None,
    effective_from: datetime | None = None,
    model_version_id: int | None = None,
) -> int:
    """A business rule in force from ``effective_from`` (default now), through four-eyes like any
    other: ``proposer`` proposes it and ``approver`` (default: a validator created for fixtures)
    approves it, both at ``effective_from``. Returns the rule version's id."""
    moment = effective_from or clock.now()
    approver = approver or _fixture_validator(session)
    with clock.frozen(moment):
        rule_id = rules.propose_rule(
            session,
            actor=proposer,
            model_id=model_id,
            name=name,
            operator=operator,
            threshold=threshold,
            outcome=outcome,
            model_version_id=model_version_id,
        )
        rules.decide_rule(
            session, actor=approver, rule_id=rule_id, approve=True, comment="Approved for the test registry."
        )
    return rule_id


def _fixture_validator(session: Session) -> Actor:
    """The fixtures' independent validator (a global approver), created on first use."""
    existing = session.exec(select(Person.id).where(Person.email == FIXTURE_VALIDATOR_EMAIL)).first()
    if existing is not None:
        return actor_by_id(session, existing)
    system = services.ensure_system_person(session)
    person_id = services.create_person(
        session,
        actor=system,
        name="Valerie Validator",
        email=FIXTURE_VALIDATOR_EMAIL,
        team="Validation",
        roles=[("approver", "")],
    )
    return actor_by_id(session, person_id)


def rule_view(name: str, operator: str, threshold: float, outcome: str, version: int = 1) -> RuleInForce:
    """A rule in force as ``core.registry.rules.rules_in_force`` returns it, for tests of code that
    only reads its condition (sentences, the decisive rule)."""
    return RuleInForce(
        id=version,
        model_id=1,
        name=name,
        version=version,
        operator=operator,
        threshold=threshold,
        outcome=outcome,
        model_version_id=None,
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        effective_to=None,
    )
