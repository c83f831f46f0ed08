"""Segment metrics of a multiclass classifier (core.monitoring.segments.measure) against a hand
computation and sklearn: labels and predictions are positions in the version's class list, and
every per-class number is reported by class name, never by position."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

from core.errors import InvalidInput
from core.monitoring.performance import wilson_interval
from core.monitoring.segments import measure

CLASSES = ["low", "medium", "high"]
# Group A: 6 cases, group B: 6 cases, group C: 2 cases (too few at min_group_size=3).
#          A                   B                   C
LABEL = [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 0, 1]
PRED = [0, 0, 1, 2, 2, 2, 0, 1, 1, 0, 0, 2, 0, 1]
GROUP = ["A"] * 6 + ["B"] * 6 + ["C"] * 2


def _measured(min_group_size: int = 3, **kw):  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"label": LABEL, "prediction": PRED, "segment": GROUP})
    return measure(
        frame,
        {"segment": "sensitive"},
        "multiclass_classification",
        min_group_size=min_group_size,
        segment_gap=0.1,
        disparity_limit=0.1,
        n_boot=300,
        classes=CLASSES,
        **kw,
    )


def _row(groups: pd.DataFrame, group: str, metric: str, class_name: str | None = None) -> pd.Series:
    rows = groups[(groups["group"] == group) & (groups["metric"] == metric)]
    rows = rows[rows["class"].isna()] if class_name is None else rows[rows["class"] == class_name]
    assert len(rows) == 1, (group, metric, class_name)
    return rows.iloc[0]


def test_group_metrics_equal_a_hand_computation_and_sklearn():
    groups = _measured().groups
    # A: 5 of 6 right; class recalls low 2/2, medium 1/2, high 2/2; predicted low 2, medium 1, high 3.
    # B: 3 of 6 right; class recalls low 1/2, medium 1/2, high 1/2; predicted low 3, medium 2, high 1.
    hand = {
        ("A", "accuracy", None): (5, 6),
        ("A", "class_recall", "low"): (2, 2),
        ("A", "class_recall", "medium"): (1, 2),
        ("A", "class_recall", "high"): (2, 2),
        ("A", "class_selection_rate", "low"): (2, 6),
        ("A", "class_selection_rate", "medium"): (1, 6),
        ("A", "class_selection_rate", "high"): (3, 6),
        ("B", "accuracy", None): (3, 6),
        ("B", "class_recall", "low"): (1, 2),
        ("B", "class_recall", "high"): (1, 2),
        ("B", "class_selection_rate", "low"): (3, 6),
        ("B", "class_selection_rate", "high"): (1, 6),
    }
    for (group, metric, class_name), (hits, total) in hand.items():
        row = _row(groups, group, metric, class_name)
        assert row["count"] == total and row["method"] == "Wilson", (group, metric, class_name)
        assert row["value"] == pytest.approx(hits / total), (group, metric, class_name)
        lo, hi = wilson_interval(hits, total)
        assert (row["lower"], row["upper"]) == (pytest.approx(lo), pytest.approx(hi))
    y, pred = np.array(LABEL), np.array(PRED)
    for group, rows in (("A", slice(0, 6)), ("B", slice(6, 12))):
        assert _row(groups, group, "accuracy")["value"] == pytest.approx(accuracy_score(y[rows], pred[rows]))
        macro_recall = _row(groups, group, "recall_macro")
        assert macro_recall["value"] == pytest.approx(recall_score(y[rows], pred[rows], average="macro"))
        assert macro_recall["method"] == "bootstrap"
        assert macro_recall["lower"] <= macro_recall["value"] <= macro_recall["upper"]
        macro_f1 = _row(groups, group, "f1_macro")
        assert macro_f1["value"] == pytest.approx(f1_score(y[rows], pred[rows], average="macro"))
        assert macro_f1["lower"] <= macro_f1["value"] <= macro_f1["upper"]
    # Every per-class row names its class; none is a position.
    per_class = groups[groups["metric"].isin(["class_recall", "class_selection_rate"])]
    assert set(per_class["class"]) == set(CLASSES)


def test_disparities_name_the_class_and_equal_a_hand_computation():
    measured = _measured()
    disparities = measured.disparities.set_index("measure")
    assert set(disparities.index) == {
        "accuracy_difference",
        "predicted_class_rate_difference",
        "class_recall_difference",
    }
    assert disparities.at["accuracy_difference", "value"] == pytest.approx(5 / 6 - 3 / 6)
    assert disparities.at["accuracy_difference", "class"] is None
    # Recall differences: low 1 - 1/2, medium 0, high 1 - 1/2: the largest is 0.5, first for "low".
    assert disparities.at["class_recall_difference", "value"] == pytest.approx(0.5)
    assert disparities.at["class_recall_difference", "class"] == "low"
    # Predicted shares: low 2/6 vs 3/6, medium 1/6 vs 2/6, high 3/6 vs 1/6: largest 2/6, for "high".
    assert disparities.at["predicted_class_rate_difference", "value"] == pytest.approx(2 / 6)
    assert disparities.at["predicted_class_rate_difference", "class"] == "high"
    assert (disparities["groups"] == 2).all()  # C has too few cases and takes no part
    for row in measured.disparities.to_dict("records"):
        assert row["lower"] <= row["value"] <= row["upper"]
    # The gap of each group's error rate against the rest is measured as for a binary classifier.
    gaps = measured.gaps.set_index("group")
    assert gaps.at["B", "value"] == pytest.approx(3 / 6) and gaps.at["B", "rest"] == pytest.approx(1 / 8)
    assert "C" not in gaps.index


def test_a_group_below_the_minimum_size_has_no_number():
    measured = _measured(min_group_size=3)
    small = measured.groups[measured.groups["group"] == "C"]
    assert not small.empty and (~small["enough"]).all()
    assert small["value"].isna().all() and small["lower"].isna().all() and (small["n"] == 2).all()
    assert "1 group(s) with too few cases" in measured.segments.iloc[0]["note"]
    everyone = _measured(min_group_size=20)
    assert everyone.disparities.empty and everyone.gaps.empty and not everyone.findings


def test_a_segment_whose_errors_grow_and_a_biased_attribute_are_found():
    rng = np.random.default_rng(5)
    n = 3000
    channel = rng.choice(["phone", "web", "broker"], n, p=[0.4, 0.4, 0.2])
    label = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    wrong = rng.random(n) < np.where(channel == "broker", 0.45, 0.15)
    prediction = np.where(wrong, (label + rng.integers(1, 3, n)) % 3, label)
    frame = pd.DataFrame({"label": label, "prediction": prediction, "channel": channel})
    found = measure(
        frame,
        {"channel": "sensitive"},
        "multiclass_classification",
        min_group_size=30,
        segment_gap=0.1,
        disparity_limit=0.1,
        classes=CLASSES,
    ).findings
    assert [(f.kind, f.level, f.subject) for f in found] == [
        ("segment", "alert", "channel = broker"),
        ("fairness", "alert", "channel"),
    ]
    assert "Error rate for channel = broker" in found[0].message
    assert (
        "accuracy difference" in found[1].message and "per-class recall difference (class" in found[1].message
    )
    # The same predictions with no group erring more: nothing found.
    fair = frame.assign(channel=rng.choice(["phone", "web", "broker"], n, p=[0.4, 0.4, 0.2]))
    fair["prediction"] = np.where(rng.random(n) < 0.2, (label + 1) % 3, label)
    assert not measure(
        fair,
        {"channel": "sensitive"},
        "multiclass_classification",
        min_group_size=30,
        segment_gap=0.1,
        disparity_limit=0.1,
        classes=CLASSES,
    ).findings


def test_a_logged_value_that_is_not_a_class_position_is_refused_by_name():
    frame = pd.DataFrame({"label": [0, 1, 2.5], "prediction": [0, 1, 2], "segment": ["a", "b", "a"]})
    with pytest.raises(
        InvalidInput, match=r"1 logged label\(s\) of this multiclass classifier are not class"
    ):
        measure(
            frame,
            {"segment": "feature"},
            "multiclass_classification",
            min_group_size=1,
            segment_gap=0.1,
            disparity_limit=0.1,
            classes=CLASSES,
        )
