"""Governance as code: one YAML file beside a model's code declares its governance facts, and
`steward apply FILE` makes the registry say the same.

Three steps: ``apply_schema.load_file`` parses and checks the file (every bad key named with its
line); ``plan`` compares it with the registry and lists the changes (nothing is written, so a
dry run prints the plan); ``execute`` makes them in the caller's transaction through the same
services as the forms and the other commands, so each is role-checked and audited as the acting
person. A file the registry already agrees with plans no change, so applying it again writes
nothing. A refusal anywhere (in the plan or in a service) leaves the registry as it was.

Recorded facts the registry keeps as history (dataset versions, features, a deployment's start)
are never rewritten: a file that says otherwise is refused, naming the key and line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from core import clock
from core.access import Actor
from core.config import get_settings
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
from core.db.types import saved_id
from core.errors import StewardError
from core.registry import artifacts, datasets, services, stewardship
from core.registry import stewardship_reads as find
from core.registry.apply_schema import CARD_SECTIONS, MODEL_TEXT, Document, Path_, Problems, key_name
from core.registry.stewardship import effective_time

Run = Callable[[Session, Actor, list[Path]], None]


@dataclass(frozen=True)
class Change:
    """One change the file asks for: what, the fields before -> after, and where the file says so."""

    action: str  # create, update, assign, remove, revise, link, end
    what: str
    details: tuple[str, ...]
    key: str
    line: int
    run: Run = field(compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "what": self.what,
            "details": list(self.details),
            "key": self.key,
            "line": self.line,
        }

    def text(self) -> str:
        head = f"{_SIGNS.get(self.action, '~')} {self.action} {self.what}  ({self.key}, line {self.line})"
        return "\n".join([head, *(f"    {d}" for d in self.details)])


_SIGNS = {"create": "+", "assign": "+", "link": "+", "remove": "-", "end": "-"}


@dataclass(frozen=True)
class Plan:
    source: str
    model: str
    changes: list[Change]

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.source, "model": self.model, "changes": [c.as_dict() for c in self.changes]}

    def text(self) -> str:
        if not self.changes:
            return f"{self.source}: the registry already says this about '{self.model}'; nothing to change."
        return "\n".join(c.text() for c in self.changes)


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "...'"


def _diff(name: str, before: Any, after: Any) -> str:
    return f"{name}: {_shown(before)} -> {_shown(after)}"


# --- planning ---------------------------------------------------------------------------------------


class _Planner:
    """Compares the document with the registry (read only) and collects changes and problems."""

    def __init__(self, session: Session, doc: Document) -> None:
        self.session = session
        self.doc = doc
        self.v = doc.values
        self.reason: str = self.v["reason"].strip()
        self.changes: list[Change] = []
        self.problems = Problems(doc.source)
        # what the file itself creates, so references to it are known before it exists
        self.new_processes: set[str] = set()
        self.new_sources: set[str] = set()
        self.new_datasets: set[tuple[str, str]] = set()
        self.new_features: set[tuple[str, str, str]] = set()
        self.implied_edges: set[tuple[str, str]] = set()

    # helpers
    def problem(self, path: Path_, message: str) -> None:
        self.problems.add(path, self.doc.line(path), message)

    def change(self, action: str, what: str, details: list[str], path: Path_, run: Run) -> None:
        self.changes.append(Change(action, what, tuple(details), key_name(path), self.doc.line(path), run))

    def process_known(self, name: str, path: Path_) -> bool:
        if name.strip() in self.new_processes or self._first(BusinessProcess, name) is not None:
            return True
        self.problem(
            path, f"no business process named '{name.strip()}' (declare it under business_processes)"
        )
        return False

    def _first(self, table: Any, name: str) -> Any:
        return self.session.exec(select(table).where(col(table.name) == name.strip())).first()

    # sections, in the order they are applied
    def business_processes(self) -> None:
        for i, entry in enumerate(self.v.get("business_processes", [])):
            path: Path_ = ("business_processes", i)
            name = entry["name"].strip()
            row = self._first(BusinessProcess, name)
            fields = {k: entry[k] for k in ("description", "kpi", "kpi_unit") if k in entry}
            if row is None:
                if "business_unit" not in entry:
                    self.problem(path, f"business process '{name}' is new: give its business_unit")
                    continue
                self.new_processes.add(name)
                self.change(
                    "create",
                    f"business process '{name}'",
                    [
                        _diff(k, None, v)
                        for k, v in {"business_unit": entry["business_unit"], **fields}.items()
                    ],
                    path,
                    _run_create_process(name, entry["business_unit"], fields),
                )
                continue
            if "business_unit" in entry and entry["business_unit"].strip() != row.business_unit:
                self.problem(
                    (*path, "business_unit"),
                    f"business process '{name}' belongs to '{row.business_unit}'; its unit cannot change",
                )
            changed = {k: v for k, v in fields.items() if v.strip() != getattr(row, k)}
            if changed:
                self.change(
                    "update",
                    f"business process '{name}'",
                    [_diff(k, getattr(row, k), v) for k, v in changed.items()],
                    path,
                    _run_update_process(name, changed),
                )

    def data_sources(self) -> None:
        for i, entry in enumerate(self.v.get("data_sources", [])):
            path: Path_ = ("data_sources", i)
            name = entry["name"].strip()
            row = self._first(DataSource, name)
            fields = {k: entry[k] for k in ("kind", "location", "owner_team", "description") if k in entry}
            if row is None:
                self.new_sources.add(name)
                self.change(
                    "create",
                    f"data source '{name}'",
                    [_diff(k, None, v) for k, v in fields.items()],
                    path,
                    _run_create_source(name, fields),
                )
                continue
            changed = {k: v for k, v in fields.items() if v.strip() != getattr(row, k)}
            if changed:
                self.change(
                    "update",
                    f"data source '{name}'",
                    [_diff(k, getattr(row, k), v) for k, v in changed.items()],
                    path,
                    _run_update_source(name, changed),
                )

    def model(self) -> Model | None:
        m = self.v["model"]
        path: Path_ = ("model",)
        name = m["name"].strip()
        row = self.session.exec(select(Model).where(col(Model.name) == name)).first()
        if "business_process" in m:
            self.process_known(m["business_process"], (*path, "business_process"))
        wanted: dict[str, Any] = {k: m[k] for k in (*MODEL_TEXT, "status", "outcome_horizon_days") if k in m}
        if "metric_thresholds" in m:
            wanted["metric_thresholds"] = {
                metric: {side: float(bound) for side, bound in bounds.items()}
                for metric, bounds in m["metric_thresholds"].items()
            }
        if row is None:
            if "business_unit" not in m:
                self.problem(path, f"model '{name}' is new: give its business_unit")
                return None
            details = [_diff(k, None, v) for k, v in {**m, "name": name}.items()]
            self.change("create", f"model '{name}'", details, path, _run_register_model(m))
            return None
        for key, stored in (("business_unit", row.business_unit), ("task", row.task)):
            if key in m and m[key].strip() != stored:
                self.problem((*path, key), f"'{name}' has {key} '{stored}'; it cannot change")
        changed = {k: v for k, v in wanted.items() if _norm(v) != _norm(getattr(row, k))}
        if "vendor_name" in changed:
            changed["is_vendor"] = bool(changed["vendor_name"].strip())
        details = [_diff(k, getattr(row, k), v) for k, v in changed.items()]
        if "business_process" in m:
            current = (
                self.session.get(BusinessProcess, row.business_process_id)
                if row.business_process_id
                else None
            )
            if current is None or current.name != m["business_process"].strip():
                details.append(
                    _diff("business_process", current.name if current else None, m["business_process"])
                )
                changed["business_process"] = m["business_process"]
        if row.status == "retired" and "status" in changed:
            self.problem((*path, "status"), f"'{name}' is retired; a retired model is not brought back")
        if changed:
            self.change(
                "update", f"model '{name}'", details, path, _run_update_model(name, changed, self.reason)
            )
        return row

    def owners(self, model: Model | None) -> None:
        owners = self.v.get("owners", {})
        model_name = self.v["model"]["name"].strip()
        for role, declared in owners.items():
            entries = declared if isinstance(declared, list) else [declared]
            base: Path_ = ("owners", role)
            paths = [(*base, i) if isinstance(declared, list) else base for i in range(len(entries))]
            people: list[tuple[Person, dict[str, Any], Path_]] = []
            for entry, path in zip(entries, paths, strict=True):
                person = self.session.exec(
                    select(Person).where(col(Person.email) == entry["person"].strip().lower())
                ).first()
                if person is None:
                    self.problem((*path, "person"), f"no person with email '{entry['person'].strip()}'")
                elif not person.active:
                    self.problem((*path, "person"), f"{person.name} has left; name an active person")
                elif any(p.id == person.id for p, _, _ in people):
                    self.problem((*path, "person"), f"{person.name} is named twice as {role}")
                else:
                    people.append((person, entry, path))
            if len(people) != len(entries):
                continue
            held = (
                {
                    o.person_id: o
                    for o in self.session.exec(
                        select(Ownership).where(
                            col(Ownership.model_id) == model.id, col(Ownership.role) == role
                        )
                    ).all()
                }
                if model is not None
                else {}
            )
            current = set(held)
            label = role.replace("_", " ")
            for person, entry, path in people:
                since = entry.get("since")
                if person.id in held:
                    start = held[person.id].since.date()
                    if since is not None and since != start:
                        self.problem(
                            (*path, "since"),
                            f"{person.name} is {role.replace('_', ' ')} since {start}; a recorded start "
                            "never changes (remove the role and name the person again to start anew)",
                        )
                    continue
                if since is not None and since > _today():
                    self.problem((*path, "since"), f"{since} is in the future: record the change on the day")
                    continue
                why = (entry.get("reason") or self.reason).strip()
                self.change(
                    "assign",
                    f"{person.name} ({person.email}) as {label} of '{model_name}'",
                    [f"since: {since or 'today'}", f"reason: {why!r}"],
                    path,
                    _run_assign(model_name, saved_id(person), role, since, why),
                )
            named = {p.id for p, _, _ in people}
            for person_id in sorted(current - named):
                if role in ("business_owner", "technical_owner"):
                    continue  # naming the new holder ends the previous one's period
                person = self.session.get(Person, person_id)
                assert person is not None
                self.change(
                    "remove",
                    f"{person.name} ({person.email}) as {label} of '{model_name}'",
                    [f"reason: {self.reason!r}"],
                    base,
                    _run_remove(model_name, person_id, role, self.reason),
                )

    def dataset_versions(self) -> None:
        for i, entry in enumerate(self.v.get("datasets", [])):
            path: Path_ = ("datasets", i)
            name, version = entry["name"].strip(), entry["version"].strip()
            ref = f"{name}@{version}"
            if "file" in entry and "uri" in entry:
                self.problem(path, "give file or uri, not both")
                continue
            readable, data = self._read(entry, path)
            if not readable:
                continue
            row = self.session.exec(
                select(Dataset).where(col(Dataset.name) == name, col(Dataset.version) == version)
            ).first()
            if row is None:
                self.new_datasets.add((name, version))
                details = [
                    _diff(k, None, entry[k]) for k in ("file", "uri", "rows", "sha256", "role") if k in entry
                ]
                self.change("create", f"dataset {ref}", details, path, _run_register_dataset(entry, data))
            else:
                self._same_dataset(row, entry, data, path)
            if "source" in entry:
                self._dataset_source(row, entry["source"], ref, (*path, "source"))
            self._features(row, name, version, entry.get("features", []), path)

    def _read(self, entry: dict[str, Any], path: Path_) -> tuple[bool, datasets.DataFile | None]:
        if "file" not in entry:
            return True, None
        location = Path(entry["file"].strip())
        if not location.is_absolute():
            location = self.doc.folder / location
        try:
            data = datasets.read_location(str(location), max_mb=get_settings().upload_max_mb)
        except StewardError as exc:
            self.problem((*path, "file"), str(exc).rstrip("."))
            return False, None
        if "sha256" in entry and entry["sha256"].strip().lower() != data.sha256:
            self.problem((*path, "sha256"), f"the file's sha256 is {data.sha256}, not the one given")
            return False, None
        if "rows" in entry and entry["rows"] != len(data.frame):
            self.problem((*path, "rows"), f"the file has {len(data.frame):,} rows, not {entry['rows']:,}")
            return False, None
        return True, data

    def _same_dataset(self, row: Dataset, entry: dict[str, Any], data: Any, path: Path_) -> None:
        recorded = {
            "uri": row.uri,
            "rows": row.row_count,
            "sha256": row.content_hash,
            "role": row.role,
        }
        declared = {k: entry[k] for k in ("uri", "rows", "sha256", "role") if k in entry}
        if isinstance(data, datasets.DataFile):
            declared |= {"sha256": data.sha256, "rows": len(data.frame)}
        for key, value in declared.items():
            value = (
                value.strip().lower()
                if key == "sha256"
                else value.strip()
                if isinstance(value, str)
                else value
            )
            if value != recorded[key]:
                self.problem(
                    (*path, "file" if key in ("sha256", "rows") and "file" in entry else key),
                    f"dataset {row.name}@{row.version} is recorded with {key} {recorded[key]!r}, not "
                    f"{value!r}; a recorded dataset version never changes: declare a new version",
                )

    def _dataset_source(self, row: Dataset | None, source: str, ref: str, path: Path_) -> None:
        source = source.strip()
        existing = self._first(DataSource, source)
        if existing is None and source not in self.new_sources:
            self.problem(path, f"no data source named '{source}' (declare it under data_sources)")
            return
        if row is not None and row.data_source_id is not None:
            if existing is None or row.data_source_id != existing.id:
                held = self.session.get(DataSource, row.data_source_id)
                self.problem(
                    path, f"dataset {ref} is extracted from '{held.name if held else '?'}'; it cannot change"
                )
            return
        self.implied_edges.add((f"data_source:{source}", f"dataset:{ref}"))
        self.change(
            "link",
            f"data_source:{source} -> dataset:{ref}",
            ["relation: 'extracts'"],
            path,
            _run_link(f"data_source:{source}", f"dataset:{ref}", "extracts"),
        )

    def _features(
        self, row: Dataset | None, name: str, version: str, features: list[dict[str, Any]], path: Path_
    ) -> None:
        for j, feature in enumerate(features):
            fpath: Path_ = (*path, "features", j)
            fname = feature["name"].strip()
            fields: dict[str, str] = {k: feature[k] for k in ("dtype", "description") if k in feature}
            existing = (
                self.session.exec(
                    select(Feature).where(col(Feature.dataset_id) == row.id, col(Feature.name) == fname)
                ).first()
                if row is not None
                else None
            )
            if existing is None:
                self.new_features.add((fname, name, version))
                self.change(
                    "create",
                    f"feature '{fname}' of dataset {name}@{version}",
                    [_diff(k, None, v) for k, v in fields.items()],
                    fpath,
                    _run_create_feature(f"{name}@{version}", fname, fields),
                )
                continue
            for key, value in fields.items():
                if value.strip() != getattr(existing, key):
                    self.problem(
                        (*fpath, key),
                        f"feature '{fname}' is recorded with {key} {getattr(existing, key)!r}; "
                        "a recorded feature never changes",
                    )

    def versions(self, model: Model | None) -> None:
        model_name = self.v["model"]["name"].strip()
        for i, entry in enumerate(self.v.get("versions", [])):
            path: Path_ = ("versions", i)
            version = self._version(model, entry["version"], (*path, "version"))
            if version is None:
                continue
            sections = {CARD_SECTIONS[k]: v for k, v in entry.get("card", {}).items()}
            changed = {k: v for k, v in sections.items() if v.strip() != (getattr(version, k) or "")}
            if changed:
                self.change(
                    "revise",
                    f"model card of '{model_name}' v{version.version}",
                    [_diff(k.removeprefix("card_"), getattr(version, k), v) for k, v in changed.items()],
                    (*path, "card"),
                    _run_revise_card(model_name, version.version, changed, self.reason),
                )
            for role, ref in entry.get("datasets", {}).items():
                self._version_dataset(version, model_name, role, ref.strip(), (*path, "datasets", role))

    def _version(self, model: Model | None, number: int, path: Path_) -> ModelVersion | None:
        found = (
            self.session.exec(
                select(ModelVersion).where(
                    col(ModelVersion.model_id) == model.id, col(ModelVersion.version) == number
                )
            ).first()
            if model is not None
            else None
        )
        if found is None:
            self.problem(
                path,
                f"'{self.v['model']['name'].strip()}' has no version {number} "
                "(versions are registered by their pipeline: steward register-version)",
            )
        return found

    def _version_dataset(
        self, version: ModelVersion, model_name: str, role: str, ref: str, path: Path_
    ) -> None:
        name, sep, number = ref.rpartition("@")
        if not sep or not name.strip() or not number.strip():
            self.problem(path, f"'{ref}' must be NAME@VERSION")
            return
        dataset = self.session.exec(
            select(Dataset).where(col(Dataset.name) == name.strip(), col(Dataset.version) == number.strip())
        ).first()
        if dataset is None and (name.strip(), number.strip()) not in self.new_datasets:
            self.problem(path, f"no dataset {ref} (declare it under datasets)")
            return
        current = getattr(version, datasets.VERSION_COLUMNS[role])
        if dataset is not None and current == dataset.id:
            return
        if role in datasets.SET_ONCE and current is not None:
            held = self.session.get(Dataset, current)
            self.problem(
                path,
                f"v{version.version} already names {held.name if held else '?'}@{held.version if held else '?'} "
                f"as its {role} data; that is set once: register a new version",
            )
            return
        self.change(
            "link",
            f"dataset {ref} as {role} data of '{model_name}' v{version.version}",
            [],
            path,
            _run_link_dataset(model_name, version.version, ref, role),
        )

    def deployments(self, model: Model | None) -> None:
        model_name = self.v["model"]["name"].strip()
        claimed: set[int] = set()
        for i, entry in enumerate(self.v.get("deployments", [])):
            path: Path_ = ("deployments", i)
            version = self._version(model, entry["version"], (*path, "version"))
            if version is None:
                continue
            if "business_process" in entry and not self.process_known(
                entry["business_process"], (*path, "business_process")
            ):
                continue
            since, until = entry.get("since"), entry.get("until")
            for key, day in (("since", since), ("until", until)):
                if day is not None and day > _today():
                    self.problem((*path, key), f"{day} is in the future: record it on the day")
            if until is not None and since is None:
                self.problem((*path, "until"), "a deployment given an end needs its since")
            if since is not None and until is not None and until < since:
                self.problem((*path, "until"), f"it cannot end ({until}) before it starts ({since})")
            env, endpoint = entry["environment"].strip(), entry.get("endpoint", "").strip()
            rows = self.session.exec(
                select(Deployment)
                .where(
                    col(Deployment.model_version_id) == version.id,
                    col(Deployment.environment) == env,
                    col(Deployment.endpoint) == endpoint,
                )
                .order_by(col(Deployment.id))
            ).all()
            match = next(
                (
                    d
                    for d in rows
                    if d.id not in claimed
                    and (d.since.date() == since if since is not None else d.until is None)
                ),
                None,
            )
            what = f"deployment of '{model_name}' v{version.version} in {env}" + (
                f" at {endpoint}" if endpoint else ""
            )
            if match is None:
                details = [f"since: {since or 'today'}"] + ([f"until: {until}"] if until else [])
                if "business_process" in entry:
                    details.append(f"business_process: {entry['business_process'].strip()!r}")
                self.change(
                    "create", what, details, path, _run_add_deployment(model_name, version.version, entry)
                )
                continue
            claimed.add(saved_id(match))
            process = (
                self.session.get(BusinessProcess, match.business_process_id)
                if match.business_process_id
                else None
            )
            if "business_process" in entry and (
                process is None or process.name != entry["business_process"].strip()
            ):
                self.problem(
                    (*path, "business_process"),
                    f"deployment {match.id} is recorded serving {process.name if process else 'no process'}; "
                    "that cannot change: end it and declare a new one",
                )
            if until is None:
                continue
            if match.until is None:
                self.change(
                    "end",
                    what,
                    [f"until: {until}"],
                    (*path, "until"),
                    _run_end_deployment(saved_id(match), until),
                )
            elif match.until.date() != until:
                self.problem(
                    (*path, "until"),
                    f"deployment {match.id} ended on {match.until:%Y-%m-%d}; that cannot change",
                )

    def lineage(self) -> None:
        for i, entry in enumerate(self.v.get("lineage", [])):
            path: Path_ = ("lineage", i)
            src, dst = entry["from"].strip(), entry["to"].strip()
            relation = entry.get("relation", "feeds").strip()
            nodes = [self._node(src, (*path, "from")), self._node(dst, (*path, "to"))]
            if any(n is False for n in nodes):
                continue
            if (src, dst) in self.implied_edges:
                continue  # the dataset's source draws it
            if all(isinstance(n, tuple) for n in nodes):
                (src_type, src_id), (dst_type, dst_id) = nodes  # type: ignore[misc]
                edge = self.session.exec(
                    select(LineageEdge).where(
                        col(LineageEdge.src_type) == src_type,
                        col(LineageEdge.src_id) == src_id,
                        col(LineageEdge.dst_type) == dst_type,
                        col(LineageEdge.dst_id) == dst_id,
                    )
                ).first()
                if edge is not None:
                    if "relation" in entry and edge.relation != relation:
                        self.problem(
                            (*path, "relation"),
                            f"{src} -> {dst} is recorded as '{edge.relation}'; a link's relation cannot change",
                        )
                    continue
            self.change(
                "link", f"{src} -> {dst}", [f"relation: {relation!r}"], path, _run_link(src, dst, relation)
            )

    def _node(self, ref: str, path: Path_) -> tuple[str, int] | None | bool:
        """(type, id) of a recorded object; None for one this file creates; False (and a problem) else."""
        node_type, _, rest = ref.partition(":")
        rest = rest.strip()
        feature, _, dataset_ref = rest.partition("@")
        dataset_name, _, dataset_version = dataset_ref.rpartition("@")
        declared = {
            "data_source": rest in self.new_sources,
            "business_process": rest in self.new_processes,
            "dataset": tuple(rest.rsplit("@", 1)) in self.new_datasets,
            "feature": (feature, dataset_name, dataset_version) in self.new_features,
        }
        if declared.get(node_type.strip(), False):
            return None
        try:
            return find.node_by_ref(self.session, ref)
        except StewardError as exc:
            self.problem(path, str(exc).rstrip("."))
            return False


def _today() -> date:
    return clock.today()


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def plan(session: Session, doc: Document) -> Plan:
    """The changes that make the registry say what ``doc`` says (read only). InvalidInput names
    every key (and line) the registry cannot take."""
    p = _Planner(session, doc)
    if not p.reason:
        p.problem(("reason",), "say why (it is kept in the audit log with every change)")
    p.business_processes()
    p.data_sources()
    model = p.model()
    p.owners(model)
    p.dataset_versions()
    p.versions(model)
    p.deployments(model)
    p.lineage()
    p.problems.raise_any()
    return Plan(source=doc.source, model=doc.values["model"]["name"].strip(), changes=p.changes)


def execute(session: Session, *, actor: Actor, plan: Plan, stored: list[Path]) -> int:
    """Make the plan's changes as ``actor`` in the caller's transaction (each service checks the
    role and writes its audit event). A refusal names the key and line of the change refused.
    Files newly kept in the artifact store are added to ``stored`` (remove them if the
    transaction fails). Returns the number of changes made."""
    for change in plan.changes:
        try:
            change.run(session, actor, stored)
        except StewardError as exc:
            raise type(exc)(f"{plan.source}: {change.key} (line {change.line}): {exc}") from None
    return len(plan.changes)


@contextmanager
def removed_on_failure() -> Iterator[list[Path]]:
    """Files added to the yielded list are deleted if the block fails: their dataset was never recorded."""
    created: list[Path] = []
    try:
        yield created
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise


# --- the changes: each calls the service of the matching form and command ----------------------------


def _model_id(session: Session, name: str) -> int:
    return saved_id(services.model_by_name(session, name))


def _version_id(session: Session, model: str, number: int) -> int:
    return saved_id(services.version_by_number(session, _model_id(session, model), number))


def _process_id(session: Session, name: str | None) -> int | None:
    return saved_id(find.process_by_name(session, name)) if name else None


def _run_create_process(name: str, unit: str, fields: dict[str, str]) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        services.create_business_process(session, actor=actor, name=name, business_unit=unit, **fields)

    return run


def _run_update_process(name: str, changed: dict[str, str]) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        row = find.process_by_name(session, name)
        stewardship.update_business_process(session, actor=actor, process_id=saved_id(row), **changed)

    return run


def _run_create_source(name: str, fields: dict[str, str]) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        services.create_data_source(session, actor=actor, name=name, **fields)

    return run


def _run_update_source(name: str, changed: dict[str, str]) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        row = find.source_by_name(session, name)
        stewardship.update_data_source(session, actor=actor, source_id=saved_id(row), **changed)

    return run


def _run_register_model(m: dict[str, Any]) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        services.register_model(
            session,
            actor=actor,
            name=m["name"],
            business_unit=m["business_unit"],
            task=m.get("task", "binary_classification"),
            status=m.get("status", "development"),
            business_process_id=_process_id(session, m.get("business_process")),
            is_vendor=bool(m.get("vendor_name", "").strip()),
            metric_thresholds=m.get("metric_thresholds"),
            case_link_template=m.get("case_link_template", ""),
            outcome_horizon_days=m.get("outcome_horizon_days"),
            **{k: m[k] for k in MODEL_TEXT if k in m and k != "case_link_template"},
        )

    return run


def _run_update_model(name: str, changed: dict[str, Any], reason: str) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        changes = dict(changed)
        if "business_process" in changes:
            changes["business_process_id"] = _process_id(session, changes.pop("business_process"))
        services.update_model(
            session, actor=actor, model_id=_model_id(session, name), reason=reason, **changes
        )

    return run


def _run_assign(model: str, person_id: int, role: str, since: date | None, reason: str) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        services.assign_owner(
            session,
            actor=actor,
            model_id=_model_id(session, model),
            person_id=person_id,
            role=role,
            since=effective_time(since),
            reason=reason,
        )

    return run


def _run_remove(model: str, person_id: int, role: str, reason: str) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        services.remove_owner(
            session,
            actor=actor,
            model_id=_model_id(session, model),
            person_id=person_id,
            role=role,
            reason=reason,
        )

    return run


def _run_register_dataset(entry: dict[str, Any], data: datasets.DataFile | None) -> Run:
    def run(session: Session, actor: Actor, stored: list[Path]) -> None:
        if data is None:
            services.create_dataset(
                session,
                actor=actor,
                name=entry["name"],
                version=entry["version"],
                uri=entry.get("uri", ""),
                row_count=entry.get("rows", 0),
                content_hash=entry.get("sha256", ""),
                role=entry.get("role", ""),
            )
            return
        _, written = datasets.register(
            session,
            actor=actor,
            name=entry["name"],
            version=entry["version"],
            data=data,
            role=entry.get("role", ""),
        )
        if written:
            stored.append(artifacts.resolve(datasets.store_uri(data)))

    return run


def _run_create_feature(dataset: str, name: str, fields: dict[str, str]) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        row = find.dataset_by_ref(session, dataset)
        stewardship.create_feature(session, actor=actor, dataset_id=saved_id(row), name=name, **fields)

    return run


def _run_revise_card(model: str, number: int, sections: dict[str, str], reason: str) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        services.update_model_card(
            session, actor=actor, version_id=_version_id(session, model, number), reason=reason, **sections
        )

    return run


def _run_link_dataset(model: str, number: int, ref: str, role: str) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        datasets.link_dataset(
            session,
            actor=actor,
            version_id=_version_id(session, model, number),
            dataset_id=saved_id(find.dataset_by_ref(session, ref)),
            role=role,
        )

    return run


def _run_add_deployment(model: str, number: int, entry: dict[str, Any]) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        until = entry.get("until")
        stewardship.add_deployment(
            session,
            actor=actor,
            version_id=_version_id(session, model, number),
            environment=entry["environment"],
            endpoint=entry.get("endpoint", ""),
            business_process_id=_process_id(session, entry.get("business_process")),
            since=effective_time(entry.get("since")),
            until=effective_time(until) if until is not None else None,
        )

    return run


def _run_end_deployment(deployment_id: int, until: date) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        stewardship.end_deployment(
            session, actor=actor, deployment_id=deployment_id, until=effective_time(until)
        )

    return run


def _run_link(src: str, dst: str, relation: str) -> Run:
    def run(session: Session, actor: Actor, _: list[Path]) -> None:
        src_type, src_id = find.node_by_ref(session, src)
        dst_type, dst_id = find.node_by_ref(session, dst)
        if session.exec(
            select(LineageEdge).where(
                col(LineageEdge.src_type) == src_type,
                col(LineageEdge.src_id) == src_id,
                col(LineageEdge.dst_type) == dst_type,
                col(LineageEdge.dst_id) == dst_id,
            )
        ).first():
            return  # drawn by an earlier change of this file (a dataset's source or version link)
        stewardship.link_lineage(
            session,
            actor=actor,
            src_type=src_type,
            src_id=src_id,
            dst_type=dst_type,
            dst_id=dst_id,
            relation=relation,
        )

    return run
