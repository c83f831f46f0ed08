"""The checks a prediction log or a cost file passes before anything is written: column by
column, vectorised (no Python loop over rows), returning a validated DataFrame.

Reading rules (the README's "File formats" section states them for people):

- Numbers are plain decimals (``-12.5``, ``1e-3``); ``12,5k``, ``1 234`` or ``12,5`` are refused,
  as are infinities and integers that do not fit in 64 bits.
- Times are ISO 8601 (``2026-09-03T10:00:00Z``). A time without a zone is refused unless the
  caller names one (``TimeRules.timezone``); an integer is an epoch only with its unit
  (``TimeRules.epoch_unit``); other formats only with ``TimeRules.date_format`` (strptime),
  and ``03/09/2026`` without it is refused with both of its readings.
- Classifiers predict and are labelled 0 or 1 and score between 0 and 1.
- Money is exact: at most four decimal places and twelve digits before the point.

Each refusal is one ``InvalidInput`` line naming the file line and data row (``Source``), the
column, the value (escaped and shortened) and the problem, and how many more rows share it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.db.models.registry import COST_CATEGORIES
from core.db.types import MONEY_INTEGER_DIGITS, MONEY_SCALE
from core.errors import InvalidInput
from core.registry.files import Source, shown

EPOCH_UNITS = ("s", "ms", "us", "ns")
PREDICTION_COLUMNS = ("ts", "prediction", "score", "label", "request_id")
COST_COLUMNS = ("day", "model", "category", "amount", "currency")
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "JPY", "CAD", "AUD")
CLASSES = (0.0, 1.0)
MAX_REQUEST_ID = 120
FUTURE_SLACK = timedelta(days=1)
_NS_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_INT64_MAX = "9223372036854775807"
# Declared dtypes as pandas, numpy, Arrow, MLflow colspecs and SQL spell them.
_NUMERIC_DTYPE = re.compile(
    r"(?i)^(u?int|integer|long|short|byte|float|double|decimal|numeric|number|real|bigint|smallint)"
)
_TEXT_DTYPE = re.compile(r"(?i)^(str|string|object|category|categorical|text|utf8|large_string|varchar|char)")

_ISO = (
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
    r"(?:Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
_DAY_MONTH = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b"
_DIGITS = r"^[+-]?\d+(?:\.\d+)?$"
_NUMBER = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"
# A number in another spelling (12,5k; 1 234; 1.234,5; 50%; 1e400): a numeric feature, misspelt.
_NUMBERISH = r"^\s*[+-]?(?:\d[\d,.' ]*|\.\d+)(?:[eE][+-]?\d+)?[kKmMbB%]?\s*$"
_ZONED = r"[T ][0-9:.,]+\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"
_AMOUNT = r"^\+?(\d+)(?:\.(\d*))?$"


@dataclass(frozen=True)
class TimeRules:
    """How to read times a file writes without saying: the zone of zone-less times, the unit
    of integer epochs, the strptime format of non-ISO dates. None: refuse such values."""

    timezone: str | None = None
    epoch_unit: str | None = None
    date_format: str | None = None

    def __post_init__(self) -> None:
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidInput(
                    f"unknown time zone '{shown(self.timezone)}'; use an IANA name such as UTC or Europe/Paris."
                ) from None
        if self.epoch_unit is not None and self.epoch_unit not in EPOCH_UNITS:
            raise InvalidInput(
                f"epoch unit '{shown(self.epoch_unit)}' is not one of {', '.join(EPOCH_UNITS)}."
            )
        if self.date_format is not None and "%" not in self.date_format:
            raise InvalidInput(
                f"date format '{shown(self.date_format)}' has no % directive; e.g. %d/%m/%Y %H:%M."
            )


@contextmanager
def _quiet() -> Iterator[None]:
    """pandas and numpy warnings never reach the user: what matters is refused in our words."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


# --- refusals ------------------------------------------------------------------------------


def _refuse(
    source: Source, column: str, bad: pd.Series | np.ndarray, raw: pd.Series, problem: Callable[[str], str]
) -> NoReturn:
    """Refuse the first row where ``bad`` holds, showing its raw value; count the others."""
    rows = np.flatnonzero(np.asarray(bad, dtype=bool))
    first = int(rows[0])
    value = raw.iloc[first]
    text = "empty" if _is_missing(value) else f"'{shown(value)}'"
    more = len(rows) - 1
    also = ""
    if more:
        listed = ", ".join(str(int(r) + 1) for r in rows[1:4])
        also = f"; also data row{'s' if more > 1 else ''} {listed}" + (
            f" and {more - 3} more" if more > 3 else ""
        )
    raise InvalidInput(f"{source.where(first)}, column '{shown(column)}': {problem(text)}{also}.")


