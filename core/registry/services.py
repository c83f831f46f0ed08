"""Use cases that change the registry. Each takes the session and the acting person,
checks the role, writes the change and its audit event in the caller's transaction.

Call them inside ``core.db.engine.write_session(engine)`` so that the change and its audit
event commit together or not at all.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import ROLES, Actor, require
from core.db.models import (
    BusinessProcess,
    Dataset,
    DataSource,
    Deployment,
    Feature,
    LineageEdge,
    Model,
    ModelCardRevision,
    ModelVersion,
    Ownership,
    OwnershipPeriod,
    Person,
    RoleGrant,
    StageChange,
)
from core.db.models.registry import (
    DATASET_ROLES,
    LINEAGE_NODE_TYPES,
    MODEL_STATUSES,
    OWNERSHIP_ROLES,
    STAGES,
    TASKS,
)
from core.db.types import saved_id
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.registry.validation import (
    clean_case_link,
    clean_choice,
    clean_class_names,
    clean_email,
    clean_horizon,
    clean_json_numbers,
    clean_name,
    clean_number,
    clean_sha256,
    clean_task,
    clean_text,
)

SYSTEM_EMAIL = "system@steward.local"


def snapshot(row: Any) -> dict[str, Any]:
    """A row as a plain dict for audit before/after."""
    return row.model_dump()


# --- people and roles -------------------------------------------------------------------


def ensure_system_person(session: Session, email: str = SYSTEM_EMAIL) -> Actor:
    """The service account that `steward init`, the demo and cron jobs act as (admin, model owner).

    Created once, audited as acting on its own behalf.
    """
    person = session.exec(select(Person).where(col(Person.email) == email)).first()
    if person is not None:
        return Actor(id=saved_id(person), email=person.email, name=person.name)
    person = Person(name="Steward system", email=email, team="platform", is_system=True)
    session.add(person)
    session.flush()
    actor = Actor(id=saved_id(person), email=person.email, name=person.name)
    for role in ("admin", "model_owner"):
        session.add(RoleGrant(person_id=saved_id(person), role=role, business_unit=""))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.PERSON_CREATED,
        object_id=person.id,
        after={**snapshot(person), "roles": ["admin", "model_owner"]},
        reason="service account created at init",
    )
    return actor


def create_person(
    session: Session,
    *,
    actor: Actor,
    name: str,
    email: str,
    team: str = "",
    roles: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
) -> int:
    """Add a person, optionally with (role, business_unit) grants. Returns the person id."""
    require(session, actor, "person.manage")
    name = clean_name(name, "name")
    email = clean_email(email)
    team = clean_text(team, "team", max_len=200)
    if session.exec(select(Person).where(col(Person.email) == email)).first():
        raise Conflict(f"A person with email '{email}' already exists.")
    person = Person(name=name, email=email, team=team)
    session.add(person)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.PERSON_CREATED,
        object_id=person.id,
        after=snapshot(person),
    )
    for role, unit in roles:
        grant_role(session, actor=actor, person_id=saved_id(person), role=role, business_unit=unit)
    return saved_id(person)


def set_person_active(
    session: Session, *, actor: Actor, person_id: int, active: bool, left_on: date | None = None
) -> None:
    """Mark a person as having left (or returned). Their ownerships stay, flagged as knowledge-loss risk."""
    require(session, actor, "person.manage")
    person = _get(session, Person, person_id, "person")
    before = snapshot(person)
    person.active = active
    person.left_on = None if active else (left_on or clock.today())
    session.add(person)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.PERSON_LEFT if not active else events.PERSON_REACTIVATED,
        object_id=person_id,
        before=before,
        after=snapshot(person),
    )


def grant_role(session: Session, *, actor: Actor, person_id: int, role: str, business_unit: str = "") -> None:
    """Grant ``role`` to a person. Nobody grants a role to themselves (four-eyes over who may approve)."""
    require(session, actor, "role.grant")
    if person_id == actor.id:
        raise PermissionDenied(
            f"{actor.name} cannot grant a role to themselves: another admin must grant "
            f"'{role.replace('_', ' ')}' to them."
        )
    clean_choice(role, "role", tuple(ROLES))
    business_unit = clean_text(business_unit, "business unit", max_len=200)
    _get(session, Person, person_id, "person")
    exists = session.exec(
        select(RoleGrant).where(
            col(RoleGrant.person_id) == person_id,
            col(RoleGrant.role) == role,
            col(RoleGrant.business_unit) == business_unit,
        )
    ).first()
    if exists:
        raise Conflict(
            f"Person {person_id} already holds role '{role}'"
            + (f" for '{business_unit}'." if business_unit else ".")
        )
    grant = RoleGrant(person_id=person_id, role=role, business_unit=business_unit, granted_by_id=actor.id)
    session.add(grant)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.ROLE_GRANTED,
        object_id=person_id,
        after={"role": role, "business_unit": business_unit},
    )


def revoke_role(
    session: Session, *, actor: Actor, person_id: int, role: str, business_unit: str = ""
) -> None:
    require(session, actor, "role.grant")
    grant = session.exec(
        select(RoleGrant).where(
            col(RoleGrant.person_id) == person_id,
            col(RoleGrant.role) == role,
            col(RoleGrant.business_unit) == business_unit,
        )
    ).first()
    if grant is None:
        raise NotFound(
            f"Person {person_id} does not hold role '{role}'"
            + (f" for '{business_unit}'." if business_unit else ".")
        )
    if person_id == actor.id and role == "admin":
        raise Conflict("You cannot revoke your own admin role; ask another admin.")
    session.delete(grant)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.ROLE_REVOKED,
        object_id=person_id,
        before={"role": role, "business_unit": business_unit},
    )


# --- models and versions ----------------------------------------------------------------


def create_business_process(
    session: Session,
    *,
    actor: Actor,
    name: str,
    business_unit: str,
    description: str = "",
    kpi: str = "",
    kpi_unit: str = "",
) -> int:
    business_unit = clean_name(business_unit, "business unit")
    require(session, actor, "model.register", business_unit=business_unit)
    name = clean_name(name, "business process name")
    if session.exec(select(BusinessProcess).where(col(BusinessProcess.name) == name)).first():
        raise Conflict(f"Business process '{name}' already exists.")
    row = BusinessProcess(
        name=name,
        business_unit=business_unit,
        description=clean_text(description, "description"),
        kpi=clean_text(kpi, "KPI", max_len=200),
        kpi_unit=clean_text(kpi_unit, "KPI unit", max_len=40),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.BUSINESS_PROCESS_CREATED,
        object_id=row.id,
        after=snapshot(row),
    )
    return saved_id(row)


_MODEL_TEXT_FIELDS = ("purpose", "intended_use", "out_of_scope_uses")
_MODEL_SHORT_FIELDS = ("kpi", "methodology", "target", "vendor_name", "primary_metric")


def register_model(
    session: Session,
    *,
    actor: Actor,
    name: str,
    business_unit: str,
    task: str = "binary_classification",
    business_process_id: int | None = None,
    status: str = "development",
    is_vendor: bool = False,
    metric_thresholds: dict[str, Any] | None = None,
    case_link_template: str = "",
    outcome_horizon_days: int | None = None,
    **fields: Any,
) -> int:
    """Register a new model. ``fields`` may hold purpose, intended_use, out_of_scope_uses, kpi,
    methodology, target, vendor_name, primary_metric. ``case_link_template`` (an http(s) address
    with ``{request_id}``) links labellers to each case; ``outcome_horizon_days`` is how long after
    a prediction its outcome is known. Returns the model id."""
    business_unit = clean_name(business_unit, "business unit")
    require(session, actor, "model.register", business_unit=business_unit)
    name = clean_name(name, "model name")
    unknown = set(fields) - set(_MODEL_TEXT_FIELDS) - set(_MODEL_SHORT_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown model field(s): {', '.join(sorted(unknown))}.")
    if session.exec(select(Model).where(col(Model.name) == name)).first():
        raise Conflict(f"A model named '{name}' already exists.")
    if business_process_id is not None:
        _get(session, BusinessProcess, business_process_id, "business process")
    texts: dict[str, Any] = {
        k: clean_text(v, k.replace("_", " ")) for k, v in fields.items() if k in _MODEL_TEXT_FIELDS
    }
    texts |= {
        k: clean_text(v, k.replace("_", " "), max_len=200)
        for k, v in fields.items()
        if k in _MODEL_SHORT_FIELDS
    }
    model = Model(
        name=name,
        business_unit=business_unit,
        task=clean_task(task, TASKS),
        status=clean_choice(status, "status", MODEL_STATUSES),
        business_process_id=business_process_id,
        is_vendor=bool(is_vendor),
        metric_thresholds=_clean_thresholds(metric_thresholds),
        case_link_template=clean_case_link(case_link_template),
        outcome_horizon_days=clean_horizon(outcome_horizon_days),
        **texts,
    )
    session.add(model)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.MODEL_REGISTERED,
        object_id=model.id,
        model_id=model.id,
        after=snapshot(model),
    )
    return saved_id(model)


def _clean_thresholds(thresholds: dict[str, Any] | None) -> dict[str, Any]:
    if not thresholds:
        return {}
    if not isinstance(thresholds, dict):
        raise InvalidInput("metric thresholds must map a metric name to {'min': x} or {'max': x}.")
    cleaned: dict[str, Any] = {}
    for metric, bound in thresholds.items():
        if not isinstance(bound, dict) or not set(bound) <= {"min", "max"} or not bound:
            raise InvalidInput(f"threshold for '{metric}' must be {{'min': x}} and/or {{'max': x}}.")
        cleaned[clean_name(metric, "metric name")] = {
            k: clean_number(v, f"threshold {metric} {k}") for k, v in bound.items()
        }
    return cleaned


def update_model(session: Session, *, actor: Actor, model_id: int, reason: str = "", **changes: Any) -> None:
    """Change descriptive fields of a model (purpose, uses, status, thresholds, process, the
    labellers' case link template and outcome horizon...)."""
    model = _get(session, Model, model_id, "model")
    require(session, actor, "model.update", business_unit=model.business_unit)
    before = snapshot(model)
    for key, value in changes.items():
        if key in _MODEL_TEXT_FIELDS:
            setattr(model, key, clean_text(value, key.replace("_", " ")))
        elif key in _MODEL_SHORT_FIELDS:
            setattr(model, key, clean_text(value, key.replace("_", " "), max_len=200))
        elif key == "status":
            model.status = clean_choice(value, "status", MODEL_STATUSES)
            model.retired_at = clock.now() if value == "retired" else None
        elif key == "metric_thresholds":
            model.metric_thresholds = _clean_thresholds(value)
        elif key == "business_process_id":
            if value is not None:
                _get(session, BusinessProcess, value, "business process")
            model.business_process_id = value
        elif key == "is_vendor":
            model.is_vendor = bool(value)
        elif key == "case_link_template":
            model.case_link_template = clean_case_link(value)
        elif key == "outcome_horizon_days":
            model.outcome_horizon_days = clean_horizon(value)
        else:
            raise InvalidInput(f"model field '{key}' cannot be changed here.")
    if snapshot(model) == before:
        raise InvalidInput(f"nothing to change: '{model.name}' already holds these values.")
    session.add(model)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.MODEL_UPDATED,
        object_id=model_id,
        model_id=model_id,
        before=before,
        after=snapshot(model),
        reason=clean_text(reason, "reason"),
    )


