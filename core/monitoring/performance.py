"""Realised performance from labels, per month, with confidence intervals, beside the
validation metric each version was approved with; and the concept-drift verdict.

Labels come from labelling campaigns (``labelled_by_id`` set) and from pipelines that log
them with the predictions. Proportions (accuracy, precision, recall) get Wilson score
intervals; F1, ROC AUC, MAE and RMSE get percentile bootstrap intervals with a fixed seed, so
the same labels always give the same interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session, col

from core.db.models import (
    CampaignItem,
    Dataset,
    LabellingCampaign,
    Model,
    ModelVersion,
    PredictionDaily,
    PredictionLog,
)
from core.db.types import saved_id
from core.errors import InvalidInput, NotFound
from core.monitoring.thresholds import current_thresholds

CONFIDENCE = 0.95
Z_95 = 1.959963984540054
N_BOOT = 1000
SEED = 20240601
MIN_LABELS_FOR_VERDICT = (
    100  # a month with fewer labels (e.g. the current, partly labelled one) is not judged
)
# A classifier is judged only on a window holding this many labels of each class: ROC AUC, recall and
# precision rest on the minority class, and an interval from a handful of positives is not to be trusted
# (the usual rule of thumb of ~20 events; more would pool so many months that a ramping drift is diluted).
MIN_LABELS_PER_CLASS = 20
BOOT_CELLS = 2_000_000  # bootstrap resamples are drawn in blocks of at most this many values

CLASSIFIER_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
MULTICLASS_METRICS = ("accuracy", "f1_macro", "f1_weighted")
REGRESSOR_METRICS = ("mae", "rmse")
LOWER_IS_BETTER = frozenset({"mae", "rmse"})
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "f1_macro": "Macro F1",
    "f1_weighted": "Weighted F1",
    "roc_auc": "ROC AUC",
    "mae": "MAE",
    "rmse": "RMSE",
}
METRIC_ALIASES = {
    "accuracy": "accuracy",
    "acc": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "f1_score": "f1",
    "f1_macro": "f1_macro",
    "macro_f1": "f1_macro",
    "f1_weighted": "f1_weighted",
    "weighted_f1": "f1_weighted",
    "roc_auc": "roc_auc",
    "auc": "roc_auc",
    "rocauc": "roc_auc",
    "mae": "mae",
    "mean_absolute_error": "mae",
    "rmse": "rmse",
    "root_mean_squared_error": "rmse",
}


# --- interval arithmetic ---------------------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (nan, nan) when n is 0."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half; nan with one class only."""
    return float(_auc_rows(np.asarray(y, dtype=float)[None, :], np.asarray(score, dtype=float)[None, :])[0])


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks within each row, ties sharing their average rank (like scipy's rankdata),
    vectorised over rows (one argsort, no per-row Python loop, no scipy import)."""
    n = values.shape[1]
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    position = np.broadcast_to(np.arange(n), ordered.shape)
    differs = ordered[:, 1:] != ordered[:, :-1]
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = differs
    ends = np.ones(ordered.shape, dtype=bool)
    ends[:, :-1] = differs
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, position, n - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty(ordered.shape, dtype=float)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=1)
    return ranks


def _auc_rows(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of (labels, scores) matrices."""
    ranks = _average_ranks(score)
    n_pos = y.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * y).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def _resampled_auc(y: np.ndarray, score: np.ndarray) -> Any:
    """A function of resample indices (rows x n) giving each resample's ROC AUC.

    Resamples only repeat the original cases, so each one is counted per (score group, class)
    with one bincount, and the Mann-Whitney sum comes from cumulative counts over the sorted
    score groups: O(resamples x n) with no sorting per resample.
    """
    order = np.argsort(score, kind="stable")
    ordered = score[order]
    group_of_sorted = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    groups = int(group_of_sorted[-1]) + 1 if len(score) else 0
    group = np.empty(len(score), dtype=np.int64)
    group[order] = group_of_sorted
    cell = group * 2 + (y > 0.5).astype(np.int64)  # (score group, class) of each original case

    def auc_of(idx: np.ndarray) -> np.ndarray:
        rows = idx.shape[0]
        keys = (np.arange(rows)[:, None] * (2 * groups) + cell[idx]).ravel()
        counts = np.bincount(keys, minlength=rows * 2 * groups).reshape(rows, groups, 2)
        neg, pos = counts[:, :, 0], counts[:, :, 1]
        below = np.cumsum(neg, axis=1) - neg
        n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = (pos * (below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
        return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)

    return auc_of


def _f1_rows(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    tp = (y * pred).sum(axis=1)
    denom = y.sum(axis=1) + pred.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / denom, np.nan)


def _bootstrap(stat_rows: Any, arrays: tuple[np.ndarray, ...], n_boot: int, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat_rows`` (a statistic of each resampled row)."""
    n = len(arrays[0])
    rng = np.random.default_rng(seed)
    block = max(1, BOOT_CELLS // max(n, 1))
    stats: list[np.ndarray] = []
    for start in range(0, n_boot, block):
        idx = rng.integers(0, n, size=(min(block, n_boot - start), n))
        stats.append(stat_rows(*(a[idx] for a in arrays)))
    values = np.concatenate(stats)
    values = values[~np.isnan(values)]
    if len(values) < n_boot // 2:
        return (math.nan, math.nan)
    alpha = (1 - CONFIDENCE) / 2
    return (float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha)))


def classifier_metrics(
    y: np.ndarray, pred: np.ndarray, score: np.ndarray | None, *, n_boot: int = N_BOOT, seed: int = SEED
) -> list[dict[str, Any]]:
    """Accuracy, precision, recall (Wilson), F1 and ROC AUC (bootstrap) with 95% intervals."""
    y = np.asarray(y, dtype=float)
    pred = (np.asarray(pred, dtype=float) >= 0.5).astype(float)
    n = len(y)
    tp = int(((y == 1) & (pred == 1)).sum())
    rows = [
        _row("accuracy", int((y == pred).sum()), n, "Wilson"),
        _row("precision", tp, int(pred.sum()), "Wilson"),
        _row("recall", tp, int(y.sum()), "Wilson"),
    ]
    f1 = _f1_rows(y[None, :], pred[None, :])[0]
    lo, hi = _bootstrap(_f1_rows, (y, pred), n_boot, seed) if n else (math.nan, math.nan)
    rows.append({"metric": "f1", "value": float(f1), "lower": lo, "upper": hi, "n": n, "method": "bootstrap"})
    if score is not None:
        mask = ~np.isnan(np.asarray(score, dtype=float))
        ys, ss = y[mask], np.asarray(score, dtype=float)[mask]
        auc = roc_auc(ys, ss) if len(ys) else math.nan
        resampled = (np.arange(len(ys)),)  # the statistic receives the resample indices themselves
        lo, hi = (
            _bootstrap(_resampled_auc(ys, ss), resampled, n_boot, seed)
            if len(ys) and not math.isnan(auc)
            else (math.nan, math.nan)
        )
        rows.append(
            {
                "metric": "roc_auc",
                "value": auc,
                "lower": lo,
                "upper": hi,
                "n": int(len(ys)),
                "method": "bootstrap",
            }
        )
    return rows


def _confusions(y: np.ndarray, pred: np.ndarray, k: int, resamples: np.ndarray) -> np.ndarray:
    """Confusion counts (resample, actual, predicted) of each row of resample indices, at once."""
    codes = (y.astype(np.int64) * k + pred.astype(np.int64))[resamples]
    offsets = np.arange(len(resamples), dtype=np.int64)[:, None] * k * k
    counts = np.bincount((codes + offsets).ravel(), minlength=len(resamples) * k * k)
    return counts.reshape(len(resamples), k, k)


def _f1_from_confusions(confusions: np.ndarray, weighted: bool) -> np.ndarray:
    """Macro or support-weighted F1 of each confusion matrix, as sklearn computes them (a class
    never predicted nor present scores 0 and, in the macro mean, counts only if it is present)."""
    tp = np.diagonal(confusions, axis1=1, axis2=2).astype(float)
    support = confusions.sum(axis=2).astype(float)
    predicted = confusions.sum(axis=1).astype(float)
    denominator = support + predicted
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    if weighted:
        total = support.sum(axis=1)
        return np.divide((f1 * support).sum(axis=1), total, out=np.full(len(tp), np.nan), where=total > 0)
    seen = denominator > 0  # sklearn averages over the labels present in actual or predicted
    count = seen.sum(axis=1)
    return np.divide((f1 * seen).sum(axis=1), count, out=np.full(len(tp), np.nan), where=count > 0)


def multiclass_metrics(
    y: np.ndarray, pred: np.ndarray, n_classes: int, *, n_boot: int = N_BOOT, seed: int = SEED
) -> list[dict[str, Any]]:
    """Accuracy (Wilson), macro and weighted F1 (sklearn.metrics; bootstrap intervals) of a
    multiclass classifier whose labels and predictions are class positions 0..n_classes-1."""
    from sklearn.metrics import f1_score  # sklearn is heavy and only needed here

    y = np.asarray(y, dtype=float).astype(int)
    pred = np.asarray(pred, dtype=float).astype(int)
    n = len(y)
    k = max(n_classes, int(max(y.max(initial=0), pred.max(initial=0))) + 1)
    rows = [_row("accuracy", int((y == pred).sum()), n, "Wilson")]
    rng = np.random.default_rng(seed)
    resamples = rng.integers(0, n, size=(n_boot, n)) if n else np.empty((0, 0), dtype=np.int64)
    for metric, average in (("f1_macro", "macro"), ("f1_weighted", "weighted")):
        value = float(f1_score(y, pred, average=average, zero_division=0)) if n else math.nan
        lo = hi = math.nan
        if n:
            values = _f1_from_confusions(_confusions(y, pred, k, resamples), average == "weighted")
            values = values[~np.isnan(values)]
            alpha = (1 - CONFIDENCE) / 2
            lo, hi = float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))
        rows.append(
            {"metric": metric, "value": value, "lower": lo, "upper": hi, "n": n, "method": "bootstrap"}
        )
    return rows


def class_report(labelled: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Per class of a multiclass classifier, over every labelled prediction: precision, recall,
    F1 and support (labels of that class), from sklearn.metrics."""
    from sklearn.metrics import precision_recall_fscore_support

    columns = ["class", "precision", "recall", "f1", "support", "predicted"]
    if labelled.empty or not classes:
        return pd.DataFrame(columns=columns)
    y = labelled["label"].to_numpy(dtype=float).astype(int)
    pred = labelled["prediction"].to_numpy(dtype=float).astype(int)
    positions = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, pred, labels=positions, zero_division=0
    )
    # a class never predicted has no precision, one never labelled no recall: NaN, not a fake 0
    predicted = np.bincount(pred, minlength=len(classes))[: len(classes)]
    return pd.DataFrame(
        {
            "class": classes,
            "precision": np.where(predicted > 0, precision, np.nan),
            "recall": np.where(support > 0, recall, np.nan),
            "f1": f1,
            "support": support.astype(int),
            "predicted": predicted.astype(int),
        },
        columns=columns,
    )


def confusion_matrix(labelled: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Counts of labelled predictions by actual class (rows) and predicted class (columns),
    named by class, from sklearn.metrics."""
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    matrix = (
        sk_confusion_matrix(
            labelled["label"].to_numpy(dtype=float).astype(int),
            labelled["prediction"].to_numpy(dtype=float).astype(int),
            labels=list(range(len(classes))),
        )
        if not labelled.empty
        else np.zeros((len(classes), len(classes)), dtype=int)
    )
    frame = pd.DataFrame(
        matrix, index=pd.Index(classes, name="actual"), columns=pd.Index(classes, name="predicted")
    )
    return frame


def _row(metric: str, successes: int, n: int, method: str) -> dict[str, Any]:
    lo, hi = wilson_interval(successes, n)
    return {
        "metric": metric,
        "value": successes / n if n else math.nan,
        "lower": lo,
        "upper": hi,
        "n": n,
        "method": method,
    }


def regressor_metrics(
    y: np.ndarray, pred: np.ndarray, *, n_boot: int = N_BOOT, seed: int = SEED
) -> list[dict[str, Any]]:
    """MAE and RMSE with percentile bootstrap 95% intervals."""
    err = np.asarray(pred, dtype=float) - np.asarray(y, dtype=float)
    n = len(err)
    mae = float(np.mean(np.abs(err))) if n else math.nan
    rmse = float(math.sqrt(np.mean(err**2))) if n else math.nan

    def mae_rows(e: np.ndarray) -> np.ndarray:
        return np.mean(np.abs(e), axis=1)

    def rmse_rows(e: np.ndarray) -> np.ndarray:
        return np.sqrt(np.mean(e**2, axis=1))

    nan2 = (math.nan, math.nan)
    return [
        {
            "metric": "mae",
            "value": mae,
            **_bounds(_bootstrap(mae_rows, (err,), n_boot, seed) if n else nan2),
            "n": n,
            "method": "bootstrap",
        },
        {
            "metric": "rmse",
            "value": rmse,
            **_bounds(_bootstrap(rmse_rows, (err,), n_boot, seed) if n else nan2),
            "n": n,
            "method": "bootstrap",
        },
    ]


def _bounds(interval: tuple[float, float]) -> dict[str, float]:
    return {"lower": interval[0], "upper": interval[1]}


# --- from the registry ---------------------------------------------------------------------------


def labelled_predictions(session: Session, version_id: int) -> pd.DataFrame:
    """The labelled predictions of one version (served by the partial index on labelled rows)."""
    rows = session.execute(
        select(
            col(PredictionLog.ts),
            col(PredictionLog.prediction),
            col(PredictionLog.score),
            col(PredictionLog.label),
            col(PredictionLog.labelled_by_id),
        ).where(col(PredictionLog.model_version_id) == version_id, col(PredictionLog.label).is_not(None))
    ).all()
    frame = pd.DataFrame(rows, columns=["ts", "prediction", "score", "label", "labelled_by_id"])
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    frame["labelled_by_id"] = pd.to_numeric(frame["labelled_by_id"], errors="coerce")
    return frame


def monthly_metrics(
    labelled: pd.DataFrame,
    task: str,
    *,
    n_boot: int = N_BOOT,
    seed: int = SEED,
    classes: list[str] | tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per month and metric: value, 95% interval, sample size, method."""
    columns = ["month", "metric", "value", "lower", "upper", "n", "method"]
    if labelled.empty:
        return pd.DataFrame(columns=columns)
    months = pd.to_datetime(labelled["ts"], utc=True).dt.tz_convert(UTC).dt.strftime("%Y-%m")
    rows: list[dict[str, Any]] = []
    for month, group in labelled.groupby(months, sort=True):
        y, pred = group["label"].to_numpy(dtype=float), group["prediction"].to_numpy(dtype=float)
        if task == "binary_classification":
            score = group["score"].to_numpy(dtype=float)
            found = classifier_metrics(
                y, pred, score if not np.isnan(score).all() else None, n_boot=n_boot, seed=seed
            )
        elif task == "multiclass_classification":
            found = multiclass_metrics(y, pred, len(classes), n_boot=n_boot, seed=seed)
        else:
            found = regressor_metrics(y, pred, n_boot=n_boot, seed=seed)
        rows.extend({"month": month, **r} for r in found)
    return pd.DataFrame(rows, columns=columns)


def validation_metrics(version: ModelVersion) -> dict[str, float]:
    """The version's approved metrics under Steward's metric names (aliases like 'auc' mapped)."""
    found: dict[str, float] = {}
    for key, value in (version.metrics or {}).items():
        name = METRIC_ALIASES.get(str(key).strip().lower())
        if name and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            found[name] = float(value)
    return found


def validation_rows(session: Session, version: ModelVersion) -> int | None:
    """Size of the sample the version's validation metrics were computed on (its evaluation
    dataset's row count), or None when unknown."""
    if version.evaluation_dataset_id is None:
        return None
    dataset = session.get(Dataset, version.evaluation_dataset_id)
    return int(dataset.row_count) if dataset is not None and dataset.row_count > 0 else None


@dataclass(frozen=True)
class Verdict:
    """The concept-drift judgement of one metric in one month."""

    metric: str
    period: str  # the month, or months pooled ("2024-05 to 2024-06")
    level: str  # "ok", "warning", "alert"
    value: float
    lower: float
    upper: float
    n: int
    validation: float
    limit: float
    message: str
    bound: float = (
        math.nan
    )  # the decision's bound: the interval's side nearest the limit, widened for validation error
    validation_n: int | None = None  # size of the validation sample, when known


def limit_for(metric: str, validation: float, tolerance: float) -> float:
    """Worst acceptable value: validation minus the tolerance for scores (absolute), plus a
    relative tolerance for errors (MAE/RMSE)."""
    return validation * (1 + tolerance) if metric in LOWER_IS_BETTER else validation - tolerance


def judged_metrics(validation: dict[str, float], primary_metric: str = "") -> list[str]:
    """The metrics a version is judged on: its primary metric when it has a validation value
    (the one it was approved on), else every metric it was validated with."""
    primary = METRIC_ALIASES.get((primary_metric or "").strip().lower())
    return [primary] if primary in validation else list(validation)


def validation_widening(n: int, validation_n: int | None) -> float:
    """How much wider the interval of (realised - validation) is than the realised interval alone.

    The validation value is itself an estimate from ``validation_n`` cases with (for the same metric
    on the same population) the same per-case variance, so Var(diff) = Var_r * (1 + n / validation_n).
    1 when the validation sample's size is unknown (the validation value is then taken as exact).
    """
    return math.sqrt(1 + n / validation_n) if validation_n and validation_n > 0 else 1.0


def judge_rows(
    rows: pd.DataFrame,
    period: str,
    validation: dict[str, float],
    tolerance: float,
    primary_metric: str = "",
    validation_n: int | None = None,
) -> list[Verdict]:
    """Judge metric rows (metric, value, lower, upper, n) of one period against validation.

    alert: the realised interval's side nearest the limit, widened by the validation value's own
    sampling error (``validation_widening``), is still beyond the limit; so a drop is called
    significant only when neither the production sample nor the validation sample explains it.
    warning: the estimate is beyond the limit but the widened interval still reaches it; ok otherwise.
    """
    metrics = judged_metrics(validation, primary_metric)
    verdicts = []
    for r in rows[rows["metric"].isin(metrics) & rows["lower"].notna()].itertuples():
        limit = limit_for(r.metric, validation[r.metric], tolerance)
        widen = validation_widening(int(r.n), validation_n)
        if r.metric in LOWER_IS_BETTER:
            bound = r.value - (r.value - r.lower) * widen
            level = "alert" if bound > limit else ("warning" if r.value > limit else "ok")
        else:
            bound = r.value + (r.upper - r.value) * widen
            level = "alert" if bound < limit else ("warning" if r.value < limit else "ok")
        message = (
            f"{METRIC_LABELS[r.metric]} in {period}: {r.value:.3f} (95% CI {r.lower:.3f}-{r.upper:.3f}, "
            f"n={r.n}) against {validation[r.metric]:.3f} at validation"
            + (f" (n={validation_n:,})" if validation_n else "")
            + f"; limit {limit:.3f}"
        )
        verdicts.append(
            Verdict(
                r.metric,
                period,
                level,
                float(r.value),
                float(r.lower),
                float(r.upper),
                int(r.n),
                validation[r.metric],
                limit,
                message,
                float(bound),
                validation_n,
            )
        )
    return verdicts


def recent_window(
    labelled: pd.DataFrame, min_labels: int = MIN_LABELS_FOR_VERDICT, *, min_per_class: int = 0
) -> tuple[pd.DataFrame, str] | None:
    """The newest labelled months, pooled back from the latest until they hold ``min_labels``
    labels and at least ``min_per_class`` of each class (labels arrive late, so the current month
    alone is often too thin); None if never."""
    if labelled.empty:
        return None
    months = pd.to_datetime(labelled["ts"], utc=True).dt.strftime("%Y-%m")
    counts = months.value_counts().sort_index(ascending=False)
    positives = labelled["label"].to_numpy(dtype=float) >= 0.5
    per_month_pos = pd.Series(positives, index=months.to_numpy()).groupby(level=0).sum()
    total = total_pos = 0
    taken: list[str] = []
    for month, n in counts.items():
        taken.append(str(month))
        total += int(n)
        total_pos += int(per_month_pos.get(month, 0))
        if total >= min_labels and min(total_pos, total - total_pos) >= min_per_class:
            period = taken[0] if len(taken) == 1 else f"{taken[-1]} to {taken[0]}"
            return labelled[months.isin(taken).to_numpy()], period
    return None


def judge(
    labelled: pd.DataFrame,
    task: str,
    validation: dict[str, float],
    tolerance: float,
    *,
    primary_metric: str = "",
    min_labels: int = MIN_LABELS_FOR_VERDICT,
    n_boot: int = N_BOOT,
    validation_n: int | None = None,
    n_classes: int = 0,
) -> list[Verdict]:
    """Concept-drift verdicts on the most recent labels (see ``recent_window`` and ``judge_rows``)."""
    per_class = MIN_LABELS_PER_CLASS if task == "binary_classification" else 0
    window = recent_window(labelled, min_labels, min_per_class=per_class)
    if window is None or not judged_metrics(validation, primary_metric):
        return []
    rows, period = window
    y, pred = rows["label"].to_numpy(dtype=float), rows["prediction"].to_numpy(dtype=float)
    if task == "binary_classification":
        score = rows["score"].to_numpy(dtype=float)
        found = classifier_metrics(y, pred, None if np.isnan(score).all() else score, n_boot=n_boot)
    elif task == "multiclass_classification":
        found = multiclass_metrics(y, pred, n_classes, n_boot=n_boot)
    else:
        found = regressor_metrics(y, pred, n_boot=n_boot)
    return judge_rows(pd.DataFrame(found), period, validation, tolerance, primary_metric, validation_n)


@dataclass
class PerformanceReport:
    model_id: int
    model_name: str
    version_id: int
    version: int
    task: str
    validation: dict[str, float]
    table: pd.DataFrame  # month, metric, value, lower, upper, n, method, validation, limit
    coverage: pd.DataFrame  # month, predictions, labelled, coverage
    n_labelled: int
    n_from_campaigns: int
    n_from_pipelines: int
    verdicts: list[Verdict] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)  # a multiclass classifier's class names, in order
    per_class: pd.DataFrame = field(default_factory=pd.DataFrame)  # see class_report
    confusion: pd.DataFrame = field(default_factory=pd.DataFrame)  # see confusion_matrix


def _version_for(session: Session, model: Model, version_id: int | None) -> ModelVersion:
    if version_id is not None:
        version = session.get(ModelVersion, version_id)
        if version is None or version.model_id != model.id:
            raise NotFound(f"No version with id {version_id} of '{model.name}'.")
        return version
    versions = (
        session.execute(
            select(ModelVersion)
            .where(col(ModelVersion.model_id) == model.id)
            .order_by(col(ModelVersion.version).desc())
        )
        .scalars()
        .all()
    )
    if not versions:
        raise InvalidInput(f"'{model.name}' has no versions yet.")
    return next((v for v in versions if v.stage == "production"), versions[0])


def monthly_coverage(session: Session, version_id: int) -> pd.DataFrame:
    """Predictions and labelled predictions per month, from the daily rollup."""
    rows = session.execute(
        select(col(PredictionDaily.day), col(PredictionDaily.n), col(PredictionDaily.n_labelled)).where(
            col(PredictionDaily.model_version_id) == version_id
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["day", "n", "n_labelled"])
    if frame.empty:
        return pd.DataFrame(columns=["month", "predictions", "labelled", "coverage"])
    frame["month"] = pd.to_datetime(frame["day"]).dt.strftime("%Y-%m")
    out = frame.groupby("month", sort=True)[["n", "n_labelled"]].sum().reset_index()
    out.columns = ["month", "predictions", "labelled"]
    out["coverage"] = out["labelled"] / out["predictions"].where(out["predictions"] > 0)
    return out


def performance_report(
    session: Session,
    *,
    model_id: int,
    version_id: int | None = None,
    tolerance: float | None = None,
    n_boot: int = N_BOOT,
) -> PerformanceReport:
    """Realised metrics per month of one version (default: production, else newest) with the verdict."""
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    version = _version_for(session, model, version_id)
    if tolerance is None:
        tolerance = current_thresholds(session, model_id=model_id).performance_drop
    labelled = labelled_predictions(session, saved_id(version))
    classes = list(version.class_names or []) if model.task == "multiclass_classification" else []
    table = monthly_metrics(labelled, model.task, n_boot=n_boot, classes=classes)
    validation = validation_metrics(version)
    table["validation"] = table["metric"].map(validation)
    table["limit"] = [
        limit_for(m, validation[m], tolerance) if m in validation else math.nan for m in table["metric"]
    ]
    from_campaigns = campaign_label_count(session, saved_id(version))
    return PerformanceReport(
        model_id=model_id,
        model_name=model.name,
        version_id=saved_id(version),
        version=version.version,
        task=model.task,
        validation=validation,
        table=table,
        coverage=monthly_coverage(session, saved_id(version)),
        n_labelled=len(labelled),
        n_from_campaigns=from_campaigns,
        n_from_pipelines=len(labelled) - from_campaigns,
        verdicts=judge(
            labelled,
            model.task,
            validation,
            tolerance,
            primary_metric=model.primary_metric,
            n_boot=n_boot,
            validation_n=validation_rows(session, version),
            n_classes=len(classes),
        ),
        classes=classes,
        per_class=class_report(labelled, classes) if classes else pd.DataFrame(),
        confusion=confusion_matrix(labelled, classes) if classes else pd.DataFrame(),
    )


def campaign_label_count(session: Session, version_id: int) -> int:
    """How many of a version's labels came from labelling campaigns (items with a final label)."""
    return int(
        session.execute(
            select(func.count())
            .select_from(CampaignItem)
            .join(LabellingCampaign, col(LabellingCampaign.id) == col(CampaignItem.campaign_id))
            .where(col(LabellingCampaign.model_version_id) == version_id, col(CampaignItem.status) == "final")
        ).scalar_one()
    )


def version_options(session: Session) -> pd.DataFrame:
    """Every model version with logged predictions or a production stage, for the monitoring pages'
    selectors: model id, name, task, business unit, primary metric, target, version id, number, stage, features,
    and the model's labelling settings (case link template, outcome horizon in days)."""
    logged = select(col(PredictionDaily.model_version_id)).distinct()
    rows = session.execute(
        select(
            col(Model.id),
            col(Model.name),
            col(Model.task),
            col(Model.business_unit),
            col(Model.primary_metric),
            col(Model.target),
            col(ModelVersion.id),
            col(ModelVersion.version),
            col(ModelVersion.stage),
            col(ModelVersion.feature_names),
            col(Model.case_link_template),
            col(Model.outcome_horizon_days),
        )
        .join(ModelVersion, col(ModelVersion.model_id) == col(Model.id))
        .where((col(ModelVersion.stage) == "production") | col(ModelVersion.id).in_(logged))
        .order_by(col(Model.name), col(ModelVersion.version).desc())
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "model_id",
            "model",
            "task",
            "business_unit",
            "primary_metric",
            "target",
            "version_id",
            "version",
            "stage",
            "feature_names",
            "case_link_template",
            "outcome_horizon_days",
        ],
    )
