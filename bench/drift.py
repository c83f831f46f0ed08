"""Drift benchmark: Evidently's DataDriftPreset vs Steward's fast engine on the same data.

1M rows x 30 columns (20 numeric, 10 categorical; 5 numeric and 3 categorical columns
drifted, and 4 numeric columns shifted to sit within 0.0005 of the 0.1 threshold), reference
and current of the same size, then 10M current rows streamed in chunks through the fast engine
only. Prints, per engine: wall and CPU seconds, and peak extra memory (resident set size
sampled every 5 ms, above what the process held before the step; for the fast engine also
Python's tracemalloc peak).

Two figures for the fast engine, because a user waits for one or the other: *cached*, the
comparison against the reference profile stored with the version (what a scheduled drift run
does), and *uncached*, building that profile from the 1M reference rows first (once per
version). Both are compared with Evidently's DataDriftPreset, which always starts from rows.

Agreement: every column's decision against the exact test (scipy's Wasserstein distance on
the raw values, normed by the reference's std; Jensen-Shannon on exact counts), with the
largest score difference checked against a stated tolerance (1e-3), near-threshold columns
included; and against Evidently's decisions.

Goals (issue 17 §5): at 1M x 30, the cached engine <= 1 s CPU and >= 150x faster than the
preset; decisions equal the exact test's on every column; 10M rows streamed in chunks under
1 GB extra memory.

    .venv/bin/python bench/drift.py [--rows 1000000] [--stream-rows 10000000] [--skip-evidently]

Evidently takes minutes at 1M rows; run it in the background. Wall time on a shared machine
depends on what else runs, so CPU seconds and the load average are printed as well.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.monitoring.drift.engine import DriftOutcome, RawValues, compare  # noqa: E402
from core.monitoring.drift.profile import ReferenceProfile, build_profile  # noqa: E402
from core.monitoring.drift.window import WindowAccumulator  # noqa: E402

NUMERIC, CATEGORICAL = 20, 10
DRIFTED_NUMERIC, DRIFTED_CATEGORICAL = 5, 3
# The last numeric columns: normal(0, 1) against normal(shift, 1), a normed Wasserstein distance
# of about ``shift``: two just below the 0.1 threshold, two just above.
NEAR_THRESHOLD_SHIFTS = (0.0995, 0.0999, 0.1001, 0.1005)
SCORE_TOLERANCE = 1e-3
CPU_GOAL_S, SPEEDUP_GOAL = 1.0, 150
CHUNK_ROWS = 500_000
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


class PeakRss:
    """Samples the resident set size in a thread; ``extra`` is the peak above the start."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval, self.start, self.peak = interval, 0, 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakRss:
        gc.collect()
        self.start = self.peak = rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(self.interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def frame(rows: int, seed: int, *, drifted: bool) -> pd.DataFrame:
    """Synthetic inputs: 20 numeric columns of several shapes, 10 text categories of 3-12 levels."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    near_first = NUMERIC - len(NEAR_THRESHOLD_SHIFTS)
    for i in range(NUMERIC):
        shift = 0.3 if drifted and i < DRIFTED_NUMERIC else 0.0
        kind = i % 4
        if i >= near_first:
            columns[f"num_{i}"] = rng.normal(
                NEAR_THRESHOLD_SHIFTS[i - near_first] if drifted else 0.0, 1, rows
            )
        elif kind == 0:
            columns[f"num_{i}"] = rng.normal(10 + shift * 2, 2, rows)
        elif kind == 1:
            columns[f"num_{i}"] = rng.lognormal(3 + shift, 0.5, rows)
        elif kind == 2:
            columns[f"num_{i}"] = rng.exponential(5 * (1 + shift), rows)
        else:
            columns[f"num_{i}"] = rng.integers(0, 100 + int(shift * 100), rows).astype(float)
    for j in range(CATEGORICAL):
        levels = np.array([f"level_{j}_{k}" for k in range(3 + j)], dtype=object)
        weights = np.linspace(1, 2, levels.size)
        if drifted and j < DRIFTED_CATEGORICAL:
            weights = weights[::-1] ** 2
        columns[f"cat_{j}"] = levels[rng.choice(levels.size, rows, p=weights / weights.sum())]
    return pd.DataFrame(columns)


def measure(step: Callable[[], Any], *, trace: bool = False) -> tuple[Any, dict[str, float]]:
    if trace:
        tracemalloc.start()
    with PeakRss() as memory:
        wall, cpu = time.perf_counter(), time.process_time()
        result = step()
        figures = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    figures["peak_extra_rss_mb"] = memory.extra_mb
    if trace:
        figures["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, figures


ENGINE_TIME: dict[str, float] = {}


def fast_engine(
    profile: ReferenceProfile, chunks: Iterator[pd.DataFrame], raw_values: RawValues | None = None
) -> DriftOutcome:
    """Bin every chunk, then compare; ``ENGINE_TIME`` keeps the engine's own wall and CPU seconds
    (without the time spent producing the chunks). ``raw_values``: the second pass for a column
    whose binned distance is too close to the threshold (included in the time)."""
    window = WindowAccumulator(profile)
    wall = cpu = 0.0
    for chunk in chunks:
        w, c = time.perf_counter(), time.process_time()
        window.add(chunk)
        wall, cpu = wall + time.perf_counter() - w, cpu + time.process_time() - c
    w, c = time.perf_counter(), time.process_time()
    outcome = compare(window, raw_values)
    ENGINE_TIME.update(
        engine_wall_s=wall + time.perf_counter() - w, engine_cpu_s=cpu + time.process_time() - c
    )
    return outcome


def evidently_preset(reference: pd.DataFrame, current: pd.DataFrame) -> Any:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=[c for c in reference if c.startswith("num_")],
        categorical_columns=[c for c in reference if c.startswith("cat_")],
    )
    return Report([DataDriftPreset()], include_tests=True).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )


def exact_scores(reference: pd.DataFrame, current: pd.DataFrame, outcome: DriftOutcome) -> dict[str, float]:
    """Each computed column's score by the exact test the engine chose, from the raw values."""
    from scipy.spatial import distance
    from scipy.stats import wasserstein_distance

    exact: dict[str, float] = {}
    for c in outcome.columns:
        if not c.computed:
            continue
        ref, cur = reference[c.column], current[c.column]
        if c.test == "wasserstein":
            exact[c.column] = float(wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001))
        elif c.test == "jensenshannon":
            keys = sorted(set(ref.unique()) | set(cur.unique()))
            p = ref.value_counts().reindex(keys, fill_value=0).to_numpy(float)
            q = cur.value_counts().reindex(keys, fill_value=0).to_numpy(float)
            exact[c.column] = float(distance.jensenshannon(p / p.sum(), q / q.sum()))
    return exact


