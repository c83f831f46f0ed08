"""Typed errors. Every message names the problem so that the UI and CLI can show it as is."""

from __future__ import annotations


class StewardError(Exception):
    """Base for every error Steward raises on purpose; its message is shown to the user."""


class NotFound(StewardError):
    """The object asked for does not exist."""


class PermissionDenied(StewardError):
    """The acting person lacks the role the action needs."""


class Conflict(StewardError):
    """The object changed under us (already decided, duplicate, stale version)."""


class InvalidInput(StewardError):
    """Input failed validation; the message says which field, column or row."""


class DatabaseUnavailable(StewardError):
    """The registry database cannot be reached or opened."""


class SchemaOutOfDate(StewardError):
    """The registry's schema is behind (or ahead of) this version of Steward."""


class IntegrityViolation(StewardError):
    """Stored data failed an integrity check (audit chain, artifact hash)."""
