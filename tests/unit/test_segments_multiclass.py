"""A multiclass classifier's segments are reported as not measured, never as an MAE of class
positions (its labels and predictions are positions in the version's class list)."""

from __future__ import annotations

import pandas as pd

from core.monitoring.segments import MULTICLASS_NOTE, measure


def test_multiclass_segments_are_not_measured_and_say_why() -> None:
    frame = pd.DataFrame(
        {"label": [0, 1, 2, 2, 1, 0], "prediction": [0, 2, 2, 1, 1, 0], "channel": list("wwwbbb")}
    )
    measured = measure(
        frame,
        {"channel": "feature"},
        "multiclass_classification",
        min_group_size=1,
        segment_gap=0.05,
        disparity_limit=0.8,
    )
    assert measured.segments.to_dict("records") == [
        {"segment": "channel", "source": "feature", "groups": 0, "measured": False, "note": MULTICLASS_NOTE}
    ]
    assert measured.groups.empty and measured.gaps.empty and measured.disparities.empty
    assert measured.findings == []
