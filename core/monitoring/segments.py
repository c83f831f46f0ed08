"""Performance and outcome rates per segment, disparities between groups, and the findings that
open "segment" and "fairness" alerts.

Segments are every categorical feature a version logs (text or yes/no values, at most
``MAX_GROUPS`` groups) and every sensitive attribute attached to the model's requests
(``SegmentAttribute``, written by ``core.registry.attributes``). Sensitive attributes need not be
model inputs: they come with the prediction log (``sensitive.NAME`` columns of
`steward log-predictions`) or in a join file keyed by request id (`steward attach-attributes`).

Per group of a binary classifier: error rate, selection rate (share predicted positive), recall
(true positive rate), false positive rate and precision, each with its Wilson 95% interval and the
count it rests on. Per group of a multiclass classifier (labels and predictions are positions in
the version's class list, reported by class name): accuracy (Wilson), macro recall and macro F1
(percentile bootstrap of the group's cases), and for each class its recall (Wilson, on the group's
cases of that class) and the share of the group predicted as that class (Wilson). Regressors: MAE
with a percentile bootstrap interval. The per-group values come from fairlearn's ``MetricFrame``.
A group with fewer labelled cases than the model's ``min_group_size`` threshold is "too few
cases": no value, no interval, and it takes no part in disparities or alerts.

Disparities of a classifier's segment, over its groups with enough cases (at least two): the
demographic parity difference (largest minus smallest selection rate) and the equalised-odds
difference (the larger of the true- and false-positive-rate differences), as fairlearn defines
them (``MetricFrame.difference(method="between_groups")``), with a 95% interval from a
bootstrap of each group's counts (``N_BOOT`` draws, fixed seed).

fairlearn's demographic parity and equalised-odds differences are defined for a yes/no outcome
only. A multiclass classifier's segment gets their one-class-against-the-rest counterparts instead,
each the largest over the classes, naming the class: the predicted-class rate difference (the share
predicted as a class, largest minus smallest between groups: demographic parity per class), the
per-class recall difference (the recall of a class, largest minus smallest, over the classes every
compared group has cases of: equal opportunity per class, the equalised-odds-style measure), and the
accuracy difference; with the same bootstrap intervals.

Findings, judged on the labelled predictions of the ``WINDOW_DAYS`` days up to ``as_of``:

- segment   a group's error rate exceeds the rest of its segment's by more than ``segment_gap``,
            significantly: the lower bound of the difference's 95% interval (Newcombe's hybrid
            score interval) lies above it;
- fairness  a sensitive attribute's demographic parity or equalised-odds difference (multiclass:
            accuracy, per-class recall or predicted-class rate difference) exceeds
            ``disparity_limit`` with its interval's lower bound.

Both are alerts. An estimate beyond the limit whose interval still reaches it is shown as a
"warning" in the tables but raises nothing: every group of every segment is compared, and such
estimates are common by chance alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, select
from sqlmodel import Session, col

from core import clock
from core.db.models import Model, ModelVersion, PredictionLog, SegmentAttribute
from core.db.types import saved_id
from core.errors import InvalidInput, NotFound
from core.monitoring.performance import _f1_from_confusions, regressor_metrics, wilson_interval
from core.monitoring.thresholds import Thresholds, current_thresholds

WINDOW_DAYS = 90
MAX_GROUPS = 20  # a "categorical" feature with more distinct values is an identifier, not a segment
MISSING = "(missing)"
N_BOOT = 1000
SEED = 20240601

RATES = ("error_rate", "selection_rate", "recall", "false_positive_rate", "precision")
RATE_LABELS = {
    "error_rate": "Error rate",
    "selection_rate": "Selection rate",
    "recall": "Recall",
    "false_positive_rate": "False positive rate",
    "precision": "Precision",
    "mae": "MAE",
    "accuracy": "Accuracy",
    "recall_macro": "Macro recall",
    "f1_macro": "Macro F1",
    "class_recall": "Recall of a class",
    "class_selection_rate": "Share predicted as a class",
}
CLASS_RATES = ("class_recall", "class_selection_rate")  # one row per class, named in the "class" column
DENOMINATOR = {
    "error_rate": "n",
    "selection_rate": "n",
    "recall": "positives",
    "false_positive_rate": "negatives",
    "precision": "predicted_positives",
}
MEASURE_LABELS = {
    "demographic_parity_difference": "Demographic parity difference",
    "equalized_odds_difference": "Equalised-odds difference",
    "accuracy_difference": "Accuracy difference",
    "class_recall_difference": "Per-class recall difference",
    "predicted_class_rate_difference": "Predicted-class rate difference",
}
GROUP_COLUMNS = [
    "segment",
    "source",
    "group",
    "n",
    "enough",
    "metric",
    "class",
    "value",
    "lower",
    "upper",
    "count",
    "method",
]
DISPARITY_COLUMNS = [
    "segment",
    "source",
    "measure",
    "class",
    "value",
    "lower",
    "upper",
    "groups",
    "limit",
    "level",
]
GAP_COLUMNS = [
    "segment",
    "source",
    "group",
    "n",
    "value",
    "rest",
    "rest_n",
    "difference",
    "lower",
    "upper",
    "limit",
    "level",
]
SEGMENT_COLUMNS = ["segment", "source", "groups", "measured", "note"]


# --- the metrics -----------------------------------------------------------------------------------


# Every metric takes the cells' counts as sample weights (see ``by_group``).


def _weights(y_true: Any, sample_weight: Any) -> np.ndarray:
    return np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight, dtype=float)


def _n(y_true: Any, y_pred: Any, sample_weight: Any = None) -> int:
    return int(round(_weights(y_true, sample_weight).sum()))


def _error_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    w = _weights(y_true, sample_weight)
    return float(w[np.asarray(y_true) != np.asarray(y_pred)].sum() / w.sum()) if w.sum() else math.nan


def _precision(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    w = _weights(y_true, sample_weight)
    predicted = np.asarray(y_pred) == 1
    hits = w[predicted & (np.asarray(y_true) == 1)].sum()
    return float(hits / w[predicted].sum()) if w[predicted].sum() else math.nan


def _positives(y_true: Any, y_pred: Any, sample_weight: Any = None) -> int:
    return int(round(_weights(y_true, sample_weight)[np.asarray(y_true) == 1].sum()))


def _negatives(y_true: Any, y_pred: Any, sample_weight: Any = None) -> int:
    return int(round(_weights(y_true, sample_weight)[np.asarray(y_true) == 0].sum()))


def _predicted_positives(y_true: Any, y_pred: Any, sample_weight: Any = None) -> int:
    return int(round(_weights(y_true, sample_weight)[np.asarray(y_pred) == 1].sum()))


def _mae(y_true: Any, y_pred: Any) -> float:
    return float(np.mean(np.abs(np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float))))


def by_group(y: np.ndarray, pred: np.ndarray, groups: pd.Series, task: str) -> pd.DataFrame:
    """fairlearn's MetricFrame of one segment: one row per group, a column per metric (the
    classifier's rates and the counts they rest on, or a regressor's MAE and count).

    A classifier's cases are first collapsed into their (group, label, prediction) cells with
    the cell's count as sample weight: the same rates, exactly, from at most 4 rows per group.
    (MetricFrame turns every row into a Python object for every metric: 1M rows would take
    minutes; see bench/segments.py.)
    """
    # Lazy: fairlearn (and the scikit-learn metrics it loads) is paid for only where segments are measured.
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate

    if task != "binary_classification":
        frame = MetricFrame(metrics={"n": _n, "mae": _mae}, y_true=y, y_pred=pred, sensitive_features=groups)
        table = frame.by_group
        table.index = table.index.astype(str)
        return table
    codes, names = _codes(groups)
    counts = np.bincount(
        codes * 4 + np.asarray(y, dtype=np.int64) * 2 + np.asarray(pred, dtype=np.int64),
        minlength=len(names) * 4,
    )
    present = np.flatnonzero(counts)
    cells = pd.DataFrame(
        {
            "group": names[present // 4],
            "y": (present % 4) // 2,
            "pred": present % 2,
            "weight": counts[present],
        }
    )
    metrics: dict[str, Any] = {
        "n": _n,
        "error_rate": _error_rate,
        "selection_rate": selection_rate,
        "recall": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "precision": _precision,
        "positives": _positives,
        "negatives": _negatives,
        "predicted_positives": _predicted_positives,
    }
    weight = cells["weight"].to_numpy(dtype=float)
    frame = MetricFrame(
        metrics=metrics,
        y_true=cells["y"].to_numpy(),
        y_pred=cells["pred"].to_numpy(),
        sensitive_features=cells["group"].rename(groups.name),
        sample_params={name: {"sample_weight": weight} for name in metrics},
    )
    table = frame.by_group
    table.index = table.index.astype(str)
    return table


def _accuracy(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(y_true, y_pred, sample_weight=sample_weight))


def _recall_macro(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """Mean recall over the classes present in the group's labels (a class the group has no case
    of has no recall, and is not averaged as a 0)."""
    from sklearn.metrics import recall_score

    return float(
        recall_score(
            y_true,
            y_pred,
            labels=np.unique(np.asarray(y_true)),
            average="macro",
            sample_weight=sample_weight,
            zero_division=0,
        )
    )


def _f1_macro(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """Macro F1 as the Performance page computes it for the whole model (sklearn's default labels)."""
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro", sample_weight=sample_weight, zero_division=0))


def _class_count(y_true: Any, y_pred: Any, sample_weight: Any = None, *, position: int, of: str) -> int:
    """Cases whose label (``of="label"``), prediction (``"prediction"``) or both (``"hits"``) are the
    class at ``position``."""
    actual, predicted = np.asarray(y_true) == position, np.asarray(y_pred) == position
    mask = actual if of == "label" else predicted if of == "prediction" else actual & predicted
    return int(round(_weights(y_true, sample_weight)[mask].sum()))


def multiclass_by_group(
    y: np.ndarray, pred: np.ndarray, groups: pd.Series, n_classes: int
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """fairlearn's MetricFrame of one segment of a multiclass classifier (labels and predictions are
    class positions): per group its size, accuracy, error rate, macro recall, macro F1 and, per class
    position i, ``support:i`` (cases of class i), ``predicted:i`` (cases predicted i) and ``hits:i``
    (both); and each group's confusion matrix (actual x predicted), for the bootstrap.

    As for a binary classifier, cases are collapsed into their (group, label, prediction) cells
    with the cell's count as sample weight: at most n_classes² rows per group."""
    from fairlearn.metrics import MetricFrame

    k = n_classes
    codes, names = _codes(groups)
    counts = np.bincount(
        codes * k * k + np.asarray(y, dtype=np.int64) * k + np.asarray(pred, dtype=np.int64),
        minlength=len(names) * k * k,
    )
    present = np.flatnonzero(counts)
    cells = pd.DataFrame(
        {
            "group": names[present // (k * k)],
            "y": (present % (k * k)) // k,
            "pred": present % k,
            "weight": counts[present],
        }
    )
    metrics: dict[str, Any] = {
        "n": _n,
        "accuracy": _accuracy,
        "error_rate": _error_rate,
        "recall_macro": _recall_macro,
        "f1_macro": _f1_macro,
    }
    for position in range(k):
        for of, column in (("label", "support"), ("prediction", "predicted"), ("hits", "hits")):
            metrics[f"{column}:{position}"] = partial(_class_count, position=position, of=of)
    weight = cells["weight"].to_numpy(dtype=float)
    frame = MetricFrame(
        metrics=metrics,
        y_true=cells["y"].to_numpy(),
        y_pred=cells["pred"].to_numpy(),
        sensitive_features=cells["group"].rename(groups.name),
        sample_params={name: {"sample_weight": weight} for name in metrics},
    )
    table = frame.by_group
    table.index = table.index.astype(str)
    matrices = counts.reshape(len(names), k, k)
    confusions = {str(name): matrices[i] for i, name in enumerate(names) if matrices[i].sum()}
    return table, confusions


def _macro_intervals(confusion: np.ndarray, n_boot: int, seed: int) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap 95% intervals of a group's macro recall and macro F1: its cases
    resampled (a multinomial draw of its confusion cells), the metrics of each resample computed
    as sklearn does (macro recall over the classes present in the labels, macro F1 over the
    classes present in labels or predictions)."""
    n = int(confusion.sum())
    k = confusion.shape[0]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, confusion.ravel() / n, size=n_boot).reshape(n_boot, k, k)
    hits = np.diagonal(draws, axis1=1, axis2=2).astype(float)
    support = draws.sum(axis=2).astype(float)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    macro_recall = (recall * (support > 0)).sum(axis=1) / np.maximum((support > 0).sum(axis=1), 1)
    return {
        "recall_macro": _percentiles(macro_recall),
        "f1_macro": _percentiles(_f1_from_confusions(draws, weighted=False)),
    }


def group_labels(values: pd.Series) -> pd.Series:
    """A segment's values as a categorical of text labels, missing values as ``MISSING``."""
    codes, uniques = pd.factorize(values, sort=True)
    names = list(dict.fromkeys([str(u) for u in uniques] + [MISSING]))
    index = {str(u): i for i, u in enumerate(names)}
    remap = np.array([index[str(u)] for u in uniques] + [index[MISSING]], dtype=np.int64)
    used = remap[codes]  # factorize gives -1 for missing: the last entry, MISSING
    labels = pd.Categorical.from_codes(used, categories=names)
    return pd.Series(labels, index=values.index, name=values.name).cat.remove_unused_categories()


def _codes(groups: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a segment's groups and the group names they index."""
    labels = groups if isinstance(groups.dtype, pd.CategoricalDtype) else group_labels(groups)
    return labels.cat.codes.to_numpy(dtype=np.int64), np.asarray(labels.cat.categories, dtype=object)


def newcombe_difference(a: int, n_a: int, b: int, n_b: int) -> tuple[float, float, float]:
    """Difference of two proportions a/n_a - b/n_b with Newcombe's hybrid score 95% interval
    (method 10 of Newcombe 1998, built from the two Wilson intervals)."""
    p_a, p_b = a / n_a, b / n_b
    lo_a, hi_a = wilson_interval(a, n_a)
    lo_b, hi_b = wilson_interval(b, n_b)
    diff = p_a - p_b
    lower = diff - math.sqrt((p_a - lo_a) ** 2 + (hi_b - p_b) ** 2)
    upper = diff + math.sqrt((hi_a - p_a) ** 2 + (p_b - lo_b) ** 2)
    return diff, lower, upper


def _range_interval(
    successes: np.ndarray, totals: np.ndarray, rng: np.random.Generator, n_boot: int
) -> np.ndarray:
    """Bootstrap draws (n_boot) of max - min of the groups' rates, each group resampled from its own cases."""
    rates = np.divide(successes, totals, out=np.zeros(len(totals)), where=totals > 0)
    draws = rng.binomial(totals.astype(np.int64)[None, :], rates[None, :], size=(n_boot, len(totals)))
    resampled = draws / totals[None, :]
    return resampled.max(axis=1) - resampled.min(axis=1)


def _level(value: float, lower: float, limit: float) -> str:
    if not math.isnan(lower) and lower > limit:
        return "alert"
    return "warning" if value > limit else "ok"


def _percentiles(draws: np.ndarray) -> tuple[float, float]:
    return float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975))


@dataclass(frozen=True)
class SegmentFinding:
    """One segment or sensitive attribute beyond its threshold; ``core.monitoring.alerts`` opens
    one alert per (kind, subject)."""

    kind: str  # "segment" or "fairness"
    level: str  # "warning" or "alert"
    subject: str  # "channel = broker" (segment) or "age_band" (fairness)
    message: str


@dataclass
class Measured:
    """What ``measure`` returns: the tables of a report, without the registry's facts."""

    segments: pd.DataFrame
    groups: pd.DataFrame
    disparities: pd.DataFrame
    gaps: pd.DataFrame
    findings: list[SegmentFinding] = field(default_factory=list)


def measure(
    frame: pd.DataFrame,
    segments: dict[str, str],
    task: str,
    *,
    min_group_size: int,
    segment_gap: float,
    disparity_limit: float,
    n_boot: int = N_BOOT,
    seed: int = SEED,
    classes: list[str] | None = None,
) -> Measured:
    """Metrics per group of each segment column of ``frame`` (with ``label`` and ``prediction``),
    disparities and findings. ``segments`` maps a column to its source ("feature" or "sensitive").
    A multiclass classifier's labels and predictions are positions in ``classes``, its class names."""
    group_rows: list[dict[str, Any]] = []
    disparity_rows: list[dict[str, Any]] = []
    gap_rows: list[dict[str, Any]] = []
    segment_rows: list[dict[str, Any]] = []
    findings: list[SegmentFinding] = []
    y = frame["label"].to_numpy(dtype=float)
    pred = frame["prediction"].to_numpy(dtype=float)
    classifier = task == "binary_classification"
    multiclass = task == "multiclass_classification"
    names: list[str] = []
    if classifier:
        y, pred = (y >= 0.5).astype(int), (pred >= 0.5).astype(int)
    if multiclass:
        y, pred = _class_positions(y, "label"), _class_positions(pred, "prediction")
        names = list(classes or [])
        top = int(max(y.max(initial=-1), pred.max(initial=-1)))
        names += [f"class {i}" for i in range(len(names), top + 1)]  # a position beyond the list
    rng = np.random.default_rng(seed)
    for segment, source in segments.items():
        groups = group_labels(frame[segment])
        distinct = len(groups.cat.categories)
        if distinct > MAX_GROUPS:
            segment_rows.append(
                {
                    "segment": segment,
                    "source": source,
                    "groups": distinct,
                    "measured": False,
                    "note": f"{distinct} distinct values, more than {MAX_GROUPS}: not a segment",
                }
            )
            continue
        confusions: dict[str, np.ndarray] = {}
        if not len(groups):
            table = pd.DataFrame()
        elif multiclass:
            table, confusions = multiclass_by_group(y, pred, groups.rename(segment), len(names))
        else:
            table = by_group(y, pred, groups.rename(segment), task)
        enough = table["n"] >= min_group_size if not table.empty else pd.Series(dtype=bool)
        segment_rows.append(
            {
                "segment": segment,
                "source": source,
                "groups": distinct,
                "measured": True,
                "note": f"{int((~enough).sum())} group(s) with too few cases" if (~enough).any() else "",
            }
        )
        for group, row in table.iterrows():
            ok = bool(row["n"] >= min_group_size)
            base = {
                "segment": segment,
                "source": source,
                "group": str(group),
                "n": int(row["n"]),
                "enough": ok,
                "class": None,
            }
            if classifier:
                for metric in RATES:
                    total = int(row[DENOMINATOR[metric]])
                    value = float(row[metric]) if total else math.nan
                    hits = int(round(value * total)) if total else 0
                    group_rows.append(base | _wilson(metric, hits, total, ok))
            elif multiclass:
                group_rows.extend(
                    _multiclass_rows(base, row, confusions[str(group)], names, ok, n_boot=n_boot, seed=seed)
                )
            else:
                mask = (groups == group).to_numpy()
                found = (
                    regressor_metrics(y[mask], pred[mask], n_boot=n_boot, seed=seed)[0]
                    if ok
                    else {"value": math.nan, "lower": math.nan, "upper": math.nan}
                )
                group_rows.append(
                    base
                    | {
                        "metric": "mae",
                        "value": found["value"],
                        "lower": found["lower"],
                        "upper": found["upper"],
                        "count": int(row["n"]),
                        "method": "bootstrap",
                    }
                )
        if not (classifier or multiclass) or table.empty:
            continue
        gap_rows.extend(_gaps(segment, source, table, enough, segment_gap))
        if int(enough.sum()) >= 2:
            compared = table[enough]
            disparity_rows.extend(
                _multiclass_disparities(segment, source, compared, names, disparity_limit, rng, n_boot)
                if multiclass
                else _disparities(segment, source, compared, disparity_limit, rng, n_boot)
            )
    gaps = pd.DataFrame(gap_rows, columns=GAP_COLUMNS)
    disparities = pd.DataFrame(disparity_rows, columns=DISPARITY_COLUMNS)
    findings = _segment_findings(gaps) + _fairness_findings(disparities)
    return Measured(
        segments=pd.DataFrame(segment_rows, columns=SEGMENT_COLUMNS),
        groups=pd.DataFrame(group_rows, columns=GROUP_COLUMNS),
        disparities=disparities,
        gaps=gaps,
        findings=findings,
    )


def _class_positions(values: np.ndarray, what: str) -> np.ndarray:
    """A multiclass classifier's logged labels or predictions as class positions (whole numbers
    from 0, as ingestion stores them); anything else is refused, naming it."""
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        raise InvalidInput(
            f"{int(bad.sum())} logged {what}(s) of this multiclass classifier are not class positions "
            f"(e.g. {values[bad][0]!r}); log them again by class name."
        )
    return values.astype(np.int64)


def _wilson(metric: str, hits: int, total: int, ok: bool) -> dict[str, Any]:
    """A rate of ``hits`` out of ``total`` with its Wilson 95% interval; no number without enough cases."""
    lo, hi = wilson_interval(hits, total) if ok and total else (math.nan, math.nan)
    return {
        "metric": metric,
        "value": hits / total if ok and total else math.nan,
        "lower": lo,
        "upper": hi,
        "count": total,
        "method": "Wilson",
    }


def _multiclass_rows(
    base: dict[str, Any],
    row: pd.Series,
    confusion: np.ndarray,
    names: list[str],
    ok: bool,
    *,
    n_boot: int,
    seed: int,
) -> list[dict[str, Any]]:
    """One group of a multiclass classifier: accuracy (Wilson), macro recall and macro F1
    (bootstrap), and per class its recall and the share predicted as it (Wilson), named by class."""
    n = int(row["n"])
    rows = [base | _wilson("accuracy", int(round(float(row["accuracy"]) * n)), n, ok)]
    intervals = _macro_intervals(confusion, n_boot, seed) if ok else {}
    for metric in ("recall_macro", "f1_macro"):
        lo, hi = intervals.get(metric, (math.nan, math.nan))
        rows.append(
            base
            | {
                "metric": metric,
                "value": float(row[metric]) if ok else math.nan,
                "lower": lo,
                "upper": hi,
                "count": n,
                "method": "bootstrap",
            }
        )
    for position, name in enumerate(names):
        support = int(row[f"support:{position}"])
        rows.append(
            base | {"class": name} | _wilson("class_recall", int(row[f"hits:{position}"]), support, ok)
        )
        rows.append(
            base | {"class": name} | _wilson("class_selection_rate", int(row[f"predicted:{position}"]), n, ok)
        )
    return rows


def _gaps(
    segment: str, source: str, table: pd.DataFrame, enough: pd.Series, limit: float
) -> list[dict[str, Any]]:
    """Each group with enough cases against the rest of its segment: error rate difference and interval."""
    errors = (table["error_rate"] * table["n"]).round().astype(int)
    total_errors, total_n = int(errors.sum()), int(table["n"].sum())
    rows = []
    for group in table.index[enough.to_numpy()]:
        e, n = int(errors[group]), int(table.at[group, "n"])
        rest_e, rest_n = total_errors - e, total_n - n
        if rest_n <= 0:
            continue
        diff, lower, upper = newcombe_difference(e, n, rest_e, rest_n)
        rows.append(
            {
                "segment": segment,
                "source": source,
                "group": str(group),
                "n": n,
                "value": e / n,
                "rest": rest_e / rest_n,
                "rest_n": rest_n,
                "difference": diff,
                "lower": lower,
                "upper": upper,
                "limit": limit,
                "level": _level(diff, lower, limit),
            }
        )
    return rows


def _disparities(
    segment: str, source: str, table: pd.DataFrame, limit: float, rng: np.random.Generator, n_boot: int
) -> list[dict[str, Any]]:
    """Demographic parity and equalised-odds differences over the groups with enough cases."""
    n = table["n"].to_numpy(dtype=float)
    selected = (table["selection_rate"] * table["n"]).round().to_numpy(dtype=float)
    dp = float(table["selection_rate"].max() - table["selection_rate"].min())
    dp_lo, dp_hi = _percentiles(_range_interval(selected, n, rng, n_boot))
    rows = [
        {
            "segment": segment,
            "source": source,
            "measure": "demographic_parity_difference",
            "class": None,
            "value": dp,
            "lower": dp_lo,
            "upper": dp_hi,
            "groups": len(table),
            "limit": limit,
            "level": _level(dp, dp_lo, limit),
        }
    ]
    positives = table["positives"].to_numpy(dtype=float)
    negatives = table["negatives"].to_numpy(dtype=float)
    if (positives > 0).all() and (negatives > 0).all():
        tp = (table["recall"] * table["positives"]).round().to_numpy(dtype=float)
        fp = (table["false_positive_rate"] * table["negatives"]).round().to_numpy(dtype=float)
        eo = float(
            max(
                table["recall"].max() - table["recall"].min(),
                table["false_positive_rate"].max() - table["false_positive_rate"].min(),
            )
        )
        draws = np.maximum(
            _range_interval(tp, positives, rng, n_boot), _range_interval(fp, negatives, rng, n_boot)
        )
        eo_lo, eo_hi = _percentiles(draws)
        rows.append(
            {
                "segment": segment,
                "source": source,
                "measure": "equalized_odds_difference",
                "class": None,
                "value": eo,
                "lower": eo_lo,
                "upper": eo_hi,
                "groups": len(table),
                "limit": limit,
                "level": _level(eo, eo_lo, limit),
            }
        )
    return rows


def _multiclass_disparities(
    segment: str,
    source: str,
    table: pd.DataFrame,
    names: list[str],
    limit: float,
    rng: np.random.Generator,
    n_boot: int,
) -> list[dict[str, Any]]:
    """A multiclass classifier's disparities over the groups with enough cases: the accuracy
    difference, and the largest over the classes of the predicted-class rate difference
    (demographic parity of one class against the rest) and of the recall difference (over the
    classes every compared group has cases of), naming that class; bootstrap 95% intervals of
    the same maxima."""
    n = table["n"].to_numpy(dtype=float)

    def row(measure: str, class_name: str | None, value: float, draws: np.ndarray) -> dict[str, Any]:
        lower, upper = _percentiles(draws)
        return {
            "segment": segment,
            "source": source,
            "measure": measure,
            "class": class_name,
            "value": value,
            "lower": lower,
            "upper": upper,
            "groups": len(table),
            "limit": limit,
            "level": _level(value, lower, limit),
        }

    accuracy = table["accuracy"].to_numpy(dtype=float)
    correct = (table["accuracy"] * table["n"]).round().to_numpy(dtype=float)
    rows = [
        row(
            "accuracy_difference",
            None,
            float(accuracy.max() - accuracy.min()),
            _range_interval(correct, n, rng, n_boot),
        )
    ]
    for measure, counts, totals in (
        ("predicted_class_rate_difference", "predicted", None),
        ("class_recall_difference", "hits", "support"),
    ):
        values: list[float] = []
        draws: list[np.ndarray] = []
        kept: list[str] = []
        for position, name in enumerate(names):
            hits = table[f"{counts}:{position}"].to_numpy(dtype=float)
            total = n if totals is None else table[f"{totals}:{position}"].to_numpy(dtype=float)
            if not (total > 0).all():
                continue  # a group without a case of this class has no recall for it
            rates = hits / total
            values.append(float(rates.max() - rates.min()))
            draws.append(_range_interval(hits, total, rng, n_boot))
            kept.append(name)
        if values:
            worst = int(np.argmax(values))
            rows.append(row(measure, kept[worst], values[worst], np.max(np.vstack(draws), axis=0)))
    return rows


def _segment_findings(gaps: pd.DataFrame) -> list[SegmentFinding]:
    """Only significant gaps: with every group of every segment compared, estimates beyond the
    limit by chance are common, so they are shown (level "warning" in the table) but raise nothing."""
    found = []
    for r in gaps[gaps["level"] == "alert"].itertuples():
        found.append(
            SegmentFinding(
                "segment",
                str(r.level),
                f"{r.segment} = {r.group}",
                (
                    f"Error rate for {r.segment} = {r.group}: {r.value:.1%} "
                    f"(95% CI of the difference {r.lower:+.1%} to {r.upper:+.1%}, n={r.n:,}) against "
                    f"{r.rest:.1%} for the other cases (n={r.rest_n:,}); the limit is {r.limit * 100:.0f} percentage points above them."
                ),
            )
        )
    return found


def _fairness_findings(disparities: pd.DataFrame) -> list[SegmentFinding]:
    found = []
    sensitive = disparities[(disparities["source"] == "sensitive") & (disparities["level"] == "alert")]
    for segment, rows in sensitive.groupby("segment", sort=True):
        level = "alert"
        parts = [
            f"{MEASURE_LABELS[r['measure']].lower()}"
            + (f" (class {r['class']})" if isinstance(r["class"], str) else "")
            + f" {r['value']:.3f} (95% CI {r['lower']:.3f}-{r['upper']:.3f})"
            for r in rows.to_dict("records")
            if r["level"] == level
        ]
        found.append(
            SegmentFinding(
                "fairness",
                level,
                str(segment),
                f"Disparity between the groups of {segment} ({int(rows['groups'].iloc[0])} groups): "
                + "; ".join(parts)
                + f"; the limit is {float(rows['limit'].iloc[0]):g}.",
            )
        )
    return found


# --- from the registry -------------------------------------------------------------------------------


@dataclass
class SegmentReport:
    model_id: int
    model_name: str
    version_id: int
    version: int
    task: str
    start: datetime
    end: datetime
    n_labelled: int
    thresholds: Thresholds
    segments: pd.DataFrame  # segment, source, groups, measured, note
    groups: pd.DataFrame  # segment, source, group, n, enough, metric, value, lower, upper, count, method
    disparities: pd.DataFrame  # segment, source, measure, value, lower, upper, groups, limit, level
    gaps: (
        pd.DataFrame
    )  # segment, source, group, n, value, rest, rest_n, difference, lower, upper, limit, level
    findings: list[SegmentFinding] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)  # a multiclass classifier's class names, in order

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: groups with too few cases say so instead of a number."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(frame.notna(), None)
            return [
                {k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                for r in clean.to_dict(orient="records")
            ]

        groups = records(self.groups)
        for g in groups:
            if not g["enough"]:
                g["value"] = g["lower"] = g["upper"] = None
                g["note"] = f"too few cases (fewer than {self.thresholds.min_group_size})"
        return {
            "model": self.model_name,
            "version": self.version,
            "task": self.task,
            **({"classes": list(self.classes)} if self.classes else {}),
            "window": {"from": self.start.isoformat(), "to": self.end.isoformat(), "days": WINDOW_DAYS},
            "labelled": self.n_labelled,
            "thresholds": {
                "min_group_size": self.thresholds.min_group_size,
                "segment_gap": self.thresholds.segment_gap,
                "disparity_limit": self.thresholds.disparity_limit,
            },
            "segments": records(self.segments),
            "groups": groups,
            "disparities": records(self.disparities),
            "gaps": records(self.gaps),
            "findings": [f.__dict__ for f in self.findings],
        }


def labelled_segment_rows(
    session: Session, *, model_id: int, version_id: int, start: datetime, end: datetime
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The version's labelled predictions made in [start, end] with one column per categorical
    feature and per sensitive attribute, and which source each segment column comes from."""
    window = and_(
        col(PredictionLog.model_version_id) == version_id,
        col(PredictionLog.label).is_not(None),
        col(PredictionLog.ts) >= start,
        col(PredictionLog.ts) <= end,
    )
    rows = session.execute(
        select(
            col(PredictionLog.request_id),
            col(PredictionLog.features),
            col(PredictionLog.prediction),
            col(PredictionLog.label),
        ).where(window)
    ).all()
    frame = pd.DataFrame(
        {
            "request_id": [r[0] for r in rows],
            "prediction": [r[2] for r in rows],
            "label": [r[3] for r in rows],
        }
    )
    # from_records takes ``index`` as field names when given an empty index: build it apart.
    features = (
        pd.DataFrame.from_records([r[1] or {} for r in rows]).set_axis(frame.index)
        if rows
        else pd.DataFrame(index=frame.index)
    )
    sources: dict[str, str] = {}
    for name in features.columns:
        if _categorical(features[name]):
            frame[f"feature:{name}"] = features[name]
            sources[str(name)] = "feature"
    attributes = session.execute(
        select(col(SegmentAttribute.request_id), col(SegmentAttribute.name), col(SegmentAttribute.value))
        .join(PredictionLog, col(PredictionLog.request_id) == col(SegmentAttribute.request_id))
        .where(col(SegmentAttribute.model_id) == model_id, window)
    ).all()
    if attributes:
        wide = (
            pd.DataFrame(attributes, columns=["request_id", "name", "value"])
            .drop_duplicates(["request_id", "name"])
            .pivot(index="request_id", columns="name", values="value")
        )
        for name in wide.columns:
            frame[f"sensitive:{name}"] = frame["request_id"].map(wide[name])
            sources[str(name)] = "sensitive"
    renamed = {f"{source}:{name}": name for name, source in sources.items()}
    keep = ["request_id", "prediction", "label", *renamed]
    return frame[keep].rename(columns=renamed), sources


def _categorical(values: pd.Series) -> bool:
    present = values.dropna()
    return not present.empty and all(isinstance(v, str | bool) for v in present)


def segment_report(
    session: Session,
    *,
    model_id: int,
    version_id: int | None = None,
    as_of: datetime | None = None,
    n_boot: int = N_BOOT,
    segment: str | None = None,
) -> SegmentReport:
    """Metrics per segment of one version (default: production, else newest) over the labelled
    predictions of the ``WINDOW_DAYS`` days up to ``as_of``, judged against the model's thresholds;
    only ``segment`` (a categorical input or sensitive attribute) when given."""
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    version = _version_for(session, model, version_id)
    end = as_of or clock.now()
    start = end - timedelta(days=WINDOW_DAYS)
    limits = current_thresholds(session, model_id=model_id)
    frame, sources = labelled_segment_rows(
        session, model_id=model_id, version_id=saved_id(version), start=start, end=end
    )
    if segment is not None:
        sources = _only(sources, segment, model.name)
        frame = frame[["request_id", "prediction", "label", segment]]
    classes = list(version.class_names or []) if model.task == "multiclass_classification" else []
    measured = measure(
        frame,
        sources,
        model.task,
        min_group_size=limits.min_group_size,
        segment_gap=limits.segment_gap,
        disparity_limit=limits.disparity_limit,
        n_boot=n_boot,
        classes=classes,
    )
    return SegmentReport(
        model_id=model_id,
        model_name=model.name,
        version_id=saved_id(version),
        version=version.version,
        task=model.task,
        start=start,
        end=end,
        n_labelled=len(frame),
        thresholds=limits,
        segments=measured.segments,
        groups=measured.groups,
        disparities=measured.disparities,
        gaps=measured.gaps,
        findings=measured.findings,
        classes=classes,
    )


def _only(sources: dict[str, str], segment: str, model_name: str) -> dict[str, str]:
    """The one segment asked for, or a refusal naming the segments there are."""
    if segment in sources:
        return {segment: sources[segment]}
    known = ", ".join(f"'{name}'" for name in sorted(sources)) or "none"
    raise InvalidInput(
        f"'{segment}' is not a segment of '{model_name}': no categorical input or sensitive attribute "
        f"of that name among its labelled predictions of the last {WINDOW_DAYS} days (segments: {known})."
    )


def _version_for(session: Session, model: Model, version_id: int | None) -> ModelVersion:
    versions = (
        session.execute(
            select(ModelVersion)
            .where(col(ModelVersion.model_id) == model.id)
            .order_by(col(ModelVersion.version).desc())
        )
        .scalars()
        .all()
    )
    if version_id is not None:
        found = next((v for v in versions if v.id == version_id), None)
        if found is None:
            raise NotFound(f"No version with id {version_id} of '{model.name}'.")
        return found
    if not versions:
        raise InvalidInput(f"'{model.name}' has no versions yet.")
    return next((v for v in versions if v.stage == "production"), versions[0])
