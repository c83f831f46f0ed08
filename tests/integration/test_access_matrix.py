"""Who may do what: every role against every mutating core service, and every permission rule.

Each call runs in its own transaction that is rolled back afterwards, so every cell of the
matrix starts from the same registry. The expected roles are written out here, independently
of core/access.py, and checked against it: a change to either shows up as a failing cell.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from core.access import PERMISSIONS, ROLES, Actor, actor_by_id, grants_of, require
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent
from core.errors import PermissionDenied
from core.governance import promotions, retraining, risk, rules
from core.notify import subscriptions
from core.registry import ingest, services
from tests.factories import make_promotable_model, make_world

RISK_SCORES = [
    {"category": c, "likelihood": 2, "impact": 2}
    for c in ("unavailability", "wrong_predictions", "decay", "knowledge_loss")
]

# service label -> (permission it needs, roles expected to succeed, call)
Call = Callable[[Any, Actor, dict[str, Any]], Any]
MATRIX: dict[str, tuple[str, set[str], Call]] = {
    "register model": (
        "model.register",
        {"model_owner", "admin"},
        lambda s, a, c: services.register_model(s, actor=a, name="New model", business_unit="Credit risk"),
    ),
    "update model": (
        "model.update",
        {"model_owner", "admin"},
        lambda s, a, c: services.update_model(s, actor=a, model_id=c["model"], purpose="Sharper purpose"),
    ),
    "update model card": (
        "model.update",
        {"model_owner", "admin"},
        lambda s, a, c: services.update_model_card(
            s, actor=a, version_id=c["v2"], card_caveats="Retrain monthly"
        ),
    ),
    "register version": (
        "version.register",
        {"model_owner"},
        lambda s, a, c: services.register_version(s, actor=a, model_id=c["model"], metrics={"roc_auc": 0.8}),
    ),
    "assign owner": (
        "ownership.assign",
        {"model_owner", "admin"},
        lambda s, a, c: services.assign_owner(
            s, actor=a, model_id=c["model"], person_id=c["people"]["labeller"].id, role="validator"
        ),
    ),
    "create data source": (
        "lineage.write",
        {"model_owner", "admin"},
        lambda s, a, c: services.create_data_source(s, actor=a, name="CRM"),
    ),
    "create dataset": (
        "lineage.write",
        {"model_owner", "admin"},
        lambda s, a, c: services.create_dataset(s, actor=a, name="customers", version="7"),
    ),
    "create deployment": (
        "lineage.write",
        {"model_owner", "admin"},
        lambda s, a, c: services.create_deployment(s, actor=a, version_id=c["v1"], environment="batch"),
    ),
    "log predictions": (
        "predictions.log",
        {"model_owner"},
        lambda s, a, c: ingest.log_predictions(
            s,
            actor=a,
            model_version_id=c["v1"],
            frame=pd.DataFrame(
                {"ts": [datetime(2025, 1, 1, tzinfo=UTC)], "tenure": [3], "spend": [10.0], "prediction": [1]}
            ),
        ),
    ),
    "log costs": (
        "costs.log",
        {"model_owner", "admin"},
        lambda s, a, c: ingest.log_costs(
            s,
            actor=a,
            frame=pd.DataFrame(
                {
                    "day": ["2025-01-01"],
                    "model": ["Churn"],
                    "category": ["compute"],
                    "amount": [12.5],
                    "currency": ["EUR"],
                }
            ),
        ),
    ),
    "propose business rule": (
        "rule.propose",
        {"model_owner"},
        lambda s, a, c: rules.propose_rule(
            s, actor=a, model_id=c["model"], name="offer", operator=">", threshold=0.6, outcome="send offer"
        ),
    ),
    "add person": (
        "person.manage",
        {"admin"},
        lambda s, a, c: services.create_person(s, actor=a, name="Nina New", email="nina@example.com"),
    ),
    "mark person left": (
        "person.manage",
        {"admin"},
        lambda s, a, c: services.set_person_active(
            s, actor=a, person_id=c["people"]["labeller"].id, active=False, left_on=date(2025, 1, 31)
        ),
    ),
    "grant role": (
        "role.grant",
        {"admin"},
        lambda s, a, c: services.grant_role(
            s, actor=a, person_id=c["people"]["viewer"].id, role="labeller", business_unit="Retail"
        ),
    ),
    "revoke role": (
        "role.grant",
        {"admin"},
        lambda s, a, c: services.revoke_role(s, actor=a, person_id=c["people"]["viewer"].id, role="viewer"),
    ),
    "assess risk": (
        "risk.assess",
        {"model_owner", "approver"},
        lambda s, a, c: risk.assess_model(
            s,
            actor=a,
            model_id=c["model"],
            scores=RISK_SCORES,
            materiality="low",
            ai_act_class="minimal",
            rationale="Marketing use only.",
        ),
    ),
    "request promotion": (
        "promotion.request",
        {"model_owner"},
        lambda s, a, c: promotions.request_promotion(
            s, actor=a, version_id=c["v2"], target_stage="staging", justification="Ready for shadow testing."
        ),
    ),
    "approve promotion": (
        "promotion.decide",
        {"approver"},
        lambda s, a, c: promotions.approve(s, actor=a, request_id=c["request"]),
    ),
    "reject promotion": (
        "promotion.decide",
        {"approver"},
        lambda s, a, c: promotions.reject(
            s, actor=a, request_id=c["request"], comment="Evaluation period too short."
        ),
    ),
    "cancel promotion": (
        "promotion.request",
        {"model_owner"},
        lambda s, a, c: promotions.cancel(s, actor=a, request_id=c["request"]),
    ),
    "comment on promotion": (
        "promotion.comment",
        {"model_owner", "approver"},
        lambda s, a, c: promotions.add_comment(s, actor=a, request_id=c["request"], body="Which holdout?"),
    ),
    "open a retraining request": (
        "retraining.request",
        {"model_owner", "approver"},
        lambda s, a, c: retraining.open_request(
            s, actor=a, model_id=c["model"], reason="Churn drifted after the price change."
        ),
    ),
    "subscribe to e-mail": (
        "notify.subscribe",
        {"viewer", "labeller", "model_owner", "approver", "admin"},
        lambda s, a, c: subscriptions.subscribe_email(s, actor=a, model_id=c["model"]),
    ),
    "add a webhook": (
        "webhook.manage",
        {"model_owner", "admin"},
        lambda s, a, c: subscriptions.add_endpoint(
            s, actor=a, channel="webhook", url="https://ci.example.com/hook", name="CI", model_id=c["model"]
        ),
    ),
}


class _Rollback(Exception):
    """Raised after a successful call so that its transaction is rolled back."""


@pytest.fixture
def registry(engine: Engine) -> dict[str, Any]:
    """One person per role (the model owner also requested the pending request) and a model."""
    world = make_world(engine)
    model_id, (v1, v2) = make_promotable_model(engine, world)
    with write_session(engine) as s:
        request_id = promotions.request_promotion(
            s,
            actor=world.owner,
            version_id=v1,
            target_stage="production",
            justification="First release of the churn model.",
        )
        people = {
            role: actor_by_id(s, getattr(world, key).id)
            for role, key in [
                ("viewer", "viewer"),
                ("labeller", "labeller"),
                ("model_owner", "owner"),
                ("approver", "approver"),
                ("admin", "admin"),
            ]
        }
    return {"engine": engine, "model": model_id, "v1": v1, "v2": v2, "request": request_id, "people": people}


def _attempt(registry: dict[str, Any], call: Call, actor: Actor) -> str:
    try:
        with write_session(registry["engine"]) as s:
            call(s, actor, registry)
            raise _Rollback
    except _Rollback:
        return "allowed"
    except PermissionDenied as exc:
        return f"denied: {exc}"


def test_expected_matrix_agrees_with_core_access():
    for label, (action, roles, _) in MATRIX.items():
        assert set(PERMISSIONS[action]) == roles, label


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_against_each_service(registry, role):
    actor = registry["people"][role]
    for label, (action, roles, call) in MATRIX.items():
        outcome = _attempt(registry, call, actor)
        if role in roles:
            assert outcome == "allowed", f"{role} should be able to {label}: {outcome}"
        else:
            needed = " or ".join(sorted(PERMISSIONS[action]))
            assert outcome.startswith("denied:") and f"this needs the role {needed}" in outcome, (
                role,
                label,
                outcome,
            )


def test_every_permission_rule_for_every_single_role_person(engine):
    world = make_world(engine)
    people = {
        "viewer": world.viewer,
        "labeller": world.labeller,
        "model_owner": world.owner,
        "approver": world.approver,
        "admin": world.admin,
    }
    with write_session(engine) as s:
        for action, roles in PERMISSIONS.items():
            for role, actor in people.items():
                if role in roles:
                    require(s, actor, action, business_unit="Credit risk")
                else:
                    with pytest.raises(PermissionDenied, match=f"may not {action.replace('.', ' ')}"):
                        require(s, actor, action, business_unit="Credit risk")


def test_admin_is_not_a_super_role():
    for action in ("promotion.decide", "promotion.request", "version.register", "label.submit"):
        assert "admin" not in PERMISSIONS[action], action


def test_business_unit_scoped_grants(engine):
    world = make_world(engine)
    with write_session(engine) as s:
        pid = services.create_person(
            s,
            actor=world.admin,
            name="Rita Retail",
            email="rita@example.com",
            roles=[("approver", "Retail"), ("model_owner", "Retail")],
        )
        rita = actor_by_id(s, pid)
    with write_session(engine) as s:
        require(s, rita, "promotion.decide", business_unit="Retail")
        require(s, rita, "promotion.request", business_unit="Retail")
        for action in ("promotion.decide", "promotion.request"):
            with pytest.raises(PermissionDenied, match="for business unit 'Credit risk'"):
                require(s, rita, action, business_unit="Credit risk")
        with pytest.raises(PermissionDenied, match="may not model register"):
            require(s, rita, "model.register")  # an unscoped action needs an unscoped grant


def test_revoked_role_and_departed_person_stop_at_once(engine):
    world = make_world(engine)
    model_id, (v1, _) = make_promotable_model(engine, world)
    with write_session(engine) as s:
        services.revoke_role(s, actor=world.admin, person_id=world.owner.id, role="model_owner")
    with pytest.raises(PermissionDenied, match="this needs the role model_owner"):
        with write_session(engine) as s:
            promotions.request_promotion(
                s,
                actor=world.owner,
                version_id=v1,
                target_stage="staging",
                justification="Ready for shadow testing.",
            )
    with write_session(engine) as s:
        services.set_person_active(s, actor=world.admin, person_id=world.approver.id, active=False)
    with pytest.raises(PermissionDenied, match="Arthur Approver .* is no longer active"):
        with write_session(engine) as s:
            require(s, world.approver, "promotion.decide", business_unit="Credit risk")


def test_an_admin_cannot_grant_a_role_to_themselves(engine):
    world = make_world(engine)
    with read_session(engine) as s:
        before = len(s.exec(select(AuditEvent)).all())
    with pytest.raises(PermissionDenied, match="cannot grant a role to themselves: another admin must"):
        with write_session(engine) as s:
            services.grant_role(s, actor=world.admin, person_id=world.admin.id, role="approver")
    with read_session(engine) as s:
        assert ("approver", "") not in [(g.role, g.business_unit) for g in grants_of(s, world.admin.id)]
        assert len(s.exec(select(AuditEvent)).all()) == before
    with write_session(engine) as s:  # another admin may
        other = services.create_person(
            s, actor=world.admin, name="Second Admin", email="admin2@example.com", roles=[("admin", "")]
        )
    with write_session(engine) as s:
        services.grant_role(s, actor=actor_by_id(s, other), person_id=world.admin.id, role="approver")
    with read_session(engine) as s:
        assert ("approver", "") in [(g.role, g.business_unit) for g in grants_of(s, world.admin.id)]
