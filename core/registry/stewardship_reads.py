"""What the inventory forms offer to choose from and show before a change: people, a person's
owner roles, a model's owners and former owners, its versions and card revisions, its
deployments, and every object a lineage link can join. Plain read models and DataFrames."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from core.db.models import (
    BusinessProcess,
    Dataset,
    DataSource,
    Deployment,
    Feature,
    Model,
    ModelCardRevision,
    ModelVersion,
    Ownership,
    OwnershipPeriod,
    Person,
)
from core.db.models.registry import MODEL_STATUSES, OWNERSHIP_ROLES, TASKS
from core.db.types import saved_id
from core.errors import InvalidInput, NotFound

ROLE_LABELS = {
    "business_owner": "Accountable business owner",
    "technical_owner": "Technical owner",
    "validator": "Validator",
    "backup": "Backup",
}
CARD_TITLES = {
    "card_training_data": "Training data",
    "card_evaluation": "Evaluation",
    "card_limitations": "Limitations",
    "card_ethical_considerations": "Ethical considerations",
    "card_caveats": "Caveats and recommendations",
}
NODE_LABELS = {
    "data_source": "Data source",
    "dataset": "Dataset",
    "feature": "Feature",
    "model_version": "Model version",
    "deployment": "Deployment",
    "business_process": "Business process",
}

__all__ = ["MODEL_STATUSES", "OWNERSHIP_ROLES", "TASKS"]


@dataclass(frozen=True)
class PersonChoice:
    id: int
    name: str
    email: str
    team: str
    active: bool
    is_system: bool
    left_on: Any

    @property
    def label(self) -> str:
        return f"{self.name} ({self.email})" + ("" if self.active else " — left")


def people(session: Session) -> list[PersonChoice]:
    """Every person, active first, by name (service accounts included: pipelines own nothing)."""
    rows = session.exec(select(Person).order_by(col(Person.active).desc(), col(Person.name))).all()
    return [
        PersonChoice(saved_id(p), p.name, p.email, p.team, bool(p.active), bool(p.is_system), p.left_on)
        for p in rows
    ]


def roles_of(session: Session, person_id: int) -> pd.DataFrame:
    """The owner roles a person holds now: model_id, model, business_unit, role, role_label, since."""
    rows = session.execute(
        columns(
            col(Ownership.model_id),
            col(Model.name),
            col(Model.business_unit),
            col(Ownership.role),
            col(Ownership.since),
        )
        .join(Model, col(Model.id) == col(Ownership.model_id))
        .where(col(Ownership.person_id) == person_id)
        .order_by(col(Model.name), col(Ownership.role))
    ).all()
    frame = pd.DataFrame(rows, columns=["model_id", "model", "business_unit", "role", "since"])
    frame.insert(4, "role_label", frame["role"].map(ROLE_LABELS))
    return frame


def owners_of(session: Session, model_id: int) -> pd.DataFrame:
    """A model's owners now: person_id, person, active, role, role_label, since, reason."""
    rows = session.execute(
        columns(
            col(Ownership.person_id),
            col(Person.name),
            col(Person.active),
            col(Ownership.role),
            col(Ownership.since),
            col(Ownership.reason),
        )
        .join(Person, col(Person.id) == col(Ownership.person_id))
        .where(col(Ownership.model_id) == model_id)
        .order_by(col(Ownership.role), col(Person.name))
    ).all()
    frame = pd.DataFrame(rows, columns=["person_id", "person", "active", "role", "since", "reason"])
    frame.insert(4, "role_label", frame["role"].map(ROLE_LABELS))
    return frame


