"""The file `steward apply` reads: its schema (one source for the loader and the published JSON
Schema) and a loader that keeps the line of every key, so a bad file is refused with the key
and the line that hold the problem.

A value left out (or left empty, YAML null) means "leave it as it is"; text must be YAML text
(a date, number or yes/no meant as text is quoted), so what the file says is what is stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.db.models.registry import DATASET_ROLES, OWNERSHIP_ROLES, TASKS
from core.errors import InvalidInput

SCHEMA_ID = "urn:steward:apply-file"
MAX_PROBLEMS = 20  # a file with more is refused with the first ones: fix those, run again


@dataclass(frozen=True)
class Spec:
    """One value of the file: its kind (text, integer, number, boolean, date, object, list, map)."""

    kind: str
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] = ()
    fields: Mapping[str, Spec] = field(default_factory=dict)  # object: its keys
    items: Spec | None = None  # list: each item
    values: Spec | None = None  # map: free keys (metric names), each value
    max_items: int | None = None


def _text(description: str, *, required: bool = False, enum: tuple[str, ...] = ()) -> Spec:
    return Spec("text", description, required=required, enum=enum)


def _object(about: str, required: bool = False, /, **fields: Spec) -> Spec:
    return Spec("object", about, required=required, fields=fields)


def _list(description: str, item: Spec) -> Spec:
    return Spec("list", description, items=item)


OWNER = _object(
    "A person named in an owner role.",
    person=_text("Email of the person (as recorded on the People and roles page).", required=True),
    since=Spec("date", "Day the role starts (YYYY-MM-DD, default: the day it is applied)."),
    reason=_text("Why this person was named (default: the file's reason)."),
)

CARD_SECTIONS = {
    "training_data": "card_training_data",
    "evaluation": "card_evaluation",
    "limitations": "card_limitations",
    "ethical_considerations": "card_ethical_considerations",
    "caveats": "card_caveats",
}
MODEL_TEXT = {
    "purpose": "What the model is for.",
    "intended_use": "Where and how it may be used.",
    "out_of_scope_uses": "Uses it must not be put to.",
    "kpi": "The business KPI it moves.",
    "methodology": "e.g. gradient boosted trees.",
    "target": "What the model predicts, in words.",
    "primary_metric": "Metric validation is judged on, e.g. roc_auc.",
    "vendor_name": "Vendor of a bought-in model (a model with a vendor is a vendor model).",
    "case_link_template": "http(s) address with {request_id}, linking labellers to each case.",
}
APPLY_STATUSES = ("development", "validation", "production")  # retiring is `steward retire-model`

SPEC = _object(
    "One model's governance facts, kept beside its code and applied with `steward apply FILE`.",
    reason=_text("Why: kept in the audit log with every change the file makes.", required=True),
    model=_object(
        "The model; created when no model has this name.",
        True,
        name=_text("Unique model name.", required=True),
        business_unit=_text("Business unit that owns it (needed to create it; cannot change)."),
        task=_text("Set when the model is created; cannot change.", enum=TASKS),
        status=_text("Lifecycle status.", enum=APPLY_STATUSES),
        business_process=_text("Business process it serves, by name."),
        metric_thresholds=Spec(
            "map",
            "Minimum and/or maximum per metric, e.g. roc_auc: {min: 0.7}.",
            values=_object(
                "Bounds of one metric.",
                min=Spec("number", "Lowest acceptable value."),
                max=Spec("number", "Highest acceptable value."),
            ),
        ),
        outcome_horizon_days=Spec("integer", "Days after a prediction its outcome is known."),
        **{key: _text(text) for key, text in MODEL_TEXT.items()},
    ),
    owners=_object(
        "Owners per role. A role listed here is the whole list: people not listed lose that role; "
        "roles left out are left as they are.",
        business_owner=OWNER,
        technical_owner=OWNER,
        validator=_list("Validators.", OWNER),
        backup=_list("Backups.", OWNER),
    ),
    business_processes=_list(
        "Business processes: created when missing, else their description and KPI kept as written.",
        _object(
            "A business process.",
            name=_text("Unique name.", required=True),
            business_unit=_text("Business unit that runs it (needed to create it; cannot change)."),
            description=_text("What the process is."),
            kpi=_text("The KPI it is steered on."),
            kpi_unit=_text("e.g. %, EUR, days."),
        ),
    ),
    data_sources=_list(
        "Data sources: created when missing, else kept as written.",
        _object(
            "A data source.",
            name=_text("Unique name.", required=True),
            kind=_text("database, api, file, stream ..."),
            location=_text("Where it lives (connection, URL, path)."),
            owner_team=_text("The team that runs it."),
            description=_text("What it holds."),
        ),
    ),
    datasets=_list(
        "Dataset versions: registered when missing (a recorded version never changes).",
        _object(
            "A dataset version.",
            name=_text("Dataset name.", required=True),
            version=_text("Dataset version (quote it: '2024-06').", required=True),
            file=_text("CSV or Parquet file, relative to this file: read, hashed, kept in the store."),
            uri=_text("Where the data lives (s3://, a table ...), recorded as a location only."),
            rows=Spec("integer", "Number of rows (checked against the file)."),
            sha256=_text("sha256 of the content (checked against the file)."),
            role=_text("What the data is for.", enum=DATASET_ROLES),
            source=_text("Data source it is extracted from, by name."),
            features=_list(
                "Features (columns) it provides.",
                _object(
                    "A feature.",
                    name=_text("Column name.", required=True),
                    dtype=_text("e.g. float, int, category."),
                    description=_text("What it means."),
                ),
            ),
        ),
    ),
    versions=_list(
        "Registered versions of the model: their model card and data.",
        _object(
            "A version (registered by its pipeline with `steward register-version`).",
            version=Spec("integer", "Version number.", required=True),
            card=_object(
                "Model card sections; a change writes a new card revision.",
                **{key: _text(f"Model card: {key.replace('_', ' ')}.") for key in CARD_SECTIONS},
            ),
            datasets=_object(
                "Datasets of the version per role, as NAME@VERSION.",
                **{role: _text(f"{role.capitalize()} data, NAME@VERSION.") for role in DATASET_ROLES},
            ),
        ),
    ),
    deployments=_list(
        "Where versions run: recorded when missing; a running one given an end is ended.",
        _object(
            "A deployment.",
            version=Spec("integer", "Version number.", required=True),
            environment=_text("production, staging, batch ...", required=True),
            endpoint=_text("URL, job or queue it serves from."),
            business_process=_text("Business process it serves, by name."),
            since=Spec("date", "Day it started (YYYY-MM-DD, default: the day it is applied)."),
            until=Spec("date", "Day it ended."),
        ),
    ),
    lineage=_list(
        "Lineage links, drawn when missing.",
        _object(
            "A link between two recorded objects: data_source:NAME, dataset:NAME@VERSION, "
            "feature:FEATURE@DATASET@VERSION, model_version:MODEL@N, business_process:NAME.",
            **{
                "from": _text("Upstream object, TYPE:REFERENCE.", required=True),
                "to": _text("Downstream object, TYPE:REFERENCE.", required=True),
                "relation": _text("How they relate (default feeds)."),
            },
        ),
    ),
)
assert set(OWNER.fields) and set(OWNERSHIP_ROLES) == set(SPEC.fields["owners"].fields)


# --- JSON Schema ------------------------------------------------------------------------------------

_JSON_TYPES = {"text": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def json_schema() -> dict[str, Any]:
    """The file's schema as JSON Schema (draft 2020-12), for editors and CI checks."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Steward apply file",
        **_json(SPEC),
    }


