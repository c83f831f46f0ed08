"""Who is using Steward: the people one may pick in local mode, mapping a signed-in
OpenID Connect identity to a Person of the registry, service accounts, and the personal access
tokens with which the CLI and pipelines prove who they act as.

A signed-in identity is matched by (issuer, subject) first. Failing that, by email, but
only when the identity provider says the email is verified; the first such match links the
issuer and subject to the person (audited), so later sign-ins match by subject even if the
email changes. People who have left never resolve.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, grants_of, has_role, require
from core.db.models import ApiToken, Person, RoleGrant
from core.db.types import saved_id
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.registry.services import grant_role, snapshot
from core.registry.validation import clean_email, clean_name, clean_text


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
    people = session.exec(select(Person).where(col(Person.active) == True)).all()  # noqa: E712
    grants: dict[int, list[tuple[str, str]]] = {}
    for grant in session.exec(
        select(RoleGrant).order_by(col(RoleGrant.role), col(RoleGrant.business_unit))
    ).all():
        grants.setdefault(grant.person_id, []).append((grant.role, grant.business_unit))
    found = [
        Persona(
            id=saved_id(p),
            name=p.name,
            email=p.email,
            team=p.team,
            roles=tuple(grants.get(saved_id(p), [])),
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
        select(Person).where(col(Person.oidc_issuer) == issuer, col(Person.oidc_subject) == subject)
    ).first()
    if person is not None:
        return _actor(person) if person.active else None
    if not email or not claim_is_true(email_verified):
        return None
    person = session.exec(select(Person).where(col(Person.email) == email.strip().lower())).first()
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
        select(Person).where(col(Person.oidc_issuer) == issuer, col(Person.oidc_subject) == subject)
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
        action=events.PERSON_IDENTITY_LINKED,
        object_id=person_id,
        before=before,
        after={"oidc_issuer": issuer, "oidc_subject": subject},
        reason=reason,
    )


def _actor(person: Person) -> Actor:
    return Actor(id=saved_id(person), email=person.email, name=person.name)


# --- service accounts and personal access tokens -----------------------------------------------
#
# The CLI and pipelines prove who they act as with a personal access token. A token acts as
# exactly one person: a human creates their own while signed in to the app; an admin creates one
# for a named service account (never for another human); an operator with database access mints
# the very first one with `steward token bootstrap`, which is audited like everything else. Only
# the sha256 of the secret is stored (the secret has 256 bits of entropy, so a plain hash is
# enough: nothing to brute-force). A token cannot create tokens: a stolen one cannot extend itself.

TOKEN_PREFIX = "stw_"
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute


@dataclass(frozen=True)
class TokenView:
    """A token as the People and roles page and `steward token list` show it (never the secret)."""

    id: int
    person_id: int
    person: str
    email: str
    is_service_account: bool
    name: str
    prefix: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= clock.now() else "active"


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``secret`` is shown this once and stored nowhere."""

    view: TokenView
    secret: str


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.strip().encode()).hexdigest()


def create_service_account(
    session: Session,
    *,
    actor: Actor,
    name: str,
    email: str,
    team: str = "",
    roles: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
) -> int:
    """Add a service account (a pipeline's identity) with its role grants; admins only.

    A service account can register, log and request, but never approve, reject or decide rules,
    labels or meetings (``core.access.require`` refuses those to it, whatever roles it holds)."""
    require(session, actor, "person.manage")
    email = clean_email(email)
    if session.exec(select(Person).where(Person.email == email)).first():
        raise Conflict(f"A person with email '{email}' already exists.")
    person = Person(
        name=clean_name(name, "name"), email=email, team=clean_text(team, "team", max_len=200), is_system=True
    )
    session.add(person)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.PERSON_CREATED,
        object_id=person.id,
        after={**snapshot(person), "service_account": True},
    )
    for role, unit in roles:
        grant_role(session, actor=actor, person_id=saved_id(person), role=role, business_unit=unit)
    return saved_id(person)


def _token_days(days: int) -> int:
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"a token lasts from 1 to {MAX_TOKEN_DAYS} days; {days!r} is not allowed.")
    return days


def _mint(session: Session, *, actor: Actor, person: Person, name: str, days: int) -> tuple[NewToken, dict]:
    """A new token row for ``person`` and what its audit event records (never the secret)."""
    name = clean_name(name, "token name", max_len=100)
    days = _token_days(days)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    row = ApiToken(
        person_id=saved_id(person),
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:10],
        created_at=now,
        created_by_id=actor.id,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    after = {
        "token_id": row.id,
        "person_id": person.id,
        "person": person.email,
        "name": name,
        "prefix": row.prefix,
        "expires_at": row.expires_at,
    }
    return NewToken(_view(session, row), secret), after


