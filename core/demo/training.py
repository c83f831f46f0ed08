"""Train the demo's scikit-learn models on generated data and write their files.

Every version is a ``Pipeline([("prep", ColumnTransformer), ("model", estimator)])``: the
categorical (string) columns are one-hot encoded (dense), the numeric columns are passed
through, or standardised for estimators that need scaled inputs (linear classifiers,
neural network, SVM, k-NN). Metrics are computed on an out-of-time hold-out: the latest
25% of the generated rows by date.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.demo.catalogue import ModelPlan, VersionPlan
from core.demo.worlds import World, draw_labels, sample_inputs

LABEL = "label"
TRAIN_SHARE = 0.75
TRAINING_WINDOW_DAYS = 395  # a version learns from about 13 months before it was built
TRAINING_GAP_DAYS = 5


@dataclass(frozen=True)
class EstimatorKind:
    scaled: bool  # standardise numeric inputs first
    fixed: tuple[tuple[str, Any], ...] = ()  # constructor arguments every version uses


ESTIMATORS: dict[str, EstimatorKind] = {
    "logreg": EstimatorKind(True, (("max_iter", 2000),)),
    "gb_clf": EstimatorKind(False),
    "hgb_clf": EstimatorKind(False, (("early_stopping", False),)),
    "rf_clf": EstimatorKind(False, (("n_jobs", 1),)),
    "mlp_clf": EstimatorKind(True, (("max_iter", 300),)),
    "svc": EstimatorKind(True),  # wrapped in CalibratedClassifierCV for probabilities
    "knn_clf": EstimatorKind(True),
    "gb_reg": EstimatorKind(False),
    "hgb_reg": EstimatorKind(False, (("early_stopping", False),)),
    "rf_reg": EstimatorKind(False, (("n_jobs", 1),)),
    "ridge": EstimatorKind(False),
    "linreg": EstimatorKind(False),
}


def estimator_class(kind: str) -> Any:
    """The scikit-learn class of an ``ESTIMATORS`` kind (scikit-learn loads when a demo is built)."""
    from sklearn import ensemble, linear_model, neighbors, neural_network, svm

    return {
        "logreg": linear_model.LogisticRegression,
        "gb_clf": ensemble.GradientBoostingClassifier,
        "hgb_clf": ensemble.HistGradientBoostingClassifier,
        "rf_clf": ensemble.RandomForestClassifier,
        "mlp_clf": neural_network.MLPClassifier,
        "svc": svm.SVC,
        "knn_clf": neighbors.KNeighborsClassifier,
        "gb_reg": ensemble.GradientBoostingRegressor,
        "hgb_reg": ensemble.HistGradientBoostingRegressor,
        "rf_reg": ensemble.RandomForestRegressor,
        "ridge": linear_model.Ridge,
        "linreg": linear_model.LinearRegression,
    }[kind]


@dataclass
class TrainedVersion:
    pipeline: Any
    features: list[str]
    train: pd.DataFrame  # features + label
    evaluation: pd.DataFrame
    train_dates: tuple[date, date]
    eval_dates: tuple[date, date]
    metrics: dict[str, float]
    params: dict[str, Any]


def ramp(days_ago: np.ndarray, over_days: int | None) -> np.ndarray:
    """0 before the last ``over_days`` days, rising linearly to 1 at today (drift schedules)."""
    days_ago = np.asarray(days_ago, dtype=float)
    if not over_days:
        return np.zeros_like(days_ago)
    return np.clip((over_days - days_ago) / over_days, 0.0, 1.0)


def version_features(world: World, version: VersionPlan) -> list[str]:
    chosen = version.features or tuple(world.feature_names)
    return [name for name in world.feature_names if name in chosen]


def make_pipeline(
    world: World, features: list[str], kind: str, params: dict[str, Any], random_state: int
) -> Any:
    """The unfitted Pipeline for one version."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    spec = ESTIMATORS[kind]
    cls = estimator_class(kind)
    kwargs = {**dict(spec.fixed), **{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}}
    if "random_state" in cls().get_params():
        kwargs["random_state"] = random_state
    estimator = cls(**kwargs)
    if kind == "svc":
        from sklearn.calibration import CalibratedClassifierCV

        # SVC(probability=True) is deprecated since scikit-learn 1.9; this is its replacement.
        estimator = CalibratedClassifierCV(estimator, ensemble=False, cv=5)
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), world.categorical(features)),
            ("num", StandardScaler() if spec.scaled else "passthrough", world.numeric(features)),
        ],
        verbose_feature_names_out=False,
    )
    return Pipeline([("prep", prep), ("model", estimator)])


