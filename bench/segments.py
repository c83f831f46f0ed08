"""Segment metrics benchmark: performance and outcome rates per group, disparities and findings on
1M labelled predictions x 10 segments (``core.monitoring.segments.measure``, what the Performance
page and the nightly health check compute after reading the window's labelled predictions).

Segments are 8 categorical features of 2 to 12 groups and 2 sensitive attributes; one group's
error rate is raised, so the findings path runs too. Prints the time and the peak memory of the
computation (tracemalloc: Python and numpy allocations) and the process's peak resident size.

    .venv/bin/python bench/segments.py [--rows 1000000] [--segments 10] [--boot 1000] [--classes 3]

``--classes K`` (K >= 3) measures a multiclass classifier of K classes instead of a binary one.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def labelled(
    rows: int, segments: int, seed: int = 0, classes: int = 2
) -> tuple[pd.DataFrame, dict[str, str]]:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, classes, rows)
    columns: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    for i in range(segments):
        groups = 2 + (i * 5) % 11
        name = f"attr_{i}" if i >= segments - 2 else f"feature_{i}"
        columns[name] = rng.choice([f"g{j}" for j in range(groups)], rows).astype(object)
        sources[name] = "sensitive" if name.startswith("attr_") else "feature"
    first = next(iter(columns))
    wrong = rng.random(rows) < np.where(columns[first] == "g0", 0.35, 0.15)
    other = (label + rng.integers(1, classes, rows)) % classes if classes > 2 else 1 - label
    frame = pd.DataFrame({"label": label, "prediction": np.where(wrong, other, label), **columns})
    return frame, sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--segments", type=int, default=10)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=2, help="3 or more: a multiclass classifier")
    args = parser.parse_args()
    multiclass = args.classes > 2
    task = "multiclass_classification" if multiclass else "binary_classification"
    from core.monitoring.segments import by_group, measure

    frame, sources = labelled(args.rows, args.segments, classes=args.classes)
    by_group(
        np.array([0, 1]), np.array([0, 1]), pd.Series(["a", "b"], name="warm-up"), "binary_classification"
    )
    input_mb = frame.memory_usage(deep=True).sum() / 2**20
    tracemalloc.start()
    started = time.perf_counter()
    result = measure(
        frame,
        sources,
        task,
        min_group_size=30,
        segment_gap=0.1,
        disparity_limit=0.1,
        n_boot=args.boot,
        classes=[f"class_{k}" for k in range(args.classes)] if multiclass else None,
    )
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    groups = int(result.segments["groups"].sum())
    print(
        f"{args.rows:,} labelled predictions x {args.segments} segments ({groups} groups), {args.boot} bootstrap draws"
        + (f", {args.classes} classes" if multiclass else "")
    )
    print(f"input frame: {input_mb:,.0f} MiB")
    print(
        f"segment metrics: {seconds:.2f} s; peak traced memory during it {peak / 2**20:,.0f} MiB; process peak RSS {rss:,.0f} MiB"
    )
    print(f"findings: {[(f.kind, f.subject) for f in result.findings]}")


if __name__ == "__main__":
    main()
