"""The one clock (core/clock.py): real UTC time by default, a frozen moment inside ``frozen``."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from core import clock

MOMENT = datetime(2026, 3, 31, 9, 30, tzinfo=UTC)


def test_now_is_aware_utc_and_today_is_its_date() -> None:
    before = datetime.now(UTC)
    now = clock.now()
    assert now.tzinfo is UTC and before <= now <= datetime.now(UTC)
    assert clock.today() in {before.date(), datetime.now(UTC).date()}


def test_frozen_blocks_nest_and_restore() -> None:
    with clock.frozen(MOMENT) as outer:
        assert outer == MOMENT and clock.now() == MOMENT and clock.today() == date(2026, 3, 31)
        with clock.frozen(MOMENT + timedelta(days=1)):
            assert clock.today() == date(2026, 4, 1)
        assert clock.now() == MOMENT
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_converts_to_utc_and_refuses_naive_moments() -> None:
    with clock.frozen(datetime(2026, 3, 31, 11, 30, tzinfo=timezone(timedelta(hours=2)))):
        assert clock.now() == MOMENT and clock.now().tzinfo is UTC
    with pytest.raises(ValueError, match="naive datetime"):
        with clock.frozen(datetime(2026, 3, 31, 9, 30)):
            pass


def test_a_frozen_clock_holds_only_for_the_code_in_the_block() -> None:
    seen: list[datetime] = []
    with clock.frozen(MOMENT):
        other = threading.Thread(target=lambda: seen.append(clock.now()))
        other.start()
        other.join()
    assert seen and seen[0] != MOMENT  # another session (thread) keeps the real time
