"""Performance before labels arrive: confidence-based performance estimation (CBPE).

A classifier whose score is a calibrated probability says, for every prediction, how likely it
is to be right: a case scored p is positive with probability p. Summed over a period, the scores
give the *expected* confusion matrix (NannyML's CBPE): a predicted positive adds p to the
expected true positives and 1 - p to the false positives; a predicted negative adds 1 - p to the
true negatives and p to the false negatives. Accuracy, precision, recall and F1 follow from it.
ROC AUC is estimated from score-weighted pairs: every ordered pair of distinct cases (i, j) is a
(positive, negative) pair with probability p_i (1 - p_j), and is concordant when s_i > s_j (a
tie counts half), so the expected AUC is the expected number of concordant pairs over the
expected number of (positive, negative) pairs.

This holds only while the scores stay calibrated: P(label | score) in production must be what it
was when the model was checked. Two checks say when it does not:

- *calibration on the reference*: the reference is the version's first labelled months (pooled
  until they hold ``REFERENCE_MIN_LABELS`` labels); on it, the expected calibration error (ECE,
  10 equal-width score bins, beyond what sampling alone gives a calibrated model) and
  Spiegelhalter's z-test compare scores with outcomes;
- *scores outside the reference, per period*: the share of the period's scores outside the range
  of the reference's labelled scores (their 0.5th to 99.5th percentile), where calibration was
  never checked. A score distribution that merely drifts within the reference's range (covariate
  shift, measured as the Jensen-Shannon distance of the 10-bin histograms) is what CBPE is made
  for, and is only reported.

Concept drift (the same scores meaning another outcome rate) cannot be seen from scores alone;
the estimate's error on periods that have labels, shown beside it, is how a reader judges that.
Estimates are computed on read from the version's logged scores (one indexed read of score,
prediction, label and timestamp; about a second per million predictions) and cached by the app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import String, cast, func, select
from sqlmodel import Session, col

from core.db.models import Model, ModelVersion, PredictionLog
from core.db.types import saved_id
from core.errors import NotFound
from core.logstore import reads as logstore_reads
from core.monitoring.performance import METRIC_LABELS, _version_for, roc_auc

ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REFERENCE_MIN_LABELS = 300  # labels the reference pools before its calibration is checked
SCORE_BINS = 10
MAX_ECE = 0.05  # expected calibration error above this: the scores are not calibrated enough
CALIBRATION_ALPHA = 0.01  # Spiegelhalter's test rejecting calibration at this level
MAX_SCORE_SHIFT = 0.1  # Jensen-Shannon distance of score histograms called drift (Evidently's default)
REFERENCE_RANGE = (0.005, 0.995)  # quantiles of the reference's labelled scores: the range it checked
MAX_OUTSIDE = 0.05  # share of a period's scores allowed outside that range (the reference has 1%)
MIN_LABELS_FOR_ERROR = 30  # a period with fewer labels has too noisy a realised value to judge the estimate


# --- the estimators ----------------------------------------------------------------------------------


def expected_confusion(score: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """Expected true/false positives/negatives of predictions whose calibrated scores are ``score``."""
    p = np.asarray(score, dtype=float)
    predicted = np.asarray(prediction, dtype=float) >= 0.5
    return {
        "tp": float(p[predicted].sum()),
        "fp": float((1 - p[predicted]).sum()),
        "fn": float(p[~predicted].sum()),
        "tn": float((1 - p[~predicted]).sum()),
    }


def expected_roc_auc(score: np.ndarray) -> float:
    """Expected ROC AUC from calibrated scores alone (score-weighted pairs, ties half; nan if n < 2).

    Sum over ordered pairs of distinct cases i != j of p_i (1 - p_j) [s_i > s_j] (+ half on ties),
    divided by the sum of p_i (1 - p_j) over the same pairs; O(n log n) with cumulative sums over
    the sorted, tie-grouped scores.
    """
    p = np.asarray(score, dtype=float)
    if len(p) < 2:
        return math.nan
    order = np.argsort(p, kind="stable")
    s = p[order]
    starts = np.r_[True, s[1:] != s[:-1]]
    group = np.cumsum(starts) - 1
    neg_in_group = np.bincount(group, weights=1 - s)
    neg_below = np.cumsum(neg_in_group) - neg_in_group  # expected negatives strictly below each group
    # a case is never paired with itself: its own (1 - p) leaves the tie term
    concordant = s * (neg_below[group] + 0.5 * (neg_in_group[group] - (1 - s)))
    pairs = s.sum() * (1 - s).sum() - (s * (1 - s)).sum()
    return float(concordant.sum() / pairs) if pairs > 0 else math.nan


def estimated_metrics(score: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """CBPE estimates of accuracy, precision, recall, F1 and ROC AUC (nan where undefined)."""
    m = expected_confusion(score, prediction)
    n = m["tp"] + m["fp"] + m["fn"] + m["tn"]
    return {
        "accuracy": (m["tp"] + m["tn"]) / n if n else math.nan,
        "precision": _ratio(m["tp"], m["tp"] + m["fp"]),
        "recall": _ratio(m["tp"], m["tp"] + m["fn"]),
        "f1": _ratio(2 * m["tp"], 2 * m["tp"] + m["fp"] + m["fn"]),
        "roc_auc": expected_roc_auc(score),
    }


def realised_metrics(label: np.ndarray, score: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """The same metrics from labels (point values; the Performance page has their intervals)."""
    y = np.asarray(label, dtype=float) >= 0.5
    predicted = np.asarray(prediction, dtype=float) >= 0.5
    tp = float((y & predicted).sum())
    fp = float((~y & predicted).sum())
    fn = float((y & ~predicted).sum())
    n = len(y)
    return {
        "accuracy": float((y == predicted).sum()) / n if n else math.nan,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": roc_auc(y.astype(float), np.asarray(score, dtype=float)) if n else math.nan,
    }


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


# --- the assumption: calibration on the reference, scores within it ---------------------------------


@dataclass(frozen=True)
class Calibration:
    """How well the reference's scores match its outcomes."""

    ece: float  # expected calibration error: bin-size-weighted |mean score - outcome rate|
    ece_noise: float  # the ECE a perfectly calibrated model shows on this many labels, from sampling alone
    z: float  # Spiegelhalter's z
    p_value: float
    n: int
    holds: bool
    bins: pd.DataFrame  # bin, lower, upper, n, mean_score, outcome_rate

    @property
    def figures(self) -> str:
        return (
            f"expected calibration error {self.ece:.3f}, of which about {self.ece_noise:.3f} is sampling "
            f"noise (limit {MAX_ECE:g} beyond it), Spiegelhalter p = {self.p_value:.3f} (n={self.n:,})"
        )

    @property
    def text(self) -> str:
        verdict = "calibrated" if self.holds else "NOT calibrated"
        return f"scores {verdict} on the reference: {self.figures}"