# Columns that are a calendar attribute of the request's timestamp rather than a random draw.
CALENDAR_COLUMNS = {"hour": "hour", "login_hour": "hour", "week_of_year": "week"}
# Requests by hour of day (UTC): quiet at night, busy in office hours and the evening.
HOUR_WEIGHTS = np.array([1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 8, 8, 8, 7, 7, 7, 6, 5, 4, 3, 2], dtype=float)


def seconds_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random times of day (seconds after midnight) following ``HOUR_WEIGHTS``."""
    hours = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    return hours * 3600 + rng.integers(0, 3600, n)


def generate_rows(
    world: World,
    plan: ModelPlan,
    rng: np.random.Generator,
    days_ago: np.ndarray,
    *,
    timestamps: pd.DatetimeIndex,
    segment: bool = True,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Inputs and realised labels for rows dated ``days_ago`` days before today, with the model's drift.

    Calendar columns (hour, week, month) are taken from ``timestamps``. ``segment=False`` leaves
    out the segment drift: it is what production meets after a version was built (a training or
    evaluation set does not carry it, so every version's evidence stays what its story says).
    """
    drift = ramp(days_ago, plan.covariate_drift_days)
    concept = ramp(days_ago, plan.concept_drift_days)
    inputs = sample_inputs(world, rng, drift)
    calendar = {
        "hour": timestamps.hour.to_numpy(dtype=np.int64),
        "week": np.minimum(timestamps.isocalendar().week.to_numpy(dtype=np.int64), 52),
    }
    for column, part in CALENDAR_COLUMNS.items():
        if column in inputs.columns:
            inputs[column] = calendar[part]
    labels = draw_labels(world, rng, inputs, concept)
    if segment and plan.segment_drift is not None:
        labels = segment_drift(plan.segment_drift, inputs, labels, days_ago, rng)
    return inputs, labels


SEGMENT_FLIP = 0.9  # share of the drifting group's outcomes reversed once its drift is complete


