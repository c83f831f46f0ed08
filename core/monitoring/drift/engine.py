"""The fast drift engine: screen each column, then test it from the binned window.

``compare(profile, window)`` turns a reference profile and an accumulated current window into
one ``ColumnResult`` per column and a ``DriftOutcome``. Screening runs first: a column that
is empty, all missing, constant, a single category, missing on one side or of another type
on each side gets ``reason`` ("not computed: ...") and no score; it never raises and never
yields NaN. The drift share counts computed feature columns only, and is None when there are
none.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.monitoring.drift import stats
from core.monitoring.drift.profile import ColumnReference, NumericBins
from core.monitoring.drift.window import ColumnWindow, WindowAccumulator

DATASET_DRIFT_SHARE = 0.5  # Evidently's default: the dataset drifts when half the columns do
# Distances (Wasserstein, Jensen-Shannon) ignore sample size: on a few dozen rows their noise
# alone crosses the 0.1 threshold, so Evidently would report drift in a near-empty window (an
# outage). Below this many current values such a column is not computed, with that reason.
MIN_VALUES_FOR_DISTANCE = 200
CHART_BINS = 30
CHART_TOP_CATEGORIES = 12
VALUE_BARS_MAX = 30  # at most this many distinct numbers: one bar per value

# Raw values of one numeric column, for the rare column whose binned distance cannot decide
# (its error bound straddles the threshold): (reference values, current values), finite only,
# or None when they cannot be read. The caller decides how to fetch them (a second pass).
RawValues = Callable[[str], tuple[np.ndarray, np.ndarray] | None]


@dataclass
class ColumnResult:
    column: str
    role: str
    kind: str
    test: str = ""
    statistic: str = ""
    score: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    drifted: bool | None = None
    reason: str = ""
    reference_rows: int = 0
    current_rows: int = 0
    reference_missing: float = 0.0
    current_missing: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    histogram: dict[str, Any] = field(default_factory=dict)

    @property
    def computed(self) -> bool:
        return self.drifted is not None


@dataclass
class DriftOutcome:
    columns: list[ColumnResult]
    reference_rows: int
    current_rows: int

    def features(self) -> list[ColumnResult]:
        return [c for c in self.columns if c.role == "feature"]

    @property
    def n_computed(self) -> int:
        return sum(c.computed for c in self.features())

    @property
    def n_drifted(self) -> int:
        return sum(bool(c.drifted) for c in self.features())

    @property
    def drift_share(self) -> float | None:
        return self.n_drifted / self.n_computed if self.n_computed else None

    @property
    def dataset_drift(self) -> bool:
        share = self.drift_share
        return share is not None and share >= DATASET_DRIFT_SHARE

    @property
    def prediction_drifted(self) -> bool | None:
        computed = [c for c in self.columns if c.role == "prediction" and c.computed]
        return any(c.drifted for c in computed) if computed else None

    @property
    def status(self) -> str:
        if self.current_rows == 0:
            return "no_data"
        if self.n_computed == 0:
            return "not_computed"
        return "drift" if self.n_drifted else "ok"

    def status_note(self) -> str:
        if self.current_rows == 0:
            return "No rows in the current data: nothing to compare."
        features = self.features()
        if not self.n_computed:
            return (
                f"None of the {len(features)} feature columns could be compared (see the reasons per column)."
            )
        share = self.drift_share or 0.0
        note = f"{self.n_drifted} of {self.n_computed} compared features drifted ({share:.0%})."
        skipped = len(features) - self.n_computed
        if skipped:
            note += f" {skipped} not computed."
        return note


def compare(window: WindowAccumulator, raw_values: RawValues | None = None) -> DriftOutcome:
    """Screen and test every column of ``window`` against its reference. ``raw_values`` reads one
    column's raw values when a binned distance is too close to the threshold to decide; without
    it such a column is decided on the estimate and marked ``decision_uncertain``."""
    results = [_column_result(w, window.n_rows, raw_values) for w in window.columns.values()]
    results.sort(key=lambda r: (r.role != "feature", r.drifted is not True, r.drifted is None, r.column))
    return DriftOutcome(columns=results, reference_rows=window.profile.n_rows, current_rows=window.n_rows)


def _column_result(window: ColumnWindow, current_rows: int, raw_values: RawValues | None) -> ColumnResult:
    ref = window.reference
    result = ColumnResult(
        column=ref.name,
        role=ref.role,
        kind=ref.kind,
        reference_rows=ref.n,
        current_rows=window.n,
        reference_missing=_share(ref.n_missing, ref.n_rows),
        current_missing=_share(window.n_missing, window.n_rows),
    )
    reason = screen(window, current_rows)
    if reason:
        result.reason = reason
        return result
    if ref.kind == "numeric":
        _test_numeric(result, ref, window, raw_values)
    else:
        _test_categorical(result, ref, window)
    return result


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


# --- screening -------------------------------------------------------------------------------


def screen(window: ColumnWindow, current_rows: int) -> str:
    """Why this column cannot be compared ('' when it can). Checked before any statistic."""
    ref = window.reference
    if ref.unusable:
        return ref.unusable
    if current_rows == 0:
        return "the current data has no rows"
    if not window.present:
        return "missing in the current data"
    if window.bad:
        return (
            f"mismatched types: numeric in the reference, but the current data holds text such as "
            f"'{window.bad_example}' ({window.bad:,} values)"
        )
    if (
        ref.kind == "categorical"
        and window.n
        and window.all_numbers
        and not ref.numeric_looking_categories
        and not set(window.categories) & set(ref.categories)
    ):
        return "mismatched types: text categories in the reference, numbers in the current data"
    if window.n == 0:
        return f"all values are missing in the current data ({window.n_rows:,} rows)"
    if ref.n > stats.SMALL_REFERENCE and window.n < MIN_VALUES_FOR_DISTANCE:
        return (
            f"only {window.n:,} values in the current data: too few for a reliable comparison with this large "
            f"reference (at least {MIN_VALUES_FOR_DISTANCE:,} are needed)"
        )
    constant = _constant_value(ref, window)
    if constant is not None:
        if ref.kind == "categorical":
            return f"single category '{constant}' in both the reference and the current data"
        return f"constant: every value is {constant} in both the reference and the current data"
    return ""


def _constant_value(ref: ColumnReference, window: ColumnWindow) -> str | None:
    if ref.kind == "categorical":
        if len(ref.categories) == 1 and set(window.categories) == set(ref.categories):
            return next(iter(ref.categories))
        return None
    assert ref.numeric is not None and window.numeric is not None
    bins = window.numeric.bins
    if ref.numeric.exact and bins.edges.size == 1 and bins.point_counts[0] == bins.n:
        return f"{bins.edges[0]:g}"
    return None


# --- numeric ---------------------------------------------------------------------------------


def _distinct_union(
    ref: ColumnReference, window: ColumnWindow
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Sorted distinct values of reference and current with their counts, when both are few."""
    assert ref.numeric is not None and window.numeric is not None
    if not ref.numeric.exact or window.numeric.distinct is None:
        return None
    values = dict.fromkeys(map(float, ref.numeric.bins.edges), 0)
    values.update(dict.fromkeys(window.numeric.distinct, 0))
    keys = np.array(sorted(values))
    ref_map = dict(zip(map(float, ref.numeric.bins.edges), ref.numeric.bins.point_counts, strict=True))
    ref_counts = np.array([ref_map.get(float(k), 0) for k in keys], dtype=float)
    cur_counts = np.array([window.numeric.distinct.get(float(k), 0) for k in keys], dtype=float)
    return keys, ref_counts, cur_counts