CARD_SECTIONS = (
    "card_training_data",
    "card_evaluation",
    "card_limitations",
    "card_ethical_considerations",
    "card_caveats",
)


def register_version(
    session: Session,
    *,
    actor: Actor,
    model_id: int,
    metrics: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    feature_names: list[str] | None = None,
    git_commit: str = "",
    artifact_uri: str = "",
    artifact_sha256: str = "",
    artifact_format: str = "",
    source_uri: str = "",
    source_sha256: str = "",
    training_dataset_id: int | None = None,
    evaluation_dataset_id: int | None = None,
    description: str = "",
    created_at: datetime | None = None,
    version: int | None = None,
    class_names: list[str] | None = None,
    **card: str,
) -> int:
    """Register a version of a model (stage 'none'). Returns the version id.

    A multiclass classifier's version needs ``class_names``, its classes in order; its logged
    predictions and labels name one of them.

    Its number is the next one after the model's highest, or ``version`` when given: an import
    keeps the number the version has in the registry it comes from (MLflow's 1, 3, 4 stay
    1, 3, 4), so gaps are allowed and a number is never reused."""
    model = _get(session, Model, model_id, "model")
    require(session, actor, "version.register", business_unit=model.business_unit)
    unknown = set(card) - set(CARD_SECTIONS)
    if unknown:
        raise InvalidInput(f"unknown model-card section(s): {', '.join(sorted(unknown))}.")
    for ds in (training_dataset_id, evaluation_dataset_id):
        if ds is not None:
            _get(session, Dataset, ds, "dataset")
    if artifact_uri and not artifact_sha256:
        raise InvalidInput("an artifact needs its sha256.")
    if params is not None and not isinstance(params, dict):
        raise InvalidInput("params must be a mapping of name to value.")
    names = [clean_name(n, "feature name") for n in (feature_names or [])]
    if len(set(names)) != len(names):
        raise InvalidInput("feature names must be unique.")
    classes = clean_class_names(class_names, task=model.task, model=model.name)
    sections: dict[str, Any] = {
        k: clean_text(v, k.replace("card_", "model card ").replace("_", " ")) for k, v in card.items()
    }
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidInput(f"version number must be a whole number of at least 1, not {version!r}.")
        taken = session.exec(
            select(col(ModelVersion.id)).where(
                col(ModelVersion.model_id) == model_id, col(ModelVersion.version) == version
            )
        ).first()
        if taken is not None:
            raise Conflict(f"{model.name} already has a version {version}; a number is never reused.")
        number = version
    else:
        latest = session.exec(
            select(func.max(col(ModelVersion.version))).where(col(ModelVersion.model_id) == model_id)
        ).one()
        number = (latest or 0) + 1
    row = ModelVersion(
        model_id=model_id,
        version=number,
        created_by_id=actor.id,
        created_at=created_at or clock.now(),
        git_commit=clean_text(git_commit, "git commit", max_len=64),
        artifact_uri=clean_text(artifact_uri, "artifact uri", max_len=1000),
        artifact_sha256=clean_sha256(artifact_sha256),
        artifact_format=clean_text(artifact_format, "artifact format", max_len=40),
        source_uri=clean_text(source_uri, "source uri", max_len=1000),
        source_sha256=clean_sha256(source_sha256, "source_sha256"),
        training_dataset_id=training_dataset_id,
        evaluation_dataset_id=evaluation_dataset_id,
        feature_names=names,
        class_names=classes,
        metrics=clean_json_numbers(metrics, "metric"),
        params={clean_name(k, "param name"): v for k, v in (params or {}).items()},
        description=clean_text(description, "description"),
        **sections,
    )
    session.add(row)
    session.flush()
    _add_card_revision(session, actor, row, "as registered", at=row.created_at)
    audit.record(
        session,
        actor=actor,
        action=events.VERSION_REGISTERED,
        object_id=row.id,
        model_id=model_id,
        after=snapshot(row),
    )
    for ds in sorted({d for d in (training_dataset_id, evaluation_dataset_id) if d is not None}):
        _add_edge(
            session,
            "dataset",
            ds,
            "model_version",
            saved_id(row),
            "trains" if ds == training_dataset_id else "evaluates",
        )
    return saved_id(row)


