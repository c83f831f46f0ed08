"""Data within reach (issue 13, point 2) on SQLite and PostgreSQL: `steward register-dataset`
keeps a CSV or Parquet file in the artifact store by its sha256, or records a verified external
location, marks its role and links it to a version; page uploads go through the same checks;
drift reads what was kept. Bad input is one clear message and writes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session, write_session
from core.db.models import AuditEvent, Dataset, LineageEdge, ModelVersion
from core.errors import Conflict, IntegrityViolation, InvalidInput, PermissionDenied
from core.monitoring.drift.runs import run_drift
from core.monitoring.drift.sources import Period
from core.registry import artifacts, datasets, services
from tests.cli_auth import TokenRunner
from tests.drift_data import log, production_batch, training_sample
from tests.factories import World, make_model, make_world

runner = TokenRunner()
OWNER = "owner@example.com"
MAY = Period(date(2024, 5, 1), date(2024, 5, 31))


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engine]:
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    monkeypatch.setenv("STEWARD_ARTIFACT_DIR", str(tmp_path / "store"))
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()
    reset_settings_cache()


@pytest.fixture
def world(registry: Engine) -> World:
    world = make_world(registry)
    runner.ready(OWNER)
    runner.ready("viewer@example.com")
    return world


def steward(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["register-dataset", *args])


def _state(engine: Engine, store: Path) -> tuple[int, int, int, list[str]]:
    with read_session(engine) as s:
        counts = [
            int(s.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (Dataset, AuditEvent, LineageEdge)
        ]
    files = (
        sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file()) if store.exists() else []
    )
    return counts[0], counts[1], counts[2], files


def _training_csv(tmp_path: Path, name: str = "train.csv", seed: int = 1) -> Path:
    path = tmp_path / name
    training_sample(300, seed=seed).to_csv(path, index=False)
    return path


def test_a_file_is_kept_in_the_store_by_its_sha256_and_linked_in_its_role(
    registry: Engine, world: World, tmp_path: Path
) -> None:
    model_id, [version_id] = make_model(registry, world.owner)
    csv = _training_csv(tmp_path)
    digest = hashlib.sha256(csv.read_bytes()).hexdigest()
    done = steward(
        "applications", "--version", "2024-06", "--file", str(csv), "--role", "training",
        "--model", "Credit scoring", "--as", OWNER, "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["uri"] == f"datasets/{digest[:2]}/{digest}.csv" and result["sha256"] == digest
    assert (result["role"], result["storage"], result["rows"]) == ("training", "store", 300)
    assert artifacts.resolve(result["uri"]).read_bytes() == csv.read_bytes()
    with read_session(registry) as s:
        version = s.get(ModelVersion, version_id)
        assert version is not None and version.training_dataset_id == result["id"]
        row = s.get(Dataset, result["id"])
        assert row is not None and row.data_schema["income"] == "float64"
        assert datasets.read_dataset(row).shape == (300, 5)
    # The same content under another name is kept once.
    again = steward("applications copy", "--version", "1", "--file", str(csv), "--as", OWNER, "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["uri"] == result["uri"]
    # Training data is part of the card and the evidence: it is set once.
    other = _training_csv(tmp_path, "other.csv", seed=2)
    refused = steward(
        "applications", "--version", "2024-07", "--file", str(other), "--role", "training",
        "--model", "Credit scoring", "--model-version", "1", "--as", OWNER,
    )  # fmt: skip
    assert (
        refused.exit_code == 1 and "already names applications 2024-06 as its training data" in refused.stderr
    )
    del model_id


def test_drift_reads_a_kept_file_and_an_external_one_checked_by_its_hash(
    registry: Engine, world: World, tmp_path: Path
) -> None:
    model_id, [version_id] = make_model(registry, world.owner)
    with write_session(registry) as s:
        services.apply_stage_change(
            s, actor=world.owner, version_id=version_id, to_stage="production", reason="t"
        )
    external = tmp_path / "reference.parquet"
    training_sample(800, seed=3).to_parquet(external, index=False)
    done = steward(
        "reference", "--version", "1", "--uri", external.as_uri(), "--keep-external", "--role", "reference",
        "--model", "Credit scoring", "--as", OWNER, "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["storage"] == "external"
    batch = production_batch(600, date(2024, 5, 3), seed=4, income_shift=1.5)
    log(registry, world.owner, version_id, batch.drop(columns=["region", "channel"]))
    [run] = run_drift(registry, actor=world.owner, model_id=model_id, period=MAY)
    assert run.status == "drift" and "income" in run.drifted_features
    # The reference's profile is stored with the run; a changed file is refused when read again.
    training_sample(800, seed=9).to_parquet(external, index=False)  # changed behind Steward's back
    with (
        read_session(registry) as s,
        pytest.raises(IntegrityViolation, match="was changed after registration"),
    ):
        datasets.read_dataset(s.get(Dataset, json.loads(done.stdout)["id"]))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda p: p / "missing.csv", ("--file", "{path}"), "no such file"),
        (
            lambda p: _write(p / "book.xlsx", b"PK\x03\x04rest"),
            ("--file", "{path}"),
            "Steward reads .csv and .parquet",
        ),
        (
            lambda p: _write(p / "pickled.csv", b"\x80\x04\x95data"),
            ("--file", "{path}"),
            "looks like a Python pickle",
        ),
        (lambda p: _write(p / "fake.parquet", b"a,b\n1,2\n"), ("--file", "{path}"), "is not a Parquet file"),
        (
            lambda p: _write(p / "big.csv", b"a,b\n" + b"1,2\n" * 300_000),
            ("--file", "{path}"),
            "the limit is 1 MB",
        ),
        (lambda p: _training_csv(p), ("--file", "{path}", "--sha256", "ab" * 32), "has sha256"),
        (
            lambda p: _training_csv(p),
            ("--file", "{path}", "--rows", "7"),
            "has 300 data rows, not the 7 given",
        ),
        (lambda p: p, ("--uri", "s3://bucket/train.csv"), "Steward reads local paths and file:// URIs"),
        (lambda p: p, ("--uri", "file://otherhost/train.csv"), "must name a file on this machine"),
        (lambda p: _training_csv(p), ("--file", "{path}", "--role", "holdout"), "dataset role"),
        (
            lambda p: _training_csv(p),
            ("--file", "{path}", "--model", "Nope", "--role", "training"),
            "No model named 'Nope'",
        ),
        (
            lambda p: _training_csv(p),
            ("--file", "{path}", "--model", "Credit scoring"),
            "--model needs --role",
        ),
        (
            lambda p: _training_csv(p),
            ("--file", "{path}", "--uri", "x.csv"),
            "give --file or --uri, not both",
        ),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(
    registry: Engine,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make,
    args,
    message,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("STEWARD_UPLOAD_MAX_MB", "1")
    reset_settings_cache()
    make_model(registry, world.owner)
    path = make(tmp_path)
    before = _state(registry, tmp_path / "store")
    result = steward("data", "--version", "1", *[a.format(path=path) for a in args], "--as", OWNER)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert _state(registry, tmp_path / "store") == before


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_page_uploads_take_csv_and_parquet_up_to_the_limit(
    registry: Engine, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEWARD_UPLOAD_MAX_MB", "1")
    reset_settings_cache()
    _, [version_id] = make_model(registry, world.owner)
    frame = training_sample(200, seed=4)
    frame.to_parquet(tmp_path / "eval.parquet", index=False)
    content = (tmp_path / "eval.parquet").read_bytes()
    with write_session(registry) as s:
        dataset_id = datasets.register_upload(
            s, actor=world.owner, version_id=version_id, role="evaluation", name="holdout",
            content=content, filename="eval.parquet",
        )  # fmt: skip
    with read_session(registry) as s:
        row = s.get(Dataset, dataset_id)
        version = s.get(ModelVersion, version_id)
        assert row is not None and version is not None
        assert (row.version, row.storage, row.role) == (
            hashlib.sha256(content).hexdigest()[:12],
            "store",
            "evaluation",
        )
        assert version.evaluation_dataset_id == dataset_id
    before = _state(registry, tmp_path / "store")
    big = b"a,b\n" + b"1,2\n" * 300_000
    for actor, data, name, error, match in [
        (world.owner, big, "big.csv", InvalidInput, "is 1.1 MB; the limit is 1 MB"),
        (world.owner, b"%PDF-1.4", "report.csv", InvalidInput, "looks like a PDF document"),
        (world.owner, content, "eval.parquet", Conflict, "already names holdout"),
        (world.viewer, content, "eval.parquet", PermissionDenied, "may not lineage write"),
    ]:
        with pytest.raises(error, match=match), write_session(registry) as s:
            datasets.register_upload(
                s,
                actor=actor,
                version_id=version_id,
                role="evaluation",
                name="other",
                content=data,
                filename=name,
            )
    assert _state(registry, tmp_path / "store") == before