def former_owners(session: Session, model_id: int) -> pd.DataFrame:
    """Who held which role of a model before, newest end first."""
    rows = session.execute(
        columns(
            col(Person.name),
            col(OwnershipPeriod.role),
            col(OwnershipPeriod.since),
            col(OwnershipPeriod.until),
            col(OwnershipPeriod.end_reason),
        )
        .join(Person, col(Person.id) == col(OwnershipPeriod.person_id))
        .where(col(OwnershipPeriod.model_id) == model_id)
        .order_by(col(OwnershipPeriod.until).desc(), col(OwnershipPeriod.id).desc())
    ).all()
    frame = pd.DataFrame(rows, columns=["person", "role", "since", "until", "why it ended"])
    frame["role"] = frame["role"].map(ROLE_LABELS)
    return frame


@dataclass(frozen=True)
class ModelFacts:
    """A model's editable fields, as the metadata form starts from them."""

    id: int
    name: str
    business_unit: str
    status: str
    purpose: str
    intended_use: str
    out_of_scope_uses: str
    kpi: str
    methodology: str
    target: str
    business_process_id: int | None
    retired_at: datetime | None


def model_facts(session: Session, model_id: int) -> ModelFacts | None:
    m = session.get(Model, model_id)
    if m is None:
        return None
    return ModelFacts(
        saved_id(m),
        m.name,
        m.business_unit,
        m.status,
        m.purpose,
        m.intended_use,
        m.out_of_scope_uses,
        m.kpi,
        m.methodology,
        m.target,
        m.business_process_id,
        m.retired_at,
    )


@dataclass(frozen=True)
class VersionChoice:
    id: int
    version: int
    stage: str
    card: dict[str, str]  # section key -> text (the newest revision)

    @property
    def label(self) -> str:
        return f"v{self.version} ({'not staged' if self.stage == 'none' else self.stage})"


def versions_of(session: Session, model_id: int) -> list[VersionChoice]:
    """A model's versions, newest first, with their current card."""
    rows = session.exec(
        select(ModelVersion)
        .where(col(ModelVersion.model_id) == model_id)
        .order_by(col(ModelVersion.version).desc())
    ).all()
    return [
        VersionChoice(saved_id(v), v.version, v.stage, {k: getattr(v, k) or "" for k in CARD_TITLES})
        for v in rows
    ]


def card_revisions(session: Session, version_id: int) -> pd.DataFrame:
    """Every revision of a version's card, newest first: revision, written_at, written_by, reason,
    and one column per section title."""
    rows = session.exec(
        select(ModelCardRevision, Person.name)
        .join(Person, col(Person.id) == col(ModelCardRevision.created_by_id))
        .where(col(ModelCardRevision.model_version_id) == version_id)
        .order_by(col(ModelCardRevision.revision).desc())
    ).all()
    records = [
        {
            "revision": r.revision,
            "written_at": r.created_at,
            "written_by": name,
            "reason": r.reason,
            **{title: (r.sections or {}).get(key, "") for key, title in CARD_TITLES.items()},
        }
        for r, name in rows
    ]
    return pd.DataFrame(
        records, columns=["revision", "written_at", "written_by", "reason", *CARD_TITLES.values()]
    )


def deployments_of(session: Session, model_id: int) -> pd.DataFrame:
    """A model's deployments, open ones first: id, version, environment, endpoint, process, since, until."""
    rows = session.execute(
        columns(
            col(Deployment.id),
            col(ModelVersion.version),
            col(Deployment.environment),
            col(Deployment.endpoint),
            col(BusinessProcess.name),
            col(Deployment.since),
            col(Deployment.until),
        )
        .join(ModelVersion, col(ModelVersion.id) == col(Deployment.model_version_id))
        .outerjoin(BusinessProcess, col(BusinessProcess.id) == col(Deployment.business_process_id))
        .where(col(ModelVersion.model_id) == model_id)
        .order_by(col(Deployment.until).is_not(None), col(Deployment.since).desc())
    ).all()
    return pd.DataFrame(
        rows, columns=["id", "version", "environment", "endpoint", "business_process", "since", "until"]
    )


@dataclass(frozen=True)
class Node:
    type: str
    id: int
    label: str
    business_unit: str = ""  # processes, model versions and deployments belong to one