def update_model_card(
    session: Session, *, actor: Actor, version_id: int, reason: str = "", **sections: str
) -> int:
    """Write a new revision of a version's model card: the given sections change, the others are
    carried over. Earlier revisions are kept as they were (a promotion request names the one its
    approvers saw). Refuses a revision that changes nothing. Returns the new revision number."""
    version = _get(session, ModelVersion, version_id, "model version")
    model = _get(session, Model, version.model_id, "model")
    require(session, actor, "model.update", business_unit=model.business_unit)
    unknown = set(sections) - set(CARD_SECTIONS)
    if unknown:
        raise InvalidInput(f"unknown model-card section(s): {', '.join(sorted(unknown))}.")
    cleaned = {
        key: clean_text(value, key.replace("card_", "model card ").replace("_", " "))
        for key, value in sections.items()
    }
    reason = clean_text(reason, "reason")
    changed = {k: v for k, v in cleaned.items() if v != (getattr(version, k) or "")}
    if not changed:
        raise InvalidInput(
            f"the model card of version {version.version} already says this: no new revision written."
        )
    before_revision = card_revision_number(session, version_id)
    before = {k: getattr(version, k) for k in changed}
    for key, value in changed.items():
        setattr(version, key, value)
    version.row_version += 1
    session.add(version)
    session.flush()
    revision = _add_card_revision(session, actor, version, reason)
    audit.record(
        session,
        actor=actor,
        action=events.MODEL_CARD_UPDATED,
        object_id=version_id,
        model_id=model.id,
        before={**before, "revision": before_revision},
        after={**changed, "revision": revision},
        reason=reason,
    )
    return revision