def exact_agreement(outcome: DriftOutcome, exact: dict[str, float]) -> dict[str, Any]:
    computed = [c for c in outcome.columns if c.column in exact]
    differences = {c.column: abs(float(c.score) - exact[c.column]) for c in computed}  # type: ignore[arg-type]
    near = [c for c in computed if abs(exact[c.column] - 0.1) < 0.001]
    return {
        "columns": len(computed),
        "same_decision": sum((exact[c.column] >= 0.1) == c.drifted for c in computed),
        "near_threshold_columns": len(near),
        "near_threshold_same_decision": sum((exact[c.column] >= 0.1) == c.drifted for c in near),
        "refined_exactly": sorted(c.column for c in computed if "refined" in c.stats),
        "max_score_difference": max(differences.values()),
        "tolerance": SCORE_TOLERANCE,
        "within_tolerance": max(differences.values()) <= SCORE_TOLERANCE,
        "largest_differences": dict(sorted(differences.items(), key=lambda kv: -kv[1])[:3]),
    }


def agreement(outcome: DriftOutcome, snapshot: Any) -> dict[str, Any]:
    from core.monitoring.drift.evidently_report import _parse

    theirs = _parse(snapshot).columns
    same = [c.column for c in outcome.columns if c.computed and theirs[c.column].drifted == c.drifted]
    differ = {
        c.column: (c.score, theirs[c.column].score)
        for c in outcome.columns
        if c.computed and theirs[c.column].drifted != c.drifted
    }
    gaps = [abs(c.score - theirs[c.column].score) for c in outcome.columns if c.computed]  # type: ignore[operator]
    return {
        "columns": len(theirs),
        "same_decision": len(same),
        "different_decisions_ours_theirs": differ,
        "max_score_difference": max(gaps),
        "evidently_drift_share": _parse(snapshot).drift_share,
        "fast_drift_share": outcome.drift_share,
    }


