"""Reference profiles: the distribution of each column of a reference dataset, binned once.

A numeric column keeps its distinct values with their counts when it has at most
``EXACT_MAX_VALUES`` of them (then every statistic computed against it is exact), else the
values at 2 000 quantiles with the count and the sum of the values between each pair
(statistics then carry a small, bounded binning error). A categorical column keeps its
category counts. Means and standard deviations come from the full reference.

Profiles serialise to a small JSON summary (for pages) and an ``.npz`` payload (numbers only,
loaded with ``allow_pickle=False``) for the engine.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

EXACT_MAX_VALUES = 20_000
QUANTILE_POINTS = 2001
MAX_CATEGORIES = 5_000
FORMAT_VERSION = 1


@dataclass
class NumericBins:
    """Counts of a sample against fixed edges: below the first edge, at each edge, strictly
    between consecutive edges, above the last. Sums are of (value - centre)."""

    edges: np.ndarray
    centre: float
    point_counts: np.ndarray
    gap_counts: np.ndarray
    gap_sums: np.ndarray
    below_count: int = 0
    below_sum: float = 0.0
    above_count: int = 0
    above_sum: float = 0.0
    _cdf: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def empty(cls, edges: np.ndarray, centre: float) -> NumericBins:
        k = edges.size
        return cls(
            edges, centre, np.zeros(k, np.int64), np.zeros(max(k - 1, 0), np.int64), np.zeros(max(k - 1, 0))
        )

    @property
    def n(self) -> int:
        return int(self.below_count + self.point_counts.sum() + self.gap_counts.sum() + self.above_count)

    def add_sorted(self, values: np.ndarray) -> None:
        """Add a sorted array of finite values in one vectorised pass: two binary searches of the
        edges into the values cut them into segments (below, at each edge, between edges,
        above), and one ``reduceat`` sums every segment."""
        if values.size == 0:
            return
        self._cdf = None
        left = np.searchsorted(values, self.edges, side="left")
        right = np.searchsorted(values, self.edges, side="right")
        bounds = np.empty(2 * left.size + 2, np.int64)
        bounds[0], bounds[-1] = 0, values.size
        bounds[1:-1:2], bounds[2:-1:2] = left, right
        lengths = np.diff(bounds)
        sums = np.zeros(lengths.size)
        filled = lengths > 0
        sums[filled] = np.add.reduceat(values, bounds[:-1][filled])
        centred = sums - self.centre * lengths  # sums of (value - centre), each segment on its own
        self.point_counts += right - left
        self.gap_counts += lengths[2:-1:2]
        self.gap_sums += centred[2:-1:2]
        self.below_count += int(lengths[0])
        self.below_sum += float(centred[0])
        self.above_count += int(lengths[-1])
        self.above_sum += float(centred[-1])

    def cdf_at_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Share of values <= each edge, and < each edge (kept until more values are added)."""
        if self._cdf is None:
            n = self.n
            at = (
                self.below_count
                + np.cumsum(self.point_counts)
                + np.concatenate([[0], np.cumsum(self.gap_counts)])
            ) / n
            self._cdf = (at, at - self.point_counts / n)
        return self._cdf

    def sum_of_values(self) -> float:
        points = float(np.sum(self.point_counts * (self.edges - self.centre)))
        return self.below_sum + points + float(self.gap_sums.sum()) + self.above_sum + self.centre * self.n


@dataclass
class NumericReference:
    bins: NumericBins
    exact: bool
    mean: float
    std: float
    minimum: float
    maximum: float


@dataclass
class ColumnReference:
    """One reference column: its kind, counts, and either numeric bins or category counts.

    ``unusable`` says why the column cannot serve as a reference (all missing, a date...);
    such columns are reported as not computed, never dropped silently.
    """

    name: str
    role: str
    kind: str  # numeric, categorical, other
    n_rows: int
    n: int
    n_missing: int
    numeric: NumericReference | None = None
    categories: dict[str, int] = field(default_factory=dict)
    numeric_looking_categories: bool = False
    unusable: str = ""
    dtype: str = ""

    @property
    def n_distinct(self) -> int:
        if self.numeric is not None:
            return int(self.numeric.bins.edges.size) if self.numeric.exact else EXACT_MAX_VALUES + 1
        return len(self.categories)


