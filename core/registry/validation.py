"""Small input checks shared by services; each raises InvalidInput naming the field."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from core.db.types import to_money
from core.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_NAME = 200
MAX_TEXT = 20000


def clean_name(value: Any, field: str, *, max_len: int = MAX_NAME) -> str:
    """A required single-line name: stripped, non-empty, no control characters, bounded length."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, got {type(value).__name__}.")
    text = value.strip()
    if not text:
        raise InvalidInput(f"{field} must not be empty.")
    if len(text) > max_len:
        raise InvalidInput(f"{field} is {len(text)} characters long; at most {max_len} are allowed.")
    if any(ord(c) < 32 for c in text):
        raise InvalidInput(f"{field} must be a single line without control characters.")
    if "<" in text or ">" in text:
        # Names appear in tables, charts, reports and file names; markup in them is never intended.
        raise InvalidInput(f"{field} must not contain < or >.")
    if ".." in text and ("/" in text or "\\" in text):
        raise InvalidInput(f"{field} must not contain a path ('..' with '/').")
    return text


def clean_text(value: Any, field: str, *, max_len: int = MAX_TEXT) -> str:
    """Optional free text (may be multi-line), bounded length."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, got {type(value).__name__}.")
    if len(value) > max_len:
        raise InvalidInput(f"{field} is {len(value)} characters long; at most {max_len} are allowed.")
    if "\x00" in value:
        raise InvalidInput(f"{field} contains a NUL character.")
    return value.strip()


def clean_email(value: Any, field: str = "email") -> str:
    text = clean_name(value, field, max_len=320).lower()
    if not _EMAIL.match(text):
        raise InvalidInput(f"{field} '{text}' is not an email address.")
    return text


def clean_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidInput(f"{field} '{value}' is not one of: {', '.join(choices)}.")
    return str(value)


def clean_sha256(value: Any, field: str = "artifact_sha256") -> str:
    if value in (None, ""):
        return ""
    text = str(value).strip().lower()
    if not _SHA256.match(text):
        raise InvalidInput(f"{field} must be 64 hexadecimal characters.")
    return text


def clean_number(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} '{value}' is not a number.") from None
    if not math.isfinite(number):
        raise InvalidInput(f"{field} must be a finite number, got {value}.")
    return number


def clean_money(value: Any, field: str) -> Decimal:
    """An exact amount of money (``core.db.types.Money``): at most four decimal places and
    twelve digits before the point; refused, never rounded."""
    if isinstance(value, str):
        value = value.strip()
    try:
        return to_money(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{field} {exc}.") from None


def clean_json_numbers(values: Any, field: str) -> dict[str, float]:
    """A flat mapping of names to finite numbers (metrics)."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise InvalidInput(f"{field} must be a mapping of name to number.")
    return {clean_name(k, f"{field} name"): clean_number(v, f"{field} '{k}'") for k, v in values.items()}


MAX_HORIZON_DAYS = 3660  # ten years: longer than any outcome a labeller could look up


def clean_case_link(value: Any, field: str = "case link template") -> str:
    """An http(s) address with ``{request_id}`` where the case's id goes ('' = no link). Nothing
    else may be templated, and the id is URL-encoded when the link is built (``case_link``)."""
    text = clean_text(value, field, max_len=1000)
    if not text:
        return ""
    if any(ord(c) < 33 for c in text):
        raise InvalidInput(f"{field} must be one address without spaces.")
    if not re.match(r"^https?://[^/{}]+", text, flags=re.IGNORECASE):
        raise InvalidInput(f"{field} must start with http:// or https:// and a host, got '{text[:80]}'.")
    if "{request_id}" not in text:
        raise InvalidInput(f"{field} must hold {{request_id}} where the case's id goes, got '{text[:80]}'.")
    if re.sub(r"\{request_id\}", "", text).count("{") or re.sub(r"\{request_id\}", "", text).count("}"):
        raise InvalidInput(f"{field} may only hold the placeholder {{request_id}}, got '{text[:80]}'.")
    return text


def case_link(template: str, request_id: str) -> str:
    """The address of one case: the template with its request id, URL-encoded ('' without either)."""
    if not template or not request_id:
        return ""
    return template.replace("{request_id}", quote(request_id, safe=""))


def clean_horizon(value: Any, field: str = "outcome horizon (days)") -> int | None:
    """Whole days from 0 to ``MAX_HORIZON_DAYS``, or None (no horizon)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
        raise InvalidInput(f"{field} must be a whole number of days, got {value!r}.")
    if not 0 <= int(value) <= MAX_HORIZON_DAYS:
        raise InvalidInput(f"{field} must be from 0 to {MAX_HORIZON_DAYS}, got {int(value)}.")
    return int(value)


TASK_ALIASES = {"binary": "binary_classification", "multiclass": "multiclass_classification"}


def clean_task(value: Any, choices: tuple[str, ...]) -> str:
    """A model's task; 'binary' and 'multiclass' stand for their full names."""
    text = str(value).strip() if value is not None else ""
    return clean_choice(TASK_ALIASES.get(text, text), "task", choices)


def clean_class_names(value: Any, *, task: str, model: str) -> list[str]:
    """A version's ordered class names: required (two or more, unique, non-empty, not numbers
    alone, so a class is never confused with its position) for a multiclass classifier, refused
    for any other task."""
    names = list(value or [])
    if task != "multiclass_classification":
        if names:
            raise InvalidInput(
                f"class names are for multiclass classifiers; '{model}' is a {task.replace('_', ' ')} model."
            )
        return []
    if isinstance(value, str):
        raise InvalidInput("class names must be a list of names, e.g. ['low', 'medium', 'high'].")
    if len(names) < 2:
        raise InvalidInput(
            f"'{model}' is a multiclass classifier: give its class names in order (at least two), "
            "e.g. --class-names low,medium,high."
        )
    cleaned = [clean_name(n, "class name") for n in names]
    for position, name in enumerate(cleaned, start=1):
        if re.fullmatch(r"[+-]?\d+(\.\d*)?", name):
            raise InvalidInput(
                f"class name {position} is '{name}': a class is named in words, not by a number."
            )
        if name.startswith("score."):
            raise InvalidInput(f"class name {position} is '{name}': names may not start with 'score.'.")
    seen: set[str] = set()
    for name in cleaned:
        if name in seen:
            raise InvalidInput(f"class name '{name}' is given twice; class names must be unique.")
        seen.add(name)
    return cleaned
