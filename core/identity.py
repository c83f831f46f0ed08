"""Who is using Steward: the people one may pick in local mode, and mapping a signed-in
OpenID Connect identity to a Person of the registry.

A signed-in identity is matched by (issuer, subject) first. Failing that, by email, but
only when the identity provider says the email is verified; the first such match links the
issuer and subject to the person (audited), so later sign-ins match by subject even if the
email changes. People who have left never resolve.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from core import audit
from core.access import Actor, require
from core.db.models import Person, RoleGrant
from core.errors import Conflict, InvalidInput, NotFound
from core.registry.validation import clean_text


@dataclass(frozen=True)
class Persona:
    """An active person one may act as in local mode, with their role grants."""

    id: int
    name: str
    email: str
    team: str
    roles: tuple[tuple[str, str], ...]  # (role, business unit or "")
    is_system: bool

    @property
    def actor(self) -> Actor:
        return Actor(id=self.id, email=self.email, name=self.name)


def personas(session: Session) -> list[Persona]:
    """Active people, people first by name, service accounts last."""
    people = session.exec(select(Person).where(Person.active == True)).all()  # noqa: E712
    grants: dict[int, list[tuple[str, str]]] = {}
    for grant in session.exec(select(RoleGrant).order_by(RoleGrant.role, RoleGrant.business_unit)).all():
        grants.setdefault(grant.person_id, []).append((grant.role, grant.business_unit))
    found = [
        Persona(
            id=p.id,
            name=p.name,
            email=p.email,
            team=p.team,
            roles=tuple(grants.get(p.id, [])),  # type: ignore[arg-type]
            is_system=p.is_system,
        )
        for p in people
    ]
    return sorted(found, key=lambda p: (p.is_system, p.name.lower(), p.email))


def default_persona(candidates: list[Persona]) -> Persona | None:
    """The persona local mode starts as: the first admin or model owner who is a person, else the first one."""
    for persona in candidates:
        if not persona.is_system and any(role in ("admin", "model_owner") for role, _ in persona.roles):
            return persona
    return candidates[0] if candidates else None


def claim_is_true(flag: object) -> bool:
    # Some providers send the claim as the string "true".
    return flag is True or (isinstance(flag, str) and flag.strip().lower() == "true")


def resolve_identity(
    session: Session, *, issuer: str, subject: str, email: str | None, email_verified: object
) -> Actor | None:
    """The Person a signed-in identity belongs to, or None if Steward does not know them.

    Call inside a write session: the first verified-email match links issuer and subject to
    the person and records that in the audit log. A person already linked to another
    subject of the same or another issuer is not re-linked by email (that would let a new
    account with the same address take over); an admin must link it.
    """
    if not issuer or not subject:
        return None
    person = session.exec(
        select(Person).where(Person.oidc_issuer == issuer, Person.oidc_subject == subject)
    ).first()
    if person is not None:
        return _actor(person) if person.active else None
    if not email or not claim_is_true(email_verified):
        return None
    person = session.exec(select(Person).where(Person.email == email.strip().lower())).first()
    if person is None or not person.active or person.oidc_subject is not None:
        return None
    actor = _actor(person)
    link_identity(
        session,
        actor=actor,
        person_id=actor.id,
        issuer=issuer,
        subject=subject,
        reason="first sign-in with a verified email",
    )
    return actor


def link_identity(
    session: Session, *, actor: Actor, person_id: int, issuer: str, subject: str, reason: str = ""
) -> None:
    """Record that the sign-in identity (issuer, subject) is ``person_id``.

    A person links themself at first sign-in (the identity provider vouched for the email);
    linking someone else needs the right to manage people.
    """
    if actor.id != person_id:
        require(session, actor, "person.manage")
    issuer = clean_text(issuer, "issuer", max_len=500)
    subject = clean_text(subject, "subject", max_len=500)
    if not issuer or not subject:
        raise InvalidInput("an identity needs both issuer and subject.")
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person with id {person_id}.")
    other = session.exec(
        select(Person).where(Person.oidc_issuer == issuer, Person.oidc_subject == subject)
    ).first()
    if other is not None and other.id != person_id:
        raise Conflict(f"That sign-in identity already belongs to {other.name} ({other.email}).")
    before = {"oidc_issuer": person.oidc_issuer, "oidc_subject": person.oidc_subject}
    person.oidc_issuer, person.oidc_subject = issuer, subject
    session.add(person)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="person.identity_linked",
        object_type="person",
        object_id=person_id,
        before=before,
        after={"oidc_issuer": issuer, "oidc_subject": subject},
        reason=reason,
    )


def _actor(person: Person) -> Actor:
    return Actor(id=person.id, email=person.email, name=person.name)  # type: ignore[arg-type]