@dataclass(frozen=True)
class LineageChoices:
    """Every object a lineage form can name, by type."""

    nodes: dict[str, list[Node]]

    def of(self, node_type: str) -> list[Node]:
        return self.nodes.get(node_type, [])

    def label(self, node_type: str, node_id: int) -> str:
        return next((n.label for n in self.of(node_type) if n.id == node_id), f"{node_type} {node_id}")


def lineage_choices(session: Session) -> LineageChoices:
    sources = session.exec(select(DataSource).order_by(col(DataSource.name))).all()
    datasets = session.exec(select(Dataset).order_by(col(Dataset.name), col(Dataset.version))).all()
    dataset_names = {saved_id(d): f"{d.name} {d.version}" for d in datasets}
    features = session.exec(select(Feature).order_by(col(Feature.name))).all()
    processes = session.exec(select(BusinessProcess).order_by(col(BusinessProcess.name))).all()
    versions = session.exec(
        select(ModelVersion.id, ModelVersion.version, Model.name, Model.business_unit)
        .join(Model, col(Model.id) == col(ModelVersion.model_id))
        .order_by(col(Model.name), col(ModelVersion.version).desc())
    ).all()
    deployments = session.execute(
        columns(
            col(Deployment.id),
            col(Deployment.environment),
            col(Deployment.endpoint),
            col(ModelVersion.version),
            col(Model.name),
            col(Model.business_unit),
        )
        .join(ModelVersion, col(ModelVersion.id) == col(Deployment.model_version_id))
        .join(Model, col(Model.id) == col(ModelVersion.model_id))
        .where(col(Deployment.until).is_(None))
        .order_by(col(Model.name))
    ).all()
    return LineageChoices(
        {
            "data_source": [Node("data_source", saved_id(s), f"{s.name} ({s.kind})") for s in sources],
            "dataset": [Node("dataset", i, label) for i, label in dataset_names.items()],
            "feature": [
                Node("feature", saved_id(f), f"{f.name} (from {dataset_names.get(f.dataset_id, '?')})")
                for f in features
            ],
            "model_version": [
                Node("model_version", i, f"{name} v{v}", unit)
                for i, v, name, unit in versions
                if i is not None
            ],
            "deployment": [
                Node(
                    "deployment",
                    int(i),
                    f"{name} v{v} in {env}" + (f" at {endpoint}" if endpoint else ""),
                    unit,
                )
                for i, env, endpoint, v, name, unit in deployments
            ],
            "business_process": [
                Node("business_process", saved_id(p), p.name, p.business_unit) for p in processes
            ],
        }
    )


@dataclass(frozen=True)
class SourceFacts:
    id: int
    name: str
    kind: str
    location: str
    owner_team: str
    description: str


def data_sources(session: Session) -> list[SourceFacts]:
    rows = session.exec(select(DataSource).order_by(col(DataSource.name))).all()
    return [SourceFacts(saved_id(s), s.name, s.kind, s.location, s.owner_team, s.description) for s in rows]


@dataclass(frozen=True)
class ProcessFacts:
    id: int
    name: str
    business_unit: str
    description: str
    kpi: str
    kpi_unit: str


def business_processes(session: Session) -> list[ProcessFacts]:
    rows = session.exec(select(BusinessProcess).order_by(col(BusinessProcess.name))).all()
    return [
        ProcessFacts(saved_id(p), p.name, p.business_unit, p.description, p.kpi, p.kpi_unit) for p in rows
    ]


# --- finding things by name (the CLI names what the forms pick) ------------------------------------


def person_by_email(session: Session, email: str) -> Person:
    person = session.exec(select(Person).where(col(Person.email) == email.strip().lower())).first()
    if person is None:
        raise NotFound(f"No person with email '{email.strip()}' in the registry.")
    return person


