"""The registry commands of `steward`, on SQLite and PostgreSQL: each success path, and each
bad input giving one "Error: ..." line, exit code 1 and nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session, write_session
from core.db.models import (
    AuditEvent,
    BusinessProcess,
    CostRecord,
    LogFile,
    Model,
    ModelVersion,
    Person,
    PredictionDaily,
)
from core.logstore import reads
from core.registry import services
from tests.cli_auth import TokenRunner, insert_token
from tests.factories import World, make_model, make_world

runner = TokenRunner()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated registry (SQLite and PostgreSQL) that the CLI points at."""
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def world(registry: Engine, monkeypatch: pytest.MonkeyPatch) -> World:
    """People per role; commands without ``--as`` run as the pipeline's service account (the
    system account created by init), with its own token, as a cron job would."""
    made = make_world(registry)
    monkeypatch.setenv("STEWARD_TOKEN", insert_token(registry, made.system.email))
    return made


def steward(*args: str) -> object:
    return runner.invoke(app, [str(a) for a in args])


def assert_error(result, *fragments: str) -> None:
    """One clear message on stderr, exit code 1, no traceback."""
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def count(engine: Engine, table: type) -> int:
    with read_session(engine) as s:
        return s.exec(select(func.count()).select_from(table)).one()


def logged(engine: Engine) -> int:
    """Rows in the log store (by its manifest)."""
    with read_session(engine) as s:
        return reads.total_rows(s)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- init ------------------------------------------------------------------------------------


def test_init_creates_then_reports_up_to_date(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'fresh' / 'steward.db'}"
    monkeypatch.setenv("STEWARD_DATABASE_URL", url)
    reset_settings_cache()
    first = steward("init")
    assert first.exit_code == 0, first.output
    assert "created" in first.stdout
    second = steward("init", "--json")
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["state"] == "up to date"
    eng = make_engine(url)
    with read_session(eng) as s:
        assert [p.email for p in s.exec(select(Person))] == ["system@steward.local"]
    eng.dispose()


def test_init_on_a_migrated_registry_is_idempotent(registry):
    for _ in range(2):
        result = steward("init")
        assert result.exit_code == 0, result.output
        assert "up to date" in result.stdout
    assert count(registry, Person) == 1


def test_unmigrated_registry_says_to_run_init(tmp_path, monkeypatch):
    monkeypatch.setenv("STEWARD_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    reset_settings_cache()
    assert_error(steward("ls"), "no Steward schema yet", "steward init")


@pytest.mark.parametrize(
    ("url", "fragments"),
    [
        ("nonsense", ("is not a database URL",)),
        ("mysql://u@localhost/x", ("unsupported database 'mysql'",)),
        (
            "postgresql+psycopg://steward:secret@127.0.0.1:1/nothing",
            ("Cannot open the registry", "PostgreSQL is running"),
        ),
    ],
)
def test_bad_database_url_gives_one_clear_message(url, fragments, monkeypatch):
    monkeypatch.setenv("STEWARD_DATABASE_URL", url)
    reset_settings_cache()
    for command in (["init"], ["ls"]):
        result = steward(*command)
        assert_error(result, *fragments)
        assert "secret" not in result.stderr


def test_registry_from_a_newer_steward_is_refused(registry):
    with registry.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    init, listing = steward("init"), steward("ls")
    # One message everywhere: upgrade Steward (never "migrate with `steward init`", which cannot).
    for result in (init, listing):
        assert_error(result, "schema revision 9999_future", "newer Steward", "Upgrade Steward")
        assert "migrate with" not in result.stderr
    assert init.stderr == listing.stderr


def test_demo_on_a_registry_that_holds_models_builds_nothing(registry, world):
    make_model(registry, world.owner)
    before = count(registry, AuditEvent)
    result = steward("demo")
    assert result.exit_code == 0, result.output
    assert "already holds models; the demo was not built again" in result.stdout
    assert count(registry, Model) == 1
    assert count(registry, AuditEvent) == before
    summary = json.loads(steward("demo", "--json").stdout)
    assert (summary["already_built"], summary["models"]) == (True, 1)


# --- register-model ------------------------------------------------------------------------------


def test_register_model_with_process_and_thresholds(registry, world):
    result = steward(
        "register-model",
        "Churn propensity",
        "--business-unit",
        "Marketing",
        "--task",
        "binary_classification",
        "--purpose",
        "Find customers likely to leave",
        "--intended-use",
        "Retention campaigns",
        "--out-of-scope",
        "Pricing",
        "--process",
        "Retention",
        "--create-process",
        "--methodology",
        "GBM",
        "--primary-metric",
        "roc_auc",
        "--threshold",
        "roc_auc:min=0.7",
        "--threshold",
        "brier:max=0.2",
        "--as",
        "owner@example.com",
        "--json",
    )
    assert result.exit_code == 0, result.output
    model_id = json.loads(result.stdout)["id"]
    with read_session(registry) as s:
        model = s.get(Model, model_id)
        assert model.metric_thresholds == {"roc_auc": {"min": 0.7}, "brier": {"max": 0.2}}
        assert (model.purpose, model.out_of_scope_uses, model.methodology) == (
            "Find customers likely to leave",
            "Pricing",
            "GBM",
        )
        process = s.get(BusinessProcess, model.business_process_id)
        assert (process.name, process.business_unit) == ("Retention", "Marketing")
        actions = {
            e.action for e in s.exec(select(AuditEvent).where(AuditEvent.actor_email == "owner@example.com"))
        }
    assert {"model.registered", "business_process.created"} <= actions


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--process", "Nowhere"], ("No business process named 'Nowhere'", "--create-process")),
        (["--threshold", "roc_auc>0.7"], ("must look like metric:min=0.7",)),
        (["--threshold", "roc_auc:min=high"], ("'high' is not a number",)),
        (["--task", "clustering"], ("task 'clustering' is not one of",)),
        (["--as", "nobody@example.com"], ("not known to this registry",)),
        (["--as", "viewer@example.com"], ("Victor Viewer may not model register",)),
    ],
)
def test_register_model_bad_input_writes_nothing(registry, world, extra, fragments):
    before = (count(registry, Model), count(registry, AuditEvent))
    assert_error(steward("register-model", "Fraud", "--business-unit", "Payments", *extra), *fragments)
    assert (count(registry, Model), count(registry, AuditEvent)) == before