def card_revision_number(session: Session, version_id: int) -> int:
    """The newest revision of a version's card (0 for none: a registry written before revisions)."""
    newest = session.exec(
        select(func.max(col(ModelCardRevision.revision))).where(
            col(ModelCardRevision.model_version_id) == version_id
        )
    ).one()
    return int(newest or 0)


def _add_card_revision(
    session: Session, actor: Actor, version: ModelVersion, reason: str, *, at: datetime | None = None
) -> int:
    number = card_revision_number(session, saved_id(version)) + 1
    session.add(
        ModelCardRevision(
            model_version_id=saved_id(version),
            revision=number,
            sections={k: getattr(version, k) or "" for k in CARD_SECTIONS},
            created_by_id=actor.id,
            created_at=at or clock.now(),
            reason=reason,
        )
    )
    session.flush()
    return number


def apply_stage_change(
    session: Session,
    *,
    actor: Actor,
    version_id: int,
    to_stage: str,
    reason: str,
    expected_row_version: int | None = None,
    at: datetime | None = None,
) -> None:
    """Move a version to ``to_stage``; a new production version archives the previous one.

    This is the mechanism, not the policy: it checks no role. Only the promotion workflow
    (after four-eyes approval) and the demo builder call it. ``expected_row_version`` makes it
    compare-and-set: a concurrent change raises Conflict instead of being overwritten.
    """
    to_stage = clean_choice(to_stage, "stage", STAGES)
    version = _get(session, ModelVersion, version_id, "model version")
    if expected_row_version is not None and version.row_version != expected_row_version:
        raise Conflict(
            f"Version {version.version} changed meanwhile (row version {version.row_version}, expected {expected_row_version})."
        )
    if version.stage == to_stage:
        raise Conflict(f"Version {version.version} is already in stage '{to_stage}'.")
    when = at or clock.now()
    if to_stage == "production":
        current = session.exec(
            select(ModelVersion).where(
                col(ModelVersion.model_id) == version.model_id, col(ModelVersion.stage) == "production"
            )
        ).first()
        if current is not None:
            _set_stage(session, actor, current, "archived", f"replaced by version {version.version}", when)
    _set_stage(session, actor, version, to_stage, reason, when)


