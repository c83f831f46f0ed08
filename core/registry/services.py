"""Use cases that change the registry. Each takes the session and the acting person,
checks the role, writes the change and its audit event in the caller's transaction.

Call them inside ``core.db.engine.write_session(engine)`` so that the change and its audit
event commit together or not at all.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from core import audit
from core.access import ROLES, Actor, require
from core.db.models import (
    BusinessProcess,
    BusinessRule,
    Dataset,
    DataSource,
    Deployment,
    Feature,
    LineageEdge,
    Model,
    ModelVersion,
    Ownership,
    Person,
    RoleGrant,
    StageChange,
)
from core.db.models.registry import LINEAGE_NODE_TYPES, MODEL_STATUSES, OWNERSHIP_ROLES, STAGES, TASKS
from core.db.types import utcnow
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.registry.validation import (
    clean_choice,
    clean_email,
    clean_json_numbers,
    clean_name,
    clean_number,
    clean_sha256,
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
    person = session.exec(select(Person).where(Person.email == email)).first()
    if person is not None:
        return Actor(id=person.id, email=person.email, name=person.name)  # type: ignore[arg-type]
    person = Person(name="Steward system", email=email, team="platform", is_system=True)
    session.add(person)
    session.flush()
    actor = Actor(id=person.id, email=person.email, name=person.name)  # type: ignore[arg-type]
    for role in ("admin", "model_owner"):
        session.add(RoleGrant(person_id=person.id, role=role, business_unit=""))  # type: ignore[arg-type]
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="person.created",
        object_type="person",
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
    if session.exec(select(Person).where(Person.email == email)).first():
        raise Conflict(f"A person with email '{email}' already exists.")
    person = Person(name=name, email=email, team=team)
    session.add(person)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="person.created",
        object_type="person",
        object_id=person.id,
        after=snapshot(person),
    )
    for role, unit in roles:
        grant_role(session, actor=actor, person_id=person.id, role=role, business_unit=unit)  # type: ignore[arg-type]
    return person.id  # type: ignore[return-value]


def set_person_active(
    session: Session, *, actor: Actor, person_id: int, active: bool, left_on: date | None = None
) -> None:
    """Mark a person as having left (or returned). Their ownerships stay, flagged as knowledge-loss risk."""
    require(session, actor, "person.manage")
    person = _get(session, Person, person_id, "person")
    before = snapshot(person)
    person.active = active
    person.left_on = None if active else (left_on or utcnow().date())
    session.add(person)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="person.left" if not active else "person.reactivated",
        object_type="person",
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
            RoleGrant.person_id == person_id, RoleGrant.role == role, RoleGrant.business_unit == business_unit
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
        action="role.granted",
        object_type="person",
        object_id=person_id,
        after={"role": role, "business_unit": business_unit},
    )


def revoke_role(
    session: Session, *, actor: Actor, person_id: int, role: str, business_unit: str = ""
) -> None:
    require(session, actor, "role.grant")
    grant = session.exec(
        select(RoleGrant).where(
            RoleGrant.person_id == person_id, RoleGrant.role == role, RoleGrant.business_unit == business_unit
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
        action="role.revoked",
        object_type="person",
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
    if session.exec(select(BusinessProcess).where(BusinessProcess.name == name)).first():
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
        action="business_process.created",
        object_type="business_process",
        object_id=row.id,
        after=snapshot(row),
    )
    return row.id  # type: ignore[return-value]


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
    **fields: Any,
) -> int:
    """Register a new model. ``fields`` may hold purpose, intended_use, out_of_scope_uses, kpi,
    methodology, target, vendor_name, primary_metric. Returns the model id."""
    business_unit = clean_name(business_unit, "business unit")
    require(session, actor, "model.register", business_unit=business_unit)
    name = clean_name(name, "model name")
    unknown = set(fields) - set(_MODEL_TEXT_FIELDS) - set(_MODEL_SHORT_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown model field(s): {', '.join(sorted(unknown))}.")
    if session.exec(select(Model).where(Model.name == name)).first():
        raise Conflict(f"A model named '{name}' already exists.")
    if business_process_id is not None:
        _get(session, BusinessProcess, business_process_id, "business process")
    model = Model(
        name=name,
        business_unit=business_unit,
        task=clean_choice(task, "task", TASKS),
        status=clean_choice(status, "status", MODEL_STATUSES),
        business_process_id=business_process_id,
        is_vendor=bool(is_vendor),
        metric_thresholds=_clean_thresholds(metric_thresholds),
        **{k: clean_text(v, k.replace("_", " ")) for k, v in fields.items() if k in _MODEL_TEXT_FIELDS},
        **{
            k: clean_text(v, k.replace("_", " "), max_len=200)
            for k, v in fields.items()
            if k in _MODEL_SHORT_FIELDS
        },
    )
    session.add(model)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="model.registered",
        object_type="model",
        object_id=model.id,
        model_id=model.id,
        after=snapshot(model),
    )
    return model.id  # type: ignore[return-value]


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
    """Change descriptive fields of a model (purpose, uses, status, thresholds, process...)."""
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
            model.retired_at = utcnow() if value == "retired" else None
        elif key == "metric_thresholds":
            model.metric_thresholds = _clean_thresholds(value)
        elif key == "business_process_id":
            if value is not None:
                _get(session, BusinessProcess, value, "business process")
            model.business_process_id = value
        elif key == "is_vendor":
            model.is_vendor = bool(value)
        else:
            raise InvalidInput(f"model field '{key}' cannot be changed here.")
    session.add(model)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="model.updated",
        object_type="model",
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
    training_dataset_id: int | None = None,
    evaluation_dataset_id: int | None = None,
    description: str = "",
    created_at: datetime | None = None,
    **card: str,
) -> int:
    """Register the next version of a model (stage 'none'). Returns the version id."""
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
    latest = session.exec(
        select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model_id)
    ).one()
    version = ModelVersion(
        model_id=model_id,
        version=(latest or 0) + 1,
        created_by_id=actor.id,
        created_at=created_at or utcnow(),
        git_commit=clean_text(git_commit, "git commit", max_len=64),
        artifact_uri=clean_text(artifact_uri, "artifact uri", max_len=1000),
        artifact_sha256=clean_sha256(artifact_sha256),
        artifact_format=clean_text(artifact_format, "artifact format", max_len=40),
        training_dataset_id=training_dataset_id,
        evaluation_dataset_id=evaluation_dataset_id,
        feature_names=names,
        metrics=clean_json_numbers(metrics, "metric"),
        params={clean_name(k, "param name"): v for k, v in (params or {}).items()},
        description=clean_text(description, "description"),
        **{k: clean_text(v, k.replace("card_", "model card ").replace("_", " ")) for k, v in card.items()},
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="version.registered",
        object_type="model_version",
        object_id=version.id,
        model_id=model_id,
        after=snapshot(version),
    )
    for ds in {training_dataset_id, evaluation_dataset_id} - {None}:
        _add_edge(
            session,
            "dataset",
            ds,
            "model_version",
            version.id,
            "trains" if ds == training_dataset_id else "evaluates",
        )  # type: ignore[arg-type]
    return version.id  # type: ignore[return-value]


def update_model_card(session: Session, *, actor: Actor, version_id: int, **sections: str) -> None:
    version = _get(session, ModelVersion, version_id, "model version")
    model = _get(session, Model, version.model_id, "model")
    require(session, actor, "model.update", business_unit=model.business_unit)
    unknown = set(sections) - set(CARD_SECTIONS)
    if unknown:
        raise InvalidInput(f"unknown model-card section(s): {', '.join(sorted(unknown))}.")
    before = {k: getattr(version, k) for k in sections}
    for key, value in sections.items():
        setattr(version, key, clean_text(value, key.replace("card_", "model card ").replace("_", " ")))
    version.row_version += 1
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="model_card.updated",
        object_type="model_version",
        object_id=version_id,
        model_id=model.id,
        before=before,
        after={k: getattr(version, k) for k in sections},
    )


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
    when = at or utcnow()
    if to_stage == "production":
        current = session.exec(
            select(ModelVersion).where(
                ModelVersion.model_id == version.model_id, ModelVersion.stage == "production"
            )
        ).first()
        if current is not None:
            _set_stage(session, actor, current, "archived", f"replaced by version {version.version}", when)
    _set_stage(session, actor, version, to_stage, reason, when)


def _set_stage(
    session: Session, actor: Actor, version: ModelVersion, to_stage: str, reason: str, when: datetime
) -> None:
    before = {"stage": version.stage, "row_version": version.row_version}
    session.add(
        StageChange(
            model_id=version.model_id,
            model_version_id=version.id,
            from_stage=version.stage,  # type: ignore[arg-type]
            to_stage=to_stage,
            changed_at=when,
            changed_by_id=actor.id,
            reason=reason,
        )
    )
    version.stage = to_stage
    version.row_version += 1
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="version.stage_changed",
        object_type="model_version",
        object_id=version.id,
        model_id=version.model_id,
        before=before,
        after={"stage": to_stage, "row_version": version.row_version},
        reason=reason,
    )


# --- ownership ---------------------------------------------------------------------------


def assign_owner(session: Session, *, actor: Actor, model_id: int, person_id: int, role: str) -> None:
    """Name a person as business_owner, technical_owner, validator or backup of a model.

    The accountable business owner and the technical owner are one person each: assigning a
    new one replaces the previous. Validators and backups may be several.
    """
    model = _get(session, Model, model_id, "model")
    require(session, actor, "ownership.assign", business_unit=model.business_unit)
    role = clean_choice(role, "ownership role", OWNERSHIP_ROLES)
    person = _get(session, Person, person_id, "person")
    if not person.active:
        raise InvalidInput(f"{person.name} has left; name an active person as {role.replace('_', ' ')}.")
    existing = session.exec(
        select(Ownership).where(Ownership.model_id == model_id, Ownership.role == role)
    ).all()
    if any(o.person_id == person_id for o in existing):
        raise Conflict(f"{person.name} is already {role.replace('_', ' ')} of '{model.name}'.")
    before = [o.person_id for o in existing]
    if role in ("business_owner", "technical_owner"):
        for o in existing:
            session.delete(o)
    session.add(Ownership(model_id=model_id, person_id=person_id, role=role))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="ownership.assigned",
        object_type="model",
        object_id=model_id,
        model_id=model_id,
        before={"role": role, "person_ids": before},
        after={"role": role, "person_id": person_id},
    )


def remove_owner(session: Session, *, actor: Actor, model_id: int, person_id: int, role: str) -> None:
    model = _get(session, Model, model_id, "model")
    require(session, actor, "ownership.assign", business_unit=model.business_unit)
    row = session.exec(
        select(Ownership).where(
            Ownership.model_id == model_id, Ownership.person_id == person_id, Ownership.role == role
        )
    ).first()
    if row is None:
        raise NotFound(f"Person {person_id} is not {role.replace('_', ' ')} of '{model.name}'.")
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="ownership.removed",
        object_type="model",
        object_id=model_id,
        model_id=model_id,
        before={"role": role, "person_id": person_id},
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
    if session.exec(select(DataSource).where(DataSource.name == name)).first():
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
        action="data_source.created",
        object_type="data_source",
        object_id=row.id,
        after=snapshot(row),
    )
    return row.id  # type: ignore[return-value]


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
) -> int:
    """Register a dataset version (and, optionally, its features as name -> dtype)."""
    require(session, actor, "lineage.write")
    name = clean_name(name, "dataset name")
    version = clean_name(version, "dataset version", max_len=60)
    if session.exec(select(Dataset).where(Dataset.name == name, Dataset.version == version)).first():
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
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dataset.created",
        object_type="dataset",
        object_id=row.id,
        after=snapshot(row),
    )
    if data_source_id is not None:
        _add_edge(session, "data_source", data_source_id, "dataset", row.id, "extracts")  # type: ignore[arg-type]
    for feature_name, dtype in (features or {}).items():
        feature = Feature(dataset_id=row.id, name=clean_name(feature_name, "feature name"), dtype=str(dtype))  # type: ignore[arg-type]
        session.add(feature)
        session.flush()
        _add_edge(session, "dataset", row.id, "feature", feature.id, "provides")  # type: ignore[arg-type]
    return row.id  # type: ignore[return-value]


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
        action="lineage.features_linked",
        object_type="model_version",
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
        since=since or utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="deployment.created",
        object_type="deployment",
        object_id=row.id,
        model_id=model.id,
        after=snapshot(row),
    )
    _add_edge(session, "model_version", version_id, "deployment", row.id, "deployed as")  # type: ignore[arg-type]
    if business_process_id is not None:
        _add_edge(session, "deployment", row.id, "business_process", business_process_id, "serves")  # type: ignore[arg-type]
    return row.id  # type: ignore[return-value]


def end_deployment(
    session: Session, *, actor: Actor, deployment_id: int, until: datetime | None = None
) -> None:
    row = _get(session, Deployment, deployment_id, "deployment")
    require(session, actor, "lineage.write")
    before = snapshot(row)
    row.until = until or utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="deployment.ended",
        object_type="deployment",
        object_id=deployment_id,
        before=before,
        after=snapshot(row),
    )


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
        action="lineage.edge_added",
        object_type="lineage_edge",
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
            LineageEdge.src_type == src_type,
            LineageEdge.src_id == src_id,
            LineageEdge.dst_type == dst_type,
            LineageEdge.dst_id == dst_id,
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
            select(LineageEdge).where(LineageEdge.src_type == node_type, LineageEdge.src_id == node_id)
        ):
            nxt = (edge.dst_type, edge.dst_id)
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False


# --- business rules ------------------------------------------------------------------------


def add_business_rule(
    session: Session,
    *,
    actor: Actor,
    model_id: int,
    name: str,
    operator: str,
    threshold: float,
    outcome: str,
    model_version_id: int | None = None,
    description: str = "",
    effective_from: datetime | None = None,
) -> int:
    """Record a rule already approved outside Steward (imports, test fixtures): active at once.

    This skips four-eyes; the app, the CLI and the demo change rules only through
    ``core.governance.rules`` (an owner proposes, another person approves). The record says
    so in its decision comment, and supersedes the previous version of the same rule name.
    """
    model = _get(session, Model, model_id, "model")
    require(session, actor, "rule.propose", business_unit=model.business_unit)
    name = clean_name(name, "rule name")
    operator = clean_choice(operator, "operator", (">", ">=", "<", "<="))
    if model_version_id is not None:
        version = _get(session, ModelVersion, model_version_id, "model version")
        if version.model_id != model_id:
            raise InvalidInput(f"version id {model_version_id} does not belong to model '{model.name}'.")
    previous = session.exec(
        select(BusinessRule)
        .where(BusinessRule.model_id == model_id, BusinessRule.name == name)
        .order_by(BusinessRule.version.desc())
    ).first()  # type: ignore[attr-defined]
    when = effective_from or utcnow()
    if previous is not None and previous.status == "active":
        previous.status = "superseded"
        previous.effective_to = when
        session.add(previous)
    rule = BusinessRule(
        model_id=model_id,
        model_version_id=model_version_id,
        name=name,
        version=(previous.version + 1) if previous else 1,
        operator=operator,
        threshold=clean_number(threshold, "threshold"),
        outcome=clean_name(outcome, "outcome"),
        description=clean_text(description, "description"),
        status="active",
        effective_from=when,
        created_by_id=actor.id,
        decision_comment="recorded as approved outside Steward (no four-eyes review here)",
    )
    session.add(rule)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="rule.recorded",
        object_type="business_rule",
        object_id=rule.id,
        model_id=model_id,
        before=snapshot(previous) if previous else None,
        after=snapshot(rule),
    )
    return rule.id  # type: ignore[return-value]


# --- helpers -----------------------------------------------------------------------------------


def _get(session: Session, table: Any, row_id: Any, what: str) -> Any:
    row = session.get(table, row_id) if row_id is not None else None
    if row is None:
        raise NotFound(f"No {what} with id {row_id}.")
    return row


def model_by_name(session: Session, name: str) -> Model:
    model = session.exec(select(Model).where(Model.name == name)).first()
    if model is None:
        raise NotFound(f"No model named '{name}'. `steward ls` lists the registered models.")
    return model


def version_by_number(session: Session, model_id: int, version: int) -> ModelVersion:
    row = session.exec(
        select(ModelVersion).where(ModelVersion.model_id == model_id, ModelVersion.version == version)
    ).first()
    if row is None:
        raise NotFound(f"Model id {model_id} has no version {version}.")
    return row