def test_register_model_twice_is_a_conflict(registry, world):
    assert steward("register-model", "Fraud", "--business-unit", "Payments").exit_code == 0
    assert_error(steward("register-model", "Fraud", "--business-unit", "Payments"), "already exists")
    assert count(registry, Model) == 1


# --- register-version ----------------------------------------------------------------------------


def test_register_version_with_metrics_artifact_and_dataset(registry, world, tmp_path):
    make_model(registry, world.owner, versions=0)
    with write_session(registry) as s:
        services.create_dataset(s, actor=world.owner, name="applications", version="2024-06", row_count=10)
    artifact = tmp_path / "model.joblib"
    artifact.write_bytes(b"trained model bytes")
    metrics_file = tmp_path / "metrics.json"
    metrics_file.write_text('{"roc_auc": 0.81, "brier": 0.12}')
    result = steward(
        "register-version",
        "--model",
        "Credit scoring",
        "--metrics-file",
        metrics_file,
        "--metrics",
        "f1=0.6,recall=0.7",
        "--metrics",
        '{"precision": 0.55}',
        "--params",
        "max_depth=5,learning_rate=0.1,loss=log_loss",
        "--artifact",
        artifact,
        "--dataset",
        "applications:2024-06",
        "--git-commit",
        "abc123",
        "--features",
        "income, age",
        "--card-limitations",
        "Not for SME loans",
        "--as",
        "owner@example.com",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Registered 'Credit scoring' version 1."
    with read_session(registry) as s:
        version = s.exec(select(ModelVersion)).one()
        stored = Path(os.environ["STEWARD_ARTIFACT_DIR"]) / version.artifact_uri
    assert version.metrics == {"roc_auc": 0.81, "brier": 0.12, "f1": 0.6, "recall": 0.7, "precision": 0.55}
    assert version.params == {"max_depth": 5, "learning_rate": 0.1, "loss": "log_loss"}
    assert version.feature_names == ["income", "age"]
    assert version.card_limitations == "Not for SME loans"
    assert version.artifact_format == "joblib"
    assert version.training_dataset_id is not None
    assert stored.read_bytes() == b"trained model bytes"
    assert version.artifact_sha256 == hashlib.sha256(b"trained model bytes").hexdigest()

    again = steward(
        "register-version",
        "--model",
        "Credit scoring",
        "--metrics",
        "roc_auc=0.82",
        "--as",
        "owner@example.com",
        "--json",
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["version"] == 2


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--model", "Nope"], ("No model named 'Nope'",)),
        (["--metrics", "roc_auc=high"], ("metric 'roc_auc'", "'high' is not a number")),
        (["--metrics", "roc_auc"], ("--metrics 'roc_auc' must be name=value",)),
        (["--metrics", '{"roc_auc": 0.8'], ("--metrics is not valid JSON",)),
        (["--metrics-file", "missing.json"], ("metrics file 'missing.json' does not exist",)),
        (["--artifact", "missing.pkl"], ("artifact file 'missing.pkl' does not exist",)),
        (["--dataset", "applications:1999"], ("No dataset 'applications' version '1999'",)),
        (["--dataset", "applications"], ("must be NAME:VERSION",)),
        (["--as", "viewer@example.com"], ("may not version register",)),
    ],
)
def test_register_version_bad_input_writes_nothing(registry, world, tmp_path, monkeypatch, args, fragments):
    make_model(registry, world.owner, versions=0)
    monkeypatch.chdir(tmp_path)
    artifact = tmp_path / "model.pkl"
    artifact.write_bytes(b"bytes")
    base = ["register-version", "--artifact", artifact, "--as", "owner@example.com"]
    if "--model" not in args:
        base += ["--model", "Credit scoring"]
    before = count(registry, AuditEvent)
    assert_error(steward(*base, *args), *fragments)
    assert count(registry, ModelVersion) == 0
    assert count(registry, AuditEvent) == before
    store = Path(os.environ["STEWARD_ARTIFACT_DIR"])
    assert not [p for p in store.rglob("*") if p.is_file()], "a refused version left its artifact behind"


