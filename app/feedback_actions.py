"""Writes from the pages: one core service call in one write transaction as the signed-in
person, then every cached read is cleared.

Errors Steward raises on purpose come back as a message for the page to show; the core has
already rolled everything back, so nothing half-written remains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from app import bootstrap, cache, identity
from core.db.engine import read_session, write_session
from core.errors import Conflict, StewardError

T = TypeVar("T")


@dataclass(frozen=True)
class Done(Generic[T]):
    result: T | None
    error: str = ""
    conflict: bool = False  # the change collided with someone else's (another labeller, another tab)

    @property
    def ok(self) -> bool:
        return not self.error


def perform(service: Callable[..., T], **kwargs: Any) -> Done[T]:
    """Run ``service(session, actor=<signed-in person>, **kwargs)`` and commit it."""
    actor = identity.current_actor()
    if actor is None:
        return Done(None, "Pick or sign in as a person first.")
    try:
        with write_session(bootstrap.engine()) as session:
            result = service(session, actor=actor, **kwargs)
    except Conflict as exc:
        cache.clear_after_write()
        return Done(None, str(exc), conflict=True)
    except StewardError as exc:
        return Done(None, str(exc))
    cache.clear_after_write()
    return Done(result)


def prepare(service: Callable[..., T], **kwargs: Any) -> T | None:
    """Run a read-only preparation ``service(session, actor=..., **kwargs)`` before a write (e.g.
    evaluating a request's evidence outside the write transaction). None when it refuses: the
    write that follows evaluates again and reports the refusal."""
    actor = identity.current_actor()
    if actor is None:
        return None
    try:
        with read_session(bootstrap.engine()) as session:
            return service(session, actor=actor, **kwargs)
    except StewardError:
        return None