@dataclass
class ReferenceProfile:
    n_rows: int
    columns: dict[str, ColumnReference]

    def summary(self) -> dict[str, Any]:
        """JSON-safe per-column summary (kept in ``drift_profile.columns``)."""
        out: dict[str, Any] = {}
        for name, col in self.columns.items():
            entry: dict[str, Any] = {
                "role": col.role,
                "kind": col.kind,
                "dtype": col.dtype,
                "n_rows": col.n_rows,
                "n": col.n,
                "n_missing": col.n_missing,
                "unusable": col.unusable,
            }
            if col.numeric is not None:
                ref = col.numeric
                entry.update(
                    exact=ref.exact,
                    mean=ref.mean,
                    std=ref.std,
                    min=ref.minimum,
                    max=ref.maximum,
                    centre=ref.bins.centre,
                )
            if col.kind == "categorical":
                entry.update(categories=col.categories, numeric_looking=col.numeric_looking_categories)
            out[name] = entry
        return out

    def payload(self) -> bytes:
        """The numeric bins as an ``.npz`` (arrays only, no pickles)."""
        arrays: dict[str, Any] = {}
        for i, col in enumerate(self.columns.values()):
            if col.numeric is None:
                continue
            b = col.numeric.bins
            arrays[f"c{i}_edges"] = b.edges
            arrays[f"c{i}_points"] = b.point_counts
            arrays[f"c{i}_gaps"] = b.gap_counts
            arrays[f"c{i}_gapsums"] = b.gap_sums
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def load(cls, n_rows: int, summary: dict[str, Any], payload: bytes) -> ReferenceProfile:
        """Rebuild a profile stored by ``summary()`` and ``payload()``."""
        arrays = np.load(io.BytesIO(payload), allow_pickle=False)
        columns: dict[str, ColumnReference] = {}
        for i, (name, entry) in enumerate(summary.items()):
            col = ColumnReference(
                name=name,
                role=entry["role"],
                kind=entry["kind"],
                n_rows=entry["n_rows"],
                n=entry["n"],
                n_missing=entry["n_missing"],
                unusable=entry.get("unusable", ""),
                dtype=entry.get("dtype", ""),
            )
            if f"c{i}_edges" in arrays.files:
                bins = NumericBins(
                    arrays[f"c{i}_edges"],
                    float(entry["centre"]),
                    arrays[f"c{i}_points"].astype(np.int64),
                    arrays[f"c{i}_gaps"].astype(np.int64),
                    arrays[f"c{i}_gapsums"].astype(float),
                )
                col.numeric = NumericReference(
                    bins,
                    bool(entry["exact"]),
                    float(entry["mean"]),
                    float(entry["std"]),
                    float(entry["min"]),
                    float(entry["max"]),
                )
            if col.kind == "categorical":
                col.categories = {str(k): int(v) for k, v in entry.get("categories", {}).items()}
                col.numeric_looking_categories = bool(entry.get("numeric_looking", False))
            columns[name] = col
        return cls(n_rows=n_rows, columns=columns)


# --- building --------------------------------------------------------------------------------


def column_kind(series: pd.Series) -> str:
    """numeric, categorical or other (dates, durations) from a reference column's values."""
    if pd.api.types.is_bool_dtype(series):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
        return "other"
    non_null = series.dropna()
    if len(non_null) and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        for v in non_null.iloc[:1000]
    ):
        if pd.to_numeric(non_null, errors="coerce").notna().all():
            return "numeric"
    return "categorical"


