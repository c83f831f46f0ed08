"""Keeping the inventory true after registration: hand-overs, retiring a model, features, data
sources, business processes, deployments and hand-drawn lineage links.

The forms of the Owners, Model and Lineage pages and the CLI's inventory commands call these
(and ``services.update_model``, ``assign_owner``, ``remove_owner``, ``update_model_card``,
``create_person``, ``set_person_active``, ``create_data_source``, ``create_business_process``).
Each checks the role for the model's business unit, writes the change and its audit event
(with before and after) in the caller's transaction, and refuses bad input before writing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, require
from core.db.models import (
    BusinessProcess,
    Dataset,
    DataSource,
    Deployment,
    Feature,
    LineageEdge,
    Model,
    ModelVersion,
    Ownership,
    Person,
)
from core.db.models.registry import LINEAGE_NODE_TYPES, OWNERSHIP_ROLES
from core.db.types import saved_id
from core.errors import Conflict, InvalidInput, NotFound
from core.registry import services
from core.registry.services import _effective, _get, end_ownership_row, snapshot
from core.registry.validation import clean_choice, clean_name, clean_text


def effective_time(day: date | None) -> datetime | None:
    """The instant a change given as a day takes effect: now for today (or no day), else that
    day's start (UTC). Forms and the CLI take days; the services take instants."""
    if day is None or day == clock.today():
        return None
    return datetime.combine(day, time(0), tzinfo=UTC)


# --- owners ----------------------------------------------------------------------------------------


def hand_over(
    session: Session,
    *,
    actor: Actor,
    from_person_id: int,
    to_person_id: int,
    reason: str,
    model_id: int | None = None,
    role: str | None = None,
    effective: datetime | None = None,
) -> int:
    """Hand ``from_person``'s owner roles (all, or one model's, or one role) to ``to_person`` from
    ``effective`` (default now). Each role is ended for the one and started for the other, with
    the reason; when the successor already holds the role, only the leaver's period ends.
    Returns how many roles were handed over."""
    reason = clean_text(reason, "reason").strip()
    if not reason:
        raise InvalidInput("say why the roles are handed over (e.g. 'Anna moved to Treasury').")
    if from_person_id == to_person_id:
        raise InvalidInput("a hand-over needs two different people.")
    giver = _get(session, Person, from_person_id, "person")
    taker = _get(session, Person, to_person_id, "person")
    if not taker.active:
        raise InvalidInput(f"{taker.name} has left; hand the roles to an active person.")
    if role is not None:
        clean_choice(role, "ownership role", OWNERSHIP_ROLES)
    start = _effective(effective, "a hand-over")
    query = select(Ownership).where(col(Ownership.person_id) == from_person_id)
    if model_id is not None:
        query = query.where(col(Ownership.model_id) == model_id)
    if role is not None:
        query = query.where(col(Ownership.role) == role)
    rows = session.exec(query.order_by(col(Ownership.model_id), col(Ownership.role))).all()
    if not rows:
        scope = f" of model id {model_id}" if model_id is not None else ""
        what = role.replace("_", " ") if role else "owner role"
        raise NotFound(f"{giver.name} holds no {what}{scope}: nothing to hand over.")
    for row in rows:
        model = _get(session, Model, row.model_id, "model")
        require(session, actor, "ownership.assign", business_unit=model.business_unit)
        before = {"role": row.role, "person_id": row.person_id, "since": row.since}
        held = session.exec(
            select(Ownership).where(
                col(Ownership.model_id) == row.model_id,
                col(Ownership.role) == row.role,
                col(Ownership.person_id) == to_person_id,
            )
        ).first()
        end_ownership_row(session, actor, row, until=start, why=f"handed over to {taker.name}: {reason}")
        if held is None:
            session.add(
                Ownership(
                    model_id=row.model_id,
                    person_id=to_person_id,
                    role=row.role,
                    since=start,
                    reason=f"handed over by {giver.name}: {reason}",
                )
            )
            session.flush()
        audit.record(
            session,
            actor=actor,
            action=events.OWNERSHIP_HANDED_OVER,
            object_id=row.model_id,
            model_id=row.model_id,
            before=before,
            after={"role": row.role, "person_id": to_person_id, "since": start, "reason": reason},
            reason=reason,
        )
    return len(rows)


