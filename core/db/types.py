"""Column types that behave the same on SQLite and PostgreSQL, and typed access to stored rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, cast

from sqlalchemy import BigInteger, CursorResult, DateTime, Numeric, Result
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    Stored as naive UTC (SQLite has no time zones); returned as aware UTC. A naive value
    given to it is refused: we never guess a time zone.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Steward stores timezone-aware UTC only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


MONEY_SCALE = 4
"""Decimal places kept for money (a hundredth of a cent)."""
MONEY_INTEGER_DIGITS = 12
"""Digits before the decimal point: amounts below 10^12 (a trillion) fit."""
_MONEY_UNIT = Decimal(1).scaleb(-MONEY_SCALE)


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount of money (its currency lives in a column beside it).

    PostgreSQL stores it as NUMERIC(16, 4). SQLite has no exact decimal type (its NUMERIC keeps
    15 significant digits as a float), so there it is an INTEGER count of ten-thousandths:
    exact, summed exactly by SQL, and ordered and checked (``amount >= 0``) like the number.
    Either way Python sees a ``Decimal`` with four places, also for ``SUM`` over the column.
    A value with more places, or with 12 digits or more before the point, is refused, never
    rounded: ingest checks amounts before they get here and says which row is wrong.
    """

    impl = Numeric(MONEY_INTEGER_DIGITS + MONEY_SCALE, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(
            Numeric(MONEY_INTEGER_DIGITS + MONEY_SCALE, MONEY_SCALE, asdecimal=True)
        )

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = to_money(value)
        if dialect.name == "sqlite":
            return int(amount.scaleb(MONEY_SCALE))
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            if isinstance(value, float):  # SUM over no integer rows, or a hand-written REAL
                return to_money(repr(value))
            return Decimal(int(value)).scaleb(-MONEY_SCALE).quantize(_MONEY_UNIT)
        return Decimal(value).quantize(_MONEY_UNIT)


def to_money(value: Any) -> Decimal:
    """``value`` (a Decimal, an int, the text of a decimal, or a float read as its shortest
    text, so 0.1 is 0.1) as an exact Decimal with four places; ValueError when it would have to
    be rounded, is too large, or is not a finite number."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount of money")
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(value)
    except ArithmeticError:
        raise ValueError(f"{value!r} is not an amount of money") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite amount of money")
    if abs(amount) >= Decimal(10) ** MONEY_INTEGER_DIGITS:
        raise ValueError(f"{value!r} is too large: amounts stay below 10^{MONEY_INTEGER_DIGITS}")
    fixed = amount.quantize(_MONEY_UNIT)
    if fixed != amount:
        raise ValueError(f"{value!r} has more than {MONEY_SCALE} decimal places")
    return fixed


class _Stored(Protocol):
    id: int | None


def saved_id(row: _Stored) -> int:
    """The primary key of a row that is in the database (read from it, or added and flushed).

    Table classes type ``id`` as ``int | None`` because a new row has none until the session
    flushes it; read models and foreign keys need the ``int``.
    """
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush the session before reading it")
    return row.id


def changed_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (compare-and-set writes check it is 1)."""
    return cast(CursorResult[Any], result).rowcount
