"""Reads for the Admin page: people, their role grants and the business units grants can name.

Changes go through ``core.registry.services`` (create_person, set_person_active, grant_role,
revoke_role), which check the admin role and write the audit event with the change.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.db.models import BusinessProcess, Model, Person, RoleGrant
from core.db.types import saved_id

PEOPLE_COLUMNS = [
    "person_id",
    "name",
    "email",
    "team",
    "active",
    "left_on",
    "is_system",
    "roles",
    "created_at",
]
GRANT_COLUMNS = ["person_id", "name", "email", "role", "business_unit", "granted_at", "granted_by"]


def people_with_roles(session: Session) -> pd.DataFrame:
    """Everybody in the registry with their roles in words, active people first, then by name."""
    grants: dict[int, list[str]] = {}
    for row in session.exec(
        select(RoleGrant).order_by(col(RoleGrant.role), col(RoleGrant.business_unit))
    ).all():
        grants.setdefault(row.person_id, []).append(
            row.role.replace("_", " ") + (f" ({row.business_unit})" if row.business_unit else "")
        )
    people = session.exec(select(Person).order_by(col(Person.active).desc(), col(Person.name))).all()
    records = [
        {
            "person_id": p.id,
            "name": p.name,
            "email": p.email,
            "team": p.team,
            "active": p.active,
            "left_on": p.left_on,
            "is_system": p.is_system,
            "roles": ", ".join(grants.get(saved_id(p), [])) or "no role",
            "created_at": p.created_at,
        }
        for p in people
    ]
    return pd.DataFrame.from_records(records, columns=PEOPLE_COLUMNS)


def role_grants(session: Session) -> pd.DataFrame:
    """One row per grant: who holds which role, for which business unit ('' = all), since when, from whom."""
    granter = aliased(Person)
    rows = session.exec(
        select(RoleGrant, col(Person.name), col(Person.email), granter.name)
        .join(Person, col(Person.id) == col(RoleGrant.person_id))
        .join(granter, col(granter.id) == col(RoleGrant.granted_by_id), isouter=True)
        .order_by(col(Person.name), col(RoleGrant.role), col(RoleGrant.business_unit))
    ).all()
    records = [
        {
            "person_id": g.person_id,
            "name": name,
            "email": email,
            "role": g.role,
            "business_unit": g.business_unit,
            "granted_at": g.granted_at,
            "granted_by": by or "",
        }
        for g, name, email, by in rows
    ]
    return pd.DataFrame.from_records(records, columns=GRANT_COLUMNS)


def business_units(session: Session) -> list[str]:
    """Every business unit the registry knows: of models, business processes and existing grants."""
    units = set(session.exec(select(col(Model.business_unit)).distinct()).all())
    units |= set(session.exec(select(col(BusinessProcess.business_unit)).distinct()).all())
    units |= set(session.exec(select(col(RoleGrant.business_unit)).distinct()).all())
    return sorted(u for u in units if u)