def _set_stage(
    session: Session, actor: Actor, version: ModelVersion, to_stage: str, reason: str, when: datetime
) -> None:
    before = {"stage": version.stage, "row_version": version.row_version}
    change = StageChange(
        model_id=version.model_id,
        model_version_id=saved_id(version),
        from_stage=version.stage,
        to_stage=to_stage,
        changed_at=when,
        changed_by_id=actor.id,
        reason=reason,
    )
    session.add(change)
    version.stage = to_stage
    version.row_version += 1
    session.add(version)
    session.flush()
    # The stage history row's id and time go into the chained event, so "what was in production
    # on date D" can be checked against the log (core.audit.stage_history_problems).
    audit.record(
        session,
        actor=actor,
        action=events.VERSION_STAGE_CHANGED,
        object_id=version.id,
        model_id=version.model_id,
        before=before,
        after={
            "stage": to_stage,
            "row_version": version.row_version,
            "stage_change_id": change.id,
            "changed_at": when,
        },
        reason=reason,
    )


# --- ownership ---------------------------------------------------------------------------


def assign_owner(
    session: Session,
    *,
    actor: Actor,
    model_id: int,
    person_id: int,
    role: str,
    since: datetime | None = None,
    reason: str = "",
) -> None:
    """Name a person as business_owner, technical_owner, validator or backup of a model, from
    ``since`` (default now; never in the future) for ``reason``.

    The accountable business owner and the technical owner are one person each: assigning a
    new one ends the previous holder's period (kept in ownership_period). Validators and backups
    may be several.
    """
    model = _get(session, Model, model_id, "model")
    require(session, actor, "ownership.assign", business_unit=model.business_unit)
    role = clean_choice(role, "ownership role", OWNERSHIP_ROLES)
    person = _get(session, Person, person_id, "person")
    label = role.replace("_", " ")
    if not person.active:
        raise InvalidInput(f"{person.name} has left; name an active person as {label}.")
    reason = clean_text(reason, "reason")
    start = _effective(since, "the start of an ownership")
    existing = session.exec(
        select(Ownership).where(col(Ownership.model_id) == model_id, col(Ownership.role) == role)
    ).all()
    if any(o.person_id == person_id for o in existing):
        raise Conflict(f"{person.name} is already {label} of '{model.name}'.")
    before = [o.person_id for o in existing]
    if role in ("business_owner", "technical_owner"):
        for o in existing:
            end_ownership_row(session, actor, o, until=start, why=reason or f"replaced by {person.name}")
    session.add(Ownership(model_id=model_id, person_id=person_id, role=role, since=start, reason=reason))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.OWNERSHIP_ASSIGNED,
        object_id=model_id,
        model_id=model_id,
        before={"role": role, "person_ids": before},
        after={"role": role, "person_id": person_id, "since": start, "reason": reason},
        reason=reason,
    )


