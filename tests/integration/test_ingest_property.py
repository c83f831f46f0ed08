"""Property (issue 14): a valid prediction file with one cell perturbed is either read exactly
as the perturbed text means, or refused naming that cell's file line, data row and column, and
then nothing is written. Files are CSV, through the same reader and checks as the CLI, on
SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.backup import row_counts
from core.db.engine import write_session
from core.errors import InvalidInput
from core.registry import ingest
from core.registry.files import read_records
from tests.factories import make_model, make_world
from tests.logged import max_row_id, stored_predictions

COLUMNS = ("ts", "income", "age", "prediction", "score", "label")
START = datetime(2025, 3, 1, tzinfo=UTC)

# Replacements of one cell: valid spellings, and what the issue found misread.
PERTURBATIONS = st.sampled_from(
    [
        "12,5k",
        "1 234",
        "12,5",
        "",
        "  ",
        "2",
        "-1",
        "0.5",
        "1.0",
        "1e3",
        "1e400",
        "inf",
        "99999999999999999999",
        "9223372036854775807",
        "-0",
        "1740823200000",
        "03/09/2025",
        "2025-03-01",
        "2025-03-01 10:00",
        "2025-03-01T10:00:00+02:00",
        "2025-02-30T10:00:00Z",
        "2999-01-01T00:00:00Z",
        "abc",
        "a\nb",
        "1\x002",
        "NaN",
    ]
)


@st.composite
def files(draw: st.DrawFn) -> tuple[list[list[str]], int, str, str]:
    """A valid file's cells (as text), and one cell to replace: (rows, row, column, new text)."""
    n = draw(st.integers(min_value=1, max_value=5))
    rows = []
    for _ in range(n):
        score = draw(st.integers(min_value=0, max_value=1000)) / 1000
        rows.append(
            [
                (START + timedelta(minutes=draw(st.integers(0, 10_000)))).strftime("%Y-%m-%dT%H:%M:%SZ"),
                str(draw(st.integers(min_value=0, max_value=10**9))),
                str(draw(st.integers(min_value=18, max_value=99))),
                str(int(score > 0.5)),
                repr(score),
                draw(st.sampled_from(["", "0", "1"])),
            ]
        )
    row = draw(st.integers(min_value=0, max_value=n - 1))
    column = draw(st.sampled_from(COLUMNS))
    return rows, row, column, draw(PERTURBATIONS)


def _csv(rows: list[list[str]]) -> str:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\r') else value

    return ",".join(COLUMNS) + "\n" + "".join(",".join(cell(v) for v in row) + "\n" for row in rows)


def _number(text: str) -> float | None:
    """What a number cell means (None: missing), as Python reads it."""
    return None if text.strip() in ("", "NaN") else float(text)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _check_stored(rows: list[list[str]], stored: list) -> None:
    assert len(stored) == len(rows)
    for cells, got in zip(rows, stored, strict=True):
        values = dict(zip(COLUMNS, cells, strict=True))
        assert got.ts == _time(values["ts"])
        assert got.prediction == _number(values["prediction"])
        assert got.score == _number(values["score"])
        assert got.label == _number(values["label"])
        for feature in ("income", "age"):
            value = got.features[feature]
            if isinstance(value, str):  # a column with no number in it is text, kept as written
                assert value == values[feature].strip(), (feature, values[feature], value)
                continue
            meant = _number(values[feature])
            assert value == meant or (meant is not None and math.isclose(value, meant)), (
                feature,
                values[feature],
                value,
            )


@pytest.fixture
def version(engine):
    world = make_world(engine)
    _, (version_id,) = make_model(engine, world.owner)
    return engine, world, version_id


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=files())
def test_one_perturbed_cell_is_read_exactly_or_refused_at_its_row(version, tmp_path: Path, case) -> None:
    engine, world, version_id = version
    rows, row, column, new = case
    rows = [list(r) for r in rows]
    rows[row][COLUMNS.index(column)] = new
    path = tmp_path / "p.csv"
    path.write_text(_csv(rows), encoding="utf-8")
    before = row_counts(engine)
    logged_before = max_row_id(engine)
    try:
        table = read_records(path, max_mb=5)
        with write_session(engine) as s:
            ingest.log_predictions(
                s, actor=world.owner, model_version_id=version_id, frame=table.frame, source=table.source
            )
    except InvalidInput as refusal:
        message = str(refusal)
        assert "\n" not in message and len(message) <= 300, message
        if "column" in message:  # a refusal of a value names the perturbed cell, not another
            assert f"(data row {row + 1})" in message, (message, row, column, new)
            assert f"line {row + 2} " in message, message
            assert f"column '{column}'" in message, (message, column)
        assert row_counts(engine) == before
        return
    _check_stored(rows, stored_predictions(engine, after_row_id=logged_before))  # from the log store