def score_bin(score: np.ndarray) -> np.ndarray:
    """The equal-width score bin (0..SCORE_BINS-1) of each score in [0, 1]."""
    return np.clip((np.asarray(score, dtype=float) * SCORE_BINS).astype(int), 0, SCORE_BINS - 1)


def calibration_check(score: np.ndarray, label: np.ndarray) -> Calibration:
    """ECE over equal-width bins and Spiegelhalter's z-test of calibration; ``holds`` when the ECE
    exceeds its sampling noise by at most ``MAX_ECE`` and the test does not reject calibration at
    ``CALIBRATION_ALPHA``. The noise is the ECE's expectation for calibrated scores: per bin, the
    mean absolute deviation of a sum of Bernoulli(p_i) from its mean, sqrt(2/pi) sqrt(sum p(1-p))."""
    p = np.asarray(score, dtype=float)
    y = np.asarray(label, dtype=float)
    bins = score_bin(p)
    counts = np.bincount(bins, minlength=SCORE_BINS)
    sums = np.bincount(bins, weights=p, minlength=SCORE_BINS)
    hits = np.bincount(bins, weights=y, minlength=SCORE_BINS)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score, rate = sums / counts, hits / counts
    n = len(p)
    ece = float(np.nansum(counts * np.abs(mean_score - rate)) / n) if n else math.nan
    bin_variance = np.bincount(bins, weights=p * (1 - p), minlength=SCORE_BINS)
    noise = float(math.sqrt(2 / math.pi) * np.sqrt(bin_variance).sum() / n) if n else math.nan
    variance = float(((1 - 2 * p) ** 2 * p * (1 - p)).sum())
    z = float(((y - p) * (1 - 2 * p)).sum() / math.sqrt(variance)) if variance > 0 else 0.0
    p_value = math.erfc(abs(z) / math.sqrt(2))  # two-sided normal p-value
    table = pd.DataFrame(
        {
            "bin": np.arange(SCORE_BINS),
            "lower": np.arange(SCORE_BINS) / SCORE_BINS,
            "upper": np.arange(1, SCORE_BINS + 1) / SCORE_BINS,
            "n": counts,
            "mean_score": mean_score,
            "outcome_rate": rate,
        }
    )
    holds = bool(n > 0 and ece - noise <= MAX_ECE and p_value >= CALIBRATION_ALPHA)
    return Calibration(ece, noise, z, p_value, n, holds, table)


