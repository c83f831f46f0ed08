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
    import warnings

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
) -> float:
    """First Wasserstein distance from per-gap counts and sums on both sides.

    Between two consecutive edges a and b each CDF starts at its value at a and rises by
    the gap's share; the integral of each CDF over the gap is known exactly from the count and
    the sum of the values inside (``A*(b-a) + (count*b - sum)/n``). Where the two CDFs do not
    cross inside the gap the contribution is exact; where they cross (their difference
    changes sign between a and b) the difference is taken as linear. Below the reference's
    minimum and above its maximum the reference CDF is 0 and 1 and the tails are exact.
    All values are relative to a centre (the reference mean) to keep the sums precise.
    """
    widths = np.diff(edges)
    b = edges[1:]
    start = ref_cdf_at_edges[:-1] - cur_cdf_at_edges[:-1]
    end = start + ref_gap_counts / n_ref - cur_gap_counts / n_cur
    exact = (
        start * widths
        + (ref_gap_counts * b - ref_gap_sums) / n_ref
        - (cur_gap_counts * b - cur_gap_sums) / n_cur
    )
    crossing = (start * end) < 0
    linear = np.zeros_like(widths)
    if crossing.any():
        s, e = start[crossing], end[crossing]
        linear[crossing] = widths[crossing] * (s * s + e * e) / (2 * np.abs(s - e))
    inside = float(np.sum(np.where(crossing, linear, np.abs(exact))))
    below_count, below_sum = cur_below
    above_count, above_sum = cur_above
    tails = (below_count * edges[0] - below_sum) / n_cur + (above_sum - above_count * edges[-1]) / n_cur
    return inside + float(tails)


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
