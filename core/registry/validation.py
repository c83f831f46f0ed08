"""Small input checks shared by services; each raises InvalidInput naming the field."""

from __future__ import annotations

import math
import re
from typing import Any

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


def clean_json_numbers(values: Any, field: str) -> dict[str, float]:
    """A flat mapping of names to finite numbers (metrics)."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise InvalidInput(f"{field} must be a mapping of name to number.")
    return {clean_name(k, f"{field} name"): clean_number(v, f"{field} '{k}'") for k, v in values.items()}
