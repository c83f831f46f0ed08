"""Drift statistics computed from binned counts, and the choice of test Evidently would make.

Every function here works on small arrays (per-bin counts and sums, per-category counts),
never on raw rows, so one statistic costs microseconds whatever the window's size.

The decision rule follows Evidently 0.7 (``evidently.legacy.calculations.stattests``):
with at most 1000 reference values, numeric columns use the two-sample Kolmogorov-Smirnov
p-value (chi-square or a two-proportion z-test when there are at most 5 distinct values) and
categorical columns the chi-square p-value (z-test for two categories), drifted below 0.05;
with more, numeric columns use the Wasserstein distance divided by the reference's standard
deviation and categorical (and numeric with at most 5 values) the Jensen-Shannon distance,
drifted at or above 0.1.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

SMALL_REFERENCE = 1000  # Evidently: at most this many reference values counts as a small sample
FEW_VALUES = 5  # Evidently: a numeric column with at most this many distinct values is treated by counts
P_VALUE_THRESHOLD = 0.05
DISTANCE_THRESHOLD = 0.1
KS_EXACT_MAX_N = 10000  # scipy's ks_2samp(method="auto") is exact up to this sample size
PSI_BINS = 10

TEST_LABELS = {
    "ks": "Kolmogorov-Smirnov p-value",
    "chisquare": "chi-square p-value",
    "z": "two-proportion z-test p-value",
    "wasserstein": "Wasserstein distance (normed by reference std)",
    "jensenshannon": "Jensen-Shannon distance",
}
P_VALUE_TESTS = ("ks", "chisquare", "z")


@dataclass(frozen=True)
class TestChoice:
    test: str
    threshold: float

    @property
    def is_p_value(self) -> bool:
        return self.test in P_VALUE_TESTS

    def drifted(self, score: float) -> bool:
        """Evidently's comparisons: KS drifts at p <= threshold, chi-square and z at p < threshold,
        distances at score >= threshold."""
        if self.test == "ks":
            return score <= self.threshold
        if self.is_p_value:
            return score < self.threshold
        return score >= self.threshold


def choose_test(kind: str, n_reference: int, n_values: int) -> TestChoice:
    """The test Evidently picks for a column of ``kind`` with ``n_reference`` non-missing reference
    values and ``n_values`` distinct values in reference and current together."""
    if n_reference <= SMALL_REFERENCE:
        if kind == "numeric" and n_values > FEW_VALUES:
            return TestChoice("ks", P_VALUE_THRESHOLD)
        return TestChoice("chisquare" if n_values > 2 else "z", P_VALUE_THRESHOLD)
    if kind == "numeric" and n_values > FEW_VALUES:
        return TestChoice("wasserstein", DISTANCE_THRESHOLD)
    return TestChoice("jensenshannon", DISTANCE_THRESHOLD)


# --- Kolmogorov-Smirnov ----------------------------------------------------------------------


def ks_statistic(ref_cdf_at: np.ndarray, cur_cdf_at: np.ndarray) -> float:
    """The largest gap between two empirical CDFs evaluated at the same points.

    Exact when the points include every reference value (on both sides of each) and every
    gap's end, which is what ``NumericBins`` evaluates.
    """
    if ref_cdf_at.size == 0:
        return 0.0
    return float(np.max(np.abs(ref_cdf_at - cur_cdf_at)))


def ks_p_value(d: float, n1: int, n2: int, *, exact: bool = True) -> float:
    """Two-sided p-value of the two-sample KS statistic ``d``.

    ``exact=True``: as ``scipy.stats.ks_2samp(method="auto")`` computes it (exact up to 10 000
    values per sample, else the finite-n Smirnov distribution). ``exact=False``, for a p-value
    that only informs: Kolmogorov's limiting distribution, which costs microseconds where the
    finite-n one costs a tenth of a second at a million rows.
    """
    from scipy.stats import kstwo, kstwobign  # lazy: scipy.stats is a heavy import

    if exact and max(n1, n2) <= KS_EXACT_MAX_N:
        p_value = _exact_ks_p_value(d, n1, n2)
        if p_value is not None:
            return p_value
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    if not exact:
        return float(np.clip(kstwobign.sf(d * np.sqrt(en)), 0.0, 1.0))
    return float(np.clip(kstwo.sf(d, np.round(en)), 0.0, 1.0))


def _exact_ks_p_value(d: float, n1: int, n2: int) -> float | None:
    """scipy's exact two-sample distribution (the routine ks_2samp itself uses); None when
    scipy cannot compute it for these sizes or no longer provides the routine."""
    from scipy.stats import _stats_py

    attempt = getattr(_stats_py, "_attempt_exact_2kssamp", None)
    if attempt is None:
        return None
    g = math.gcd(n1, n2)
    if (n1 // g) >= np.iinfo(np.int32).max / (n2 // g):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        success, _, prob = attempt(n1, n2, g, d, "two-sided")
    if not success:
        return None
    return float(np.clip(prob, 0.0, 1.0))


# --- Wasserstein -----------------------------------------------------------------------------


def wasserstein_normed(distance: float, reference_std: float) -> float:
    """Evidently's normalisation: the distance divided by the reference's standard deviation
    (population, ddof=0), with 0.001 as the smallest divisor."""
    return distance / max(reference_std, 0.001)


def wasserstein_exact(ref_values: np.ndarray, ref_counts: np.ndarray, cur_sorted: np.ndarray) -> float:
    """First Wasserstein distance between a weighted reference (distinct sorted values with
    counts) and a sorted current sample: the integral of |F_ref - F_cur|, as scipy computes it."""
    points = np.concatenate([ref_values, cur_sorted])
    points.sort(kind="stable")
    deltas = np.diff(points)
    ref_cum = np.concatenate([[0], np.cumsum(ref_counts)])
    ref_cdf = ref_cum[np.searchsorted(ref_values, points[:-1], side="right")] / ref_cum[-1]
    cur_cdf = np.searchsorted(cur_sorted, points[:-1], side="right") / cur_sorted.size
    return float(np.sum(np.abs(ref_cdf - cur_cdf) * deltas))


@dataclass(frozen=True)
class BinnedDistance:
    """A distance computed from bins: the estimate and an interval that surely holds the exact
    value (the distance on the raw values). ``lower == upper`` when the bins determine it."""

    estimate: float
    lower: float
    upper: float

    @property
    def error_bound(self) -> float:
        return max(self.estimate - self.lower, self.upper - self.estimate)

    def normed(self, reference_std: float) -> BinnedDistance:
        scale = max(reference_std, 0.001)
        return BinnedDistance(self.estimate / scale, self.lower / scale, self.upper / scale)

    def straddles(self, choice: TestChoice) -> bool:
        """Whether the exact value could fall on either side of the threshold: the bins then
        cannot decide, and the decision must come from the raw values."""
        return choice.drifted(self.lower) != choice.drifted(self.upper)


def wasserstein_binned(
    edges: np.ndarray,
    ref_cdf_at_edges: np.ndarray,
    cur_cdf_at_edges: np.ndarray,
    ref_gap_counts: np.ndarray,
    ref_gap_sums: np.ndarray,
    cur_gap_counts: np.ndarray,
    cur_gap_sums: np.ndarray,
    n_ref: int,
    n_cur: int,
    cur_below: tuple[int, float],
    cur_above: tuple[int, float],
) -> BinnedDistance:
    """First Wasserstein distance from per-gap counts and sums on both sides, with bounds.

    Between two consecutive edges a and b each CDF starts at its value at a and rises by
    the gap's share; the integral of each CDF over the gap is known exactly from the count and
    the sum of the values inside (``A*(b-a) + (count*b - sum)/n``), so the signed integral of
    the difference d = F_ref - F_cur over the gap is exact. Its absolute value is what the
    distance needs, and equals |signed integral| unless d changes sign inside the gap. d lies
    between ``start - cur_share`` and ``start + ref_share`` there (each CDF only rises), so the
    gap contributes at least |signed| and at most |signed| + 2 * width * (the smaller of the
    largest positive and the largest negative excursion): the bounds. Where the CDFs cross
    (d changes sign between a and b) the estimate takes d as linear; elsewhere it is |signed|.
    Below the reference's minimum and above its maximum the reference CDF is 0 and 1 and the
    tails are exact. All values are relative to a centre (the reference mean) to keep the sums
    precise.
    """
    widths = np.diff(edges)
    b = edges[1:]
    ref_share = ref_gap_counts / n_ref
    cur_share = cur_gap_counts / n_cur
    start = ref_cdf_at_edges[:-1] - cur_cdf_at_edges[:-1]
    end = start + ref_share - cur_share
    signed = (
        start * widths
        + (ref_gap_counts * b - ref_gap_sums) / n_ref
        - (cur_gap_counts * b - cur_gap_sums) / n_cur
    )
    lower = np.abs(signed)
    # |d| integrates to |signed| + 2 * min(positive part, negative part). With R, C the CDFs'
    # rises inside the gap (0 -> ref_share, 0 -> cur_share; their integrals ref_rise, cur_rise
    # are exact), for start >= 0 the negative part is at most the integral of max(0, C - start),
    # which convexity bounds by cur_rise * (cur_share - start)+ / cur_share, and the positive
    # part by start * width + ref_rise; mirrored for start < 0.
    ref_rise = (ref_gap_counts * b - ref_gap_sums) / n_ref
    cur_rise = (cur_gap_counts * b - cur_gap_sums) / n_cur
    with np.errstate(divide="ignore", invalid="ignore"):
        cur_part = np.where(cur_share > 0, cur_rise * np.maximum(cur_share - start, 0.0) / cur_share, 0.0)
        ref_part = np.where(ref_share > 0, ref_rise * np.maximum(ref_share + start, 0.0) / ref_share, 0.0)
    negative = np.where(start >= 0, cur_part, -start * widths + cur_rise)
    positive = np.where(start >= 0, start * widths + ref_rise, ref_part)
    upper = lower + 2.0 * np.maximum(np.minimum(positive, negative), 0.0)
    crossing = (start * end) < 0
    estimate = lower.copy()
    if crossing.any():
        estimate[crossing] = _crossing_gaps(
            edges[:-1][crossing],
            b[crossing],
            start[crossing],
            ref_share[crossing],
            ref_rise[crossing],
            cur_share[crossing],
            cur_rise[crossing],
        )
    estimate = np.clip(estimate, lower, upper)
    below_count, below_sum = cur_below
    above_count, above_sum = cur_above
    tails = float(
        (below_count * edges[0] - below_sum) / n_cur + (above_sum - above_count * edges[-1]) / n_cur
    )
    return BinnedDistance(
        float(np.sum(estimate)) + tails, float(np.sum(lower)) + tails, float(np.sum(upper)) + tails
    )


CROSSING_GRID = 129  # points per gap where the two CDFs cross


def _crossing_gaps(
    a: np.ndarray,
    b: np.ndarray,
    start: np.ndarray,
    ref_share: np.ndarray,
    ref_rise: np.ndarray,
    cur_share: np.ndarray,
    cur_rise: np.ndarray,
) -> np.ndarray:
    """Integral of |F_ref - F_cur| over gaps where the CDFs cross, each side's values in the gap
    taken as uniform over the widest interval at one end of the gap that has their known mean
    (so each CDF's integral over the gap stays exact). Tail gaps are wide and their values bunch
    at one end, where a straight line between the ends overestimates by orders of magnitude."""
    grid = a[:, None] + (b - a)[:, None] * np.linspace(0.0, 1.0, CROSSING_GRID)[None, :]

    def rise(share: np.ndarray, integral: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(share > 0, b - integral / np.where(share > 0, share, 1.0), (a + b) / 2)
        low_end = mean - a <= (b - a) / 2
        lo = np.where(low_end, a, 2 * mean - b)
        hi = np.where(low_end, 2 * mean - a, b)
        span = np.maximum(hi - lo, 1e-300)
        return share[:, None] * np.clip((grid - lo[:, None]) / span[:, None], 0.0, 1.0)

    d = start[:, None] + rise(ref_share, ref_rise) - rise(cur_share, cur_rise)
    return np.trapezoid(np.abs(d), grid, axis=1)


# --- counts-based tests ----------------------------------------------------------------------


def chisquare_p_value(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Evidently's chi-square: observed current counts against reference counts scaled to the
    current total, over the union of values. A value absent from the reference gives p = 0."""
    from scipy.stats import chi2

    n_ref, n_cur = ref_counts.sum(), cur_counts.sum()
    expected = ref_counts * (n_cur / n_ref)
    if np.any((expected == 0) & (cur_counts > 0)):
        return 0.0
    keep = expected > 0
    statistic = float(np.sum((cur_counts[keep] - expected[keep]) ** 2 / expected[keep]))
    return float(chi2.sf(statistic, ref_counts.size - 1))


def z_test_p_value(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Evidently's two-proportion z-test for a column with (at most) two values."""
    from scipy.stats import norm

    if ref_counts.size < 2:
        return 1.0
    n1, n2 = ref_counts.sum(), cur_counts.sum()
    if (
        (ref_counts > 0).sum() == 1
        and (cur_counts > 0).sum() == 1
        and np.argmax(ref_counts) == np.argmax(cur_counts)
    ):
        return 1.0
    # Evidently counts the share of rows *not* equal to the first (sorted) value.
    p1 = float(n1 - ref_counts[0]) / n1
    p2 = float(n2 - cur_counts[0]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - norm.cdf(np.abs(z))))


def jensen_shannon(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log, as scipy's ``distance.jensenshannon``) of two count vectors."""
    p = ref_counts / ref_counts.sum()
    q = cur_counts / cur_counts.sum()
    m = (p + q) / 2.0
    left = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / np.where(m > 0, m, 1.0)), 0.0)
    right = np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0) / np.where(m > 0, m, 1.0)), 0.0)
    divergence = max(float(np.sum(left) + np.sum(right)) / 2.0, 0.0)
    return math.sqrt(divergence)


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population stability index over the given bins, empty bins filled as Evidently does
    (0.0001, or a millionth of the smallest share when that is smaller)."""
    ref = _fill_zeroes(ref_counts / ref_counts.sum())
    cur = _fill_zeroes(cur_counts / cur_counts.sum())
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def _fill_zeroes(shares: np.ndarray) -> np.ndarray:
    shares = shares.astype(float).copy()
    positive = shares[shares > 0]
    if positive.size == 0:
        return shares
    smallest = positive.min()
    shares[shares == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return shares