def end_ownership_row(session: Session, actor: Actor, row: Ownership, *, until: datetime, why: str) -> None:
    """Close an ownership: its period moves to ownership_period with its end and why it ended."""
    if until < row.since:
        person = session.get(Person, row.person_id)
        raise InvalidInput(
            f"{person.name if person else 'the current holder'} is {row.role.replace('_', ' ')} only since "
            f"{row.since:%Y-%m-%d}; the change cannot take effect before that ({until:%Y-%m-%d})."
        )
    session.add(
        OwnershipPeriod(
            model_id=row.model_id,
            person_id=row.person_id,
            role=row.role,
            since=row.since,
            until=until,
            reason=row.reason,
            end_reason=why,
            ended_by_id=actor.id,
        )
    )
    session.delete(row)
    session.flush()


def _effective(when: datetime | None, what: str) -> datetime:
    """An effective time given by a person: now by default, timezone-aware, not in the future."""
    if when is None:
        return clock.now()
    if when.tzinfo is None:
        raise InvalidInput(f"{what} needs a time zone (UTC).")
    if when > clock.now():
        raise InvalidInput(
            f"{what} cannot be in the future ({when:%Y-%m-%d}): record the change on the day it takes effect."
        )
    return when


def remove_owner(
    session: Session,
    *,
    actor: Actor,
    model_id: int,
    person_id: int,
    role: str,
    reason: str = "",
    until: datetime | None = None,
) -> None:
    """End a person's ownership role of a model (kept in ownership_period with ``reason``)."""
    model = _get(session, Model, model_id, "model")
    require(session, actor, "ownership.assign", business_unit=model.business_unit)
    row = session.exec(
        select(Ownership).where(
            col(Ownership.model_id) == model_id,
            col(Ownership.person_id) == person_id,
            col(Ownership.role) == role,
        )
    ).first()
    if row is None:
        raise NotFound(f"Person {person_id} is not {role.replace('_', ' ')} of '{model.name}'.")
    reason = clean_text(reason, "reason")
    before = {"role": role, "person_id": person_id, "since": row.since, "reason": row.reason}
    end = _effective(until, "the end of an ownership")
    end_ownership_row(session, actor, row, until=end, why=reason or "removed")
    audit.record(
        session,
        actor=actor,
        action=events.OWNERSHIP_REMOVED,
        object_id=model_id,
        model_id=model_id,
        before=before,
        after={"role": role, "person_id": None, "until": end},
        reason=reason,
    )


# --- data lineage --------------------------------------------------------------------------


def create_data_source(
    session: Session,
    *,
    actor: Actor,
    name: str,
    kind: str = "database",
    location: str = "",
    owner_team: str = "",
    description: str = "",
) -> int:
    require(session, actor, "lineage.write")
    name = clean_name(name, "data source name")
    if session.exec(select(DataSource).where(col(DataSource.name) == name)).first():
        raise Conflict(f"Data source '{name}' already exists.")
    row = DataSource(
        name=name,
        kind=clean_name(kind, "kind", max_len=40),
        location=clean_text(location, "location", max_len=1000),
        owner_team=clean_text(owner_team, "owner team", max_len=200),
        description=clean_text(description, "description"),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.DATA_SOURCE_CREATED,
        object_id=row.id,
        after=snapshot(row),
    )
    return saved_id(row)


