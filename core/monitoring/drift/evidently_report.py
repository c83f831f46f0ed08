"""Evidently's DataDriftPreset for the rich, interactive report (and as the yardstick the fast
engine is tested against).

Evidently is imported lazily: it is heavy and only this path needs it. Callers pass only
columns that passed screening (Evidently fails on an empty column and lets a constant
categorical column's NaN spread into its drift share), with the kind Steward decided, so
both engines see the same columns as the same types. Categorical values are handed over as
the same text labels the fast engine counts.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.monitoring.drift.profile import category_labels

# Evidently's display names of its tests, mapped to the names Steward stores.
_METHODS = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
}


@dataclass(frozen=True)
class EvidentlyColumn:
    test: str
    score: float
    threshold: float
    drifted: bool


@dataclass
class EvidentlyDrift:
    columns: dict[str, EvidentlyColumn]
    drift_share: float
    snapshot: Any  # evidently.core.report.Snapshot

    def save_html(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.snapshot.save_html(str(path))


def safe_text(text: str) -> str:
    """Text that cannot close the <script> block Evidently embeds its data in (its JSON is not
    HTML-escaped, and the report runs in the app's origin): angle brackets become look-alikes."""
    return text.replace("<", "\u2039").replace(">", "\u203a")


def prepare(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """The columns in ``kinds`` as Evidently should see them: numbers as floats, categories as
    labels, names and labels made safe to embed (see ``safe_text``)."""
    out = {}
    for name, kind in kinds.items():
        series = frame[name]
        if kind == "numeric":
            out[safe_text(name)] = pd.to_numeric(series, errors="coerce").astype(float)
        else:
            labels = category_labels(series).map(safe_text)
            out[safe_text(name)] = labels.reindex(series.index).astype(object)
    return pd.DataFrame(out, index=frame.index)


def run_data_drift(reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, str]) -> EvidentlyDrift:
    """Run ``Report([DataDriftPreset()])`` on the screened columns ``kinds`` (name -> numeric/categorical)."""
    if not kinds:
        raise ValueError("no screened columns to hand to Evidently")
    from evidently import DataDefinition, Dataset, Report  # lazy: heavy import
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=[safe_text(c) for c, k in kinds.items() if k == "numeric"],
        categorical_columns=[safe_text(c) for c, k in kinds.items() if k == "categorical"],
    )
    ref = Dataset.from_pandas(prepare(reference, kinds), data_definition=definition)
    cur = Dataset.from_pandas(prepare(current, kinds), data_definition=definition)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's divide-by-zero on a category new in the current data
        snapshot = Report([DataDriftPreset()], include_tests=True).run(cur, ref)
    drift = _parse(snapshot)
    names = {safe_text(c): c for c in kinds}
    drift.columns = {names.get(k, k): v for k, v in drift.columns.items()}
    return drift


def _parse(snapshot: Any) -> EvidentlyDrift:
    result = snapshot.dict()
    decisions = {}
    for test in result["tests"]:
        params = (test.get("metric_config") or {}).get("params") or {}
        if params.get("type", "").endswith("ValueDrift"):
            decisions[params["column"]] = str(getattr(test["status"], "value", test["status"])) == "FAIL"
    columns: dict[str, EvidentlyColumn] = {}
    share = 0.0
    for metric in result["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
        elif config.get("type", "").endswith("ValueDrift"):
            column = config["column"]
            columns[column] = EvidentlyColumn(
                test=_METHODS.get(config.get("method", ""), config.get("method", "")),
                score=float(metric["value"]),
                threshold=float(config.get("threshold", 0.0)),
                drifted=decisions.get(column, False),
            )
    return EvidentlyDrift(columns=columns, drift_share=share, snapshot=snapshot)