def _test_numeric(
    result: ColumnResult, ref: ColumnReference, window: ColumnWindow, raw_values: RawValues | None
) -> None:
    assert ref.numeric is not None and window.numeric is not None
    rbins, cbins = ref.numeric.bins, window.numeric.bins
    union = _distinct_union(ref, window)
    n_values = union[0].size if union is not None else stats.FEW_VALUES + 1
    choice = stats.choose_test("numeric", ref.n, n_values)
    ref_at, ref_before = rbins.cdf_at_edges()
    cur_at, cur_before = cbins.cdf_at_edges()
    ks_d = stats.ks_statistic(np.concatenate([ref_at, ref_before]), np.concatenate([cur_at, cur_before]))
    # scipy's exact p-value costs milliseconds; where KS only informs, Smirnov's asymptotic one does
    ks_p = stats.ks_p_value(ks_d, ref.n, window.n, exact=choice.test == "ks")
    distance = _wasserstein(ref, window, ref_at, cur_at).normed(ref.numeric.std)
    exact_w = distance.lower == distance.upper
    refined = ""
    if choice.test == "wasserstein" and distance.straddles(choice):
        raw = raw_values(ref.name) if raw_values is not None else None
        if raw is not None:
            distance = _exact_distance(*raw, ref.numeric.std)
            exact_w, refined = (
                True,
                "computed exactly from the raw values: the binned estimate was too close to the threshold",
            )
    w_normed = distance.estimate
    cur_mean = cbins.sum_of_values() / cbins.n
    result.stats = {
        "ks_statistic": ks_d,
        # Where KS decides (small references) its p-value is scipy ks_2samp's; elsewhere it only
        # informs, from Kolmogorov's limiting distribution, and is named so.
        ("ks_p_value" if choice.test == "ks" else "ks_p_value_asymptotic"): ks_p,
        "ks_exact": ref.numeric.exact,
        "ks_p_value_method": "as scipy ks_2samp" if choice.test == "ks" else "asymptotic",
        "wasserstein_normed": w_normed,
        "wasserstein_exact": exact_w,
        "wasserstein_error_bound": distance.error_bound,
        # Steward's PSI cuts at the reference's deciles (Evidently's PSI uses other bins): its own name.
        "psi_deciles": _numeric_psi(rbins, cbins),
        "reference_mean": ref.numeric.mean,
        "current_mean": cur_mean,
        "reference_std": ref.numeric.std,
        "n_values": int(n_values) if union is not None else None,
    }
    if choice.test in ("chisquare", "z", "jensenshannon"):
        assert union is not None
        score = _counts_score(choice.test, union[1], union[2])
        result.stats["values"] = [float(v) for v in union[0]]
    elif choice.test == "ks":
        score = ks_p
    else:
        score = w_normed
        if refined:
            result.stats["refined"] = refined
        elif distance.straddles(choice):
            result.stats["decision_uncertain"] = True
    _decide(result, choice, score)
    result.histogram = _numeric_histogram(ref, window, union)