# --- log-predictions -----------------------------------------------------------------------------

PREDICTIONS = (
    "ts,prediction,score,label,request_id,income,age\n"
    "2024-05-01T10:00:00Z,1,0.81,1,r1,52000,41\n"
    "2024-05-01T11:00:00Z,0,0.22,,r2,31000,25\n"
    "2024-05-02T09:30:00Z,1,0.64,0,r3,45000,37\n"
)


@pytest.fixture
def credit_model(registry, world) -> None:
    make_model(registry, world.owner, versions=2)


def test_log_predictions_from_csv_and_parquet(registry, credit_model, tmp_path):
    csv_file = write_csv(tmp_path / "preds.csv", PREDICTIONS)
    result = steward(
        "log-predictions",
        "--model",
        "Credit scoring",
        "--version",
        "2",
        csv_file,
        "--as",
        "owner@example.com",
    )
    assert result.exit_code == 0, result.output
    assert "Logged 3 predictions for 'Credit scoring' version 2." in result.stdout
    parquet_file = tmp_path / "preds.parquet"
    frame = pd.read_csv(tmp_path / "preds.csv")
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True) + pd.Timedelta(days=10)
    frame.to_parquet(parquet_file)
    result = steward(
        "log-predictions",
        "--model",
        "Credit scoring",
        "--version",
        "2",
        parquet_file,
        "--as",
        "owner@example.com",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"model": "Credit scoring", "version": 2, "rows": 3}
    with read_session(registry) as s:
        version_ids = sorted({f.model_version_id for f in s.exec(select(LogFile)).all()})
        rows = pd.concat([reads.rows(s, v, columns=None) for v in version_ids], ignore_index=True)
        rows = rows.sort_values("row_id", ignore_index=True)
        days = s.exec(select(PredictionDaily)).all()
    assert len(rows) == 6
    assert (rows.loc[0, "income"], rows.loc[0, "age"]) == (52000, 41)
    assert (rows.loc[0, "score"], rows.loc[0, "label"]) == (0.81, 1.0) and pd.isna(rows.loc[1, "label"])
    assert sum(d.n for d in days) == 6