def create_dataset(
    session: Session,
    *,
    actor: Actor,
    name: str,
    version: str,
    data_source_id: int | None = None,
    content_hash: str = "",
    row_count: int = 0,
    date_from: date | None = None,
    date_to: date | None = None,
    data_schema: dict[str, str] | None = None,
    uri: str = "",
    features: dict[str, str] | None = None,
    role: str = "",
    storage: str = "",
) -> int:
    """Register a dataset version (and, optionally, its features as name -> dtype).

    ``role`` and ``storage`` say what it is for and where its data is kept (see
    ``core.registry.datasets``, which reads and keeps the data before calling this)."""
    require(session, actor, "lineage.write")
    name = clean_name(name, "dataset name")
    version = clean_name(version, "dataset version", max_len=60)
    if session.exec(
        select(Dataset).where(col(Dataset.name) == name, col(Dataset.version) == version)
    ).first():
        raise Conflict(f"Dataset '{name}' version '{version}' already exists.")
    if data_source_id is not None:
        _get(session, DataSource, data_source_id, "data source")
    if row_count < 0:
        raise InvalidInput("row count must not be negative.")
    if date_from and date_to and date_from > date_to:
        raise InvalidInput(f"dataset date range is reversed: {date_from} is after {date_to}.")
    row = Dataset(
        name=name,
        version=version,
        data_source_id=data_source_id,
        content_hash=clean_sha256(content_hash, "content hash"),
        row_count=int(row_count),
        date_from=date_from,
        date_to=date_to,
        data_schema=dict(data_schema or {}),
        uri=clean_text(uri, "uri", max_len=1000),
        role=clean_choice(role, "dataset role", DATASET_ROLES) if role else "",
        storage=clean_choice(storage, "dataset storage", ("store", "external")) if storage else "",
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.DATASET_CREATED,
        object_id=row.id,
        after=snapshot(row),
    )
    if data_source_id is not None:
        _add_edge(session, "data_source", data_source_id, "dataset", saved_id(row), "extracts")
    for feature_name, dtype in (features or {}).items():
        feature = Feature(
            dataset_id=saved_id(row), name=clean_name(feature_name, "feature name"), dtype=str(dtype)
        )
        session.add(feature)
        session.flush()
        _add_edge(session, "dataset", saved_id(row), "feature", saved_id(feature), "provides")
    return saved_id(row)


def link_features_to_version(
    session: Session, *, actor: Actor, version_id: int, feature_ids: list[int]
) -> None:
    """Record that a model version consumes these features (lineage feature -> model_version)."""
    require(session, actor, "lineage.write")
    _get(session, ModelVersion, version_id, "model version")
    for fid in feature_ids:
        _get(session, Feature, fid, "feature")
        _add_edge(session, "feature", fid, "model_version", version_id, "input to")
    audit.record(
        session,
        actor=actor,
        action=events.LINEAGE_FEATURES_LINKED,
        object_id=version_id,
        after={"feature_ids": sorted(feature_ids)},
    )


def create_deployment(
    session: Session,
    *,
    actor: Actor,
    version_id: int,
    environment: str,
    endpoint: str = "",
    business_process_id: int | None = None,
    since: datetime | None = None,
) -> int:
    version = _get(session, ModelVersion, version_id, "model version")
    model = _get(session, Model, version.model_id, "model")
    require(session, actor, "lineage.write", business_unit=model.business_unit)
    if business_process_id is not None:
        _get(session, BusinessProcess, business_process_id, "business process")
    row = Deployment(
        model_version_id=version_id,
        environment=clean_name(environment, "environment", max_len=40),
        endpoint=clean_text(endpoint, "endpoint", max_len=1000),
        business_process_id=business_process_id,
        since=since or clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.DEPLOYMENT_CREATED,
        object_id=row.id,
        model_id=model.id,
        after=snapshot(row),
    )
    _add_edge(session, "model_version", version_id, "deployment", saved_id(row), "deployed as")
    if business_process_id is not None:
        _add_edge(session, "deployment", saved_id(row), "business_process", business_process_id, "serves")
    return saved_id(row)


def end_deployment(
    session: Session, *, actor: Actor, deployment_id: int, until: datetime | None = None
) -> None:
    row = _get(session, Deployment, deployment_id, "deployment")
    require(session, actor, "lineage.write")
    before = snapshot(row)
    row.until = until or clock.now()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.DEPLOYMENT_ENDED,
        object_id=deployment_id,
        before=before,
        after=snapshot(row),
    )


def move_deployments(
    session: Session, *, actor: Actor, from_version_id: int, to_version_id: int, at: datetime, reason: str
) -> list[int]:
    """Hand the replaced version's running deployments to the version that replaces it: each is
    ended at ``at`` and recorded again for the new version (same environment, endpoint and
    business process, since ``at``), with its lineage edges. Returns the new deployments' ids.

    This is the mechanism, not the policy: it checks no role. The approval that puts a version in
    production calls it in its own transaction, so the deployment record follows the promotion."""
    running = session.exec(
        select(Deployment).where(
            col(Deployment.model_version_id) == from_version_id,
            (col(Deployment.until).is_(None)) | (col(Deployment.until) > at),
        )
    ).all()
    version = _get(session, ModelVersion, to_version_id, "model version")
    created = []
    for old in sorted(running, key=lambda d: saved_id(d)):
        before = snapshot(old)
        old.until = at
        session.add(old)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action=events.DEPLOYMENT_ENDED,
            object_id=old.id,
            model_id=version.model_id,
            before=before,
            after=snapshot(old),
            reason=reason,
        )
        row = Deployment(
            model_version_id=to_version_id,
            environment=old.environment,
            endpoint=old.endpoint,
            business_process_id=old.business_process_id,
            since=at,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action=events.DEPLOYMENT_CREATED,
            object_id=row.id,
            model_id=version.model_id,
            after=snapshot(row),
            reason=reason,
        )
        _add_edge(session, "model_version", to_version_id, "deployment", saved_id(row), "deployed as")
        if row.business_process_id is not None:
            _add_edge(
                session, "deployment", saved_id(row), "business_process", row.business_process_id, "serves"
            )
        created.append(saved_id(row))
    return created