def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _refuse_columns(message: str) -> NoReturn:
    raise InvalidInput(message)


# --- text ----------------------------------------------------------------------------------


def _as_text(raw: pd.Series, source: Source, column: str, *, strip: bool = False) -> pd.Series:
    """The column's values as text (object dtype; missing stays missing, as does blank text
    when ``strip``); binary values refused."""
    kind = pd.api.types.infer_dtype(raw, skipna=True)
    if kind in ("string", "empty"):
        text = raw
    else:
        if kind == "bytes" or kind.startswith("mixed"):
            binary = raw.map(type).isin([bytes, bytearray])
            if binary.any():
                _refuse(source, column, binary, raw, lambda v: f"{v} is binary data, not text")
        text = raw.astype(str).where(raw.notna(), None)
    if strip:
        text = text.str.strip()
        text = text.where(text != "", None)
    return text


def _arrow(text: pd.Series) -> pa.Array:
    """Text as an Arrow array: its regular expressions run column-wise in C++ (RE2)."""
    return pa.array(text, type=pa.string(), from_pandas=True)


def _matches(text: pd.Series, pattern: str) -> pd.Series:
    """Where ``pattern`` is found in ``text`` (False where missing)."""
    found = pc.match_substring_regex(_arrow(text), pattern).to_numpy(zero_copy_only=False)
    return pd.Series(found, index=text.index).fillna(False).astype(bool)


# --- numbers -------------------------------------------------------------------------------


def numbers(
    raw: pd.Series, source: Source, column: str, *, required: bool, parsed: pd.Series | None = None
) -> pd.Series:
    """A numeric column read exactly as written: int64 when every value is an integer (and none
    is missing), else float64 with NaN for missing values. Refuses what is not a plain number,
    integers beyond 64 bits and infinities, naming the row."""
    with _quiet():
        if pd.api.types.is_bool_dtype(raw.dtype):
            values = raw.astype(float)
        elif pd.api.types.is_numeric_dtype(raw.dtype):
            values = raw
        else:
            text = _as_text(raw, source, column)
            values = parsed if parsed is not None else _to_numbers(text)
            gaps = values.isna()
            unread = gaps & text.notna() if gaps.any() else gaps
            if unread.any():
                blank = pd.Series(False, index=text.index)
                blank[unread] = text[unread].str.strip() == ""
                unread &= ~blank
            if unread.any():
                spelled = _matches(text.where(unread), _NUMBER)
                if spelled.any():  # e.g. 1e400: a number, but beyond a float
                    _refuse(source, column, spelled, raw, lambda v: f"{v} is too large a number")
                _refuse(source, column, unread, raw, _not_a_number)
            if values.dtype.kind == "f":
                big = values.abs() >= 2.0**63
                if big.any():
                    integer = _matches(text.where(big), r"^\s*[+-]?\d+\s*$")
                    if integer.any():
                        _refuse(source, column, integer, raw, lambda v: f"{v} is an integer beyond 64 bits")
        if values.dtype.kind == "u":
            huge = values > np.iinfo(np.int64).max
            if huge.any():
                _refuse(source, column, huge, raw, lambda v: f"{v} is an integer beyond 64 bits")
            values = values.astype(np.int64)
        if values.dtype == object:  # Python ints beyond 64 bits in a typed frame
            _refuse(
                source,
                column,
                pd.Series(True, index=values.index),
                raw,
                lambda v: f"{v} is an integer beyond 64 bits",
            )
        if values.dtype.kind == "f":
            infinite = np.isinf(values.to_numpy())
            if infinite.any():
                _refuse(source, column, infinite, raw, lambda v: f"{v} is infinite (too large a number)")
        if required and values.isna().any():
            _refuse(source, column, values.isna(), raw, lambda v: "a value is required; the cell is empty")
    return _narrowed(values)


