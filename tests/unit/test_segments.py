"""Segment metrics (core.monitoring.segments.measure) against a hand computation on a small case."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.monitoring.performance import wilson_interval
from core.monitoring.segments import measure, newcombe_difference

# Group A: 6 cases, group B: 6 cases, group C: 2 cases (too few at min_group_size=3).
#            A                   B                   C
LABEL = [1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0]
PRED = [1, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0]
GROUP = ["A"] * 6 + ["B"] * 6 + ["C"] * 2


def _measured(min_group_size: int = 3):  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"label": LABEL, "prediction": PRED, "segment": GROUP})
    return measure(
        frame,
        {"segment": "sensitive"},
        "binary_classification",
        min_group_size=min_group_size,
        segment_gap=0.1,
        disparity_limit=0.1,
        n_boot=200,
    )


def _value(groups: pd.DataFrame, group: str, metric: str) -> pd.Series:
    return groups[(groups["group"] == group) & (groups["metric"] == metric)].iloc[0]


def test_rates_and_intervals_equal_a_hand_computation():
    groups = _measured().groups
    # A: labels 1 1 0 0 0 1, predictions 1 0 0 0 1 1 -> errors 2, selected 3, TP 2 of 3 positives,
    # FP 1 of 3 negatives, precision 2 of 3 predicted positives.
    # B: labels 1 1 1 0 0 0, predictions 1 1 0 1 1 0 -> errors 3, selected 4, TP 2 of 3, FP 2 of 3, precision 2 of 4.
    hand = {
        ("A", "error_rate"): (2, 6),
        ("A", "selection_rate"): (3, 6),
        ("A", "recall"): (2, 3),
        ("A", "false_positive_rate"): (1, 3),
        ("A", "precision"): (2, 3),
        ("B", "error_rate"): (3, 6),
        ("B", "selection_rate"): (4, 6),
        ("B", "recall"): (2, 3),
        ("B", "false_positive_rate"): (2, 3),
        ("B", "precision"): (2, 4),
    }
    for (group, metric), (hits, total) in hand.items():
        row = _value(groups, group, metric)
        assert row["count"] == total, (group, metric)
        assert row["value"] == pytest.approx(hits / total), (group, metric)
        lo, hi = wilson_interval(hits, total)
        assert (row["lower"], row["upper"]) == (pytest.approx(lo), pytest.approx(hi)), (group, metric)


def test_disparities_equal_a_hand_computation_over_groups_with_enough_cases():
    disparities = _measured().disparities.set_index("measure")
    # Selection rates A 3/6, B 4/6 (C has too few cases and takes no part).
    assert disparities.at["demographic_parity_difference", "value"] == pytest.approx(4 / 6 - 3 / 6)
    # TPR A 2/3, B 2/3 (difference 0); FPR A 1/3, B 2/3 (difference 1/3): the larger is 1/3.
    assert disparities.at["equalized_odds_difference", "value"] == pytest.approx(1 / 3)
    assert (disparities["groups"] == 2).all()
    for row in disparities.itertuples():
        assert row.lower <= row.value <= row.upper


def test_gap_is_the_error_rate_against_the_rest_with_newcombes_interval():
    gaps = _measured().gaps.set_index("group")
    # B: 3 errors of 6 against the rest (A and C): 2 + 1 errors of 8 (C: label 1, predicted 0).
    diff, lower, upper = newcombe_difference(3, 6, 3, 8)
    assert gaps.at["B", "difference"] == pytest.approx(3 / 6 - 3 / 8) == pytest.approx(diff)
    assert (gaps.at["B", "lower"], gaps.at["B", "upper"]) == (pytest.approx(lower), pytest.approx(upper))
    assert gaps.at["B", "level"] == "warning"  # beyond the 0.1 limit, but 14 cases prove nothing
    assert "C" not in gaps.index


def test_a_group_below_the_minimum_size_has_no_number():
    measured = _measured(min_group_size=3)
    small = measured.groups[measured.groups["group"] == "C"]
    assert (~small["enough"]).all() and small["value"].isna().all() and small["lower"].isna().all()
    assert (small["n"] == 2).all()
    assert "1 group(s) with too few cases" in measured.segments.iloc[0]["note"]
    everyone = _measured(min_group_size=20)
    assert everyone.disparities.empty and everyone.gaps.empty and not everyone.findings


def test_newcombe_interval_matches_the_published_example():
    # Newcombe (1998), Table II example (56/70 vs 48/80): difference 0.2, method 10 interval 0.0524-0.3339.
    diff, lower, upper = newcombe_difference(56, 70, 48, 80)
    assert diff == pytest.approx(0.2)
    assert lower == pytest.approx(0.0524, abs=1e-4) and upper == pytest.approx(0.3339, abs=1e-4)


def test_a_segment_whose_error_rate_grows_is_found_and_the_others_are_not():
    rng = np.random.default_rng(3)
    n = 3000
    channel = rng.choice(["phone", "web", "broker"], n, p=[0.4, 0.4, 0.2])
    label = rng.integers(0, 2, n)
    wrong = rng.random(n) < np.where(channel == "broker", 0.45, 0.15)
    frame = pd.DataFrame(
        {"label": label, "prediction": np.where(wrong, 1 - label, label), "channel": channel}
    )
    found = measure(
        frame,
        {"channel": "feature"},
        "binary_classification",
        min_group_size=30,
        segment_gap=0.1,
        disparity_limit=0.1,
    ).findings
    assert [(f.kind, f.level, f.subject) for f in found] == [("segment", "alert", "channel = broker")]
    assert "Error rate for channel = broker" in found[0].message
    assert not math.isnan(float(found[0].message.split(": ")[1].split("%")[0]))