def streamed(rows: int, seed: int) -> Iterator[pd.DataFrame]:
    """``rows`` current rows, generated one chunk at a time (as the log is read in chunks)."""
    for start in range(0, rows, CHUNK_ROWS):
        yield frame(min(CHUNK_ROWS, rows - start), seed + start, drifted=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stream-rows", type=int, default=10_000_000)
    parser.add_argument("--skip-evidently", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "rows": args.rows,
        "columns": NUMERIC + CATEGORICAL,
        "load_average_start": os.getloadavg(),
    }

    profile = same_data(args, report)
    gc.collect()  # the 1M frames are gone: the streamed run starts from a clean baseline
    if args.stream_rows:
        big, report["fast_engine_streamed"] = measure(
            lambda: fast_engine(profile, streamed(args.stream_rows, 3))
        )
        report["fast_engine_streamed"].update(
            rows=args.stream_rows,
            chunk_rows=CHUNK_ROWS,
            **ENGINE_TIME,
            note="wall_s/cpu_s include generating each chunk (the stand-in for "
            "reading the log); engine_* count the engine alone",
        )
        report["fast_engine_streamed"]["drifted_columns"] = len([c for c in big.columns if c.drifted])
    report["load_average_end"] = os.getloadavg()
    print(json.dumps(report, indent=2, default=lambda v: round(v, 3) if isinstance(v, float) else str(v)))
    _verdict(report)


def same_data(args: argparse.Namespace, report: dict[str, Any]) -> ReferenceProfile:
    """Both engines on the same reference and current frames; returns the reference profile."""
    reference = frame(args.rows, 1, drifted=False)
    current = frame(args.rows, 2, drifted=True)
    roles = dict.fromkeys(reference.columns, "feature")
    profile, report["profile_build_once_per_version"] = measure(lambda: build_profile(reference, roles))
    compare(_warm(profile, current))  # imports scipy.stats once, outside the timing

    def raw(column: str) -> tuple[np.ndarray, np.ndarray]:
        return reference[column].to_numpy(float), current[column].to_numpy(float)

    outcome, report["fast_engine_1m"] = measure(
        lambda: fast_engine(profile, iter([current]), raw), trace=True
    )
    report["fast_engine_1m"].update(ENGINE_TIME)
    report["fast_engine_1m"]["drifted_columns"] = sorted(c.column for c in outcome.columns if c.drifted)
    build = report["profile_build_once_per_version"]
    report["fast_engine_1m_uncached"] = {
        "wall_s": build["wall_s"] + report["fast_engine_1m"]["wall_s"],
        "cpu_s": build["cpu_s"] + report["fast_engine_1m"]["cpu_s"],
        "note": "building the reference profile from 1M rows (once per version) plus the comparison",
    }
    report["exact_agreement_1m"] = exact_agreement(outcome, exact_scores(reference, current, outcome))
    if not args.skip_evidently:
        import evidently  # noqa: F401  (its import takes seconds; not part of the comparison)

        snapshot, report["evidently_preset_1m"] = measure(lambda: evidently_preset(reference, current))
        ev = report["evidently_preset_1m"]
        report["speedup_wall"] = ev["wall_s"] / report["fast_engine_1m"]["wall_s"]
        report["speedup_cpu"] = ev["cpu_s"] / report["fast_engine_1m"]["cpu_s"]
        report["speedup_wall_uncached"] = ev["wall_s"] / report["fast_engine_1m_uncached"]["wall_s"]
        report["speedup_cpu_uncached"] = ev["cpu_s"] / report["fast_engine_1m_uncached"]["cpu_s"]
        report["agreement_1m"] = agreement(outcome, snapshot)
    return profile


def _warm(profile: ReferenceProfile, current: pd.DataFrame) -> WindowAccumulator:
    window = WindowAccumulator(profile)
    window.add(current.iloc[:1000])
    return window


def _verdict(report: dict[str, Any]) -> None:
    fast, uncached = report["fast_engine_1m"], report["fast_engine_1m_uncached"]
    rows = f"{report['rows']:,} rows"
    lines = [
        f"fast engine, {rows}, cached profile: {fast['wall_s']:.2f} s wall ({fast['cpu_s']:.2f} s CPU; goal "
        f"<= {CPU_GOAL_S:g} s CPU: {'met' if fast['cpu_s'] <= CPU_GOAL_S else 'NOT met'}), peak extra "
        f"{fast['peak_extra_rss_mb']:.0f} MB RSS / {fast['tracemalloc_peak_mb']:.0f} MB traced",
        f"fast engine, {rows}, building the profile first: {uncached['wall_s']:.2f} s wall "
        f"({uncached['cpu_s']:.2f} s CPU)",
    ]
    exact = report["exact_agreement_1m"]
    lines.append(
        f"against the exact test: same decision on {exact['same_decision']} of {exact['columns']} columns "
        f"({exact['near_threshold_same_decision']} of {exact['near_threshold_columns']} within 0.001 of the "
        f"threshold; computed exactly: {', '.join(exact['refined_exactly']) or 'none'}); largest score "
        f"difference {exact['max_score_difference']:.2g} (tolerance {exact['tolerance']:g}: "
        f"{'within' if exact['within_tolerance'] else 'EXCEEDED'})"
    )
    if "evidently_preset_1m" in report:
        ev = report["evidently_preset_1m"]
        agree = report["agreement_1m"]
        lines.append(
            f"Evidently preset, {rows}: {ev['wall_s']:.1f} s wall ({ev['cpu_s']:.1f} s CPU), peak extra "
            f"{ev['peak_extra_rss_mb']:.0f} MB; speed-up cached {report['speedup_wall']:.0f}x wall, "
            f"{report['speedup_cpu']:.0f}x CPU (goal >= {SPEEDUP_GOAL}x: "
            f"{'met' if report['speedup_cpu'] >= SPEEDUP_GOAL else 'NOT met'}); uncached "
            f"{report['speedup_wall_uncached']:.0f}x wall, {report['speedup_cpu_uncached']:.0f}x CPU"
        )
        lines.append(
            f"decisions against Evidently: same on {agree['same_decision']} of {agree['columns']} columns "
            f"(different: {agree['different_decisions_ours_theirs'] or 'none'}), largest score difference "
            f"{agree['max_score_difference']:.2g}"
        )
    if "fast_engine_streamed" in report:
        big = report["fast_engine_streamed"]
        lines.append(
            f"fast engine, {big['rows']:,} rows streamed in {big['chunk_rows']:,}-row chunks: engine "
            f"{big['engine_wall_s']:.1f} s wall ({big['engine_cpu_s']:.1f} s CPU), with chunk generation "
            f"{big['wall_s']:.1f} s; peak extra {big['peak_extra_rss_mb']:.0f} MB, chunk in flight included "
            "(goal < 1024 MB)"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