def _to_numbers(text: pd.Series) -> pd.Series:
    """``text`` as numbers (NaN where missing or not a number). Arrow's parsers (C++) read a
    column of plain integers or decimals at once; any other column goes through pandas', which
    marks each unreadable value."""
    column = _arrow(text)
    for target in (pa.int64(), pa.float64()):
        try:
            cast = pc.cast(column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return pd.Series(cast.to_pandas(), index=text.index)
    return pd.to_numeric(text, errors="coerce")


def _not_a_number(value: str) -> str:
    return f"{value} is not a number (write plain decimals with a point, e.g. 12500 or 0.85)"


def _narrowed(values: pd.Series) -> pd.Series:
    """int64 stays int64; a float column keeps its floats."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    return values.astype(float)


# --- times ---------------------------------------------------------------------------------


def timestamps(raw: pd.Series, source: Source, column: str, rules: TimeRules, *, now: datetime) -> pd.Series:
    """Aware UTC timestamps (datetime64[ns, UTC]) read by the rules; refuses missing, zone-less
    (without ``rules.timezone``), epoch (without ``rules.epoch_unit``), non-ISO (without
    ``rules.date_format``), impossible, out-of-range and future values, naming the row."""
    with _quiet():
        ts = _read_times(raw, source, column, rules)
        future = ts > pd.Timestamp(now + FUTURE_SLACK)
        if future.any():
            _refuse(
                source,
                column,
                future,
                raw,
                lambda v: f"{v} lies in the future (after {now:%Y-%m-%d %H:%M} UTC)",
            )
    return ts


def _read_times(raw: pd.Series, source: Source, column: str, rules: TimeRules) -> pd.Series:
    missing = raw.isna()
    if missing.any():
        _refuse(source, column, missing, raw, lambda v: "a time is required; the cell is empty")
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        return _localised(raw, raw, source, column, rules)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return _epochs(raw.astype(float) if raw.dtype.kind == "f" else raw, raw, source, column, rules)
    kind = pd.api.types.infer_dtype(raw, skipna=True)
    if kind in ("datetime", "datetime64", "date"):
        parsed = pd.to_datetime(raw, errors="coerce")  # aware objects keep their zone
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            return parsed.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        if parsed.dtype == object:  # a mix of zones: each is converted
            return pd.to_datetime(raw, utc=True).astype("datetime64[ns, UTC]")
        return _localised(parsed, raw, source, column, rules)
    text = _as_text(raw, source, column)
    empty = text.isna()
    if empty.any():
        _refuse(source, column, empty, raw, lambda v: "a time is required; the cell is empty")
    return _times_from_text(text, raw, source, column, rules)


def _times_from_text(
    text: pd.Series, raw: pd.Series, source: Source, column: str, rules: TimeRules
) -> pd.Series:
    if rules.epoch_unit is not None:
        values = pd.to_numeric(text, errors="coerce")
        if values.isna().any():
            unit = rules.epoch_unit
            _refuse(
                source,
                column,
                values.isna(),
                raw,
                lambda v: f"{v} is not an epoch number (--epoch-unit {unit})",
            )
        return _epochs(values, raw, source, column, rules)
    if rules.date_format is not None:
        fmt = rules.date_format
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc="%z" in fmt)
        bad = parsed.isna()
        if bad.any():
            _refuse(source, column, bad, raw, lambda v: f"{v} does not match --date-format '{shown(fmt)}'")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            return parsed.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        return _localised(parsed, raw, source, column, rules)
    # Fast path: Arrow's ISO 8601 parser reads a column in which every time carries its zone
    # (and refuses impossible dates, out-of-range years and zone-less times as a whole).
    try:
        fast = pc.cast(_arrow(text), pa.timestamp("ns", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    else:
        return pd.Series(fast.to_pandas(), index=text.index).astype("datetime64[ns, UTC]")
    # Otherwise pandas' ISO 8601 parser; only refused rows are looked at again.
    aware = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = aware.isna()
    if bad.any():
        _refuse_unread_time(text.where(bad), bad, raw, source, column)
    zoned = _matches(text, _ZONED)
    if zoned.all():
        return aware.astype("datetime64[ns, UTC]")
    naive = pd.to_datetime(text.where(~zoned), format="ISO8601", errors="coerce")
    local = _localised(naive, raw, source, column, rules, rows=~zoned)
    return aware.where(zoned, local).astype("datetime64[ns, UTC]")


def _refuse_unread_time(
    text: pd.Series, bad: pd.Series, raw: pd.Series, source: Source, column: str
) -> NoReturn:
    """Say why the first unread time is not read: an epoch, a day/month order, a year out of
    range, not ISO at all."""
    epoch = _matches(text, _DIGITS) & ~_matches(text, r"^\d{8}$")
    if epoch.any():
        _refuse(
            source,
            column,
            epoch,
            raw,
            lambda v: f"{v} is an epoch number; say its unit with --epoch-unit s, ms, us or ns",
        )
    iso = _matches(text, _ISO)
    if (bad & ~iso).any():
        _refuse_non_iso(text, bad & ~iso, raw, source, column)
    _refuse_unparsed(bad, text, raw, source, column)
    raise AssertionError("unreachable: _refuse_unparsed refuses any bad row")


def _refuse_non_iso(text: pd.Series, bad: pd.Series, raw: pd.Series, source: Source, column: str) -> NoReturn:
    first = str(text[bad].iloc[0]).strip()
    found = re.match(_DAY_MONTH, first)
    if found:
        a, b, year = (int(g) for g in found.groups())
        if a <= 12 and b <= 12 and a != b:
            one, other = _reading(a, b, year), _reading(b, a, year)
            _refuse(
                source,
                column,
                bad,
                raw,
                lambda v: (
                    f"{v} is ambiguous: {one} or {other}; write ISO dates (YYYY-MM-DD) or give --date-format"
                ),
            )
    _refuse(
        source,
        column,
        bad,
        raw,
        lambda v: (
            f"{v} is not an ISO 8601 date/time (e.g. 2026-09-03T10:00:00Z); other formats need --date-format"
        ),
    )


def _reading(day: int, month: int, year: int) -> str:
    full = year + 2000 if year < 100 else year
    try:
        return date(full, month, day).strftime("%-d %B %Y")
    except ValueError:
        return f"day {day} of month {month}"


def _refuse_unparsed(bad: pd.Series, text: pd.Series, raw: pd.Series, source: Source, column: str) -> None:
    if not bad.any():
        return
    year = pd.to_numeric(text.str.slice(0, 4), errors="coerce")
    outside = bad & ((year < 1678) | (year > 2261))
    if outside.any():
        _refuse(source, column, outside, raw, lambda v: f"{v} lies outside the supported years 1678-2261")
    _refuse(
        source, column, bad, raw, lambda v: f"{v} is not a valid {'date' if column == 'day' else 'date/time'}"
    )


def _localised(
    naive: pd.Series,
    raw: pd.Series,
    source: Source,
    column: str,
    rules: TimeRules,
    *,
    rows: pd.Series | None = None,
) -> pd.Series:
    """Zone-less times (at ``rows``, default all) in ``rules.timezone``; without one, refused.
    Times that do not exist or happen twice there (clock changes) are refused too."""
    rows = rows if rows is not None else pd.Series(True, index=naive.index)
    if rules.timezone is None:
        _refuse(
            source,
            column,
            rows,
            raw,
            lambda v: f"{v} has no time zone; add one (2026-09-03T10:00:00Z, +02:00) or give --timezone",
        )
    local = pd.to_datetime(naive).dt.tz_localize(rules.timezone, ambiguous="NaT", nonexistent="NaT")
    unclear = rows & local.isna()
    if unclear.any():
        zone = rules.timezone
        _refuse(
            source,
            column,
            unclear,
            raw,
            lambda v: f"{v} does not exist or happens twice in {zone} (a clock change); add its UTC offset",
        )
    return local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def _epochs(values: pd.Series, raw: pd.Series, source: Source, column: str, rules: TimeRules) -> pd.Series:
    if rules.epoch_unit is None:
        _refuse(
            source,
            column,
            np.ones(len(values), dtype=bool),
            raw,
            lambda v: f"{v} is an epoch number; say its unit with --epoch-unit s, ms, us or ns",
        )
    unit = rules.epoch_unit
    per = _NS_PER_UNIT[unit]
    low, high = pd.Timestamp("1678-01-01").value / per, pd.Timestamp("2261-12-31").value / per
    floats = values.astype(float)
    outside = (floats < low) | (floats > high) | floats.isna()
    if outside.any():
        _refuse(
            source,
            column,
            outside,
            raw,
            lambda v: f"{v} as an epoch in {unit} lies outside the supported years 1678-2261",
        )
    return pd.to_datetime(values, unit=unit, utc=True).astype("datetime64[ns, UTC]")


def days(raw: pd.Series, source: Source, column: str, rules: TimeRules, *, today: date) -> pd.Series:
    """Calendar days (datetime64[ns], midnight) read by the rules; refuses missing, non-ISO
    (without ``rules.date_format``), ambiguous, impossible and future days."""
    with _quiet():
        missing = raw.isna()
        if missing.any():
            _refuse(source, column, missing, raw, lambda v: "a day is required; the cell is empty")
        if pd.api.types.is_datetime64_any_dtype(raw.dtype):
            parsed = raw.dt.tz_localize(None) if isinstance(raw.dtype, pd.DatetimeTZDtype) else raw
        elif pd.api.types.infer_dtype(raw, skipna=True) in ("date", "datetime", "datetime64"):
            parsed = pd.to_datetime(raw, errors="coerce")
            if isinstance(parsed.dtype, pd.DatetimeTZDtype):
                parsed = parsed.dt.tz_localize(None)
        elif pd.api.types.is_numeric_dtype(raw.dtype) or rules.epoch_unit is not None:
            parsed = _epochs(
                numbers(raw, source, column, required=True), raw, source, column, rules
            ).dt.tz_localize(None)
        else:
            text = _as_text(raw, source, column)
            if text.isna().any():
                _refuse(source, column, text.isna(), raw, lambda v: "a day is required; the cell is empty")
            if rules.date_format is not None:
                fmt = rules.date_format
                parsed = pd.to_datetime(text, format=fmt, errors="coerce")
                if parsed.isna().any():
                    _refuse(
                        source,
                        column,
                        parsed.isna(),
                        raw,
                        lambda v: f"{v} does not match --date-format '{shown(fmt)}'",
                    )
            else:
                epoch = _matches(text, r"^\d{5,}$")
                if epoch.any():
                    _refuse(
                        source,
                        column,
                        epoch,
                        raw,
                        lambda v: f"{v} is an epoch number; say its unit with --epoch-unit",
                    )
                iso = _matches(text, r"^\d{4}-\d{2}-\d{2}$")
                if not iso.all():
                    _refuse_non_iso(text, ~iso, raw, source, column)
                parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
                _refuse_unparsed(parsed.isna(), text, raw, source, column)
        parsed = pd.Series(parsed, index=raw.index)
        timed = parsed.notna() & (parsed != parsed.dt.normalize())
        if timed.any():
            _refuse(
                source,
                column,
                timed,
                raw,
                lambda v: f"{v} has a time of day; give the day alone (YYYY-MM-DD)",
            )
        later = parsed > pd.Timestamp(today)
        if later.any():
            _refuse(source, column, later, raw, lambda v: f"{v} lies after today ({today.isoformat()}, UTC)")
    return parsed.astype("datetime64[ns]")


# --- money ---------------------------------------------------------------------------------


def money_units(raw: pd.Series, source: Source, column: str) -> pd.Series:
    """Exact amounts as int64 counts of 10^-MONEY_SCALE (e.g. 12.5 -> 125000 with scale 4).
    Text is read digit by digit, never through a float; floats (typed frames, Parquet doubles)
    by their shortest decimal text. Refuses negative, non-numeric, too-precise and too-large
    amounts."""
    scale = 10**MONEY_SCALE
    limit = 10**MONEY_INTEGER_DIGITS
    with _quiet():
        if pd.api.types.is_bool_dtype(raw.dtype):
            _refuse(source, column, np.ones(len(raw), dtype=bool), raw, lambda v: f"{v} is not an amount")
        if pd.api.types.is_integer_dtype(raw.dtype):
            values = raw.astype("Int64") if raw.dtype.kind != "u" else raw.astype(float)
            _money_range(values.astype(float), raw, source, column)
            return values.astype(np.int64) * scale
        if pd.api.types.is_float_dtype(raw.dtype):
            floats = raw.astype(float)
            if floats.isna().any():
                _refuse(
                    source, column, floats.isna(), raw, lambda v: "an amount is required; the cell is empty"
                )
            if np.isinf(floats).any():
                _refuse(source, column, np.isinf(floats), raw, lambda v: f"{v} is infinite")
            _money_range(floats, raw, source, column)
            scaled = floats * scale
            units = np.round(scaled)
            fraction = (scaled - units).abs() > 1e-6 * np.maximum(1.0, units.abs())
            if fraction.any():
                _refuse(
                    source, column, fraction, raw, lambda v: f"{v} has more than {MONEY_SCALE} decimal places"
                )
            return units.astype(np.int64)
        text = _as_text(raw, source, column)
        if text.isna().any():
            _refuse(source, column, text.isna(), raw, lambda v: "an amount is required; the cell is empty")
        negative = text.str.startswith("-")
        parts = text.str.extract(_AMOUNT)
        unread = parts[0].isna()
        if unread.any():
            number = _matches(text, _NUMBER)
            if (negative & number).any():
                _refuse(source, column, negative & number, raw, lambda v: f"{v} is negative")
            _refuse(
                source,
                column,
                unread,
                raw,
                lambda v: (
                    f"{v} is not an amount (write plain decimals with a point and no thousands separator, e.g. 1234.50)"
                ),
            )
        whole = parts[0].str.lstrip("0")
        fraction = parts[1].fillna("").str.rstrip("0")
        too_large = whole.str.len() > MONEY_INTEGER_DIGITS
        if too_large.any():
            _refuse(
                source, column, too_large, raw, lambda v: f"{v} is too large; amounts stay below {limit:,}"
            )
        too_precise = fraction.str.len() > MONEY_SCALE
        if too_precise.any():
            _refuse(
                source, column, too_precise, raw, lambda v: f"{v} has more than {MONEY_SCALE} decimal places"
            )
        whole_units = pd.to_numeric(whole.where(whole != "", "0")).astype(np.int64)
        fraction_units = pd.to_numeric(fraction.str.pad(MONEY_SCALE, side="right", fillchar="0")).astype(
            np.int64
        )
        return whole_units * scale + fraction_units


def _money_range(values: pd.Series, raw: pd.Series, source: Source, column: str) -> None:
    if values.isna().any():
        _refuse(source, column, values.isna(), raw, lambda v: "an amount is required; the cell is empty")
    negative = values < 0
    if negative.any():
        _refuse(source, column, negative, raw, lambda v: f"{v} is negative")
    too_large = values >= 10**MONEY_INTEGER_DIGITS
    if too_large.any():
        _refuse(
            source,
            column,
            too_large,
            raw,
            lambda v: f"{v} is too large; amounts stay below {10**MONEY_INTEGER_DIGITS:,}",
        )


# --- whole tables --------------------------------------------------------------------------


@dataclass(frozen=True)
class PredictionSchema:
    """What a version's prediction log must hold: its task and features, and which features
    are declared numeric or text (by its training dataset; undeclared ones are inferred)."""

    task: str
    label: str  # "Credit scoring v1", for messages
    features: tuple[str, ...] = ()
    numeric: frozenset[str] = frozenset()
    text: frozenset[str] = frozenset()
    classes: tuple[str, ...] = ()  # a multiclass classifier's class names, in order


def declared_kinds(dtypes: dict[str, str]) -> tuple[frozenset[str], frozenset[str]]:
    """Split declared dtypes (column -> 'float64', 'long', 'object', 'string', ...) into the
    numeric and the text features; others (bool, datetime, unknown) stay undeclared."""
    numeric = frozenset(name for name, dtype in dtypes.items() if _NUMERIC_DTYPE.match(str(dtype).strip()))
    text = frozenset(name for name, dtype in dtypes.items() if _TEXT_DTYPE.match(str(dtype).strip()))
    return numeric, text - numeric


def validate_predictions(
    frame: pd.DataFrame, *, schema: PredictionSchema, rules: TimeRules, source: Source, now: datetime
) -> pd.DataFrame:
    """The prediction log ``frame`` checked and typed: ts (datetime64[ns, UTC]), prediction
    (float64), score and label (float64, NaN when absent), request_id (str), then one column
    per feature (int64/float64 for numeric features, object str/None for text). Raises
    InvalidInput naming the first problem; writes nothing."""
    if frame.empty:
        raise InvalidInput(f"{_file(source, 'prediction file')}holds no rows.")
    frame = frame.reset_index(drop=True)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    for needed in ("ts", "prediction"):
        if needed not in columns:
            _refuse_columns(f"{_file(source)}missing column '{needed}'; found: {_listed(columns, 20)}.")
    duplicate = sorted({c for c in columns if columns.count(c) > 1})
    if duplicate:
        _refuse_columns(f"{_file(source)}duplicate column(s): {_listed(duplicate, 10)}.")
    multiclass = schema.task == "multiclass_classification"
    class_scores = [c for c in columns if multiclass and c.startswith(CLASS_SCORE_PREFIX)]
    features = [c for c in columns if c not in PREDICTION_COLUMNS and c not in class_scores]
    if schema.features:
        missing = [c for c in schema.features if c not in features]
        extra = [c for c in features if c not in schema.features]
        if missing:
            _refuse_columns(
                f"{_file(source)}missing feature column(s) of {schema.label}: {_listed(missing, 10)}."
            )
        if extra:
            _refuse_columns(
                f"{_file(source)}unexpected column(s) not among {schema.label}'s features: {_listed(extra, 10)}."
            )
    out = pd.DataFrame(index=frame.index)
    out["ts"] = timestamps(frame["ts"], source, "ts", rules, now=now)
    if multiclass:
        _multiclass_outputs(out, frame, source, schema, class_scores)
    else:
        out["prediction"] = numbers(frame["prediction"], source, "prediction", required=True).astype(float)
        for optional in ("score", "label"):
            out[optional] = (
                numbers(frame[optional], source, optional, required=False).astype(float)
                if optional in columns
                else np.nan
            )
    if schema.task == "binary_classification":
        _classifier_domain(out, frame, source)
    out["request_id"] = _request_ids(frame, source)
    for name in features:
        out[name] = _feature(frame[name], source, name, schema)
    return out


def _classifier_domain(out: pd.DataFrame, frame: pd.DataFrame, source: Source) -> None:
    with _quiet():
        for column in ("prediction", "label"):
            if column not in frame.columns:
                continue
            values = out[column]
            outside = values.notna() & (values != CLASSES[0]) & (values != CLASSES[1])
            if outside.any():
                _refuse(
                    source,
                    column,
                    outside,
                    frame[column],
                    lambda v: f"{v} is not a class of a binary classifier (0 or 1)",
                )
        if "score" in frame.columns:
            score = out["score"]
            outside = score.notna() & ((score < 0) | (score > 1))
            if outside.any():
                _refuse(
                    source,
                    "score",
                    outside,
                    frame["score"],
                    lambda v: f"{v} must lie between 0 and 1 for a classifier",
                )


CLASS_SCORE_PREFIX = "score."  # a multiclass file's per-class score columns: score.low, score.high


def _class_indices(
    raw: pd.Series, source: Source, column: str, schema: PredictionSchema, *, required: bool
) -> pd.Series:
    """A column of class names as their positions in ``schema.classes`` (float64, NaN when absent)."""
    if not schema.classes:
        raise InvalidInput(
            f"{schema.label} is a multiclass classifier registered without class names; register a "
            "version with --class-names before logging its predictions."
        )
    with _quiet():
        text = _as_text(raw, source, column, strip=True)
        if required and text.isna().any():
            _refuse(source, column, text.isna(), raw, lambda v: f"a class name is required; the cell is {v}")
        position = {name: float(i) for i, name in enumerate(schema.classes)}
        indices = text.map(position)
        unknown = text.notna() & indices.isna()
        if unknown.any():
            _refuse(
                source,
                column,
                unknown,
                raw,
                lambda v: f"{v} is not a class of {schema.label} ({_listed(list(schema.classes), 12)})",
            )
    return indices.astype(float)


def _multiclass_outputs(
    out: pd.DataFrame, frame: pd.DataFrame, source: Source, schema: PredictionSchema, class_scores: list[str]
) -> None:
    """prediction and label of a multiclass file are class names (kept as their positions);
    scores are either one ``score`` (that of the predicted class) or per-class ``score.NAME``
    columns, between 0 and 1, of which the predicted class's is kept as ``score``."""
    out["prediction"] = _class_indices(frame["prediction"], source, "prediction", schema, required=True)
    out["label"] = (
        _class_indices(frame["label"], source, "label", schema, required=False)
        if "label" in frame.columns
        else np.nan
    )
    if class_scores and "score" in frame.columns:
        _refuse_columns(
            f"{_file(source)}give either a 'score' column (the predicted class's) or per-class "
            f"'{CLASS_SCORE_PREFIX}NAME' columns, not both."
        )
    unknown = [c for c in class_scores if c[len(CLASS_SCORE_PREFIX) :] not in schema.classes]
    if unknown:
        _refuse_columns(
            f"{_file(source)}score column(s) {_listed(unknown, 10)} name no class of {schema.label} "
            f"({_listed(list(schema.classes), 12)})."
        )
    scores = {c: numbers(frame[c], source, c, required=False).astype(float) for c in class_scores}
    if "score" in frame.columns:
        scores["score"] = numbers(frame["score"], source, "score", required=False).astype(float)
    with _quiet():
        for column, values in scores.items():
            outside = values.notna() & ((values < 0) | (values > 1))
            if outside.any():
                _refuse(
                    source,
                    column,
                    outside,
                    frame[column],
                    lambda v: f"{v} must lie between 0 and 1 for a classifier",
                )
    if "score" in scores:
        out["score"] = scores["score"]
    elif scores:
        # one column per class (NaN where the file gives no score for it), picked by the prediction
        by_class = np.full((len(out), len(schema.classes)), np.nan)
        for column, values in scores.items():
            by_class[:, schema.classes.index(column[len(CLASS_SCORE_PREFIX) :])] = values.to_numpy(
                dtype=float
            )
        predicted = out["prediction"].to_numpy(dtype=float).astype(int)
        out["score"] = by_class[np.arange(len(out)), predicted]
    else:
        out["score"] = np.nan


def _request_ids(frame: pd.DataFrame, source: Source) -> pd.Series:
    if "request_id" not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    raw = frame["request_id"]
    with _quiet():
        if pd.api.types.is_float_dtype(raw.dtype):  # typed frames: 7.0 is request 7
            whole = raw.dropna() == raw.dropna().round()
            text = raw.astype("Int64").astype("string") if whole.all() else raw.astype("string")
        else:
            text = _as_text(raw, source, "request_id") if raw.dtype == object else raw.astype("string")
        text = text.fillna("")
        lengths = pc.utf8_length(_arrow(text)).to_numpy(zero_copy_only=False)
        too_long = pd.Series(lengths > MAX_REQUEST_ID, index=text.index)
        if too_long.any():
            _refuse(
                source,
                "request_id",
                too_long,
                raw,
                lambda v: f"{v} is longer than {MAX_REQUEST_ID} characters",
            )
    return text.astype(object)


def _feature(raw: pd.Series, source: Source, name: str, schema: PredictionSchema) -> pd.Series:
    """A numeric feature as numbers (refusing what is not one), a text feature as text.

    Undeclared features count as numeric when the file gives them as numbers (a typed
    column) or when any of their values is a number, even one spelt otherwise (12,5k)."""
    with _quiet():
        if name in schema.text:
            return _text_feature(raw, source, name)
        if pd.api.types.is_datetime64_any_dtype(raw.dtype):
            return _iso_text(raw)
        kind = pd.api.types.infer_dtype(raw, skipna=True)
        if kind in ("datetime", "datetime64", "date"):
            return _iso_text(pd.to_datetime(raw, errors="coerce", utc=kind != "date"))
        if (
            name in schema.numeric
            or pd.api.types.is_numeric_dtype(raw.dtype)
            or kind in ("integer", "floating", "mixed-integer-float", "decimal")
        ):
            return numbers(raw, source, name, required=False)
        if kind in ("empty",):
            return pd.Series(None, index=raw.index, dtype=object)
        text = _as_text(raw, source, name)
        parsed = _to_numbers(text)
        if parsed.notna().any() or _matches(text, _NUMBERISH).any():
            return numbers(raw, source, name, required=False, parsed=parsed)
        return text.astype(object).where(text.notna(), None)


def _text_feature(raw: pd.Series, source: Source, name: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(raw.dtype):
        text = raw.astype("string")
    else:
        text = _as_text(raw, source, name)
    return text.astype(object).where(text.notna(), None)


def _iso_text(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.replace(" ", "T", n=1, regex=False)
    return text.astype(object).where(values.notna(), None)


def validate_costs(frame: pd.DataFrame, *, rules: TimeRules, source: Source, today: date) -> pd.DataFrame:
    """The cost file ``frame`` checked and typed: day (datetime64[ns]), model (str), category,
    amount_units (int64, see ``money_units``), currency. Model names are not looked up here."""
    if frame.empty:
        raise InvalidInput(f"{_file(source, 'cost file')}holds no rows.")
    frame = frame.reset_index(drop=True)
    columns = [str(c).strip() for c in frame.columns]
    frame.columns = columns
    missing = [c for c in COST_COLUMNS if c not in columns]
    if missing:
        _refuse_columns(
            f"{_file(source)}missing column(s) {', '.join(missing)}; expected {', '.join(COST_COLUMNS)}."
        )
    extra = [c for c in columns if c not in COST_COLUMNS]
    if extra:
        _refuse_columns(
            f"{_file(source)}unexpected column(s): {_listed(extra, 10)}; expected {', '.join(COST_COLUMNS)}."
        )
    out = pd.DataFrame(index=frame.index)
    out["day"] = days(frame["day"], source, "day", rules, today=today)
    out["amount_units"] = money_units(frame["amount"], source, "amount")
    with _quiet():
        currency = _as_text(frame["currency"], source, "currency", strip=True).fillna("").str.upper()
        unknown = ~currency.isin(CURRENCIES)
        if unknown.any():
            _refuse(
                source,
                "currency",
                unknown,
                frame["currency"],
                lambda v: f"unknown currency {v}; known: {', '.join(CURRENCIES)}",
            )
        category = _as_text(frame["category"], source, "category", strip=True).fillna("").str.lower()
        known_categories = COST_CATEGORIES
        unknown = ~category.isin(known_categories)
        if unknown.any():
            _refuse(
                source,
                "category",
                unknown,
                frame["category"],
                lambda v: f"{v} is not one of {', '.join(known_categories)}",
            )
        names = _as_text(frame["model"], source, "model", strip=True)
        if names.isna().any():
            _refuse(
                source,
                "model",
                names.isna(),
                frame["model"],
                lambda v: "a model name is required; the cell is empty",
            )
    out["model"] = names.astype(object)
    out["category"] = category.astype(object)
    out["currency"] = currency.astype(object)
    duplicate = out.duplicated(subset=["day", "model", "category"], keep=False)
    if duplicate.any():
        _refuse(
            source,
            "day",
            duplicate,
            frame["day"],
            lambda v: f"{v}: the same day + model + category appears more than once",
        )
    return out


def _file(source: Source, kind: str = "file") -> str:
    return f"'{shown(source.name, 60)}' " if source.name else f"the {kind} "


def _listed(names: list[str], limit: int) -> str:
    listed = ", ".join(shown(n) for n in names[:limit])
    return listed + (f" and {len(names) - limit} more" if len(names) > limit else "")