def histogram(score: np.ndarray) -> np.ndarray:
    return np.bincount(score_bin(score), minlength=SCORE_BINS).astype(float)


def js_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, 0 to 1) between two histograms."""
    p, q = a / a.sum(), b / b.sum()
    m = (p + q) / 2

    def kl(x: np.ndarray) -> float:
        mask = x > 0
        return float((x[mask] * np.log2(x[mask] / m[mask])).sum())

    return math.sqrt(max(0.0, (kl(p) + kl(q)) / 2))


@dataclass(frozen=True)
class Shift:
    distance: float  # Jensen-Shannon distance of the period's score histogram from the reference's
    outside: float  # share of the period's scores outside the reference's checked range

    @property
    def holds(self) -> bool:
        """The period's scores stay where the reference checked calibration."""
        return self.outside <= MAX_OUTSIDE

    @property
    def drifted(self) -> bool:
        return self.distance > MAX_SCORE_SHIFT


def score_shift(reference_scores: np.ndarray, reference_labelled: np.ndarray, scores: np.ndarray) -> Shift:
    """How far a period's scores moved from the reference (see the module's docstring)."""
    low, high = np.quantile(reference_labelled, REFERENCE_RANGE)
    scores = np.asarray(scores, dtype=float)
    outside = float(((scores < low) | (scores > high)).mean()) if len(scores) else 0.0
    return Shift(js_distance(histogram(reference_scores), histogram(scores)), outside)


# --- per period, from the registry --------------------------------------------------------------------


@dataclass
class EstimateReport:
    """Estimated beside realised performance per month of one classifier version."""

    model_id: int
    model_name: str
    version_id: int
    version: int
    applies: bool  # a classifier with logged scores in [0, 1]
    note: str  # why not, or what the reference is
    reference_period: str = ""  # "2025-01 to 2025-03"
    calibration: Calibration | None = None
    # month, metric, estimated, realised, error, n, n_labelled, n_realised, in_reference, shift, outside,
    # assumption_holds
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    # metric, periods, mean_abs_error, max_abs_error, realised_se (typical sampling error of the realised value)
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def warnings(self) -> list[str]:
        """What a reader must know before trusting the estimates, in words."""
        found: list[str] = []
        if not self.applies:
            return found
        if self.calibration is None:
            found.append(
                f"Calibration is not checked: the version has fewer than {REFERENCE_MIN_LABELS} labelled "
                "predictions to form a reference, so the estimates assume its scores are calibrated."
            )
        elif not self.calibration.holds:
            found.append(
                f"The calibration assumption does not hold: on the reference ({self.reference_period}) the "
                f"scores are not calibrated ({self.calibration.figures}). The estimates are biased."
            )
        outside = self.table.loc[~self.table["assumption_holds"].astype(bool), "month"].unique().tolist()
        if outside:
            found.append(
                "The score distribution moved outside the reference in "
                + ", ".join(outside)
                + f": more than {MAX_OUTSIDE:.0%} of the scores fell outside the range of the reference's "
                "labelled scores, where calibration was never checked, so the estimates of those months are "
                "not to be trusted."
            )
        return found

    @property
    def drifted_months(self) -> list[str]:
        """Months whose scores drifted from the reference's but stayed within its checked range."""
        table = self.table
        if table.empty:
            return []
        drifted = (table["shift"] > MAX_SCORE_SHIFT) & table["assumption_holds"].astype(bool)
        return table.loc[drifted, "month"].unique().tolist()


