"""Choose and run the right SHAP explainer for a model; always answer on the original features.

- Tree ensembles (random forests, gradient boosting, decision trees): TreeExplainer, exact.
  Random forests and single trees are explained in probability space (their trees hold
  probabilities); sklearn's GradientBoostingClassifier in probability space with the
  interventional algorithm over a background sample; HistGradientBoostingClassifier in
  log-odds (shap 0.51's interventional probability output does not add up for it: measured
  errors of 0.05), which the page says.
- Linear models: LinearExplainer, exact; logistic regression in log-odds (the space in which
  it is linear), regressions in the prediction's units.
- Anything else: KernelExplainer on the original features with a background sample and a fixed
  evaluation budget; meant for single rows (global summaries are precomputed).

Every result carries the model's own output next to base + sum of contributions, so the page
and the tests can show that they add up.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidInput
from core.explain.pipeline import ModelParts, group_values, split_model

TREE_ESTIMATORS = frozenset(
    {
        "RandomForestClassifier",
        "RandomForestRegressor",
        "ExtraTreesClassifier",
        "ExtraTreesRegressor",
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
        "HistGradientBoostingClassifier",
        "HistGradientBoostingRegressor",
        "DecisionTreeClassifier",
        "DecisionTreeRegressor",
    }
)
# Trees whose leaves hold class probabilities: TreeSHAP's raw output is already a probability.
LINEAR_ESTIMATORS = frozenset(
    {
        "LogisticRegression",
        "LogisticRegressionCV",
        "LinearRegression",
        "Ridge",
        "RidgeCV",
        "Lasso",
        "LassoCV",
        "ElasticNet",
        "ElasticNetCV",
        "BayesianRidge",
        "HuberRegressor",
    }
)
# shap's TreeExplainer explains these only for binary classification ("only supported for binary
# classification right now"); with more classes they are explained model-agnostically.
TREES_BINARY_ONLY = frozenset({"GradientBoostingClassifier"})
PROBABILITY_TREES = frozenset({"RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier"})
TREE_BACKGROUND_ROWS = (
    50  # interventional cost grows with it; 100 rows took 1.7 s CPU for 1,000 rows of a 150-tree model
)
LINEAR_BACKGROUND_ROWS = 200
KERNEL_BACKGROUND_ROWS = 50
KERNEL_COALITIONS = 512

SPACES = ("probability", "log-odds", "prediction", "decision score")


@dataclass(frozen=True)
class Explanation:
    """SHAP values of some rows on the original features.

    ``values[i].sum() + base_value`` equals ``model_output[i]`` (the model's own output in
    ``space``) up to the explainer's precision; ``additivity_error`` says by how much.
    """

    features: list[str]
    values: np.ndarray
    base_value: float
    model_output: np.ndarray
    data: pd.DataFrame
    space: str
    kind: str
    method: str
    seconds: float = 0.0

    @property
    def additivity_error(self) -> float:
        if len(self.model_output) == 0:
            return 0.0
        return float(np.max(np.abs(self.base_value + self.values.sum(axis=1) - self.model_output)))

    def mean_abs(self) -> dict[str, float]:
        """Mean |SHAP| per feature (global importance)."""
        return {f: float(v) for f, v in zip(self.features, np.abs(self.values).mean(axis=0), strict=True)}


@dataclass
class ModelExplainer:
    """A ready explainer for one model version; ``explain(frame)`` explains rows of original features."""

    parts: ModelParts
    kind: str
    space: str
    method: str
    is_classifier: bool
    _shap: Any = field(repr=False, default=None)
    _kernel_codec: Any = field(repr=False, default=None)
    _align: Any = field(repr=False, default=None)
    # The app shares one explainer between sessions; KernelExplainer keeps per-call state on itself.
    _lock: threading.Lock = field(repr=False, default_factory=threading.Lock)
    # Which of a classifier's outputs is explained: -1 is a binary classifier's positive class; a
    # multiclass classifier's chosen class is its position in the estimator's classes_.
    output_class: int = -1

    @property
    def features(self) -> list[str]:
        if self.kind == "kernel" or self.parts.groups is None:
            return list(self.parts.features)
        return list(self.parts.groups)

    def explain(self, frame: pd.DataFrame) -> Explanation:
        """Explain the rows of ``frame`` on one thread: OpenMP-parallel predictors (sklearn's
        HistGradientBoosting) gain nothing on a few rows and, on a busy server, lose seconds
        waiting for their thread pool (measured: 1 s CPU for one row instead of 10 ms)."""
        with _one_thread():
            return self._explain(frame)

    def _explain(self, frame: pd.DataFrame) -> Explanation:
        started = time.perf_counter()
        frame = frame[self.parts.features].reset_index(drop=True)
        if self.kind == "kernel":
            with self._lock:
                values, base = self._explain_kernel(frame)
            output = self.output(frame)
        else:  # prepare once: the estimator's output on the same columns is the pipeline's output
            columns = self.parts.prepare(frame)
            values, base = self._explain_columns(columns)
            output = _output_of(self.parts.estimator, columns, self.space, self.output_class)
        return Explanation(
            self.features,
            values,
            base,
            output,
            frame,
            self.space,
            self.kind,
            self.method,
            time.perf_counter() - started,
        )

    def output(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's own output for ``frame`` (original features) in this explainer's space."""
        return _output_of(self.parts.model, frame, self.space, self.output_class)

    def _explain_columns(self, columns: np.ndarray) -> tuple[np.ndarray, float]:
        assert self.parts.groups is not None
        if self.kind == "tree":
            if self._align is not None:
                columns = self._align(columns)
            raw = self._shap.shap_values(columns, check_additivity=False)
        else:
            raw = self._shap.shap_values(columns)
        values, base = _class_output(raw, self._shap.expected_value, self.output_class)
        return group_values(values, self.parts.groups), base

    def _explain_kernel(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        codes = self._kernel_codec.encode(frame)
        raw = self._shap.shap_values(codes, nsamples=KERNEL_COALITIONS, l1_reg=False, silent=True)
        values, base = _class_output(raw, self._shap.expected_value, self.output_class)
        return values, base


_CONTROLLER: Any = None


def _one_thread() -> Any:
    """A context limiting BLAS and OpenMP pools to one thread (the controller is built once: it
    inspects the loaded libraries, which takes milliseconds)."""
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


def _output_of(model: Any, rows: Any, space: str, output_class: int = -1) -> np.ndarray:
    if space == "probability":
        return np.asarray(model.predict_proba(rows)[:, output_class], dtype=float)
    if space in ("log-odds", "decision score"):
        scores = np.asarray(model.decision_function(rows), dtype=float)
        return scores[:, output_class] if scores.ndim == 2 else scores.reshape(-1)
    return np.asarray(model.predict(rows), dtype=float).reshape(-1)


def _class_output(raw: Any, expected: Any, output_class: int = -1) -> tuple[np.ndarray, float]:
    """SHAP output for one class: a binary classifier's positive class (-1), a multiclass
    classifier's chosen class, or the only output."""
    values = np.asarray(raw, dtype=float)
    base = np.atleast_1d(np.asarray(expected, dtype=float))
    if isinstance(raw, list):  # older shap: one array per class
        values = np.asarray(raw[output_class], dtype=float)
    elif values.ndim == 3:
        values = values[:, :, output_class]
    return values, float(base[output_class] if base.size > 1 else base[-1])


def explainer_kind(estimator: Any) -> str:
    """'tree', 'linear' or 'kernel' (model-agnostic)."""
    name = type(estimator).__name__
    module = type(estimator).__module__
    if name in TREE_ESTIMATORS and module.startswith("sklearn."):
        return "tree"
    if name in LINEAR_ESTIMATORS and module.startswith("sklearn."):
        return "linear"
    return "kernel"


def build_explainer(
    model: Any,
    *,
    feature_names: list[str],
    background: pd.DataFrame,
    kernel_background_rows: int = KERNEL_BACKGROUND_ROWS,
    output_class: Any = None,
) -> ModelExplainer:
    """An explainer for ``model`` using ``background`` (training rows, original features).

    ``kernel_background_rows`` sets the model-agnostic explainer's background size (its cost per
    explained row grows with it); summaries over many rows use a smaller one. A multiclass
    classifier is explained for one class, ``output_class`` (one of its ``classes_``); a binary
    classifier for its positive class."""
    if background.empty:
        raise InvalidInput("explaining a model needs a background sample of its training data; it is empty.")
    parts = split_model(model, feature_names)
    missing = [f for f in parts.features if f not in background.columns]
    if missing:
        raise InvalidInput(f"the background sample lacks the model's feature(s): {', '.join(missing)}.")
    is_classifier = _is_classifier(parts.estimator)
    position = _class_position(parts.estimator, output_class) if is_classifier else -1
    multiclass = position >= 0
    kind = explainer_kind(parts.estimator)
    if kind != "kernel" and parts.groups is None:
        kind = "kernel"  # preprocessing we cannot map back: explain the whole pipeline instead
    if multiclass and type(parts.estimator).__name__ in TREES_BINARY_ONLY:
        kind = "kernel"  # shap's TreeExplainer refuses these with more than two classes
    rows = kernel_background_rows if kind == "kernel" else _background_rows(kind)
    sample = background[parts.features].sample(min(len(background), rows), random_state=0)
    if kind == "tree":
        made = _tree_explainer(parts, sample, is_classifier)
    elif kind == "linear":
        made = _linear_explainer(parts, sample, is_classifier)
    else:
        made = _kernel_explainer(parts, sample, is_classifier, output_class=position)
    made.output_class = position
    return made


def _background_rows(kind: str) -> int:
    return TREE_BACKGROUND_ROWS if kind == "tree" else LINEAR_BACKGROUND_ROWS


def _is_classifier(estimator: Any) -> bool:
    from sklearn.base import is_classifier

    return bool(is_classifier(estimator))


def _class_position(estimator: Any, output_class: Any) -> int:
    """-1 (the positive class) for a binary classifier; the position of ``output_class`` among a
    multiclass classifier's classes, which must be named."""
    classes = list(getattr(estimator, "classes_", []))
    if len(classes) <= 2:
        if output_class is not None and len(classes) == 2 and output_class != classes[-1]:
            raise InvalidInput("a binary classifier is explained for its positive class only.")
        return -1
    if output_class is None:
        raise InvalidInput(
            f"this classifier has {len(classes)} classes; choose the class to explain "
            f"({', '.join(map(str, classes[:12]))})."
        )
    matches = [i for i, c in enumerate(classes) if str(c) == str(output_class)]
    if not matches:
        raise InvalidInput(
            f"'{output_class}' is not a class of this model ({', '.join(map(str, classes[:12]))})."
        )
    return matches[0]


def _tree_explainer(parts: ModelParts, background: pd.DataFrame, is_classifier: bool) -> ModelExplainer:
    import shap

    name = type(parts.estimator).__name__
    if is_classifier and name == "GradientBoostingClassifier":  # leaves hold log-odds; ask for probability
        align = _SplitAligner(parts.estimator)
        explainer = shap.TreeExplainer(
            parts.estimator,
            data=align(parts.prepare(background)),
            feature_perturbation="interventional",
            model_output="probability",
        )
        method = f"TreeExplainer (interventional, {len(background)} background rows), exact"
        return ModelExplainer(parts, "tree", "probability", method, is_classifier, explainer, None, align)
    explainer = shap.TreeExplainer(parts.estimator, feature_perturbation="tree_path_dependent")
    method = "TreeExplainer (path-dependent), exact"
    space = "prediction"
    if is_classifier:
        space = "probability" if name in PROBABILITY_TREES else "log-odds"
    return ModelExplainer(parts, "tree", space, method, is_classifier, explainer)


class _SplitAligner:
    """Make shap's interventional TreeSHAP route rows exactly as sklearn does.

    sklearn compares ``float32(x) <= threshold`` (a float64 midpoint); shap 0.51's
    interventional code compares ``x <= float32(threshold)``. The two disagree when
    float32(x) equals a threshold rounded upwards to float32; we then move x to the next
    float32, which sklearn routes the same way, so contributions add up to the model's
    output (measured error otherwise: up to 0.1 in probability).
    """

    def __init__(self, estimator: Any) -> None:
        thresholds: dict[int, set[float]] = {}
        for tree in np.asarray(estimator.estimators_).ravel():
            structure = tree.tree_
            for feature, threshold in zip(structure.feature, structure.threshold, strict=True):
                if feature >= 0:
                    thresholds.setdefault(int(feature), set()).add(float(threshold))
        self.bumps: dict[int, np.ndarray] = {}
        for feature, values in thresholds.items():
            exact = np.array(sorted(values))
            rounded = exact.astype(np.float32)
            upward = np.unique(rounded[rounded.astype(np.float64) > exact])
            if upward.size:
                self.bumps[feature] = upward

    def __call__(self, columns: np.ndarray) -> np.ndarray:
        aligned = columns.astype(np.float32)
        for feature, upward in self.bumps.items():
            column = aligned[:, feature]
            hit = np.isin(column, upward)
            if hit.any():
                column[hit] = np.nextafter(column[hit], np.float32(np.inf))
        return aligned.astype(np.float64)


def _linear_explainer(parts: ModelParts, background: pd.DataFrame, is_classifier: bool) -> ModelExplainer:
    import shap

    masker = shap.maskers.Independent(parts.prepare(background), max_samples=len(background))
    explainer = shap.LinearExplainer(parts.estimator, masker)
    space = "prediction"
    if is_classifier:
        space = "log-odds"
    method = f"LinearExplainer ({len(background)} background rows), exact"
    return ModelExplainer(parts, "linear", space, method, is_classifier, explainer)


def _kernel_explainer(
    parts: ModelParts, background: pd.DataFrame, is_classifier: bool, *, output_class: int = -1
) -> ModelExplainer:
    import shap

    codec = _FrameCodec(background)
    model = parts.model
    if is_classifier and hasattr(model, "predict_proba"):
        space = "probability"

        def predict(codes: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict_proba(codec.decode(codes))[:, output_class], dtype=float)
    elif is_classifier:
        space = "decision score"

        def predict(codes: np.ndarray) -> np.ndarray:
            return _output_of(model, codec.decode(codes), "decision score", output_class)
    else:
        space = "prediction"

        def predict(codes: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict(codec.decode(codes)), dtype=float).reshape(-1)

    explainer = shap.KernelExplainer(predict, codec.encode(background))
    evaluations = len(background) * KERNEL_COALITIONS
    method = (
        f"KernelExplainer, model-agnostic: {len(background)} background rows x up to "
        f"{KERNEL_COALITIONS} feature coalitions = {evaluations:,} model evaluations per explained row"
    )
    explainer_obj = ModelExplainer(parts, "kernel", space, method, is_classifier, explainer, codec)
    return explainer_obj


class _FrameCodec:
    """Original features <-> a numeric matrix, so KernelExplainer can mix rows with the background.

    Categorical values become integer codes; decoding restores the strings and the dtypes, so
    the model always sees valid rows (never a half-one-hot-encoded one).
    """

    def __init__(self, reference: pd.DataFrame) -> None:
        self.columns = list(reference.columns)
        self.dtypes = reference.dtypes.to_dict()
        self.categories: dict[str, list[Any]] = {}
        for column in self.columns:
            if not pd.api.types.is_numeric_dtype(reference[column]) or pd.api.types.is_bool_dtype(
                reference[column]
            ):
                self.categories[column] = sorted({v for v in reference[column].dropna()}, key=str)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)), dtype=float)
        for j, column in enumerate(self.columns):
            if column in self.categories:
                cats = self.categories[column]
                for value in frame[column].dropna().unique():
                    if value not in cats:
                        cats.append(value)
                lookup = {v: i for i, v in enumerate(cats)}
                out[:, j] = [lookup.get(v, math.nan) if not pd.isna(v) else math.nan for v in frame[column]]
            else:
                out[:, j] = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        return out

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for j, column in enumerate(self.columns):
            if column in self.categories:
                cats = self.categories[column]
                data[column] = [None if math.isnan(c) else cats[int(round(c))] for c in codes[:, j]]
            else:
                data[column] = codes[:, j]
        frame = pd.DataFrame(data, columns=self.columns)
        for column, dtype in self.dtypes.items():
            if column not in self.categories:
                try:
                    frame[column] = frame[column].astype(dtype)
                except (TypeError, ValueError):
                    pass  # an int column holding a missing value stays float
        return frame


def to_probability(value: float, space: str) -> float:
    """A score in the explained space as the probability the model reports."""
    if space == "log-odds":
        return 1.0 / (1.0 + math.exp(-value))
    return value
