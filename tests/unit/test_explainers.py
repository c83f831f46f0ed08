"""SHAP on original features: the right explainer per model, and additivity (base + sum = output)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from core.errors import InvalidInput
from core.explain.explainers import build_explainer, explainer_kind, to_probability
from core.explain.pipeline import split_model
from tests.insight_factories import CATEGORICAL, FEATURES, credit_frame, credit_pipeline

TRAIN = credit_frame(800, seed=1)
ROWS = credit_frame(300, seed=2)[FEATURES]

CASES = [
    (GradientBoostingClassifier(max_depth=3, n_estimators=60, random_state=0), "tree", "probability"),
    (HistGradientBoostingClassifier(max_iter=30, early_stopping=False, random_state=0), "tree", "log-odds"),
    (RandomForestClassifier(max_depth=8, n_estimators=40, random_state=0), "tree", "probability"),
    (DecisionTreeClassifier(max_depth=5, random_state=0), "tree", "probability"),
    (RandomForestRegressor(max_depth=6, n_estimators=30, random_state=0), "tree", "prediction"),
    (GradientBoostingRegressor(n_estimators=50, random_state=0), "tree", "prediction"),
    (LogisticRegression(max_iter=3000), "linear", "log-odds"),
    (Ridge(), "linear", "prediction"),
    (LinearRegression(), "linear", "prediction"),
]


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.filterwarnings("ignore", category=UserWarning)


@pytest.mark.parametrize(("estimator", "kind", "space"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_exact_explainers_add_up_to_the_model_output(estimator: object, kind: str, space: str) -> None:
    pipe = credit_pipeline(estimator, TRAIN)
    explainer = build_explainer(pipe, feature_names=FEATURES, background=TRAIN)
    result = explainer.explain(ROWS)
    assert (explainer.kind, result.space) == (kind, space)
    assert result.features == FEATURES  # original features, in the input order
    assert result.values.shape == (len(ROWS), 6)
    # base value + sum of contributions = the model's own output, row by row
    assert result.additivity_error <= 1e-6
    expected = (
        pipe.predict_proba(ROWS)[:, 1]
        if space == "probability"
        else pipe.decision_function(ROWS)
        if space == "log-odds"
        else pipe.predict(ROWS)
    )
    np.testing.assert_allclose(result.base_value + result.values.sum(axis=1), expected, atol=1e-6)


@pytest.mark.parametrize(
    "estimator",
    [
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=400, random_state=0),
        KNeighborsClassifier(n_neighbors=15),
    ],
    ids=["MLP", "KNN"],
)
def test_model_agnostic_explainer_adds_up_in_probability_space(estimator: object) -> None:
    pipe = credit_pipeline(Pipeline([("scale", StandardScaler()), ("m", estimator)]), TRAIN)
    explainer = build_explainer(pipe, feature_names=FEATURES, background=TRAIN)
    result = explainer.explain(ROWS.head(3))
    assert explainer.kind == "kernel" and result.space == "probability"
    assert "50 background rows" in result.method and "model evaluations per explained row" in result.method
    assert result.additivity_error <= 1e-6
    assert sorted(result.features) == sorted(FEATURES)


def test_one_hot_columns_are_summed_back_to_their_categorical_feature() -> None:
    pipe = credit_pipeline(LogisticRegression(max_iter=3000), TRAIN)
    parts = split_model(pipe, FEATURES)
    assert parts.groups is not None
    assert len(parts.groups["region"]) == 4 and len(parts.groups["employment"]) == 3
    assert all(len(parts.groups[f]) == 1 for f in FEATURES if f not in CATEGORICAL)
    assert parts.n_columns == 4 + 3 + 4
    # For a linear model the grouped value is the sum of coefficient x (x - mean) over the one-hot columns.
    explainer = build_explainer(pipe, feature_names=FEATURES, background=TRAIN)
    row = ROWS.head(1)
    columns = parts.prepare(row)[0]
    background = parts.prepare(TRAIN[FEATURES].sample(200, random_state=0)).mean(axis=0)
    coef = pipe[-1].coef_[0]
    region = sum(coef[i] * (columns[i] - background[i]) for i in parts.groups["region"])
    result = explainer.explain(row)
    assert result.values[0][result.features.index("region")] == pytest.approx(region, abs=1e-9)


def test_log_odds_turn_into_the_reported_probability() -> None:
    pipe = credit_pipeline(LogisticRegression(max_iter=3000), TRAIN)
    result = build_explainer(pipe, feature_names=FEATURES, background=TRAIN).explain(ROWS.head(5))
    probabilities = [to_probability(v, "log-odds") for v in result.model_output]
    np.testing.assert_allclose(probabilities, pipe.predict_proba(ROWS.head(5))[:, 1], atol=1e-12)


def test_explainer_kind_by_estimator() -> None:
    assert explainer_kind(RandomForestClassifier()) == "tree"
    assert explainer_kind(LogisticRegression()) == "linear"
    assert explainer_kind(KNeighborsClassifier()) == "kernel"


MULTICLASS_CASES = [
    (RandomForestClassifier(max_depth=8, n_estimators=30, random_state=0), "tree", "probability"),
    (HistGradientBoostingClassifier(max_iter=20, early_stopping=False, random_state=0), "tree", "log-odds"),
    (LogisticRegression(max_iter=3000), "linear", "log-odds"),
]


def _bands(frame: pd.DataFrame) -> pd.DataFrame:
    """The credit frame with a three-class label (low, medium, high) that depends on the features."""
    ranked = frame["income"].rank(pct=True)
    return frame.assign(label=np.select([ranked < 0.4, ranked < 0.75], ["low", "medium"], "high"))


@pytest.mark.parametrize(
    ("estimator", "kind", "space"), MULTICLASS_CASES, ids=[type(c[0]).__name__ for c in MULTICLASS_CASES]
)
def test_a_multiclass_model_is_explained_per_chosen_class_and_adds_up(
    estimator: object, kind: str, space: str
) -> None:
    train = _bands(TRAIN)
    pipe = credit_pipeline(estimator, train)
    importance = {}
    for position, name in enumerate(pipe.classes_):
        explainer = build_explainer(pipe, feature_names=FEATURES, background=train, output_class=name)
        result = explainer.explain(ROWS.head(60))
        assert (explainer.kind, result.space, explainer.output_class) == (kind, space, position)
        assert result.additivity_error <= 1e-6
        if space == "probability":
            np.testing.assert_allclose(result.model_output, pipe.predict_proba(ROWS.head(60))[:, position])
        importance[name] = result.mean_abs()
    # global importance differs by class: income decides "low" and "high" more than "medium"'s neighbours
    assert importance["low"] != importance["medium"] != importance["high"]
    assert max(importance["low"], key=importance["low"].get) == "income"


def test_a_model_agnostic_explainer_explains_the_chosen_class() -> None:
    train = _bands(TRAIN)
    pipe = credit_pipeline(KNeighborsClassifier(n_neighbors=15), train)
    explainer = build_explainer(
        pipe, feature_names=FEATURES, background=train, kernel_background_rows=10, output_class="high"
    )
    result = explainer.explain(ROWS.head(2))
    high = list(pipe.classes_).index("high")
    assert explainer.kind == "kernel" and result.space == "probability"
    np.testing.assert_allclose(result.model_output, pipe.predict_proba(ROWS.head(2))[:, high])
    assert result.additivity_error <= 1e-6
    # shap's TreeExplainer takes sklearn's gradient boosting for binary classifiers only
    boosted = credit_pipeline(GradientBoostingClassifier(n_estimators=10, random_state=0), train)
    explainer = build_explainer(
        boosted, feature_names=FEATURES, background=train, kernel_background_rows=10, output_class="low"
    )
    assert explainer.kind == "kernel" and explainer.explain(ROWS.head(1)).additivity_error <= 1e-6


def test_multiclass_and_missing_background_are_refused() -> None:
    frame = TRAIN.copy()
    frame["label"] = np.arange(len(frame)) % 3
    pipe = credit_pipeline(LogisticRegression(max_iter=3000), frame)
    with pytest.raises(
        InvalidInput, match="this classifier has 3 classes; choose the class to explain \\(0, 1, 2\\)"
    ):
        build_explainer(pipe, feature_names=FEATURES, background=TRAIN)
    with pytest.raises(InvalidInput, match="'7' is not a class of this model \\(0, 1, 2\\)"):
        build_explainer(pipe, feature_names=FEATURES, background=TRAIN, output_class=7)
    binary = credit_pipeline(LogisticRegression(max_iter=3000), TRAIN)
    with pytest.raises(InvalidInput, match="background sample of its training data; it is empty"):
        build_explainer(binary, feature_names=FEATURES, background=pd.DataFrame())
    with pytest.raises(InvalidInput, match="lacks the model's feature\\(s\\): income"):
        build_explainer(binary, feature_names=FEATURES, background=TRAIN.drop(columns=["income"]))


def test_explaining_runs_on_one_thread() -> None:
    """OpenMP predictors (HistGradientBoosting) wait seconds for their thread pool on a busy server;
    a few rows are explained on one thread instead."""
    from threadpoolctl import ThreadpoolController

    pipe = credit_pipeline(
        HistGradientBoostingClassifier(max_iter=20, early_stopping=False, random_state=0), TRAIN
    )
    explainer = build_explainer(pipe, feature_names=FEATURES, background=TRAIN)
    seen: list[set[int]] = []
    estimator = explainer.parts.estimator
    original = estimator.decision_function

    def recording(rows):  # type: ignore[no-untyped-def]
        seen.append({lib["num_threads"] for lib in ThreadpoolController().info()})
        return original(rows)

    estimator.decision_function = recording
    result = explainer.explain(ROWS.head(1))
    assert seen == [{1}] and result.additivity_error <= 1e-6
