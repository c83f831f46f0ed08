"""The catalogue of audit actions (core/events.py): every entry is complete and used, every
service names an entry rather than a string, and readers get words for any name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core import events
from core.events import CATALOGUE, EventKind

CORE = Path(__file__).resolve().parents[2] / "core"
NAME = re.compile(r"^[a-z_]+\.[a-z_]+$")
OBJECT_TYPE = re.compile(r"^[a-z_]+$")


def _record_calls() -> list[tuple[str, int, ast.expr | None]]:
    """(file, line, action argument) of every audit.record(...) call in core/."""
    found = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
            ):
                action = next((k.value for k in node.keywords if k.arg == "action"), None)
                found.append((str(path.relative_to(CORE.parent)), node.lineno, action))
    return found


def _event_references() -> set[str]:
    """Names of the catalogue constants that code in core/ refers to (events.X or imported X)."""
    constants = {k for k, v in vars(events).items() if isinstance(v, EventKind)}
    used: set[str] = set()
    for path in CORE.rglob("*.py"):
        if path.name == "events.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in constants:
                used.add(node.attr)
            elif isinstance(node, ast.ImportFrom) and node.module == "core.events":
                used |= {a.name for a in node.names if a.name in constants}
    return used


@pytest.mark.parametrize("kind", list(CATALOGUE.values()), ids=list(CATALOGUE))
def test_every_entry_is_complete(kind: EventKind) -> None:
    assert NAME.match(kind.name), kind.name
    assert kind.object_types and all(OBJECT_TYPE.match(t) for t in kind.object_types)
    assert kind.label and kind.label[0].isupper() and not kind.label.endswith("."), kind.label
    assert kind.label != events.label("x." + kind.name.split(".")[1])  # written, not derived from the name
    assert kind.before or kind.after, f"{kind.name}: say what the event's snapshots hold"
    assert events.kind(kind.name) is kind and events.label(kind.name) == kind.label


def test_labels_are_distinct_so_the_audit_filter_reads_unambiguously() -> None:
    labels = [k.label for k in CATALOGUE.values()]
    assert len(labels) == len(set(labels))


def test_labels_read_as_people_say_them() -> None:
    assert events.label("model.registered") == "Model registered"
    assert events.label("promotion.approved_with_override") == "Promotion approved over failing gates"
    assert events.label("artifact.integrity_failed") == "Changed file refused"
    assert events.label("person.left") == "Person marked as left"


def test_names_no_longer_declared_still_read_as_words() -> None:
    assert "rule.recorded" not in CATALOGUE  # add_business_rule wrote it; old logs still hold it
    assert events.label("rule.recorded") == "Rule recorded"
    assert events.label("model_card.archived") == "Model card archived"
    assert events.label("") == "(no action)"
    with pytest.raises(KeyError, match=r"'rule\.recorded' is not in the catalogue"):
        events.kind("rule.recorded")


def test_every_service_names_a_catalogue_entry_not_a_string() -> None:
    calls = _record_calls()
    assert len(calls) >= 50
    strings = [
        f"{file}:{line}"
        for file, line, action in calls
        if action is None
        or any(
            isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and isinstance(n.value, str))
            for n in ast.walk(action)
        )
    ]
    assert not strings, f"audit.record called with a string action at {strings}"


def test_every_entry_is_written_somewhere() -> None:
    constants = {k for k, v in vars(events).items() if isinstance(v, EventKind)}
    assert constants - _event_references() == set()


def test_a_name_is_declared_once() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        events._declare("model.registered", "model", "Again")
