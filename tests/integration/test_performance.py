"""Realised performance: metrics against scikit-learn, interval coverage on simulated data,
monthly reports from the registry and the concept-drift verdict."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from core.db.engine import read_session, write_session
from core.monitoring import labelling, performance
from tests.factories import make_world
from tests.feedback_factories import production_model

# Coverage of nominal 95% intervals must land within this distance of 0.95 (seeded simulations).
COVERAGE_TOLERANCE = 0.03


def test_metrics_match_sklearn():
    from sklearn import metrics

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300).astype(float)
    score = np.clip(y * 0.3 + rng.uniform(0, 0.7, 300), 0, 1).round(2)  # rounded: ties in scores
    pred = (score >= 0.5).astype(float)
    found = {r["metric"]: r["value"] for r in performance.classifier_metrics(y, pred, score, n_boot=50)}
    assert found["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred))
    assert found["precision"] == pytest.approx(metrics.precision_score(y, pred))
    assert found["recall"] == pytest.approx(metrics.recall_score(y, pred))
    assert found["f1"] == pytest.approx(metrics.f1_score(y, pred))
    assert found["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, score))
    truth = rng.normal(100, 20, 200)
    guess = truth + rng.normal(0, 5, 200)
    reg = {r["metric"]: r["value"] for r in performance.regressor_metrics(truth, guess, n_boot=50)}
    assert reg["mae"] == pytest.approx(metrics.mean_absolute_error(truth, guess))
    assert reg["rmse"] == pytest.approx(math.sqrt(metrics.mean_squared_error(truth, guess)))


def test_intervals_contain_the_estimate_and_narrow_with_more_labels():
    rng = np.random.default_rng(2)
    widths = []
    for n in (50, 500, 5000):
        y = rng.integers(0, 2, n).astype(float)
        score = np.clip(y * 0.4 + rng.uniform(0, 0.6, n), 0, 1)
        rows = performance.classifier_metrics(y, (score >= 0.5).astype(float), score, n_boot=300)
        for r in rows:
            assert r["lower"] <= r["value"] <= r["upper"], r
        widths.append({r["metric"]: r["upper"] - r["lower"] for r in rows})
    for metric in ("accuracy", "f1", "roc_auc"):
        assert widths[0][metric] > widths[1][metric] > widths[2][metric]


def test_wilson_interval_known_value():
    lo, hi = performance.wilson_interval(8, 10)
    assert (lo, hi) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    assert math.isnan(performance.wilson_interval(0, 0)[0])


def _coverage(hits: list[bool]) -> float:
    return float(np.mean(hits))


def test_wilson_coverage_is_nominal():
    rng = np.random.default_rng(3)
    p, n = 0.82, 150
    hits = []
    for _ in range(4000):
        lo, hi = performance.wilson_interval(int(rng.binomial(n, p)), n)
        hits.append(lo <= p <= hi)
    assert abs(_coverage(hits) - 0.95) <= COVERAGE_TOLERANCE


def test_bootstrap_auc_coverage_is_nominal():
    rng = np.random.default_rng(4)
    shift = 1.2  # two unit normals this far apart: AUC = Phi(shift / sqrt 2)
    true_auc = float(norm.cdf(shift / math.sqrt(2)))
    hits = []
    for _ in range(300):
        y = (rng.uniform(size=300) < 0.4).astype(float)
        score = rng.normal(size=300) + shift * y
        row = next(
            r
            for r in performance.classifier_metrics(
                y, (score > 0).astype(float), score, n_boot=400, seed=int(rng.integers(1e9))
            )
            if r["metric"] == "roc_auc"
        )
        hits.append(row["lower"] <= true_auc <= row["upper"])
    assert abs(_coverage(hits) - 0.95) <= COVERAGE_TOLERANCE


def test_bootstrap_mae_coverage_is_nominal():
    rng = np.random.default_rng(5)
    sigma = 10.0
    true_mae = sigma * math.sqrt(2 / math.pi)
    hits = []
    for _ in range(300):
        truth = rng.normal(500, 100, 250)
        guess = truth + rng.normal(0, sigma, 250)
        row = performance.regressor_metrics(truth, guess, n_boot=400, seed=int(rng.integers(1e9)))[0]
        hits.append(row["lower"] <= true_mae <= row["upper"])
    assert abs(_coverage(hits) - 0.95) <= COVERAGE_TOLERANCE


def test_bootstrap_is_reproducible():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 200).astype(float)
    s = rng.uniform(size=200)
    first = performance.classifier_metrics(y, (s > 0.5).astype(float), s)
    again = performance.classifier_metrics(y, (s > 0.5).astype(float), s)
    assert first == again


def test_judge_levels():
    rows = pd.DataFrame(
        [
            {"metric": "roc_auc", "value": 0.66, "lower": 0.62, "upper": 0.70, "n": 400},
            {"metric": "accuracy", "value": 0.70, "lower": 0.66, "upper": 0.74, "n": 400},
            {"metric": "recall", "value": 0.80, "lower": 0.75, "upper": 0.85, "n": 400},
        ]
    )
    verdicts = {
        v.metric: v
        for v in performance.judge_rows(
            rows, "2024-05", {"roc_auc": 0.8, "accuracy": 0.76, "recall": 0.8}, 0.05
        )
    }
    assert verdicts["roc_auc"].level == "alert" and verdicts["roc_auc"].limit == pytest.approx(0.75)
    assert verdicts["accuracy"].level == "warning"  # estimate below the 0.71 limit, interval reaches it
    assert verdicts["recall"].level == "ok"
    assert "ROC AUC in 2024-05: 0.660 (95% CI 0.620-0.700, n=400)" in verdicts["roc_auc"].message


def test_judge_uses_the_primary_metric_when_validated():
    rows = pd.DataFrame(
        [
            {"metric": "roc_auc", "value": 0.79, "lower": 0.75, "upper": 0.83, "n": 400},
            {"metric": "recall", "value": 0.30, "lower": 0.20, "upper": 0.40, "n": 400},
        ]
    )
    validation = {"roc_auc": 0.8, "recall": 0.6}
    assert [
        v.metric for v in performance.judge_rows(rows, "2024-05", validation, 0.05, primary_metric="AUC")
    ] == ["roc_auc"]
    assert {
        v.metric for v in performance.judge_rows(rows, "2024-05", validation, 0.05, primary_metric="brier")
    } == {"roc_auc", "recall"}


def test_judge_errors_are_worse_when_higher():
    rows = pd.DataFrame([{"metric": "mae", "value": 60.0, "lower": 55.0, "upper": 65.0, "n": 200}])
    (verdict,) = performance.judge_rows(rows, "2024-05", {"mae": 40.0}, 0.1)
    assert verdict.level == "alert" and verdict.limit == pytest.approx(44.0)


def test_recent_window_pools_thin_months_back_to_enough_labels():
    ts = (
        [datetime(2024, 4, 10, tzinfo=UTC)] * 150
        + [datetime(2024, 5, 10, tzinfo=UTC)] * 60
        + [datetime(2024, 6, 10, tzinfo=UTC)] * 50
    )
    labelled = pd.DataFrame({"ts": ts, "prediction": 1.0, "score": 0.9, "label": 1.0})
    rows, period = performance.recent_window(labelled, 100)
    assert period == "2024-05 to 2024-06" and len(rows) == 110
    rows, period = performance.recent_window(labelled, 40)
    assert period == "2024-06" and len(rows) == 50
    assert performance.recent_window(labelled, 1000) is None


def test_classifier_window_pools_back_until_each_class_has_enough_labels():
    # 150 labels in June but only 5 positives: ROC AUC on 5 positives is not judged; May is pooled in.
    june = [datetime(2024, 6, 10, tzinfo=UTC)] * 150
    may = [datetime(2024, 5, 10, tzinfo=UTC)] * 100
    labelled = pd.DataFrame(
        {
            "ts": may + june,
            "prediction": 1.0,
            "score": 0.9,
            "label": [1.0] * 40 + [0.0] * 60 + [1.0] * 5 + [0.0] * 145,
        }
    )
    assert performance.recent_window(labelled, 100)[1] == "2024-06"
    rows, period = performance.recent_window(labelled, 100, min_per_class=30)
    assert period == "2024-05 to 2024-06" and len(rows) == 250
    assert performance.recent_window(labelled, 100, min_per_class=50) is None
    assert performance.judge(labelled.iloc[100:], "binary_classification", {"roc_auc": 0.9}, 0.05) == []


def test_validation_sample_error_widens_the_decision():
    # Realised 0.70 (0.66-0.74, n=400) against a validation accuracy of 0.80 from only 300 cases:
    # beyond the 0.75 limit on the realised interval alone, but not once the validation value's own
    # sampling error is allowed for (the bound rises to 0.70 + 0.04 * sqrt(1 + 400/300) = 0.761).
    rows = pd.DataFrame([{"metric": "accuracy", "value": 0.70, "lower": 0.66, "upper": 0.74, "n": 400}])
    (exact,) = performance.judge_rows(rows, "2024-05", {"accuracy": 0.80}, 0.05)
    (widened,) = performance.judge_rows(rows, "2024-05", {"accuracy": 0.80}, 0.05, validation_n=300)
    assert exact.level == "alert" and exact.bound == pytest.approx(0.74)
    assert widened.level == "warning" and widened.bound == pytest.approx(
        0.70 + 0.04 * math.sqrt(1 + 400 / 300)
    )
    assert "against 0.800 at validation (n=300); limit 0.750" in widened.message
    # A drop far beyond both samples' error stays an alert.
    rows = pd.DataFrame([{"metric": "accuracy", "value": 0.60, "lower": 0.55, "upper": 0.65, "n": 400}])
    assert (
        performance.judge_rows(rows, "2024-05", {"accuracy": 0.80}, 0.05, validation_n=300)[0].level
        == "alert"
    )


def test_false_alert_rate_without_concept_drift_is_nominal():
    """No drift: production and validation draw from the same accuracy. With no tolerance the limit
    is the validation estimate itself, so an alert is a false one; the one-sided 97.5% rule must
    raise it about 2.5% of the time. Ignoring the validation sample's own error (the validation
    value taken as exact) almost doubles that rate."""
    rng = np.random.default_rng(12)
    p, n_v, n_r, reps = 0.8, 750, 200, 20_000
    k_v, k_r = rng.binomial(n_v, p, reps), rng.binomial(n_r, p, reps)
    alerts = {"widened": 0, "exact": 0}
    for kv in np.unique(k_v):  # one call per distinct validation value
        ks = k_r[k_v == kv]
        bounds = np.array([performance.wilson_interval(int(k), n_r) for k in ks])
        rows = pd.DataFrame(
            {"metric": "accuracy", "value": ks / n_r, "lower": bounds[:, 0], "upper": bounds[:, 1], "n": n_r}
        )
        for rule, validation_n in (("widened", n_v), ("exact", None)):
            verdicts = performance.judge_rows(
                rows, "p", {"accuracy": kv / n_v}, 0.0, validation_n=validation_n
            )
            alerts[rule] += sum(v.level == "alert" for v in verdicts)
    assert abs(alerts["widened"] / reps - 0.025) <= 0.007
    assert alerts["exact"] / reps >= 0.04


def test_report_from_registry_counts_campaign_and_pipeline_labels(engine):
    world = make_world(engine)
    end = datetime(2024, 6, 28, 12, tzinfo=UTC)
    model_id, version_id = production_model(engine, world.owner, n=1500, labelled_share=0.3, end=end, days=85)
    with write_session(engine) as s:
        created = labelling.create_campaign(
            s, actor=world.owner, model_id=model_id, size=5, strategy="random", seed=1
        )
    for _ in range(5):
        with read_session(engine) as s:
            case = labelling.next_case(s, campaign_id=created.campaign_id, labeller_id=world.labeller.id)
        with write_session(engine) as s:
            labelling.submit_label(s, actor=world.labeller, item_id=case.item_id, value=1)
    with read_session(engine) as s:
        report = performance.performance_report(s, model_id=model_id, n_boot=200)
    assert report.version_id == version_id and report.validation == {"roc_auc": 0.8, "accuracy": 0.85}
    assert (
        report.n_from_campaigns == 5
        and report.n_labelled == report.n_from_campaigns + report.n_from_pipelines
    )
    assert sorted(report.table["month"].unique()) == ["2024-04", "2024-05", "2024-06"]
    accuracy = report.table[report.table["metric"] == "accuracy"]
    assert accuracy["n"].sum() == report.n_labelled
    assert (accuracy["validation"] == 0.85).all() and accuracy["limit"].tolist() == pytest.approx([0.80] * 3)
    assert report.coverage["labelled"].sum() == report.n_labelled
    assert {v.metric for v in report.verdicts} == {"roc_auc", "accuracy"}


def test_concept_drift_shows_as_alert_verdict(engine):
    world = make_world(engine)
    end = datetime(2024, 6, 28, 12, tzinfo=UTC)
    model_id, _ = production_model(
        engine,
        world.owner,
        n=3000,
        labelled_share=0.3,
        end=end,
        days=40,
        label_accuracy=0.55,
        metrics={"accuracy": 0.85},
    )
    with read_session(engine) as s:
        report = performance.performance_report(s, model_id=model_id, n_boot=200, tolerance=0.05)
    (verdict,) = report.verdicts
    assert verdict.metric == "accuracy" and verdict.level == "alert" and verdict.upper < 0.80


def test_validation_metric_aliases():
    from core.db.models import ModelVersion

    version = ModelVersion(
        model_id=1, version=1, created_by_id=1, metrics={"AUC": 0.8, "f1_score": 0.7, "loss": 0.2}
    )
    assert performance.validation_metrics(version) == {"roc_auc": 0.8, "f1": 0.7}


def test_empty_labels_give_an_empty_table():
    frame = pd.DataFrame(columns=["ts", "prediction", "score", "label", "labelled_by_id"])
    assert performance.monthly_metrics(frame, "binary_classification").empty
    assert performance.judge(frame, "regression", {"mae": 1.0}, 0.1) == []


def test_regression_months(engine):
    world = make_world(engine)
    end = datetime.now(UTC) - timedelta(days=1)
    model_id, _ = production_model(
        engine, world.owner, name="Claim cost", n=600, task="regression", labelled_share=0.5, end=end, days=20
    )
    with read_session(engine) as s:
        report = performance.performance_report(s, model_id=model_id, n_boot=200)
    assert set(report.table["metric"]) == {"mae", "rmse"}
    assert (report.table["lower"] <= report.table["value"]).all()


def test_average_ranks_match_scipy_rankdata():
    from scipy.stats import rankdata

    rng = np.random.default_rng(8)
    values = rng.integers(0, 15, (40, 33)) / 15  # many ties within and across rows
    assert np.allclose(performance._average_ranks(values), rankdata(values, axis=1))


def test_resampled_auc_equals_auc_of_the_resampled_data():
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 60).astype(float)
    score = (rng.integers(0, 12, 60) / 12).round(3)  # ties
    idx = rng.integers(0, 60, size=(25, 60))
    fast = performance._resampled_auc(y, score)(idx)
    direct = [performance.roc_auc(y[i], score[i]) for i in idx]
    assert np.allclose(fast, direct, equal_nan=True)