def test_log_predictions_sniffs_a_semicolon_delimiter(registry, credit_model, tmp_path):
    semicolon = write_csv(tmp_path / "preds.csv", PREDICTIONS.replace(",", ";"))
    result = steward(
        "log-predictions",
        "--model",
        "Credit scoring",
        "--version",
        "1",
        semicolon,
        "--as",
        "owner@example.com",
    )
    assert result.exit_code == 0, result.output
    assert logged(registry) == 3


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("absent.csv", None, ("file 'absent.csv' does not exist",)),
        ("preds.txt", PREDICTIONS, ("is a .txt file", ".csv and .parquet")),
        ("empty.csv", "", ("'empty.csv' is empty",)),
        ("header.csv", "ts,prediction,income,age\n", ("has a header but no data rows",)),
        (
            "pickle.csv",
            b"\x80\x04\x95\x10\x00\x00\x00",
            ("looks like a Python pickle", "never loads pickles"),
        ),
        ("binary.csv", b"ts,prediction\x00\x01\x02\n", ("binary data",)),
        ("latin1.csv", "ts,prediction,income,age,café\n".encode("latin-1"), ("not UTF-8", "line 1")),
        ("fake.parquet", PREDICTIONS, ("not a Parquet file",)),
        ("wrong.csv", "when,what\n2024-05-01,1\n", ("missing column 'ts'", "found: when, what")),
        ("features.csv", "ts,prediction,income\n2024-05-01,1,5\n", ("missing feature column(s)", "age")),
        (
            "extra.csv",
            "ts,prediction,income,age,zip\n2024-05-01,1,5,4,1234\n",
            ("unexpected column(s)", "zip"),
        ),
        (
            "score.csv",
            PREDICTIONS.replace("0.22", "high"),
            ("column 'score'", "'high' is not a number", "row 2"),
        ),
        ("when.csv", PREDICTIONS.replace("2024-05-02T09:30:00Z", "yesterday"), ("column 'ts'", "row 3")),
        ("ragged.csv", PREDICTIONS + "2024-05-03,1,0.5,1,r4,1,2,3\n", ("line 5 has 8 fields", "7 columns")),
        ("dupes.csv", "ts,prediction,ts\n2024-05-01,1,2024-05-01\n", ("duplicate column name(s)", "ts")),
    ],
)
def test_log_predictions_bad_file_writes_nothing(
    registry, credit_model, tmp_path, monkeypatch, name, content, fragments
):
    monkeypatch.chdir(tmp_path)
    if content is not None:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    before = count(registry, AuditEvent)
    result = steward(
        "log-predictions", "--model", "Credit scoring", "--version", "1", name, "--as", "owner@example.com"
    )
    assert_error(result, *fragments)
    assert logged(registry) == 0
    assert count(registry, PredictionDaily) == 0
    assert count(registry, AuditEvent) == before


@pytest.mark.parametrize(
    ("model", "version", "fragments"),
    [
        ("Nope", "1", ("No model named 'Nope'",)),
        ("Credit scoring", "9", ("'Credit scoring' has no version 9",)),
    ],
)
def test_log_predictions_unknown_model_or_version(
    registry, credit_model, tmp_path, model, version, fragments
):
    path = write_csv(tmp_path / "preds.csv", PREDICTIONS)
    assert_error(
        steward("log-predictions", "--model", model, "--version", version, path, "--as", "owner@example.com"),
        *fragments,
    )
    assert logged(registry) == 0


def test_log_predictions_refuses_a_file_above_the_upload_limit(registry, credit_model, tmp_path, monkeypatch):
    monkeypatch.setenv("STEWARD_UPLOAD_MAX_MB", "1")
    reset_settings_cache()
    rows = "2024-05-01T10:00:00Z,1,0.5,1,r,52000,41\n" * 40_000
    path = write_csv(tmp_path / "big.csv", PREDICTIONS + rows)
    assert path.stat().st_size > 1024 * 1024
    assert_error(
        steward(
            "log-predictions",
            "--model",
            "Credit scoring",
            "--version",
            "1",
            path,
            "--as",
            "owner@example.com",
        ),
        "the limit is 1 MB",
        "STEWARD_UPLOAD_MAX_MB",
    )
    assert logged(registry) == 0


# --- log-costs -------------------------------------------------------------------------------------

COSTS = (
    "day,model,category,amount,currency\n"
    "2024-05-01,Credit scoring,compute,12.50,EUR\n"
    "2024-05-01,Credit scoring,storage,1.25,EUR\n"
    "2024-05-02,Credit scoring,compute,13.00,eur\n"
)


