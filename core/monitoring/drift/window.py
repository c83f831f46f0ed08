"""The current window, accumulated chunk by chunk against a reference profile.

Each chunk (a DataFrame of any size) is binned in one vectorised pass per column: numeric
values are sorted and the reference edges searched into them; categories are counted. Only
the per-bin counts and sums are kept, so memory stays flat however many chunks stream
through. While the window is small (``keep_max`` values per column) the values themselves
are also kept, so that the Wasserstein distance can be computed exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.monitoring.drift.profile import (
    ColumnReference,
    NumericBins,
    ReferenceProfile,
    category_counts,
    finite_values,
)

KEEP_MAX_VALUES = 200_000
TRACK_DISTINCT_MAX = 64  # distinct values tracked for numeric columns with few reference values


@dataclass
class NumericWindow:
    bins: NumericBins
    kept: list[np.ndarray] | None = field(default_factory=list)
    kept_n: int = 0
    minimum: float = np.inf
    maximum: float = -np.inf
    distinct: dict[float, int] | None = None  # values seen, while few (for count-based tests)

    def add(self, values: np.ndarray, keep_max: int) -> None:
        if values.size == 0:
            return
        ordered = np.sort(values)
        self.bins.add_sorted(ordered)
        self.minimum = min(self.minimum, float(ordered[0]))
        self.maximum = max(self.maximum, float(ordered[-1]))
        if self.kept is not None:
            if self.kept_n + ordered.size <= keep_max:
                self.kept.append(ordered)
                self.kept_n += ordered.size
            else:
                self.kept = None
        if self.distinct is not None:
            self._track_distinct(ordered)

    def _track_distinct(self, ordered: np.ndarray) -> None:
        assert self.distinct is not None
        starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
        if starts.size > TRACK_DISTINCT_MAX:
            self.distinct = None
            return
        counts = np.diff(np.concatenate([starts, [ordered.size]]))
        for value, count in zip(ordered[starts], counts, strict=True):
            self.distinct[float(value)] = self.distinct.get(float(value), 0) + int(count)
        if len(self.distinct) > TRACK_DISTINCT_MAX:
            self.distinct = None

    def sorted_values(self) -> np.ndarray | None:
        """Every value of the window, sorted, while they were few enough to keep."""
        if self.kept is None:
            return None
        if not self.kept:
            return np.empty(0)
        return np.sort(np.concatenate(self.kept))


@dataclass
class ColumnWindow:
    """What the window holds for one column of the reference."""

    reference: ColumnReference
    present: bool = False  # the column occurred in at least one chunk
    n_rows: int = 0
    n: int = 0
    bad: int = 0  # values that are not numbers in a numeric column
    bad_example: str = ""
    numeric: NumericWindow | None = None
    categories: dict[str, int] = field(default_factory=dict)
    all_numbers: bool = True  # every categorical value was a number

    @property
    def n_missing(self) -> int:
        return self.n_rows - self.n - self.bad


class WindowAccumulator:
    """Accumulates chunks of current data against ``profile``; ``add(chunk)`` then read ``columns``."""

    def __init__(self, profile: ReferenceProfile, *, keep_max: int = KEEP_MAX_VALUES) -> None:
        self.profile = profile
        self.keep_max = keep_max
        self.n_rows = 0
        self.columns: dict[str, ColumnWindow] = {}
        for name, ref in profile.columns.items():
            window = ColumnWindow(reference=ref)
            if ref.numeric is not None:
                bins = NumericBins.empty(ref.numeric.bins.edges, ref.numeric.bins.centre)
                few = ref.numeric.exact and ref.numeric.bins.edges.size <= TRACK_DISTINCT_MAX
                window.numeric = NumericWindow(bins, distinct={} if few else None)
            self.columns[name] = window

    def add(self, chunk: pd.DataFrame) -> None:
        """Bin one chunk of rows (columns not in the profile are ignored)."""
        rows = len(chunk)
        self.n_rows += rows
        for name, window in self.columns.items():
            window.n_rows += rows
            if name not in chunk.columns:
                continue
            series = chunk[name]
            window.present = window.present or rows > 0  # present, if only with missing values
            if window.reference.kind == "numeric" and window.numeric is not None:
                self._add_numeric(window, series)
            elif window.reference.kind == "numeric":
                values, bad = finite_values(series)
                window.n += int(values.size)
                self._note_bad(window, series, bad)
            elif window.reference.kind == "categorical":
                self._add_categorical(window, series)

    def _add_numeric(self, window: ColumnWindow, series: pd.Series) -> None:
        assert window.numeric is not None
        values, bad = finite_values(series)
        window.n += int(values.size)
        self._note_bad(window, series, bad)
        window.numeric.add(values, self.keep_max)

    @staticmethod
    def _note_bad(window: ColumnWindow, series: pd.Series, bad: int) -> None:
        if bad and not window.bad_example:
            coerced = pd.to_numeric(series, errors="coerce")
            window.bad_example = str(series[coerced.isna() & series.notna()].iloc[0])[:40]
        window.bad += bad

    @staticmethod
    def _add_categorical(window: ColumnWindow, series: pd.Series) -> None:
        counts = category_counts(series)
        if counts and window.all_numbers:
            window.all_numbers = _all_numbers(series)
        for label, count in counts.items():
            window.categories[label] = window.categories.get(label, 0) + count
        window.n += sum(counts.values())


def _all_numbers(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_numeric_dtype(series):
        return True
    numeric_kinds = ("integer", "floating", "mixed-integer-float", "decimal")
    # the first rows settle it for text columns without scanning the whole chunk
    if pd.api.types.infer_dtype(series.iloc[:100], skipna=True) not in (*numeric_kinds, "empty"):
        return False
    return pd.api.types.infer_dtype(series, skipna=True) in numeric_kinds