def segment_drift(
    drift: tuple[str, str, int],
    inputs: pd.DataFrame,
    labels: np.ndarray,
    days_ago: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Reverse a share of one group's outcomes, ramping up over the last N days: the model's error
    rate grows in that group only (binary outcomes)."""
    column, group, days = drift
    share = SEGMENT_FLIP * ramp(days_ago, days) * (inputs[column].to_numpy() == group)
    flip = rng.random(len(labels)) < share
    return np.where(flip, 1 - labels, labels)


def train_version(
    world: World, plan: ModelPlan, version: VersionPlan, *, today: date, rng: np.random.Generator
) -> TrainedVersion:
    """Generate the version's data window, fit the pipeline, score the out-of-time hold-out."""
    n = version.n_rows
    days_ago = np.sort(
        rng.integers(version.created + TRAINING_GAP_DAYS, version.created + TRAINING_WINDOW_DAYS, size=n)
    )[::-1]
    moments = (
        pd.Timestamp(today, tz="UTC")
        - pd.to_timedelta(days_ago, unit="D")
        + pd.to_timedelta(seconds_of_day(rng, n), unit="s")
    )
    inputs, labels = generate_rows(
        world, plan, rng, days_ago, timestamps=pd.DatetimeIndex(moments), segment=False
    )
    features = version_features(world, version)
    frame = inputs[features].copy()
    frame[LABEL] = labels
    cut = int(n * TRAIN_SHARE)  # rows are oldest first: the last quarter is the out-of-time hold-out
    train, evaluation = frame.iloc[:cut].reset_index(drop=True), frame.iloc[cut:].reset_index(drop=True)
    random_state = int(rng.integers(0, 2**31 - 1))
    pipeline = make_pipeline(world, features, version.estimator, version.params, random_state)
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # The small MLPs stop at max_iter before the optimiser's tolerance; that is intended.
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        pipeline.fit(train[features], train[LABEL])
    metrics = evaluate(pipeline, world.task, evaluation[features], evaluation[LABEL].to_numpy())
    estimator = pipeline.named_steps["model"]
    estimator = getattr(estimator, "estimator", estimator)  # the SVC inside its calibration wrapper
    params = {"estimator": type(estimator).__name__, **version.params}
    if "random_state" in estimator.get_params():
        params["random_state"] = random_state
    dates = [today - timedelta(days=int(d)) for d in days_ago]
    return TrainedVersion(
        pipeline=pipeline,
        features=features,
        train=train,
        evaluation=evaluation,
        train_dates=(dates[0], dates[cut - 1]),
        eval_dates=(dates[cut], dates[-1]),
        metrics=metrics,
        params=params,
    )


def predict(pipeline: Any, task: str, inputs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """(prediction, score): class 0/1 at score >= 0.5 and P(class 1) for classifiers; value and None for regressors."""
    if task == "binary_classification":
        score = pipeline.predict_proba(inputs)[:, 1]
        return (score >= 0.5).astype(np.int64), score
    return pipeline.predict(inputs), None


def evaluate(pipeline: Any, task: str, inputs: pd.DataFrame, labels: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as m

    prediction, score = predict(pipeline, task, inputs)
    if task == "binary_classification":
        assert score is not None
        values = {
            "roc_auc": m.roc_auc_score(labels, score),
            "accuracy": m.accuracy_score(labels, prediction),
            "precision": m.precision_score(labels, prediction, zero_division=0),
            "recall": m.recall_score(labels, prediction, zero_division=0),
            "f1": m.f1_score(labels, prediction, zero_division=0),
            "brier_score": m.brier_score_loss(labels, score),
            "log_loss": m.log_loss(labels, np.clip(score, 1e-6, 1 - 1e-6)),
            "positive_rate": float(np.mean(labels)),
        }
    else:
        values = {
            "mae": m.mean_absolute_error(labels, prediction),
            "rmse": float(np.sqrt(m.mean_squared_error(labels, prediction))),
            "r2": m.r2_score(labels, prediction),
        }
    return {k: round(float(v), 4) for k, v in values.items()}


def write_files(trained: TrainedVersion, directory: Path) -> dict[str, Path]:
    """model.skops, training_sample.parquet and evaluation_sample.parquet in ``directory``.

    The model is saved with skops, the format Steward loads without running code from the file
    (core.registry.artifacts), so the demo exercises the safe path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "model": directory / "model.skops",
        "training": directory / "training_sample.parquet",
        "evaluation": directory / "evaluation_sample.parquet",
    }
    paths["model"].write_bytes(_canonical_skops(trained.pipeline))
    trained.train.to_parquet(paths["training"], index=False)
    trained.evaluation.to_parquet(paths["evaluation"], index=False)
    return paths


def _canonical_skops(pipeline: Any) -> bytes:
    """The pipeline as a reproducible skops file (a zip). skops names objects and array files after
    their memory addresses (``id()``) and stamps the current time on each entry, so two builds of
    the same model would differ in bytes and sha256. The demo must build the same files every
    time, so the addresses are renumbered in order of appearance (consistently, so shared
    objects stay shared) and every entry is dated 1980-01-01.

    The state is taken with skops's own ``get_state`` (what ``skops.io.dumps`` does) and written
    once as compact JSON: ``skops.io.dumps`` writes it indented, which Python's JSON encoder can
    only do in pure Python, and that took about half of the demo's CPU time."""
    import io
    import json
    import zipfile

    import skops
    import skops.io  # registers skops's state functions
    from skops.io._utils import SaveContext, get_state  # noqa: PLC2701 (what skops.io.dumps runs)

    arrays = io.BytesIO()
    with zipfile.ZipFile(arrays, "w") as scratch:
        context = SaveContext(zip_file=scratch)
        schema = get_state(pipeline, context)
        context.clear_memo()
        schema["protocol"] = context.protocol
        schema["_skops_version"] = skops.__version__
    numbers: dict[int, int] = {}

    def renumber(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    out[key] = numbers.setdefault(value, len(numbers) + 1)
                elif key == "file" and isinstance(value, str) and value.endswith(".npy"):
                    out[key] = f"{numbers.setdefault(int(value[:-4]), len(numbers) + 1)}.npy"
                else:
                    out[key] = renumber(value)
            return out
        if isinstance(node, list | tuple):  # the state is not yet JSON: it may hold tuples
            return [renumber(v) for v in node]
        return node

    renumbered = renumber(schema)
    entries = {"schema.json": json.dumps(renumbered, separators=(",", ":")).encode()}
    with zipfile.ZipFile(arrays) as source:
        for name in source.namelist():
            if name.endswith(".npy"):
                entries[f"{numbers[int(name[:-4])]}.npy"] = source.read(name)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, entries[name])
    return out.getvalue()


def schema_of(frame: pd.DataFrame) -> dict[str, str]:
    """Column -> dtype, with 'string' for text columns."""
    return {c: ("string" if frame[c].dtype == object else str(frame[c].dtype)) for c in frame.columns}