def test_log_costs(registry, credit_model, tmp_path):
    result = steward("log-costs", write_csv(tmp_path / "costs.csv", COSTS), "--as", "owner@example.com")
    assert result.exit_code == 0, result.output
    assert "Imported 3 cost records." in result.stdout
    with read_session(registry) as s:
        amounts = sorted(r.amount for r in s.exec(select(CostRecord)))
        currencies = {r.currency for r in s.exec(select(CostRecord))}
    assert amounts == [1.25, 12.5, 13.0]
    assert currencies == {"EUR"}


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (COSTS.replace("Credit scoring,storage", "Mystery,storage"), ("unknown model 'Mystery'", "row 2")),
        (COSTS.replace("13.00", "13,00"), ("not a well-formed CSV", "line 4")),
        (COSTS.replace("12.50", "twelve"), ("column 'amount'", "'twelve' is not an amount", "row 1")),
        (COSTS.replace("amount", "cost"), ("missing column(s) amount",)),
        (COSTS.replace("compute,12.50", "gpu,12.50"), ("column 'category'", "'gpu'", "row 1")),
    ],
)
def test_log_costs_bad_file_writes_nothing(registry, credit_model, tmp_path, content, fragments):
    before = count(registry, AuditEvent)
    assert_error(
        steward("log-costs", write_csv(tmp_path / "costs.csv", content), "--as", "owner@example.com"),
        *fragments,
    )
    assert count(registry, CostRecord) == 0
    assert count(registry, AuditEvent) == before


# --- ls ---------------------------------------------------------------------------------------------


def test_ls_shows_stage_and_owners(registry, world):
    model_id, (v1, _v2) = make_model(registry, world.owner, versions=2)
    make_model(registry, world.owner, name="Demand forecast", business_unit="Supply chain", task="regression")
    with write_session(registry) as s:
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.approver.id, role="business_owner"
        )
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.owner.id, role="technical_owner"
        )
        services.apply_stage_change(
            s, actor=world.system, version_id=v1, to_stage="production", reason="approved"
        )
    table = steward("ls")
    assert table.exit_code == 0, table.output
    line = next(row for row in table.stdout.splitlines() if row.strip().startswith("Credit scoring"))
    assert "production" in line and "Arthur Approver" in line and "Olivia Owner" in line
    listed = json.loads(steward("ls", "--json").stdout)
    assert [m["name"] for m in listed] == ["Credit scoring", "Demand forecast"]
    credit = listed[0]
    assert (credit["stage"], credit["production_version"], credit["version_count"]) == ("production", 1, 2)
    assert (credit["accountable_owner"], credit["technical_owner"]) == ("Arthur Approver", "Olivia Owner")
    assert listed[1]["production_version"] is None


def test_ls_on_an_empty_registry(registry):
    result = steward("ls")
    assert result.exit_code == 0, result.output
    assert "(nothing)" in result.stdout
    assert json.loads(steward("ls", "--json").stdout) == []


# --- the installed entry point -------------------------------------------------------------------


def _installed_steward(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("steward")
    assert exe.exists(), f"the `steward` entry point is not installed next to {sys.executable}"
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=120, cwd=REPO)


def test_installed_entry_point_runs_init_and_ls(tmp_path):
    env = {
        **os.environ,
        "STEWARD_DATABASE_URL": f"sqlite:///{tmp_path / 'steward.db'}",
        "STEWARD_ARTIFACT_DIR": str(tmp_path / "artifacts"),
    }
    init = _installed_steward(env, "init")
    assert init.returncode == 0, init.stderr
    assert "created" in init.stdout
    listed = _installed_steward(env, "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def test_a_postgresql_server_that_never_answers_times_out_with_one_message():
    """A server that accepts the connection but never answers (a hung host, a firewall that
    swallows packets) is given up after the connect timeout, with the one clear message."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        env = {
            **os.environ,
            "STEWARD_DATABASE_URL": f"postgresql+psycopg://steward@127.0.0.1:{port}/registry",
        }
        # Before the connect timeout the command hung for minutes; the subprocess timeout is only
        # the test's guard against hanging forever.
        result = _installed_steward(env, "ls")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"Error: Cannot open the registry at postgresql+psycopg://steward@127.0.0.1:{port}"
    )
    assert "no answer within 10 s" in result.stderr
    assert "Traceback" not in result.stderr


def test_installed_entry_point_reports_an_unreachable_database_without_traceback(tmp_path):
    env = {**os.environ, "STEWARD_DATABASE_URL": "postgresql+psycopg://steward@127.0.0.1:1/registry"}
    result = _installed_steward(env, "ls")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "Error: Cannot open the registry at postgresql+psycopg://steward@127.0.0.1:1/registry"
    )
    assert "Traceback" not in result.stderr
