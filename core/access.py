"""Roles and permission checks. Every mutating service asks ``require`` before it writes.

Roles are granted per person, globally or for one business unit. Grants are read from the
database inside the caller's transaction, so a revoked role stops working at once, and a
person who has left can no longer act. Hiding a button in the UI is never the control.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.db.models import Person, RoleGrant
from core.db.types import saved_id
from core.errors import NotFound, PermissionDenied

ROLES: dict[str, str] = {
    "viewer": "reads the inventory, reports and evidence",
    "labeller": "domain expert who labels sampled production predictions",
    "model_owner": "registers models and versions, requests promotions, proposes rules",
    "approver": "validator or risk officer who approves or rejects requests",
    "admin": "manages people and role grants and maintains the registry",
}

# Which roles allow which action. Admin is deliberately not a super-role: approving and
# labelling need their own grants, so that four-eyes cannot be side-stepped by an admin.
PERMISSIONS: dict[str, frozenset[str]] = {
    "registry.admin": frozenset({"admin"}),
    "person.manage": frozenset({"admin"}),
    "role.grant": frozenset({"admin"}),
    "model.register": frozenset({"model_owner", "admin"}),
    "model.update": frozenset({"model_owner", "admin"}),
    "version.register": frozenset({"model_owner"}),
    "ownership.assign": frozenset({"model_owner", "admin"}),
    "lineage.write": frozenset({"model_owner", "admin"}),
    "predictions.log": frozenset({"model_owner"}),
    "costs.log": frozenset({"model_owner", "admin"}),
    "budget.set": frozenset({"admin", "approver"}),
    "promotion.request": frozenset({"model_owner"}),
    "promotion.decide": frozenset({"approver"}),
    "promotion.comment": frozenset({"model_owner", "approver"}),
    "campaign.create": frozenset({"model_owner", "approver"}),
    "label.submit": frozenset({"labeller"}),
    "label.resolve": frozenset({"approver"}),
    "monitoring.run": frozenset({"model_owner", "approver", "admin"}),
    "thresholds.set": frozenset({"model_owner", "approver"}),
    "risk.assess": frozenset({"model_owner", "approver"}),
    "rule.propose": frozenset({"model_owner"}),
    "rule.decide": frozenset({"approver"}),
    "meeting.manage": frozenset({"approver", "model_owner", "admin"}),
    # Stored insight results: global SHAP summaries per version and fleet cost forecasts.
    "explanation.compute": frozenset({"model_owner", "approver", "admin"}),
    "costs.forecast": frozenset({"model_owner", "admin"}),
    # Importing from MLflow registers models and versions, so it needs the role that does that.
    "registry.import": frozenset({"model_owner"}),
    # Notifications: everyone manages their own e-mail; endpoints that send registry data out of
    # Steward (webhooks, Slack, Teams) are set up by admins or the unit's model owners.
    "notify.subscribe": frozenset({"viewer", "labeller", "model_owner", "approver", "admin"}),
    "webhook.manage": frozenset({"model_owner", "admin"}),
    "notify.deliver": frozenset({"admin"}),
    # Retraining requests: owners and validators ask for one; the model's owners answer it.
    "retraining.request": frozenset({"model_owner", "approver"}),
    # How long a model's raw prediction rows are kept: its owners decide; the scheduled job that
    # applies every policy runs as an admin or model owner (the system service account).
    "retention.set": frozenset({"model_owner"}),
    "retention.apply": frozenset({"model_owner", "admin"}),
}


# Judgements only a person may make. A service account (a pipeline's identity, Person.is_system)
# can register, log and request, but never approve, reject or decide rules, labels or meetings,
# whatever roles it holds: a pipeline must not be able to launder a decision.
HUMAN_ONLY: frozenset[str] = frozenset(
    {"promotion.decide", "rule.decide", "label.submit", "label.resolve", "meeting.manage"}
)


@dataclass(frozen=True)
class Actor:
    """Who is acting. Only the id is trusted; roles are re-read from the database on each check.

    ``token_id`` is the personal access token a CLI or pipeline call proved this identity with
    (None in the browser); the audit log records it with every event the call writes.
    """

    id: int
    email: str
    name: str
    token_id: int | None = None


@dataclass(frozen=True)
class Grant:
    role: str
    business_unit: str  # "" = every business unit


def actor_by_email(session: Session, email: str) -> Actor:
    person = session.exec(select(Person).where(col(Person.email) == email.strip().lower())).first()
    if person is None:
        raise NotFound(f"No person with email '{email}' in the registry.")
    return Actor(id=saved_id(person), email=person.email, name=person.name)


def actor_by_id(session: Session, person_id: int) -> Actor:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person with id {person_id} in the registry.")
    return Actor(id=saved_id(person), email=person.email, name=person.name)


def grants_of(session: Session, person_id: int) -> list[Grant]:
    rows = session.exec(select(RoleGrant).where(col(RoleGrant.person_id) == person_id)).all()
    return [Grant(role=r.role, business_unit=r.business_unit) for r in rows]


def has_role(grants: list[Grant], role: str, business_unit: str | None = None) -> bool:
    return any(
        g.role == role
        and (g.business_unit == "" or business_unit is None or g.business_unit == business_unit)
        for g in grants
    )


def allowed(grants: list[Grant], action: str, business_unit: str | None = None) -> bool:
    roles = PERMISSIONS[action]
    return any(
        g.role in roles
        and (g.business_unit == "" or (business_unit is not None and g.business_unit == business_unit))
        for g in grants
    )


def require(session: Session, actor: Actor, action: str, *, business_unit: str | None = None) -> None:
    """Raise PermissionDenied unless ``actor`` may do ``action`` (in ``business_unit``, if scoped)."""
    if action not in PERMISSIONS:
        raise ValueError(f"unknown action {action!r}")
    person = session.get(Person, actor.id)
    if person is None:
        raise PermissionDenied(f"Unknown person id {actor.id}: sign in again.")
    if not person.active:
        raise PermissionDenied(f"{person.name} ({person.email}) is no longer active and cannot make changes.")
    if person.is_system and action in HUMAN_ONLY:
        raise PermissionDenied(
            f"{person.name} ({person.email}) is a service account: only a person may "
            f"{action.replace('.', ' ')} (approving, rejecting and deciding rules, labels and meetings)."
        )
    if not allowed(grants_of(session, actor.id), action, business_unit):
        needed = " or ".join(sorted(PERMISSIONS[action]))
        where = f" for business unit '{business_unit}'" if business_unit else ""
        raise PermissionDenied(
            f"{person.name} may not {action.replace('.', ' ')}{where}: this needs the role {needed}."
        )