def version_predictions(session: Session, version_id: int) -> pd.DataFrame:
    """Month ("YYYY-MM", UTC), prediction, score and label of every logged prediction with a score:
    the scores from the version's files in the log store (one DuckDB read), the labels from the
    registry's labelled sample (labels that arrived later are only there). Sample rows whose day
    the store no longer holds (retention) still count."""
    stored = logstore_reads.rows(
        session, version_id, columns=["row_id", "ts", "prediction", "score"], where="score IS NOT NULL"
    )
    # Timestamps are stored as naive UTC on both backends, so their text starts "YYYY-MM": the month
    # comes from the database as text, not from a million datetimes built and formatted in Python.
    month = func.substr(cast(col(PredictionLog.ts), String), 1, 7)
    query = select(
        col(PredictionLog.id),
        month,
        col(PredictionLog.prediction),
        col(PredictionLog.score),
        col(PredictionLog.label),
    ).where(col(PredictionLog.model_version_id) == version_id, col(PredictionLog.score).is_not(None))
    # a Core read on the session's connection: plain rows, without the ORM's per-row processing
    sample = pd.DataFrame(
        session.connection().execute(query).fetchall(),
        columns=["id", "month", "prediction", "score", "label"],
    )
    in_sample = stored["row_id"].astype("int64").isin(sample["id"].astype("int64")).to_numpy(dtype=bool)
    kept = stored.loc[~in_sample]
    months = (
        pd.DatetimeIndex(kept["ts"]).tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[M]")
        if len(kept)
        else np.array([], dtype="datetime64[M]")
    )
    from_store = pd.DataFrame(
        {
            "month": months.astype(str),
            "prediction": kept["prediction"].to_numpy(),
            "score": kept["score"].to_numpy(),
            "label": np.nan,
        }
    )
    frame = pd.concat([from_store, sample.drop(columns=["id"])], ignore_index=True)
    for column in ("prediction", "score", "label"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["month"] = frame["month"].astype(str)
    return frame


def reference_months(frame: pd.DataFrame, min_labels: int = REFERENCE_MIN_LABELS) -> list[str]:
    """The version's first labelled months, pooled until they hold ``min_labels`` labels ([] if never)."""
    labelled = frame.loc[frame["label"].notna(), "month"].value_counts().sort_index()
    taken, total = [], 0
    for month, n in labelled.items():
        taken.append(str(month))
        total += int(n)
        if total >= min_labels:
            return taken
    return []


def estimate(frame: pd.DataFrame, *, min_reference_labels: int = REFERENCE_MIN_LABELS) -> dict[str, Any]:
    """The estimates, realised values and checks of every month of ``version_predictions`` rows.

    Returns reference (months), calibration, table and errors as EstimateReport holds them.
    """
    reference = reference_months(frame, min_reference_labels)
    in_reference = frame["month"].isin(reference)
    labelled = frame["label"].notna()
    calibration = None
    ref_scores = ref_labelled_scores = np.array([], dtype=float)
    if reference:
        ref_labelled = frame[in_reference & labelled]
        calibration = calibration_check(ref_labelled["score"].to_numpy(), ref_labelled["label"].to_numpy())
        ref_scores = frame.loc[in_reference, "score"].to_numpy()
        ref_labelled_scores = ref_labelled["score"].to_numpy()
    rows: list[dict[str, Any]] = []
    for month, group in frame.groupby("month", sort=True):
        score, pred = group["score"].to_numpy(), group["prediction"].to_numpy()
        estimated = estimated_metrics(score, pred)
        known = group[group["label"].notna()]
        realised = (
            realised_metrics(
                known["label"].to_numpy(), known["score"].to_numpy(), known["prediction"].to_numpy()
            )
            if len(known)
            else dict.fromkeys(ESTIMATED_METRICS, math.nan)
        )
        shift = (
            score_shift(ref_scores, ref_labelled_scores, score) if reference else Shift(math.nan, math.nan)
        )
        basis = _realised_basis(known)
        for metric in ESTIMATED_METRICS:
            rows.append(
                {
                    "month": month,
                    "metric": metric,
                    "estimated": estimated[metric],
                    "realised": realised[metric],
                    "error": estimated[metric] - realised[metric],
                    "n": len(group),
                    "n_labelled": len(known),
                    "n_realised": basis[metric],
                    "in_reference": month in reference,
                    "shift": shift.distance,
                    "outside": shift.outside,
                    "assumption_holds": bool(shift.holds) if reference else True,
                }
            )
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    return {
        "reference": reference,
        "calibration": calibration,
        "table": table,
        "errors": estimate_errors(table),
    }


TABLE_COLUMNS = [
    "month",
    "metric",
    "estimated",
    "realised",
    "error",
    "n",
    "n_labelled",
    "n_realised",
    "in_reference",
    "shift",
    "outside",
    "assumption_holds",
]


def _realised_basis(known: pd.DataFrame) -> dict[str, int]:
    """How many labelled cases each realised metric rests on (precision: predicted positives; recall:
    actual positives; the others: every labelled case)."""
    n = len(known)
    return {
        "accuracy": n,
        "precision": int((known["prediction"] >= 0.5).sum()),
        "recall": int((known["label"] >= 0.5).sum()),
        "f1": n,
        "roc_auc": n,
    }


def estimate_errors(table: pd.DataFrame, min_labels: int = MIN_LABELS_FOR_ERROR) -> pd.DataFrame:
    """Per metric, the estimate's error on the months after the reference that have labels: mean and
    largest absolute error, and the typical sampling error of the realised value itself (a realised
    accuracy from 50 labels is itself only known to about +-0.06, so errors of that size say little)."""
    columns = ["metric", "periods", "mean_abs_error", "max_abs_error", "realised_se"]
    judged = table[~table["in_reference"] & (table["n_labelled"] >= min_labels) & table["error"].notna()]
    rows = []
    for metric in ESTIMATED_METRICS:
        mine = judged[judged["metric"] == metric]
        if mine.empty:
            continue
        realised = mine["realised"].clip(0, 1)
        # binomial standard error on the cases the metric rests on; indicative for AUC and F1
        se = np.sqrt(realised * (1 - realised) / mine["n_realised"].clip(lower=1))
        rows.append(
            {
                "metric": metric,
                "periods": len(mine),
                "mean_abs_error": float(mine["error"].abs().mean()),
                "max_abs_error": float(mine["error"].abs().max()),
                "realised_se": float(se.mean()),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def estimate_report(session: Session, *, model_id: int, version_id: int | None = None) -> EstimateReport:
    """Estimated performance per month of one version (default: production, else newest)."""
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    version: ModelVersion = _version_for(session, model, version_id)
    base: dict[str, Any] = {
        "model_id": model_id,
        "model_name": model.name,
        "version_id": saved_id(version),
        "version": version.version,
    }
    if model.task != "binary_classification":
        return EstimateReport(
            **base,
            applies=False,
            note="Estimation from scores applies to classifiers with calibrated scores.",
        )
    frame = version_predictions(session, saved_id(version))
    if frame.empty:
        return EstimateReport(**base, applies=False, note="No predictions of this version carry a score.")
    if not frame["score"].between(0, 1).all():
        return EstimateReport(
            **base,
            applies=False,
            note="Scores outside 0 to 1 are not probabilities, so performance cannot be estimated from them.",
        )
    found = estimate(frame)
    reference = found["reference"]
    period = (
        (reference[0] if len(reference) == 1 else f"{reference[0]} to {reference[-1]}") if reference else ""
    )
    note = (
        f"Reference: the first labelled months ({period}), {int(frame.loc[frame['month'].isin(reference), 'label'].notna().sum()):,} labels."
        if reference
        else f"No reference yet: fewer than {REFERENCE_MIN_LABELS} labelled predictions."
    )
    return EstimateReport(
        **base,
        applies=True,
        note=note,
        reference_period=period,
        calibration=found["calibration"],
        table=found["table"],
        errors=found["errors"],
    )


def error_text(errors: pd.DataFrame) -> list[str]:
    """One sentence per metric: how far the estimate was from the realised value where labels exist."""
    return [
        f"{METRIC_LABELS[r.metric]}: mean absolute error {r.mean_abs_error:.3f}, largest {r.max_abs_error:.3f} "
        f"over {r.periods} labelled month{'s' if r.periods != 1 else ''} (realised values themselves carry "
        f"about ±{r.realised_se:.3f} sampling error)"
        for r in errors.itertuples()
    ]
