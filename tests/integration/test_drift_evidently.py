"""The fast engine's drifted / not-drifted decisions against Evidently's DataDriftPreset on the
same data, with the same tests and thresholds (Evidently picks them by type and size)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.monitoring.drift.engine import compare
from core.monitoring.drift.evidently_report import run_data_drift
from core.monitoring.drift.profile import build_profile
from core.monitoring.drift.report import evidently_on_sample
from core.monitoring.drift.window import WindowAccumulator


def _case(
    n_ref: int, n_cur: int, shift: float, new_category: bool, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(n: int, s: float, new: bool) -> pd.DataFrame:
        levels = ["north", "south", "east"] + (["west"] if new else [])
        return pd.DataFrame(
            {
                "income": rng.lognormal(10 + s, 0.4, n).round(0),
                "age": rng.normal(45 + 10 * s, 12, n).round(1),
                "region": rng.choice(levels, n),
                "segment": rng.integers(0, 4 if not new else 6, n),  # few numeric values: count-based tests
                "channel": rng.choice(["web", "branch"], n, p=[0.6 + s / 2, 0.4 - s / 2]),
            }
        )

    return frame(n_ref, 0.0, False), frame(n_cur, shift, new_category)


CASES = {
    "small, no drift": (400, 300, 0.0, False, 1),
    "small, shifted with a new category": (600, 250, 0.3, True, 2),
    "small reference, large current": (900, 12_000, 0.05, False, 3),
    "large, slight shift": (3000, 2500, 0.04, False, 4),
    "large, shifted with a new category": (5000, 4000, 0.25, True, 5),
    "large reference, small current": (15_000, 400, 0.1, False, 6),
}


@pytest.mark.parametrize("case", list(CASES))
def test_decisions_and_scores_match_evidently(case: str) -> None:
    reference, current = _case(*CASES[case])
    window = WindowAccumulator(build_profile(reference, dict.fromkeys(reference.columns, "feature")))
    window.add(current)
    ours = compare(window)
    kinds = {c.column: c.kind for c in ours.columns}
    assert all(c.computed for c in ours.columns)
    theirs = run_data_drift(reference, current, kinds)
    for result in ours.columns:
        expected = theirs.columns[result.column]
        assert result.test == expected.test, result.column
        assert result.threshold == expected.threshold
        assert result.drifted == expected.drifted, (result.column, result.score, expected.score)
        assert result.score == pytest.approx(expected.score, rel=1e-6, abs=1e-12), result.column
    assert ours.drift_share == pytest.approx(theirs.drift_share)


def test_cases_cover_every_test_evidently_picks_and_both_verdicts() -> None:
    seen = set()
    for case in CASES.values():
        reference, current = _case(*case)
        window = WindowAccumulator(build_profile(reference, dict.fromkeys(reference.columns, "feature")))
        window.add(current)
        seen |= {(c.test, c.drifted) for c in compare(window).columns}
    assert {t for t, _ in seen} == {"ks", "chisquare", "z", "wasserstein", "jensenshannon"}
    assert {d for _, d in seen} == {True, False}


def test_screening_keeps_evidently_from_failing_on_an_empty_column() -> None:
    """Evidently raises on an all-missing column (evidently#1480); the sampled report screens it out."""
    reference, current = _case(500, 300, 0.2, False, 7)
    current["age"] = np.nan
    with pytest.raises(ValueError, match="empty column 'age'"):
        run_data_drift(reference, current, {"income": "numeric", "age": "numeric"})
    report = evidently_on_sample(reference, dict.fromkeys(reference.columns, "feature"), current)
    assert "age" not in report.drift.columns
    assert set(report.drift.columns) == {"income", "region", "segment", "channel"}
    assert report.params()["evidently"]["agreeing_columns"] == 4


def test_markup_in_a_category_cannot_escape_the_report_script(tmp_path) -> None:  # type: ignore[no-untyped-def]
    reference = pd.DataFrame({"tag": ["a", "b"] * 100})
    current = pd.DataFrame({"tag": ["a", "</script><script>alert(1)</script>"] * 50})
    drift = run_data_drift(reference, current, {"tag": "categorical"})
    path = tmp_path / "report.html"
    drift.save_html(path)
    html = path.read_text(encoding="utf-8")
    assert "</script><script>alert(1)" not in html
    assert drift.columns["tag"].drifted is True