def _wasserstein(
    ref: ColumnReference, window: ColumnWindow, ref_at: np.ndarray, cur_at: np.ndarray
) -> stats.BinnedDistance:
    """The Wasserstein distance, exactly when the reference is exact and the window's values were
    kept, else from the bins (with bounds on the exact value)."""
    assert ref.numeric is not None and window.numeric is not None
    rbins, cbins = ref.numeric.bins, window.numeric.bins
    current = window.numeric.sorted_values()
    if ref.numeric.exact and current is not None and current.size:
        exact = stats.wasserstein_exact(rbins.edges, rbins.point_counts, current)
        return stats.BinnedDistance(exact, exact, exact)
    centred = rbins.edges - rbins.centre
    return stats.wasserstein_binned(
        centred,
        ref_at,
        cur_at,
        rbins.gap_counts,
        rbins.gap_sums,
        cbins.gap_counts,
        cbins.gap_sums,
        rbins.n,
        cbins.n,
        (cbins.below_count, cbins.below_sum),
        (cbins.above_count, cbins.above_sum),
    )


def _exact_distance(reference: np.ndarray, current: np.ndarray, reference_std: float) -> stats.BinnedDistance:
    """The normed Wasserstein distance on raw values (as scipy's wasserstein_distance)."""
    values, counts = np.unique(reference, return_counts=True)
    exact = stats.wasserstein_normed(stats.wasserstein_exact(values, counts, np.sort(current)), reference_std)
    return stats.BinnedDistance(exact, exact, exact)