def person_leaves(
    session: Session,
    *,
    actor: Actor,
    person_id: int,
    left_on: date | None = None,
    successor_id: int | None = None,
    reason: str = "",
) -> int:
    """Mark a person as having left and, with ``successor_id``, hand every owner role they hold to
    the successor in the same transaction. Returns how many roles were handed over (0 without a
    successor: the roles stay theirs, flagged as a knowledge-loss risk on the Owners page)."""
    person = _get(session, Person, person_id, "person")
    if not person.active:
        raise Conflict(f"{person.name} is already marked as left (on {person.left_on}).")
    if left_on is not None and left_on > clock.today():
        raise InvalidInput(f"the day someone left cannot be in the future ({left_on}).")
    services.set_person_active(session, actor=actor, person_id=person_id, active=False, left_on=left_on)
    if successor_id is None:
        return 0
    held = session.exec(select(Ownership).where(col(Ownership.person_id) == person_id)).first()
    if held is None:
        return 0
    return hand_over(
        session,
        actor=actor,
        from_person_id=person_id,
        to_person_id=successor_id,
        reason=reason or f"{person.name} left",
        effective=effective_time(left_on),
    )


# --- models ----------------------------------------------------------------------------------------


def retire_model(
    session: Session, *, actor: Actor, model_id: int, reason: str, at: datetime | None = None
) -> int:
    """Retire a model: status 'retired' from ``at`` (default now) and every open deployment of
    its versions ended then. Its versions keep their stages (a stage changes only through a
    four-eyes promotion). Returns the number of deployments ended."""
    model = _get(session, Model, model_id, "model")
    require(session, actor, "model.update", business_unit=model.business_unit)
    reason = clean_text(reason, "reason").strip()
    if not reason:
        raise InvalidInput("say why the model is retired (e.g. 'replaced by Credit scoring v2').")
    if model.status == "retired":
        raise Conflict(f"'{model.name}' is already retired (since {model.retired_at:%Y-%m-%d}).")
    when = _effective(at, "a retirement")
    open_deployments = session.exec(
        select(Deployment)
        .join(ModelVersion, col(ModelVersion.id) == col(Deployment.model_version_id))
        .where(col(ModelVersion.model_id) == model_id, col(Deployment.until).is_(None))
        .order_by(col(Deployment.id))
    ).all()
    before = {**snapshot(model), "open_deployments": [snapshot(d) for d in open_deployments]}
    for deployment in open_deployments:
        if when < deployment.since:
            raise InvalidInput(
                f"deployment {deployment.id} ({deployment.environment}) started {deployment.since:%Y-%m-%d}, "
                f"after the retirement date {when:%Y-%m-%d}."
            )
        deployment.until = when
        session.add(deployment)
    model.status = "retired"
    model.retired_at = when
    session.add(model)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.MODEL_RETIRED,
        object_id=model_id,
        model_id=model_id,
        before=before,
        after={**snapshot(model), "ended_deployments": [saved_id(d) for d in open_deployments]},
        reason=reason,
    )
    return len(open_deployments)


# --- data ------------------------------------------------------------------------------------------


def create_feature(
    session: Session, *, actor: Actor, dataset_id: int, name: str, dtype: str = "", description: str = ""
) -> int:
    """Add a feature a dataset provides (lineage dataset -> feature). Returns the feature id."""
    require(session, actor, "lineage.write")
    dataset = _get(session, Dataset, dataset_id, "dataset")
    name = clean_name(name, "feature name")
    if session.exec(
        select(Feature).where(col(Feature.dataset_id) == dataset_id, col(Feature.name) == name)
    ).first():
        raise Conflict(f"Dataset '{dataset.name}' {dataset.version} already has a feature '{name}'.")
    row = Feature(
        dataset_id=dataset_id,
        name=name,
        dtype=clean_text(dtype, "feature type", max_len=40),
        description=clean_text(description, "description"),
    )
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action=events.FEATURE_CREATED, object_id=row.id, after=snapshot(row))
    services._add_edge(session, "dataset", dataset_id, "feature", saved_id(row), "provides")
    return saved_id(row)


def update_data_source(session: Session, *, actor: Actor, source_id: int, **changes: Any) -> None:
    """Change a data source's kind, location, owner team or description."""
    require(session, actor, "lineage.write")
    row = _get(session, DataSource, source_id, "data source")
    limits = {"kind": 40, "location": 1000, "owner_team": 200, "description": None}
    _apply_changes(row, changes, limits, what="data source")
    if row.kind.strip() == "":
        raise InvalidInput("a data source needs a kind (database, api, file, stream ...).")
    _record_update(session, actor, row, events.DATA_SOURCE_UPDATED, changes)


def update_business_process(session: Session, *, actor: Actor, process_id: int, **changes: Any) -> None:
    """Change a business process's description, KPI or KPI unit (for owners of its business unit)."""
    row = _get(session, BusinessProcess, process_id, "business process")
    require(session, actor, "model.update", business_unit=row.business_unit)
    _apply_changes(row, changes, {"description": None, "kpi": 200, "kpi_unit": 40}, what="business process")
    _record_update(session, actor, row, events.BUSINESS_PROCESS_UPDATED, changes)