def finite_values(series: pd.Series) -> tuple[np.ndarray, int]:
    """The column's finite numbers (as float64) and how many values were not numbers at all.

    Missing values and infinities are dropped (as Evidently does); text that is not a number
    is counted, so the caller can report mismatched types.
    """
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        bad = 0
    else:
        coerced = pd.to_numeric(series, errors="coerce")
        bad = int((coerced.isna() & series.notna()).sum())
        values = coerced.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(values)
    return (values if finite.all() else values[finite]), bad


def category_labels(series: pd.Series) -> pd.Series:
    """Values as category labels: text as is, whole numbers without '.0', missing dropped."""
    non_null = series.dropna()
    if pd.api.types.is_object_dtype(non_null) or pd.api.types.is_string_dtype(non_null):
        if pd.api.types.infer_dtype(non_null, skipna=True) == "string":
            return non_null.astype(str)
    return non_null.map(_label)


def category_counts(series: pd.Series) -> dict[str, int]:
    """Count per category label (as ``category_labels`` would name them), missing values left out.

    Counts the raw values first and relabels only the distinct ones, so a million rows of a
    few categories cost one hash pass.
    """
    counts = series.value_counts(dropna=True, sort=False)
    out: dict[str, int] = {}
    for value, count in counts.items():
        label = value if isinstance(value, str) else _label(value)
        out[label] = out.get(label, 0) + int(count)
    return out


def _label(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def _looks_numeric(labels: pd.Index) -> bool:
    return len(labels) > 0 and bool(
        pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce").notna().all()
    )


def build_profile(frame: pd.DataFrame, roles: dict[str, str]) -> ReferenceProfile:
    """Profile the columns named in ``roles`` (column -> feature/prediction) of ``frame``."""
    columns = {
        name: _profile_column(frame[name] if name in frame.columns else None, name, role, len(frame))
        for name, role in roles.items()
    }
    return ReferenceProfile(n_rows=len(frame), columns=columns)


def _profile_column(series: pd.Series | None, name: str, role: str, n_rows: int) -> ColumnReference:
    if series is None:
        return ColumnReference(
            name, role, "other", n_rows, 0, n_rows, unusable="missing in the reference data"
        )
    kind = column_kind(series)
    col = ColumnReference(name, role, kind, n_rows, 0, n_rows, dtype=str(series.dtype))
    if kind == "other":
        col.unusable = f"a {series.dtype} column (dates and durations are not compared)"
        return col
    if kind == "numeric":
        values, _ = finite_values(series)
        col.n, col.n_missing = int(values.size), n_rows - int(values.size)
        if values.size:
            col.numeric = numeric_reference(values)
    else:
        counts = category_counts(series)
        col.n = sum(counts.values())
        col.n_missing = n_rows - col.n
        if len(counts) > MAX_CATEGORIES:
            col.unusable = (
                f"{len(counts):,} distinct values in the reference data (more than {MAX_CATEGORIES:,}): "
                "an identifier or free text, not a category"
            )
            return col
        col.categories = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
        col.numeric_looking_categories = _looks_numeric(pd.Index(list(counts)))
    if col.n == 0:
        col.unusable = (
            "all values are missing in the reference data" if n_rows else "the reference data has no rows"
        )
    return col


def numeric_reference(values: np.ndarray) -> NumericReference:
    """Bins for finite ``values``: exact distinct values when few enough, else quantile edges."""
    ordered = np.sort(values)
    mean, std = float(np.mean(values)), float(np.std(values))
    distinct, counts = np.unique(ordered, return_counts=True)
    if distinct.size <= EXACT_MAX_VALUES:
        bins = NumericBins(
            distinct,
            mean,
            counts.astype(np.int64),
            np.zeros(distinct.size - 1, np.int64),
            np.zeros(distinct.size - 1),
        )
        return NumericReference(bins, True, mean, std, float(ordered[0]), float(ordered[-1]))
    positions = np.round(np.linspace(0, ordered.size - 1, QUANTILE_POINTS)).astype(np.int64)
    edges = np.unique(ordered[positions])
    bins = NumericBins.empty(edges, mean)
    bins.add_sorted(ordered)
    return NumericReference(bins, False, mean, std, float(ordered[0]), float(ordered[-1]))
