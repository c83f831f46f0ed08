"""The one clock of Steward: what time it is now (timezone-aware UTC) and which day today is.

Every timestamp Steward writes (row defaults, audit events, alerts, decisions) and every
"today" it reads reports against comes from here, never from ``datetime.now`` or
``date.today`` (the machine's local day is not the registry's day).

``frozen(moment)`` sets the clock for a block of code. The demo builder writes a portfolio
whose history lies in the past; it freezes the clock at each moment of that history, so the
rows, audit events, alerts and meetings it writes carry the demo's dates, not the day it was
built. Tests may use it too: the clock is outside the product. The setting is a context
variable, so it holds only for the code run in that block (its thread or task); other
sessions of the app keep reading the real time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

_frozen_at: ContextVar[datetime | None] = ContextVar("steward_clock_frozen_at", default=None)


def now() -> datetime:
    """The current moment, timezone-aware UTC (the frozen moment inside ``frozen``)."""
    moment = _frozen_at.get()
    return moment if moment is not None else datetime.now(UTC)


def today() -> date:
    """Today's date in UTC (not the machine's local date)."""
    return now().date()


@contextmanager
def frozen(moment: datetime) -> Iterator[datetime]:
    """Within the block, ``now()`` returns ``moment`` (aware; converted to UTC).

    Blocks nest: the innermost moment wins, and leaving a block restores the one before.
    """
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the clock is timezone-aware UTC only")
    token = _frozen_at.set(moment.astimezone(UTC))
    try:
        yield moment.astimezone(UTC)
    finally:
        _frozen_at.reset(token)