def _apply_changes(row: Any, changes: dict[str, Any], limits: dict[str, int | None], *, what: str) -> None:
    unknown = set(changes) - set(limits)
    if unknown:
        raise InvalidInput(f"{what} field(s) {', '.join(sorted(unknown))} cannot be changed here.")
    for key, value in changes.items():
        label = key.replace("_", " ")
        limit = limits[key]
        setattr(
            row, key, clean_text(value, label) if limit is None else clean_text(value, label, max_len=limit)
        )


def _record_update(
    session: Session, actor: Actor, row: Any, action: events.EventKind, changes: dict[str, Any]
) -> None:
    """Audit the fields that changed, before and after (from the ORM's attribute history)."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    state = sa_inspect(row)
    for key in changes:
        history = state.attrs[key].history
        if history.has_changes():
            before[key] = history.deleted[0] if history.deleted else None
            after[key] = history.added[0] if history.added else None
    if not after:
        raise InvalidInput("nothing to change: every field already holds that value.")
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action=action, object_id=row.id, before=before, after=after)


# --- deployments and lineage -----------------------------------------------------------------------


def add_deployment(
    session: Session,
    *,
    actor: Actor,
    version_id: int,
    environment: str,
    endpoint: str = "",
    business_process_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Record where a version runs (environment, endpoint) from ``since`` (default now) and, for a
    deployment already over, ``until``. Returns the deployment id."""
    start = _effective(since, "a deployment's start")
    if until is not None:
        end = _effective(until, "a deployment's end")
        if end < start:
            raise InvalidInput(
                f"a deployment cannot end ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d})."
            )
    deployment_id = services.create_deployment(
        session,
        actor=actor,
        version_id=version_id,
        environment=environment,
        endpoint=endpoint,
        business_process_id=business_process_id,
        since=start,
    )
    if until is not None:
        end_deployment(session, actor=actor, deployment_id=deployment_id, until=until)
    return deployment_id


def end_deployment(
    session: Session, *, actor: Actor, deployment_id: int, until: datetime | None = None
) -> None:
    """End a deployment at ``until`` (default now): the version no longer runs there."""
    row = _get(session, Deployment, deployment_id, "deployment")
    version = _get(session, ModelVersion, row.model_version_id, "model version")
    model = _get(session, Model, version.model_id, "model")
    require(session, actor, "lineage.write", business_unit=model.business_unit)
    if row.until is not None:
        raise Conflict(
            f"Deployment {deployment_id} ({row.environment}) already ended on {row.until:%Y-%m-%d}."
        )
    end = _effective(until, "a deployment's end")
    if end < row.since:
        raise InvalidInput(
            f"a deployment cannot end ({end:%Y-%m-%d}) before it starts ({row.since:%Y-%m-%d})."
        )
    services.end_deployment(session, actor=actor, deployment_id=deployment_id, until=end)


def link_lineage(
    session: Session,
    *,
    actor: Actor,
    src_type: str,
    src_id: int,
    dst_type: str,
    dst_id: int,
    relation: str = "feeds",
) -> None:
    """Draw a lineage link between two recorded objects. Refuses unknown objects, a link that
    exists already and one that would close a cycle."""
    clean_choice(src_type, "source type", LINEAGE_NODE_TYPES)
    clean_choice(dst_type, "target type", LINEAGE_NODE_TYPES)
    for node_type, node_id in ((src_type, src_id), (dst_type, dst_id)):
        unit = _unit_of(session, node_type, node_id)
        if unit is not None:
            require(session, actor, "lineage.write", business_unit=unit)
    if session.exec(
        select(LineageEdge).where(
            col(LineageEdge.src_type) == src_type,
            col(LineageEdge.src_id) == src_id,
            col(LineageEdge.dst_type) == dst_type,
            col(LineageEdge.dst_id) == dst_id,
        )
    ).first():
        raise Conflict("These two are linked already.")
    services.add_lineage_edge(
        session,
        actor=actor,
        src_type=src_type,
        src_id=src_id,
        dst_type=dst_type,
        dst_id=dst_id,
        relation=relation,
    )
    if src_type == "data_source" and dst_type == "dataset":
        dataset = _get(session, Dataset, dst_id, "dataset")
        if dataset.data_source_id is None:  # a dataset without a source now has one: its provenance
            before = snapshot(dataset)
            dataset.data_source_id = src_id
            session.add(dataset)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action=events.DATASET_SOURCE_SET,
                object_id=dst_id,
                before=before,
                after=snapshot(dataset),
            )


def _unit_of(session: Session, node_type: str, node_id: int) -> str | None:
    """The business unit a model version or deployment belongs to (None for shared data)."""
    if node_type == "deployment":
        deployment = session.get(Deployment, node_id)
        node_type, node_id = "model_version", deployment.model_version_id if deployment else -1
    if node_type == "model_version":
        version = session.get(ModelVersion, node_id)
        model = session.get(Model, version.model_id) if version else None
        if model is None:
            raise NotFound(f"No model version with id {node_id}.")
        return model.business_unit
    return None
