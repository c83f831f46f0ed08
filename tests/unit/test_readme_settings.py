"""The README's configuration table documents every setting, and only real ones."""

from __future__ import annotations

import re
from pathlib import Path

from core.config import PROJECT_ROOT, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def _configuration_rows() -> list[str]:
    """The table rows of the README's "Configuration" section."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Configuration\n(.*?)(?=^## )", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "README.md has no '## Configuration' section followed by another section"
    return [line for line in match.group(1).splitlines() if line.startswith("|")]


def _expected_row(name: str) -> str:
    """A row to paste into the README for a setting that is missing."""
    field = Settings.model_fields[name]
    default = str(field.default).replace(str(PROJECT_ROOT) + "/", "")
    shown = f"`{default}`" if default else "(empty)"
    return f"| `STEWARD_{name.upper()}` | {shown} | {field.description} |"


def test_every_setting_is_in_the_readme_table():
    rows = _configuration_rows()
    missing = [n for n in Settings.model_fields if not any(f"`STEWARD_{n.upper()}`" in row for row in rows)]
    assert not missing, "Add these rows to the README's configuration table:\n" + "\n".join(
        _expected_row(n) for n in missing
    )


def test_readme_table_names_no_setting_that_does_not_exist():
    documented = {m for row in _configuration_rows() for m in re.findall(r"`STEWARD_([A-Z0-9_]+)`", row)}
    known = {n.upper() for n in Settings.model_fields}
    assert documented, "the configuration table lists no STEWARD_ variables"
    assert documented <= known, f"README documents unknown settings: {sorted(documented - known)}"


def test_readme_defaults_are_the_real_defaults():
    rows = {
        m.group(1): m.group(2).strip()
        for row in _configuration_rows()
        if (m := re.match(r"\| `STEWARD_([A-Z0-9_]+)` \|([^|]*)\|", row))
    }
    wrong = {
        f"STEWARD_{n.upper()}": (rows[n.upper()], _expected_row(n).split(" | ")[1])
        for n in Settings.model_fields
        if rows.get(n.upper()) != _expected_row(n).split(" | ")[1]
    }
    assert not wrong, f"README default -> real default: {wrong}"
