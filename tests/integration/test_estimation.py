"""Performance before labels arrive (CBPE): the estimators against hand computations, the
estimate's error on demo-like data, and the warnings when the calibration assumption fails."""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime

import numpy as np
import pytest

from core.db.engine import read_session
from core.monitoring import estimation
from tests.estimation_factories import calibrated_traffic, logged_classifier
from tests.factories import make_world

# The estimate's mean absolute error over labelled months of calibrated demo-like data must stay
# below these. About 300 labels a month make the realised values themselves wander by +-0.02 (one
# standard error), so the estimate cannot be judged closer than that.
ACCURACY_TOLERANCE = 0.03
AUC_TOLERANCE = 0.035


def brute_force_auc(score: list[float]) -> float:
    """Expected ROC AUC by enumerating every ordered pair of distinct cases."""
    concordant = pairs = 0.0
    for i, j in itertools.permutations(range(len(score)), 2):
        weight = score[i] * (1 - score[j])  # i positive, j negative
        pairs += weight
        concordant += weight * (1.0 if score[i] > score[j] else 0.5 if score[i] == score[j] else 0.0)
    return concordant / pairs


def test_expected_confusion_and_metrics_equal_a_hand_computation():
    score = np.array([0.9, 0.6, 0.3, 0.1])
    prediction = np.array([1, 1, 0, 0])
    # predicted positives add p to TP and 1-p to FP; predicted negatives add 1-p to TN and p to FN
    assert estimation.expected_confusion(score, prediction) == {
        "tp": pytest.approx(0.9 + 0.6),
        "fp": pytest.approx(0.1 + 0.4),
        "fn": pytest.approx(0.3 + 0.1),
        "tn": pytest.approx(0.7 + 0.9),
    }
    found = estimation.estimated_metrics(score, prediction)
    assert found["accuracy"] == pytest.approx((1.5 + 1.6) / 4)
    assert found["precision"] == pytest.approx(1.5 / 2.0)
    assert found["recall"] == pytest.approx(1.5 / 1.9)
    assert found["f1"] == pytest.approx(3.0 / 3.9)
    # concordant: .9*.4 + .9*.7 + .9*.9 + .6*.7 + .6*.9 + .3*.9 = 3.03
    # all (positive, negative) pairs: 1.9 * 2.1 - (.09 + .24 + .21 + .09) = 3.36
    assert found["roc_auc"] == pytest.approx(3.03 / 3.36)


def test_expected_auc_with_ties_equals_pair_enumeration():
    score = [0.2, 0.2, 0.5, 0.5, 0.5, 0.8, 0.95, 0.05]
    assert estimation.expected_roc_auc(np.array(score)) == pytest.approx(brute_force_auc(score))
    assert math.isnan(estimation.expected_roc_auc(np.array([0.4])))


def test_estimate_is_the_mean_of_realised_metrics_over_simulated_outcomes():
    rng = np.random.default_rng(3)
    score = rng.beta(2, 5, 400)
    prediction = (score >= 0.3).astype(float)
    labels = rng.uniform(size=(400, score.size)) < score  # 400 worlds drawn from the calibrated scores
    accuracy = (labels == (prediction >= 0.5)).mean(axis=1)
    assert estimation.estimated_metrics(score, prediction)["accuracy"] == pytest.approx(
        accuracy.mean(), abs=0.003
    )


def test_calibration_check_tells_calibrated_from_miscalibrated_scores():
    rng = np.random.default_rng(4)
    p = rng.beta(2, 3, 3000)
    calibrated = estimation.calibration_check(p, rng.uniform(size=p.size) < p)
    assert calibrated.holds and calibrated.ece < 0.03 and calibrated.p_value > 0.01
    overconfident = estimation.calibration_check(p, rng.uniform(size=p.size) < p**2)
    assert not overconfident.holds and overconfident.ece > estimation.MAX_ECE
    assert "NOT calibrated" in overconfident.text


# --- from the registry ---------------------------------------------------------------------------------


def test_estimate_error_on_demo_like_data_is_within_tolerance(engine):
    world = make_world(engine)
    model_id, version_id = logged_classifier(engine, world, calibrated_traffic())
    with read_session(engine) as s:
        report = estimation.estimate_report(s, model_id=model_id)
    assert report.applies and report.version_id == version_id
    assert (
        report.reference_period == "2025-01 to 2025-02"
        and report.calibration is not None
        and report.calibration.holds
    )
    assert report.warnings == []
    errors = report.errors.set_index("metric")
    assert errors.loc["accuracy", "periods"] == 8  # every labelled month after the reference
    assert errors.loc["accuracy", "mean_abs_error"] < ACCURACY_TOLERANCE
    assert errors.loc["roc_auc", "mean_abs_error"] < AUC_TOLERANCE
    # the estimate uses every prediction of a month, labelled or not
    accuracy = report.table[report.table["metric"] == "accuracy"]
    assert accuracy["n"].tolist() == [1000] * 10 and (accuracy["n_labelled"] < 400).all()
    assert estimation.error_text(report.errors)[0].startswith("Accuracy: mean absolute error")