def schema_text() -> str:
    """The JSON Schema as published in docs/steward-apply.schema.json."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def _json(spec: Spec) -> dict[str, Any]:
    out: dict[str, Any] = {"description": spec.description} if spec.description else {}
    if spec.kind in _JSON_TYPES:
        out["type"] = _JSON_TYPES[spec.kind]
    elif spec.kind == "date":
        out |= {"type": "string", "format": "date"}
    elif spec.kind == "list":
        assert spec.items is not None
        out |= {"type": "array", "items": _json(spec.items)}
    elif spec.kind == "map":
        assert spec.values is not None
        out |= {"type": "object", "additionalProperties": _json(spec.values)}
    else:
        out |= {
            "type": "object",
            "properties": {key: _json(value) for key, value in spec.fields.items()},
            "additionalProperties": False,
        }
        required = [key for key, value in spec.fields.items() if value.required]
        if required:
            out["required"] = required
    if spec.enum:
        out["enum"] = list(spec.enum)
    return out


# --- loading ------------------------------------------------------------------------------------


Path_ = tuple[str | int, ...]


def key_name(path: Path_) -> str:
    """``("datasets", 0, "file")`` as ``datasets[0].file``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top)"


@dataclass(frozen=True)
class Document:
    """A file read and checked against the schema: its values, and the line of every key."""

    source: str  # the file's name, for messages
    folder: Path  # files named in it are relative to this folder
    values: dict[str, Any]
    lines: dict[Path_, int]

    def line(self, path: Path_) -> int:
        """The line of ``path`` (or of the nearest enclosing key that has one)."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def where(self, path: Path_) -> str:
        return f"{key_name(path)} (line {self.line(path)})"


class Problems:
    """The problems found in a file, each naming its key and line; raised together."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[str] = []

    def add(self, path: Path_, line: int, message: str) -> None:
        self.found.append(f"{key_name(path)} (line {line}): {message}")

    def raise_any(self) -> None:
        if self.found:
            shown = self.found[:MAX_PROBLEMS]
            more = f"; and {len(self.found) - MAX_PROBLEMS} more" if len(self.found) > MAX_PROBLEMS else ""
            raise InvalidInput(f"{self.source}: " + "; ".join(shown) + more + ". Nothing was applied.")