def add_lineage_edge(
    session: Session,
    *,
    actor: Actor,
    src_type: str,
    src_id: int,
    dst_type: str,
    dst_id: int,
    relation: str = "feeds",
) -> None:
    """Add an edge between two existing nodes; refuses unknown nodes and edges that would close a cycle."""
    require(session, actor, "lineage.write")
    _add_edge(session, src_type, src_id, dst_type, dst_id, clean_name(relation, "relation", max_len=40))
    audit.record(
        session,
        actor=actor,
        action=events.LINEAGE_EDGE_ADDED,
        object_id=f"{src_type}:{src_id}->{dst_type}:{dst_id}",
        after={"relation": relation},
    )


_NODE_TABLES: dict[str, Any] = {
    "data_source": DataSource,
    "dataset": Dataset,
    "feature": Feature,
    "model_version": ModelVersion,
    "deployment": Deployment,
    "business_process": BusinessProcess,
}


def add_edge(session: Session, src_type: str, src_id: int, dst_type: str, dst_id: int, relation: str) -> None:
    """Record a lineage edge (unaudited: the caller's service audits its change); see ``add_lineage_edge``."""
    _add_edge(session, src_type, src_id, dst_type, dst_id, relation)


def _add_edge(
    session: Session, src_type: str, src_id: int, dst_type: str, dst_id: int, relation: str
) -> None:
    clean_choice(src_type, "source node type", LINEAGE_NODE_TYPES)
    clean_choice(dst_type, "target node type", LINEAGE_NODE_TYPES)
    _get(session, _NODE_TABLES[src_type], src_id, src_type.replace("_", " "))
    _get(session, _NODE_TABLES[dst_type], dst_id, dst_type.replace("_", " "))
    if (src_type, src_id) == (dst_type, dst_id):
        raise InvalidInput("a lineage edge cannot point to itself.")
    if session.exec(
        select(LineageEdge).where(
            col(LineageEdge.src_type) == src_type,
            col(LineageEdge.src_id) == src_id,
            col(LineageEdge.dst_type) == dst_type,
            col(LineageEdge.dst_id) == dst_id,
        )
    ).first():
        return
    if _reaches(session, (dst_type, dst_id), (src_type, src_id)):
        raise InvalidInput(
            f"edge {src_type} {src_id} -> {dst_type} {dst_id} would close a cycle in the lineage graph."
        )
    session.add(
        LineageEdge(src_type=src_type, src_id=src_id, dst_type=dst_type, dst_id=dst_id, relation=relation)
    )
    session.flush()


def _reaches(session: Session, start: tuple[str, int], goal: tuple[str, int]) -> bool:
    """Is ``goal`` downstream of ``start``? (breadth-first over stored edges)"""
    frontier = [start]
    seen = {start}
    while frontier:
        node_type, node_id = frontier.pop()
        for edge in session.exec(
            select(LineageEdge).where(
                col(LineageEdge.src_type) == node_type, col(LineageEdge.src_id) == node_id
            )
        ):
            nxt = (edge.dst_type, edge.dst_id)
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False


# --- business rules ------------------------------------------------------------------------


def _get(session: Session, table: Any, row_id: Any, what: str) -> Any:
    row = session.get(table, row_id) if row_id is not None else None
    if row is None:
        raise NotFound(f"No {what} with id {row_id}.")
    return row


def model_by_name(session: Session, name: str) -> Model:
    model = session.exec(select(Model).where(col(Model.name) == name)).first()
    if model is None:
        raise NotFound(f"No model named '{name}'. `steward ls` lists the registered models.")
    return model


def version_by_number(session: Session, model_id: int, version: int) -> ModelVersion:
    row = session.exec(
        select(ModelVersion).where(
            col(ModelVersion.model_id) == model_id, col(ModelVersion.version) == version
        )
    ).first()
    if row is None:
        raise NotFound(f"Model id {model_id} has no version {version}.")
    return row