def create_token(
    session: Session, *, actor: Actor, person_id: int, name: str, days: int = DEFAULT_TOKEN_DAYS
) -> NewToken:
    """A new token for yourself, or (admins) for a service account. Never for another human."""
    if actor.token_id is not None:
        raise PermissionDenied(
            "A token cannot create tokens: create one on the People and roles page while signed in."
        )
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person with id {person_id}.")
    if person.id == actor.id:
        require_active(session, actor)
    else:
        require(session, actor, "person.manage")
        if not person.is_system:
            raise PermissionDenied(
                f"Nobody can create a token that acts as {person.name} ({person.email}): people create "
                "their own tokens while signed in; admins create tokens only for service accounts."
            )
    if not person.active:
        raise Conflict(f"{person.name} ({person.email}) has left; no token can act as them.")
    minted, after = _mint(session, actor=actor, person=person, name=name, days=days)
    audit.record(session, actor=actor, action=events.TOKEN_CREATED, object_id=minted.view.id, after=after)
    return minted


def bootstrap_token(
    session: Session,
    *,
    system: Actor,
    email: str,
    name: str,
    days: int = DEFAULT_TOKEN_DAYS,
    operator: str = "",
) -> NewToken:
    """The operator's way in (``steward token bootstrap``): a token for an admin or a service
    account, minted by someone with direct database access, acting as the system account and
    audited as ``token.bootstrapped`` with the operating-system user who ran it."""
    person = session.exec(select(Person).where(Person.email == clean_email(email))).first()
    if person is None:
        raise NotFound(f"No person with email '{email}' in the registry.")
    if not person.active:
        raise Conflict(f"{person.name} ({person.email}) has left; no token can act as them.")
    if not person.is_system and not has_role(grants_of(session, saved_id(person)), "admin"):
        raise PermissionDenied(
            f"{person.name} is neither an admin nor a service account: bootstrap tokens are for the first "
            "admin and for service accounts; everyone else creates their own while signed in."
        )
    minted, after = _mint(session, actor=system, person=person, name=name, days=days)
    audit.record(
        session,
        actor=system,
        action=events.TOKEN_BOOTSTRAPPED,
        object_id=minted.view.id,
        after={**after, "operator": operator, "how": "steward token bootstrap (direct database access)"},
    )
    return minted


def revoke_token(session: Session, *, actor: Actor, token_id: int, reason: str = "") -> TokenView:
    """Revoke a token: your own, or (admins) anyone's. Revoking twice is refused."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"No token with id {token_id}.")
    if row.person_id == actor.id:
        require_active(session, actor)
    else:
        require(session, actor, "person.manage")
    if row.revoked_at is not None:
        raise Conflict(f"Token {token_id} ('{row.name}') was already revoked.")
    row.revoked_at, row.revoked_by_id = clock.now(), actor.id
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.TOKEN_REVOKED,
        object_id=token_id,
        before={"revoked_at": None},
        after={
            "person_id": row.person_id,
            "name": row.name,
            "prefix": row.prefix,
            "revoked_at": row.revoked_at,
        },
        reason=clean_text(reason, "reason"),
    )
    return _view(session, row)


def authenticate(session: Session, secret: str) -> Actor:
    """The person a token acts as (with the token's id), or PermissionDenied saying why not.

    Call in a write session: it notes when the token was last used."""
    secret = (secret or "").strip()
    if not secret.startswith(TOKEN_PREFIX):
        raise PermissionDenied(
            f"the token is not a Steward personal access token (they start with '{TOKEN_PREFIX}')."
        )
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))).first()
    if row is None:
        raise PermissionDenied(
            "the token is not known to this registry (mistyped, or made for another registry)."
        )
    now = clock.now()
    if row.revoked_at is not None:
        raise PermissionDenied(
            f"token '{row.name}' ({row.prefix}…) was revoked on {row.revoked_at:%Y-%m-%d}."
        )
    if row.expires_at <= now:
        raise PermissionDenied(
            f"token '{row.name}' ({row.prefix}…) expired on {row.expires_at:%Y-%m-%d}; create a new one."
        )
    person = session.get(Person, row.person_id)
    if person is None or not person.active:
        raise PermissionDenied(f"token '{row.name}' acts as someone who has left; it no longer works.")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.add(row)
        session.flush()
    return Actor(id=saved_id(person), email=person.email, name=person.name, token_id=row.id)


def list_tokens(session: Session, *, person_id: int | None = None) -> list[TokenView]:
    """Tokens, newest first (``person_id``: only that person's)."""
    query = select(ApiToken).order_by(col(ApiToken.id).desc())
    if person_id is not None:
        query = query.where(ApiToken.person_id == person_id)
    return [_view(session, row) for row in session.exec(query).all()]


def require_active(session: Session, actor: Actor) -> None:
    person = session.get(Person, actor.id)
    if person is None or not person.active:
        raise PermissionDenied("Only an active person may manage their tokens.")


def _view(session: Session, row: ApiToken) -> TokenView:
    person = session.get(Person, row.person_id)
    creator = session.get(Person, row.created_by_id)
    return TokenView(
        id=saved_id(row),
        person_id=row.person_id,
        person=person.name if person else "?",
        email=person.email if person else "?",
        is_service_account=bool(person and person.is_system),
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        created_by=creator.name if creator else "?",
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