def _named(session: Session, table: Any, name: str, what: str) -> Any:
    row = session.exec(select(table).where(col(table.name) == name.strip())).first()
    if row is None:
        known = session.exec(select(col(table.name)).order_by(col(table.name))).all()
        listed = f" (known: {', '.join(known[:10])})" if known else " (none recorded yet)"
        raise NotFound(f"No {what} named '{name.strip()}'{listed}.")
    return row


def process_by_name(session: Session, name: str) -> BusinessProcess:
    return _named(session, BusinessProcess, name, "business process")


def source_by_name(session: Session, name: str) -> DataSource:
    return _named(session, DataSource, name, "data source")


def dataset_by_ref(session: Session, ref: str) -> Dataset:
    """A dataset named 'NAME@VERSION'."""
    name, sep, version = ref.strip().rpartition("@")
    if not sep or not name or not version:
        raise InvalidInput(f"dataset '{ref}': name it as NAME@VERSION, e.g. applications@2024-06.")
    row = session.exec(
        select(Dataset).where(col(Dataset.name) == name.strip(), col(Dataset.version) == version.strip())
    ).first()
    if row is None:
        raise NotFound(f"No dataset '{name.strip()}' version '{version.strip()}'.")
    return row


def version_by_ref(session: Session, ref: str) -> ModelVersion:
    """A model version named 'MODEL@N'."""
    name, sep, number = ref.strip().rpartition("@")
    if not sep or not number.strip().isdigit():
        raise InvalidInput(f"model version '{ref}': name it as MODEL@N, e.g. 'Credit scoring@3'.")
    model = _named(session, Model, name, "model")
    row = session.exec(
        select(ModelVersion).where(
            col(ModelVersion.model_id) == model.id, col(ModelVersion.version) == int(number)
        )
    ).first()
    if row is None:
        raise NotFound(f"'{model.name}' has no version {int(number)}.")
    return row


NODE_REFERENCES = {
    "data_source": "data_source:NAME",
    "dataset": "dataset:NAME@VERSION",
    "feature": "feature:FEATURE@DATASET@VERSION",
    "model_version": "model_version:MODEL@N",
    "deployment": "deployment:ID (see `steward deployments MODEL`)",
    "business_process": "business_process:NAME",
}


def node_by_ref(session: Session, ref: str) -> tuple[str, int]:
    """A lineage object named as TYPE:REFERENCE (see NODE_REFERENCES) -> (type, id)."""
    node_type, sep, rest = ref.strip().partition(":")
    if not sep or node_type not in NODE_REFERENCES or not rest.strip():
        forms = "; ".join(NODE_REFERENCES.values())
        raise InvalidInput(f"lineage object '{ref}' is not TYPE:REFERENCE; use one of {forms}.")
    rest = rest.strip()
    if node_type == "data_source":
        return node_type, saved_id(source_by_name(session, rest))
    if node_type == "business_process":
        return node_type, saved_id(process_by_name(session, rest))
    if node_type == "dataset":
        return node_type, saved_id(dataset_by_ref(session, rest))
    if node_type == "model_version":
        return node_type, saved_id(version_by_ref(session, rest))
    if node_type == "deployment":
        if not rest.isdigit() or session.get(Deployment, int(rest)) is None:
            raise NotFound(f"No deployment with id {rest} (`steward deployments MODEL` lists them).")
        return node_type, int(rest)
    feature_name, sep, dataset_ref = rest.partition("@")
    if not sep:
        raise InvalidInput(
            f"feature '{rest}': name it as FEATURE@DATASET@VERSION, e.g. income@applications@2024-06."
        )
    dataset = dataset_by_ref(session, dataset_ref)
    feature = session.exec(
        select(Feature).where(
            col(Feature.dataset_id) == dataset.id, col(Feature.name) == feature_name.strip()
        )
    ).first()
    if feature is None:
        raise NotFound(f"Dataset '{dataset.name}' {dataset.version} has no feature '{feature_name.strip()}'.")
    return node_type, saved_id(feature)
