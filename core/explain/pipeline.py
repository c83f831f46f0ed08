"""Split a registered model into "prepare the features" and "the estimator", and know how the
estimator's columns map back to the original features.

Explanations are given on the ORIGINAL features: a categorical column one-hot encoded into five
columns gets one SHAP value, the sum of its five. Summing keeps additivity (base value + sum of
contributions = model output) because SHAP values are additive over columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidInput


@dataclass(frozen=True)
class ModelParts:
    """A model taken apart for explaining.

    ``groups`` maps each original feature to the estimator's column indices it became;
    ``None`` means the mapping is unknown, so only a model-agnostic explainer (which works on
    the original features directly) can be used.
    """

    model: Any
    estimator: Any
    features: list[str]
    prepare: Callable[[pd.DataFrame], np.ndarray]
    groups: dict[str, list[int]] | None
    n_columns: int | None


def split_model(model: Any, feature_names: list[str]) -> ModelParts:
    """Take a fitted sklearn Pipeline (or a bare estimator) apart."""
    steps = getattr(model, "steps", None)
    if not steps:
        features = _input_features(model, feature_names)
        groups = {f: [i] for i, f in enumerate(features)}
        return ModelParts(
            model, model, features, lambda frame: _dense(frame[features].to_numpy()), groups, len(features)
        )
    estimator = steps[-1][1]
    prep = model[:-1]
    features = _input_features(model, feature_names)
    prepare = _preparer(prep, features)
    mapped = _groups_of(prep, features)
    if mapped is None:
        return ModelParts(model, estimator, features, prepare, None, None)
    n_columns = sum(len(g) for g in mapped.values())
    return ModelParts(model, estimator, features, prepare, {f: g for f, g in mapped.items() if g}, n_columns)


def _input_features(model: Any, feature_names: list[str]) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    if not feature_names:
        raise InvalidInput("the model does not record its input feature names and the version lists none.")
    return list(feature_names)


def _dense(values: Any) -> np.ndarray:
    if hasattr(values, "toarray"):
        values = values.toarray()
    return np.asarray(values, dtype=np.float64)


def _preparer(prep: Any, features: list[str]) -> Callable[[pd.DataFrame], np.ndarray]:
    def prepare(frame: pd.DataFrame) -> np.ndarray:
        return _dense(prep.transform(frame[features]))

    return prepare


def _groups_of(prep: Any, features: list[str]) -> dict[str, list[int]] | None:
    """Original feature -> output columns of ``prep``, or None when the transform is not understood."""
    steps = [s for _, s in prep.steps if s not in (None, "passthrough")]
    if not steps:
        return {f: [i] for i, f in enumerate(features)}
    if len(steps) != 1:
        return None
    step = steps[0]
    if type(step).__name__ == "ColumnTransformer":
        return _column_transformer_groups(step, features)
    return _one_step_groups(step, features, _output_width(step, len(features)))


def _output_width(step: Any, n_in: int) -> int | None:
    try:
        return len(step.get_feature_names_out())
    except Exception:  # transformers without names out: we cannot tell the width
        return None


def _one_step_groups(step: Any, columns: list[str], width: int | None) -> dict[str, list[int]] | None:
    widths = _widths(step, columns, width)
    if widths is None:
        return None
    groups: dict[str, list[int]] = {}
    start = 0
    for column, w in zip(columns, widths, strict=True):
        groups[column] = list(range(start, start + w))
        start += w
    return groups


def _column_transformer_groups(ct: Any, features: list[str]) -> dict[str, list[int]] | None:
    groups: dict[str, list[int]] = {f: [] for f in features}
    for name, transformer, columns in ct.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        span = ct.output_indices_.get(name, slice(0, 0))
        width = span.stop - span.start
        if width == 0:
            continue
        names = _column_names(columns, ct)
        if names is None:
            return None
        widths = _widths(transformer, names, width)
        if widths is None:
            return None
        start = span.start
        for column, w in zip(names, widths, strict=True):
            groups.setdefault(column, []).extend(range(start, start + w))
            start += w
    return groups


def _column_names(columns: Any, ct: Any) -> list[str] | None:
    inputs = [str(c) for c in getattr(ct, "feature_names_in_", [])]
    if isinstance(columns, str):
        return [columns]
    values = list(np.atleast_1d(np.asarray(columns, dtype=object)))
    if values and all(isinstance(v, bool | np.bool_) for v in values):
        return [inputs[i] for i, keep in enumerate(values) if keep]
    if all(isinstance(v, int | np.integer) for v in values) and inputs:
        return [inputs[int(v)] for v in values]
    if all(isinstance(v, str) for v in values):
        return [str(v) for v in values]
    return None


def _widths(transformer: Any, columns: list[str], width: int | None) -> list[int] | None:
    """How many output columns each input column became, or None if unknown."""
    if isinstance(transformer, str) and transformer == "passthrough":
        return [1] * len(columns)
    encoder = _final_step(transformer)
    if type(encoder).__name__ == "OneHotEncoder":
        outs = list(getattr(encoder, "_n_features_outs", []))
        if len(outs) == len(columns) and (width is None or sum(outs) == width):
            return [int(o) for o in outs]
        return None
    if width is not None and width == len(columns):
        return [1] * len(columns)  # element-wise transformers (scalers, imputers) keep column order
    if len(columns) == 1 and width is not None:
        return [width]
    return None


def _final_step(transformer: Any) -> Any:
    steps = getattr(transformer, "steps", None)
    return steps[-1][1] if steps else transformer


def group_values(values: np.ndarray, groups: dict[str, list[int]]) -> np.ndarray:
    """Sum per-column SHAP values (n, columns) into per-feature values (n, features)."""
    return np.column_stack([values[:, idx].sum(axis=1) for idx in groups.values()])
