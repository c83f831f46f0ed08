"""`steward drift` on SQLite and PostgreSQL: runs per model and period, idempotent from cron,
--all, --monthly, JSON output, and one clear error line for bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session
from core.db.models import AuditEvent, Dataset, DriftRun, ModelVersion
from core.registry import artifacts
from tests.cli_auth import TokenRunner, insert_token
from tests.drift_data import log, make_drift_model, production_batch
from tests.factories import World, make_world

runner = TokenRunner()


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def world(registry: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    world = make_world(registry)
    # Drift runs nightly from cron as the system service account, with its own token.
    monkeypatch.setenv("STEWARD_TOKEN", insert_token(registry, world.system.email))
    model = make_drift_model(registry, world.owner, tmp_path)
    log(registry, world.owner, model.version_id, production_batch(1200, date(2024, 3, 10), seed=1))
    log(
        registry,
        world.owner,
        model.version_id,
        production_batch(1200, date(2024, 5, 10), seed=2, income_shift=1.4),
    )
    return world


def steward(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["drift", *args])


def _count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with read_session(engine) as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


def test_drift_for_a_period_prints_the_verdict_and_is_idempotent(registry: Engine, world: World) -> None:
    first = steward("--model", "Credit scoring", "--from", "2024-05-01", "--to", "2024-05-31")
    assert first.exit_code == 0, first.output
    assert "drift" in first.stdout and "income" in first.stdout and "created" in first.stdout
    events = _count(registry, AuditEvent)
    again = steward("--model", "Credit scoring", "--from", "2024-05-01", "--to", "2024-05-31", "--json")
    assert again.exit_code == 0, again.output
    [run] = json.loads(again.stdout)["runs"]
    assert run["outcome"] == "unchanged" and run["drifted_features"] == ["income"]
    assert run["period_key"] == "2024-05-01..2024-05-31"
    assert _count(registry, AuditEvent) == events and _count(registry, DriftRun) == 1
    forced = steward(
        "--model", "Credit scoring", "--from", "2024-05-01", "--to", "2024-05-31", "--force", "--json"
    )
    assert json.loads(forced.stdout)["runs"][0]["outcome"] == "replaced"


def test_monthly_backfill_for_all_production_models(registry: Engine, world: World) -> None:
    result = steward("--all", "--from", "2024-03-01", "--to", "2024-05-31", "--monthly", "--json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)["runs"]
    assert [(r["period_key"], r["status"]) for r in runs] == [
        ("2024-03-01..2024-03-31", "ok"),
        ("2024-04-01..2024-04-30", "no_data"),
        ("2024-05-01..2024-05-31", "drift"),
    ]


def test_bad_input_gives_one_error_line_and_writes_nothing(registry: Engine, world: World) -> None:
    cases = [
        (["--from", "2024-05-01"], "give either --model NAME or --all."),
        (["--model", "Credit scoring", "--all"], "give either --model NAME or --all."),
        (["--model", "Nope", "--from", "2024-05-01", "--to", "2024-05-31"], "No model named 'Nope'"),
        (
            ["--model", "Credit scoring", "--from", "May 1st"],
            "--from 'May 1st' is not a date; use YYYY-MM-DD.",
        ),
        (
            ["--model", "Credit scoring", "--from", "2024-05-31", "--to", "2024-05-01"],
            "ends (2024-05-01) before it starts",
        ),
        (["--model", "Credit scoring", "--to", "2999-01-01"], "is not a complete day yet"),
        (
            [
                "--model",
                "Credit scoring",
                "--from",
                "2024-05-01",
                "--to",
                "2024-05-31",
                "--as",
                "viewer@example.com",
            ],
            "may not monitoring run",
        ),
    ]
    for args, message in cases:
        result = steward(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith("Error: ") and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    assert _count(registry, DriftRun) == 0


def test_an_unreadable_model_version_is_reported_and_the_others_are_stored(
    registry: Engine, world: World, tmp_path: Path
) -> None:
    """The nightly job (`steward drift --all`) stores Credit scoring's run and names Fraud's
    version, whose training file cannot be read, then exits 1."""
    fraud = make_drift_model(registry, world.owner, tmp_path, name="Fraud")
    with read_session(registry) as s:
        version = s.get(ModelVersion, fraud.version_id)
        dataset = s.get(Dataset, version.training_dataset_id)  # type: ignore[union-attr]
    artifacts.resolve(dataset.uri).unlink()  # type: ignore[union-attr]
    log(registry, world.owner, fraud.version_id, production_batch(300, date(2024, 5, 10), seed=4))
    result = steward("--all", "--from", "2024-05-01", "--to", "2024-05-31", "--json")
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert [(r["model_name"], r["status"]) for r in body["runs"]] == [("Credit scoring", "drift")]
    assert [(f["model_name"], f["version"]) for f in body["failed"]] == [("Fraud", 1)]
    assert "Error: Fraud v1, May 2024: " in result.stderr
    assert "is missing from the artifact store" in result.stderr
    assert result.stderr.rstrip().endswith("1 model(s) or version(s) could not be checked (see above).")
    assert _count(registry, DriftRun) == 1
