"""Issue 14, ingest: every file is read exactly as meant or refused with one line naming the
file line, data row, column and value; a refusal writes nothing. On SQLite and PostgreSQL,
through the `steward` CLI (real files) and core."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, inspect, text
from sqlmodel import col, select

from core import clock
from core.backup import row_counts
from core.cli import app
from core.config import reset_settings_cache
from core.costs.queries import daily_totals
from core.db.engine import read_session, write_session
from core.db.models import CostRecord
from core.errors import InvalidInput
from core.registry import ingest
from tests.cli_auth import TokenRunner
from tests.factories import make_model, make_world
from tests.logged import stored_predictions

runner = TokenRunner()
MAX_ERROR = 300


@pytest.fixture
def registry(engine, monkeypatch):
    world = make_world(engine)
    make_model(engine, world.owner)  # "Credit scoring" v1 (binary), features income, age
    monkeypatch.setenv("STEWARD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    reset_settings_cache()
    runner.ready(world.owner.email)
    return engine, world


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _predictions(registry, path: Path, *options: str):
    engine, world = registry
    args = ["log-predictions", "--model", "Credit scoring", "--version", "1", str(path)]
    return runner.invoke(app, [*args, *options, "--as", world.owner.email])


def _costs(registry, path: Path, *options: str):
    engine, world = registry
    return runner.invoke(app, ["log-costs", str(path), *options, "--as", world.owner.email])


def _refused(result, engine, before, *fragments: str) -> str:
    """The command failed with one short line holding every fragment, and wrote nothing."""
    assert result.exit_code == 1, result.output
    output = result.output.strip()
    assert "\n" not in output, output  # one line: no warnings, no traceback before it
    assert output.startswith("Error: "), output
    assert len(output) <= MAX_ERROR, (len(output), output)
    for fragment in fragments:
        assert fragment in output, (fragment, output)
    assert "please report" not in output and "Traceback" not in output
    assert row_counts(engine) == before
    return output


def _stored(engine) -> list:
    return stored_predictions(engine)  # from the log store


HEADER = "ts,income,age,prediction,score\n"
GOOD = "2025-03-01T10:00:00Z,52000,41,1,0.81\n"


# --- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 3])
def test_a_misspelt_number_in_a_numeric_feature_is_refused_with_line_row_column_value(
    registry, tmp_path, rows
):
    engine, _ = registry
    before = row_counts(engine)
    body = GOOD * (rows - 1) + '2025-03-01T11:00:00Z,"12,5k",41,0,0.2\n'
    path = _write(tmp_path, "preds.csv", HEADER + body)
    result = _predictions(registry, path)
    _refused(
        result, engine, before, f"'preds.csv' line {rows + 1} (data row {rows})", "column 'income'", "'12,5k'"
    )


def test_an_integer_beyond_64_bits_is_refused(registry, tmp_path):
    engine, _ = registry
    before = row_counts(engine)
    path = _write(tmp_path, "p.csv", HEADER + GOOD + "2025-03-01T11:00:00Z,18446744073709551616,41,0,0.2\n")
    _refused(_predictions(registry, path), engine, before, "line 3 (data row 2)", "beyond 64 bits")


def test_numbers_are_stored_as_written(registry, tmp_path):
    engine, _ = registry
    path = _write(tmp_path, "p.csv", HEADER + "2025-03-01T10:00:00Z,9223372036854775807,41,1,0.1\n")
    result = _predictions(registry, path)
    assert result.exit_code == 0, result.output
    (row,) = _stored(engine)
    assert row.features == {"income": 9223372036854775807, "age": 41}
    assert row.score == 0.1


# --- times ----------------------------------------------------------------------------------


def test_an_epoch_needs_its_unit_and_is_then_read_in_it(registry, tmp_path):
    engine, _ = registry
    before = row_counts(engine)
    path = _write(tmp_path, "p.csv", HEADER + "1740823200000,52000,41,1,0.81\n")
    _refused(
        _predictions(registry, path), engine, before, "'1740823200000' is an epoch number", "--epoch-unit"
    )
    result = _predictions(registry, path, "--epoch-unit", "ms")
    assert result.exit_code == 0, result.output
    assert _stored(engine)[0].ts == datetime(2025, 3, 1, 10, tzinfo=UTC)


def test_an_integer_epoch_column_in_parquet_needs_its_unit(registry, tmp_path):
    engine, _ = registry
    buffer = io.BytesIO()
    table = pa.table({"ts": [1740823200], "income": [1], "age": [2], "prediction": [1], "score": [0.5]})
    pq.write_table(table, buffer)
    path = _write(tmp_path, "p.parquet", buffer.getvalue())
    before = row_counts(engine)
    _refused(_predictions(registry, path), engine, before, "'p.parquet' data row 1", "--epoch-unit")
    assert _predictions(registry, path, "--epoch-unit", "s").exit_code == 0
    assert _stored(engine)[0].ts == datetime(2025, 3, 1, 10, tzinfo=UTC)


def test_an_ambiguous_day_month_date_is_refused_with_both_readings_or_read_by_its_format(registry, tmp_path):
    engine, _ = registry
    before = row_counts(engine)
    path = _write(tmp_path, "p.csv", HEADER + "03/09/2026 10:00,52000,41,1,0.81\n")
    with clock.frozen(datetime(2026, 12, 1, tzinfo=UTC)):
        _refused(
            _predictions(registry, path, "--timezone", "UTC"),
            engine,
            before,
            "line 2 (data row 1)",
            "3 September 2026 or 9 March 2026",
        )
        result = _predictions(registry, path, "--date-format", "%d/%m/%Y %H:%M", "--timezone", "UTC")
    assert result.exit_code == 0, result.output
    assert _stored(engine)[0].ts == datetime(2026, 9, 3, 10, tzinfo=UTC)


def test_a_time_without_a_zone_needs_one(registry, tmp_path):
    engine, _ = registry
    before = row_counts(engine)
    path = _write(tmp_path, "p.csv", HEADER + "2025-03-01 11:00:00,52000,41,1,0.81\n")
    _refused(_predictions(registry, path), engine, before, "has no time zone", "--timezone")
    result = _predictions(registry, path, "--timezone", "Europe/Paris")
    assert result.exit_code == 0, result.output
    assert _stored(engine)[0].ts == datetime(2025, 3, 1, 10, tzinfo=UTC)


def test_a_time_that_does_not_exist_in_the_zone_is_refused(registry, tmp_path):
    engine, _ = registry
    before = row_counts(engine)
    path = _write(tmp_path, "p.csv", HEADER + "2025-03-30 02:30:00,52000,41,1,0.81\n")
    _refused(_predictions(registry, path, "--timezone", "Europe/Paris"), engine, before, "a clock change")


COSTS = "day,model,category,amount,currency\n"


def test_cost_days_follow_the_same_date_rules(registry, tmp_path):
    engine, _ = registry
    before = row_counts(engine)
    path = _write(tmp_path, "c.csv", COSTS + "03/09/2025,Credit scoring,compute,10.50,EUR\n")
    _refused(
        _costs(registry, path), engine, before, "line 2 (data row 1)", "3 September 2025 or 9 March 2025"
    )
    assert _costs(registry, path, "--date-format", "%m/%d/%Y").exit_code == 0
    with read_session(engine) as s:
        assert s.exec(select(CostRecord.day)).one() == date(2025, 3, 9)


def test_cost_days_after_today_are_refused(registry, tmp_path):
    engine, _ = registry
    before = row_counts(engine)
    path = _write(tmp_path, "c.csv", COSTS + "2026-06-02,Credit scoring,compute,10.50,EUR\n")
    with clock.frozen(datetime(2026, 6, 1, 12, tzinfo=UTC)):
        _refused(_costs(registry, path), engine, before, "'2026-06-02' lies after today (2026-06-01")
    with clock.frozen(datetime(2026, 6, 2, 0, 5, tzinfo=UTC)):
        assert _costs(registry, path).exit_code == 0


# --- the model's domain ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("2025-03-01T11:00:00Z,1,41,2,0.2", "column 'prediction': '2' is not a class"),
        ("2025-03-01T11:00:00Z,1,41,1,0.2,-1", "column 'label': '-1' is not a class"),
        ("2025-03-01T11:00:00Z,1,41,1,1.2,1", "column 'score': '1.2' must lie between 0 and 1"),
    ],
)
def test_predictions_and_labels_outside_the_classes_are_refused(registry, tmp_path, row, fragment):
    engine, _ = registry
    before = row_counts(engine)
    header = "ts,income,age,prediction,score,label\n"
    path = _write(
        tmp_path, "p.csv", header + GOOD.strip() + ",1\n" + row + ("" if row.count(",") == 5 else ",") + "\n"
    )
    _refused(_predictions(registry, path), engine, before, "line 3 (data row 2)", fragment)


def test_a_regressor_takes_any_finite_number(engine):
    world = make_world(engine)
    _, (version,) = make_model(engine, world.owner, name="Loss", task="regression")
    frame = pd.DataFrame(
        {
            "ts": [datetime(2025, 3, 1, tzinfo=UTC)],
            "income": [1],
            "age": [2],
            "prediction": [-3.5],
            "label": [2],
        }
    )
    with write_session(engine) as s:
        assert ingest.log_predictions(s, actor=world.owner, model_version_id=version, frame=frame) == 1


# --- money ----------------------------------------------------------------------------------


def test_money_is_stored_exactly_with_its_currency(registry, tmp_path):
    engine, _ = registry
    lines = [
        "2025-03-01,Credit scoring,compute,99999999999.99,EUR",
        "2025-03-01,Credit scoring,storage,0.1,EUR",
        "2025-03-01,Credit scoring,inference,0.2,EUR",
        "2025-03-02,Credit scoring,compute,0.0001,USD",
    ]
    path = _write(tmp_path, "c.csv", COSTS + "\n".join(lines) + "\n")
    result = _costs(registry, path)
    assert result.exit_code == 0, result.output
    with read_session(engine) as s:
        stored = s.exec(
            select(CostRecord.category, CostRecord.amount, CostRecord.currency).order_by(CostRecord.id)
        ).all()
        total = s.execute(
            select(func.sum(col(CostRecord.amount))).where(
                col(CostRecord.day) == date(2025, 3, 1), col(CostRecord.category) != "compute"
            )
        ).scalar_one()
        assert daily_totals(s, currency="EUR").iloc[0] == pytest.approx(99999999999.99 + 0.3)
    assert stored == [
        ("compute", Decimal("99999999999.99"), "EUR"),
        ("storage", Decimal("0.1"), "EUR"),
        ("inference", Decimal("0.2"), "EUR"),
        ("compute", Decimal("0.0001"), "USD"),
    ]
    assert total == Decimal("0.3")  # exact: not 0.30000000000000004
    column = {c["name"]: c for c in inspect(engine).get_columns("cost_record")}["amount"]
    expected = "NUMERIC(16, 4)" if engine.dialect.name == "postgresql" else "BIGINT"
    assert str(column["type"]) == expected


@pytest.mark.parametrize(
    ("amount", "fragment"),
    [
        ("99999999999999999999999.99", "is too large; amounts stay below 1,000,000,000,000"),
        ("12.345678", "has more than 4 decimal places"),
        ("1,234.50", "is not an amount"),
        ("12,50", "is not an amount"),
    ],
)
def test_money_that_cannot_be_stored_exactly_is_refused(registry, tmp_path, amount, fragment):
    engine, _ = registry
    before = row_counts(engine)
    path = _write(tmp_path, "c.csv", COSTS + f'2025-03-01,Credit scoring,compute,"{amount}",EUR\n')
    _refused(_costs(registry, path), engine, before, "line 2 (data row 1), column 'amount'", fragment)


# --- output hygiene -------------------------------------------------------------------------


def test_a_huge_cell_is_shortened(registry, tmp_path):
    engine, _ = registry
    before = row_counts(engine)
    path = _write(tmp_path, "p.csv", HEADER + GOOD + f"2025-03-01T10:00:00Z,{'x' * 1_000_000},41,1,0.5\n")
    output = _refused(_predictions(registry, path), engine, before, "(1,000,000 characters)")
    assert "x" * 41 not in output


def test_newlines_and_control_characters_are_shown_escaped(registry, tmp_path):
    engine, _ = registry
    before = row_counts(engine)
    path = _write(tmp_path, "bad\nname.csv", HEADER + GOOD + '2025-03-01T10:00:00Z,"1\x012",41,1,0.5\n')
    _refused(_predictions(registry, path), engine, before, "'bad\\nname.csv' line 3", "'1\\x012'")
    path = _write(tmp_path, "q.csv", HEADER + GOOD + '2025-03-01T10:00:00Z,"12\r\n5",41,1,0.5\n')
    _refused(_predictions(registry, path), engine, before, "'12\\r\\n5'")


def test_no_warnings_reach_the_output(registry, tmp_path):
    """A column that pandas reads as mixed types (DtypeWarning) and dates pandas would guess."""
    engine, _ = registry
    before = row_counts(engine)
    body = GOOD * 70_000 + "2025-03-01T10:00:00Z,abc,41,1,0.5\n"
    _refused(
        _predictions(registry, _write(tmp_path, "p.csv", HEADER + body)), engine, before, "data row 70001"
    )


def test_a_parquet_type_problem_is_one_line_without_the_schema(registry, tmp_path):
    engine, _ = registry
    before = row_counts(engine)
    buffer = io.BytesIO()
    table = pa.table(
        {
            "ts": ["2025-03-01T10:00:00Z"],
            "income": [b"\x00\x01"],
            "age": [1],
            "prediction": [1],
            "score": [0.5],
        }
    )
    pq.write_table(table, buffer)
    output = _refused(
        _predictions(registry, _write(tmp_path, "p.parquet", buffer.getvalue())),
        engine,
        before,
        "column 'income'",
        "binary",
    )
    assert "schema" not in output.lower()


def test_core_refusals_without_a_file_name_name_the_data_row(engine):
    world = make_world(engine)
    _, (version,) = make_model(engine, world.owner)
    frame = pd.DataFrame(
        {"ts": ["2025-03-01T10:00:00Z"] * 2, "income": [1, "12,5k"], "age": [2, 3], "prediction": [1, 0]}
    )
    with pytest.raises(InvalidInput, match=r"^data row 2, column 'income': '12,5k' is not a number"):
        with write_session(engine) as s:
            ingest.log_predictions(s, actor=world.owner, model_version_id=version, frame=frame)
    with read_session(engine) as s:
        assert s.execute(text("SELECT COUNT(*) FROM prediction_log")).scalar_one() == 0
