"""The one write path of the app: every page and panel changes the registry through here.

``perform(service, stale=..., **kwargs)`` runs ``service(session, actor=<signed-in person>,
**kwargs)`` in one write transaction; with ``on_engine=True`` it runs an engine-level core
service ``service(engine, actor=..., **kwargs)`` (a drift run, an import: they open their own
transactions). Then, in one place for every write:

- on success, the cached reads of the kinds of data named in ``stale`` are cleared (the tags of
  app.cache; the audit log is always stale) and the ``success`` message is queued as the flash
  the next run shows on top of the page;
- on a refusal (a typed core error) nothing was written, the core has rolled everything back,
  and the message comes back in ``Done`` to be shown in the one style of ``show_error``: an
  error box with the core's message, its icon saying what kind of refusal it is.

``submit`` is ``perform`` for a form: rerun on success (the flash shows), the error under the
form otherwise. Messages are plain text: whatever they quote is shown literally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import streamlit as st

from app import bootstrap, cache, identity
from app.components.flash import Flash, show
from core.db.engine import read_session, write_session
from core.errors import Conflict, NotFound, PermissionDenied, StewardError

T = TypeVar("T")
Kind = Literal["ok", "conflict", "refused", "not_found", "invalid"]
_FLASHES = "steward.flashes"  # session key: messages queued for the next run
NOBODY = "Pick or sign in as a person first."
_ICONS = {
    "conflict": ":material/sync_problem:",
    "refused": ":material/lock:",
    "not_found": ":material/search_off:",
    "invalid": ":material/error:",
}


@dataclass(frozen=True)
class Done(Generic[T]):
    """What a write did: its result, or the core's message saying why nothing was written."""

    result: T | None = None
    error: str = ""
    kind: Kind = "ok"

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    @property
    def conflict(self) -> bool:
        """The change collided with someone else's (another labeller, another tab)."""
        return self.kind == "conflict"


def _kind(exc: StewardError) -> Kind:
    if isinstance(exc, Conflict):
        return "conflict"
    if isinstance(exc, PermissionDenied):
        return "refused"
    if isinstance(exc, NotFound):
        return "not_found"
    return "invalid"


def perform(
    service: Callable[..., T],
    /,
    *,
    stale: Iterable[cache.Tag],
    success: str | Callable[[T], str] | None = None,
    on_engine: bool = False,
    spinner: str | None = None,
    **kwargs: Any,
) -> Done[T]:
    """Run one core write as the signed-in person; clear what it made stale; queue ``success``."""
    actor = identity.current_actor()
    if actor is None:
        return Done(error=NOBODY, kind="refused")
    try:
        with st.spinner(spinner) if spinner else nullcontext():
            if on_engine:
                result = service(bootstrap.engine(), actor=actor, **kwargs)
            else:
                with write_session(bootstrap.engine()) as session:
                    result = service(session, actor=actor, **kwargs)
    except StewardError as exc:
        kind = _kind(exc)
        if kind == "conflict":  # what we showed was out of date: read it again
            cache.clear(stale)
        return Done(error=str(exc), kind=kind)
    cache.clear(stale)
    if success is not None:
        flash(success(result) if callable(success) else success)
    return Done(result)


def submit(
    service: Callable[..., T],
    /,
    *,
    stale: Iterable[cache.Tag],
    success: str | Callable[[T], str] | None = None,
    error_prefix: str = "",
    **kwargs: Any,
) -> Done[T]:
    """``perform`` for a form: on success rerun (the flash shows on top of the page); on a
    refusal show it here, under the form, and return it."""
    done = perform(service, stale=stale, success=success, **kwargs)
    if done.ok:
        st.rerun()
    show_error(done, prefix=error_prefix)
    return done


def prepare(service: Callable[..., T], /, **kwargs: Any) -> T | None:
    """A read-only step before a write, ``service(session, actor=..., **kwargs)`` (e.g. evaluating a
    request's evidence outside the write transaction). None when it refuses: the write that
    follows evaluates again and reports the refusal."""
    actor = identity.current_actor()
    if actor is None:
        return None
    try:
        with read_session(bootstrap.engine()) as session:
            return service(session, actor=actor, **kwargs)
    except StewardError:
        return None


def sign_in_write(service: Callable[..., T], /, **kwargs: Any) -> T:
    """The one write made before anybody acts: linking a signed-in identity to its person
    (``service(session, **kwargs)``, audited by the core)."""
    with write_session(bootstrap.engine()) as session:
        result = service(session, **kwargs)
    cache.clear((cache.PEOPLE,))
    return result


# --- messages ------------------------------------------------------------------------------------


def flash(message: str, *, kind: Literal["success", "info", "warning", "error"] = "success") -> None:
    """Queue ``message`` (plain text) for the top of the next run's page."""
    st.session_state.setdefault(_FLASHES, []).append(Flash(kind, message))


def flash_outcome(done: Done[Any], success: str) -> None:
    """Queue what a write did, either way (for button callbacks, which run before the page); a
    collision with someone else's change (another labeller was quicker) is a warning, not an error."""
    if done.ok:
        flash(success)
    else:
        flash(done.error, kind="warning" if done.conflict else "error")


def take_flashes() -> list[Flash]:
    """The queued messages, once: the page shows them and they are gone."""
    return st.session_state.pop(_FLASHES, [])


def show_error(done: Done[Any], *, prefix: str = "") -> None:
    """A refused write, in the app's one style (the message shown literally)."""
    show([Flash("error", prefix + done.error, _ICONS.get(done.kind))])