def load_text(text: str, *, source: str, folder: Path) -> Document:
    """Parse and check a file's text; InvalidInput naming every bad key and its line."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"{source}: not valid YAML{where}: {exc.problem or exc.context}.") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: not valid YAML: {exc}.") from None
    if node is None:
        raise InvalidInput(f"{source}: the file is empty; it needs at least reason and model.")
    problems = Problems(source)
    lines: dict[Path_, int] = {}
    try:
        values = _walk(loader, node, SPEC, (), lines, problems)
    finally:
        loader.dispose()
    problems.raise_any()
    return Document(source=source, folder=folder, values=values or {}, lines=lines)


def load_file(path: Path) -> Document:
    """Read and check the file at ``path``."""
    if not path.is_file():
        raise InvalidInput(f"'{path}' does not exist or is not a file.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"'{path}' is not UTF-8 text.") from None
    return load_text(text, source=str(path), folder=path.resolve().parent)


_KIND_WORDS = {
    "text": "text (quote a value that YAML would read as a number, date or yes/no)",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "date": "a date, YYYY-MM-DD",
    "object": "a mapping of keys",
    "list": "a list (items starting with '- ')",
    "map": "a mapping of names to values",
}


def _walk(
    loader: yaml.SafeLoader, node: Node, spec: Spec, path: Path_, lines: dict, problems: Problems
) -> Any:
    line = node.start_mark.line + 1
    lines.setdefault(path, line)
    if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        if spec.required or (bool(path) and isinstance(path[-1], int)):  # a list item too
            problems.add(path, line, "is empty; give a value")
        return None  # left empty: as if left out
    if spec.kind in ("object", "map"):
        if not isinstance(node, MappingNode):
            problems.add(path, line, f"must be {_KIND_WORDS[spec.kind]}")
            return None
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode) or not isinstance(loader.construct_object(key_node), str):
                problems.add(path, key_line, "keys must be text")
                continue
            key = str(key_node.value)
            key_path = (*path, key)
            if key in out or key_path in lines:
                problems.add(key_path, key_line, f"'{key}' is given twice")
                continue
            lines[key_path] = key_line
            if spec.kind == "object" and key not in spec.fields:
                problems.add(key_path, key_line, f"unknown key '{key}'; known keys: {', '.join(spec.fields)}")
                continue
            child = spec.fields[key] if spec.kind == "object" else spec.values
            assert child is not None
            value = _walk(loader, value_node, child, key_path, lines, problems)
            if value is not None:
                out[key] = value
        for key, child in spec.fields.items():
            if child.required and key not in out and (*path, key) not in lines:
                problems.add(path, line, f"'{key}' is missing")
        return out
    if spec.kind == "list":
        if not isinstance(node, SequenceNode):
            problems.add(path, line, f"must be {_KIND_WORDS['list']}")
            return None
        assert spec.items is not None
        items = []
        for index, item in enumerate(node.value):
            value = _walk(loader, item, spec.items, (*path, index), lines, problems)
            if value is not None:
                items.append(value)
        return items
    if not isinstance(node, ScalarNode):
        problems.add(path, line, f"must be {_KIND_WORDS[spec.kind]}")
        return None
    value = loader.construct_object(node)
    if not _is_kind(value, spec.kind):
        problems.add(path, line, f"must be {_KIND_WORDS[spec.kind]}, not {node.value!r}")
        return None
    if spec.enum and value not in spec.enum:
        problems.add(path, line, f"'{value}' is not one of {', '.join(spec.enum)}")
        return None
    return value


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        return isinstance(value, date) and not isinstance(value, datetime)
    return False
