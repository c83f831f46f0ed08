"""Mapping a signed-in identity to a Person (core/identity.py) on a real database."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core import audit
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, Person
from core.errors import Conflict, PermissionDenied
from core.identity import default_persona, link_identity, personas, resolve_identity
from core.registry import services
from tests.factories import make_world

ISS = "https://idp.example.com"


def _resolve(engine, **claims):
    with write_session(engine) as s:
        return resolve_identity(s, **{"issuer": ISS, "email": None, "email_verified": False, **claims})


def test_verified_email_links_once_then_subject_matches(engine):
    world = make_world(engine)
    actor = _resolve(engine, subject="abc", email="Owner@Example.com ", email_verified=True)
    assert actor == world.owner
    # Later sign-ins match by issuer + subject, even when the email claim changed.
    assert _resolve(engine, subject="abc", email="olivia.new@example.com", email_verified=True) == world.owner
    assert _resolve(engine, subject="abc", email=None, email_verified="true") == world.owner
    with read_session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "person.identity_linked")).all()
        assert [e.object_id for e in events] == [str(world.owner.id)]
        assert events[0].actor_id == world.owner.id
        assert audit.verify(s).ok


def test_unverified_or_unknown_identities_resolve_to_nobody(engine):
    make_world(engine)
    assert _resolve(engine, subject="x1", email="owner@example.com", email_verified=False) is None
    assert _resolve(engine, subject="x2", email="owner@example.com", email_verified="no") is None
    assert _resolve(engine, subject="x3", email="nobody@example.com", email_verified=True) is None
    assert _resolve(engine, subject="", email="owner@example.com", email_verified=True) is None
    with read_session(engine) as s:
        assert s.exec(select(Person).where(Person.oidc_subject.is_not(None))).all() == []  # type: ignore[union-attr]


def test_a_linked_person_is_not_relinked_by_email(engine):
    world = make_world(engine)
    assert _resolve(engine, subject="first", email="owner@example.com", email_verified=True) == world.owner
    # A second account at the provider with the same verified email does not take over.
    assert _resolve(engine, subject="second", email="owner@example.com", email_verified=True) is None


def test_people_who_left_do_not_resolve(engine):
    world = make_world(engine)
    assert _resolve(engine, subject="v", email="viewer@example.com", email_verified=True) == world.viewer
    with write_session(engine) as s:
        services.set_person_active(s, actor=world.system, person_id=world.viewer.id, active=False)
    assert _resolve(engine, subject="v", email="viewer@example.com", email_verified=True) is None


def test_linking_someone_else_needs_person_manage_and_a_free_identity(engine):
    world = make_world(engine)
    with write_session(engine) as s, pytest.raises(PermissionDenied, match="may not person manage"):
        link_identity(s, actor=world.owner, person_id=world.viewer.id, issuer=ISS, subject="v")
    with write_session(engine) as s:
        link_identity(s, actor=world.admin, person_id=world.viewer.id, issuer=ISS, subject="v")
    with write_session(engine) as s, pytest.raises(Conflict, match="already belongs to Victor Viewer"):
        link_identity(s, actor=world.admin, person_id=world.labeller.id, issuer=ISS, subject="v")


def test_personas_list_active_people_with_roles_service_accounts_last(engine):
    world = make_world(engine)
    with write_session(engine) as s:
        services.set_person_active(s, actor=world.system, person_id=world.viewer.id, active=False)
    with read_session(engine) as s:
        found = personas(s)
    assert [p.name for p in found] == [
        "Ada Admin",
        "Anna Approver",
        "Arthur Approver",
        "Lena Labeller",
        "Olivia Owner",
        "Steward system",
    ]
    assert found[-1].is_system and ("admin", "") in found[-1].roles
    assert default_persona(found).name == "Ada Admin"
    assert default_persona([p for p in found if p.name != "Ada Admin"]).name == "Olivia Owner"
    assert default_persona([]) is None