def _numeric_psi(rbins: NumericBins, cbins: NumericBins) -> float:
    """PSI over ten bins cut at the reference's deciles."""
    ref_at, _ = rbins.cdf_at_edges()
    cur_at, _ = cbins.cdf_at_edges()
    cuts = np.unique(np.searchsorted(ref_at, np.arange(1, stats.PSI_BINS) / stats.PSI_BINS, side="left"))
    cuts = cuts[cuts < ref_at.size - 1]
    ref_cum = np.concatenate([[0.0], ref_at[cuts], [1.0]])
    cur_cum = np.concatenate([[0.0], cur_at[cuts], [1.0]])
    return stats.psi(np.diff(ref_cum), np.clip(np.diff(cur_cum), 0, None))


# --- categorical -----------------------------------------------------------------------------


def _test_categorical(result: ColumnResult, ref: ColumnReference, window: ColumnWindow) -> None:
    keys = sorted(set(ref.categories) | set(window.categories))
    ref_counts = np.array([ref.categories.get(k, 0) for k in keys], dtype=float)
    cur_counts = np.array([window.categories.get(k, 0) for k in keys], dtype=float)
    choice = stats.choose_test("categorical", ref.n, len(keys))
    score = _counts_score(choice.test, ref_counts, cur_counts)
    new = [k for k in keys if k not in ref.categories]
    result.stats = {
        "chisquare_p_value": stats.chisquare_p_value(ref_counts, cur_counts) if len(keys) > 1 else 1.0,
        "jensenshannon": stats.jensen_shannon(ref_counts, cur_counts),
        "psi_categories": stats.psi(ref_counts, cur_counts),
        "n_categories": len(keys),
        "new_categories": {k: window.categories[k] / window.n for k in new[:10]},
    }
    _decide(result, choice, score)
    result.histogram = _category_histogram(keys, ref_counts, cur_counts)