def test_months_without_labels_get_an_estimate(engine):
    world = make_world(engine)
    frame = calibrated_traffic(months=4)
    frame.loc[frame["ts"] >= datetime(2025, 3, 1, tzinfo=UTC), "label"] = np.nan  # labels not arrived yet
    model_id, _ = logged_classifier(engine, world, frame)
    with read_session(engine) as s:
        report = estimation.estimate_report(s, model_id=model_id)
    latest = report.table[(report.table["month"] == "2025-04") & (report.table["metric"] == "roc_auc")].iloc[
        0
    ]
    assert latest["n_labelled"] == 0 and math.isnan(latest["realised"]) and 0.5 < latest["estimated"] < 1


def test_scores_moving_outside_the_reference_are_flagged(engine):
    world = make_world(engine)
    frame = calibrated_traffic(months=4)
    late = frame["ts"] >= datetime(2025, 4, 1, tzinfo=UTC)
    frame.loc[late, "score"] = (0.9 + 0.1 * frame.loc[late, "score"]).round(5)  # all scores above 0.9 now
    frame.loc[late, "prediction"] = 1.0
    model_id, _ = logged_classifier(engine, world, frame)
    with read_session(engine) as s:
        report = estimation.estimate_report(s, model_id=model_id)
    months = report.table.drop_duplicates("month").set_index("month")
    assert (
        not months.loc["2025-04", "assumption_holds"]
        and months.loc["2025-04", "shift"] > estimation.MAX_SCORE_SHIFT
    )
    assert months.loc[["2025-01", "2025-02", "2025-03"], "assumption_holds"].all()
    assert len(report.warnings) == 1
    assert "moved outside the reference in 2025-04" in report.warnings[0]


def test_a_miscalibrated_reference_says_the_assumption_does_not_hold(engine):
    world = make_world(engine)
    frame = calibrated_traffic(months=3, seed=9)
    rng = np.random.default_rng(1)
    has_label = frame["label"].notna()
    # outcomes follow score**2: the model is overconfident
    frame.loc[has_label, "label"] = (
        rng.uniform(size=int(has_label.sum())) < frame.loc[has_label, "score"] ** 2
    ).astype(float)
    model_id, _ = logged_classifier(engine, world, frame)
    with read_session(engine) as s:
        report = estimation.estimate_report(s, model_id=model_id)
    assert report.calibration is not None and not report.calibration.holds
    assert report.warnings[0].startswith("The calibration assumption does not hold")


def test_estimation_applies_to_classifiers_with_probabilities_only(engine):
    world = make_world(engine)
    frame = calibrated_traffic(months=1, per_month=50).drop(columns=["score"])
    frame["prediction"] = np.linspace(100, 200, len(frame))
    model_id, _ = logged_classifier(engine, world, frame, task="regression")
    with read_session(engine) as s:
        report = estimation.estimate_report(s, model_id=model_id)
    assert not report.applies and "classifiers" in report.note and report.warnings == []


def test_steward_performance_json_holds_the_estimate_and_its_error(db_url, monkeypatch):
    from core.cli import app
    from core.config import reset_settings_cache
    from core.db.engine import make_engine
    from tests.cli_auth import TokenRunner

    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    engine = make_engine(db_url)
    world = make_world(engine)
    logged_classifier(engine, world, calibrated_traffic(months=4, per_month=800))
    engine.dispose()
    runner = TokenRunner()
    result = runner.invoke(app, ["performance", "--model", "Churn", "--json"])
    assert result.exit_code == 0, result.output
    estimated = json.loads(result.stdout)["estimated"]
    assert estimated["applies"] and estimated["calibration"]["holds"] and estimated["warnings"] == []
    assert {m["metric"] for m in estimated["months"]} == set(estimation.ESTIMATED_METRICS)
    assert {e["metric"] for e in estimated["error"]} == set(estimation.ESTIMATED_METRICS)
    assert all(isinstance(m["n"], int) for m in estimated["months"])
    text = runner.invoke(app, ["performance", "--model", "Churn"])
    assert text.exit_code == 0 and "Estimated from scores alone (CBPE)" in text.stdout
    assert "Estimate error: Accuracy: mean absolute error" in text.stdout