def _counts_score(test: str, ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    if test == "chisquare":
        return stats.chisquare_p_value(ref_counts, cur_counts)
    if test == "z":
        return stats.z_test_p_value(ref_counts, cur_counts)
    return stats.jensen_shannon(ref_counts, cur_counts)


def _decide(result: ColumnResult, choice: stats.TestChoice, score: float) -> None:
    if not math.isfinite(score):  # a defensive net: screening should make this unreachable
        result.reason = "the statistic could not be computed on these values"
        return
    result.test = choice.test
    result.statistic = stats.TEST_LABELS[choice.test]
    result.score = float(score)
    result.p_value = float(score) if choice.is_p_value else None
    result.threshold = choice.threshold
    result.drifted = choice.drifted(score)


# --- chart data ------------------------------------------------------------------------------


def _category_histogram(keys: list[str], ref_counts: np.ndarray, cur_counts: np.ndarray) -> dict[str, Any]:
    ref_share = ref_counts / ref_counts.sum() * 100
    cur_share = cur_counts / cur_counts.sum() * 100
    order = np.argsort(-np.maximum(ref_share, cur_share), kind="stable")
    top = order[:CHART_TOP_CATEGORIES]
    rest = order[CHART_TOP_CATEGORIES:]
    labels = [keys[i] for i in top]
    ref_out, cur_out = [float(ref_share[i]) for i in top], [float(cur_share[i]) for i in top]
    if rest.size:
        labels.append(f"({rest.size} other categories)")
        ref_out.append(float(ref_share[rest].sum()))
        cur_out.append(float(cur_share[rest].sum()))
    return {"type": "categorical", "categories": labels, "reference": ref_out, "current": cur_out}


def _numeric_histogram(
    ref: ColumnReference, window: ColumnWindow, union: tuple[np.ndarray, np.ndarray, np.ndarray] | None
) -> dict[str, Any]:
    """Shares (%) of reference and current rows in 30 equal-width bins over the range holding the
    central 98% of both; values outside are counted in the end bins. Few distinct values: one
    bar per value."""
    assert ref.numeric is not None and window.numeric is not None
    if union is not None and union[0].size <= VALUE_BARS_MAX:
        keys, rc, cc = union
        return {
            "type": "values",
            "categories": [f"{v:g}" for v in keys],
            "reference": list(map(float, rc / rc.sum() * 100)),
            "current": list(map(float, cc / cc.sum() * 100)),
        }
    rbins, cbins = ref.numeric.bins, window.numeric.bins
    r_lo, r_hi = float(rbins.edges[0]), float(rbins.edges[-1])
    c_lo, c_hi = window.numeric.minimum, window.numeric.maximum
    lo = min(_quantile(rbins, 0.01, r_lo, r_hi), _quantile(cbins, 0.01, c_lo, c_hi))
    hi = max(_quantile(rbins, 0.99, r_lo, r_hi), _quantile(cbins, 0.99, c_lo, c_hi))
    cuts = _chart_cuts(lo, hi, whole_numbers=bool(np.all(rbins.edges == np.round(rbins.edges))))
    shares = []
    for bins, a, b in ((rbins, r_lo, r_hi), (cbins, c_lo, c_hi)):
        cdf = _cdf(bins, cuts, a, b)
        cdf[0], cdf[-1] = 0.0, 1.0  # the end bins hold everything outside the shown range
        shares.append(list(map(float, np.diff(cdf) * 100)))
    centres = (cuts[:-1] + cuts[1:]) / 2
    return {
        "type": "numeric",
        "x": list(map(float, centres)),
        "width": float(cuts[1] - cuts[0]),
        "reference": shares[0],
        "current": shares[1],
    }


def _chart_cuts(lo: float, hi: float, *, whole_numbers: bool) -> np.ndarray:
    """About 30 equal bins over [lo, hi]; for whole numbers, bins of a whole width centred on
    the integers, so that no bin holds one more integer than its neighbour."""
    if whole_numbers:
        first, last = np.floor(lo), np.ceil(hi)
        width = max(1.0, float(np.ceil((last - first + 1) / CHART_BINS)))
        count = int(np.ceil((last - first + 1) / width))
        return first - 0.5 + width * np.arange(count + 1)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, CHART_BINS + 1)


def _cdf(bins: NumericBins, x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Share of values <= x, spreading each gap's (and tail's) values evenly across it."""
    n = bins.n
    edges = bins.edges
    at, _ = bins.cdf_at_edges()
    k = np.searchsorted(edges, x, side="right")
    out = np.empty_like(x, dtype=float)
    below = k == 0
    span = edges[0] - lo
    out[below] = (bins.below_count / n) * (np.clip((x[below] - lo) / span, 0, 1) if span > 0 else 0.0)
    above = k == edges.size
    span = hi - edges[-1]
    out[above] = at[-1] + (bins.above_count / n) * (
        np.clip((x[above] - edges[-1]) / span, 0, 1) if span > 0 else 1.0
    )
    inside = ~below & ~above
    j = k[inside] - 1
    width = edges[j + 1] - edges[j]
    out[inside] = at[j] + (bins.gap_counts[j] / n) * (x[inside] - edges[j]) / width
    return out


def _quantile(bins: NumericBins, q: float, lo: float, hi: float) -> float:
    grid = np.unique(np.concatenate([[lo, hi], bins.edges]))
    cdf = _cdf(bins, grid, lo, hi)
    index = int(np.searchsorted(cdf, q, side="left"))
    return float(grid[min(index, grid.size - 1)])
