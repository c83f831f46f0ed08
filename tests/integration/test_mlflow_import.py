"""MLflow import against stores written and served by the real mlflow package, at two versions.

The stores come from tests/mlflow_writer.py run by MLflow 3 (the test venv) and MLflow 2 (the
venv `make mlflow-envs` installs); each test runs against both, and the Steward side against
SQLite and PostgreSQL. What is checked: the source is never written (bytes, alembic revision,
the old MLflow still opens it), MLflow's numbers are kept, a store is one store through its file
and through `mlflow server`, artifacts are hashed and never loaded, every gap is listed per
version, MLflow 3 logged-model metrics are imported, and a re-import changes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import sqlite3
import urllib.parse
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from core import audit
from core.db.engine import read_session, write_session
from core.db.migrate import downgrade, upgrade
from core.db.models import AuditEvent, Dataset, ExternalRef, LineageEdge, Model, ModelVersion
from core.errors import Conflict, InvalidInput, PermissionDenied, StewardError
from core.integrations.mlflow_import import import_mlflow
from core.integrations.mlflow_source import SourceError, hash_tree
from core.registry import services
from tests.factories import make_model, make_world
from tests.mlflow_store import Store, mlflow_python, mlflow_server, run_mlflow, write_store

VERSIONS = ["credit-scoring v1", "credit-scoring v3", "credit-scoring v4", "demand-forecast v1"]


@pytest.fixture(scope="module", params=[3, 2], ids=["mlflow3", "mlflow2"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A SQLite-backed store written by MLflow 3 or MLflow 2 (shared: tests that change it copy it)."""
    python = mlflow_python(request.param)
    return write_store(python, tmp_path_factory.mktemp(f"mlflow{request.param}"))


@pytest.fixture(scope="module")
def server(store: Store, tmp_path_factory: pytest.TempPathFactory):
    """`mlflow server` of the same MLflow version over the same store."""
    with mlflow_server(store, tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url


def _copy(store: Store, tmp_path: Path) -> Store:
    """The store's database in a folder of its own (artifacts stay where the store wrote them)."""
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copyfile(store.db, folder / "mlflow.db")
    return dataclasses.replace(store, root=folder, uri=f"sqlite:///{folder / 'mlflow.db'}")


def _local(uri: str) -> Path:
    return Path(urllib.parse.urlsplit(uri).path if uri.startswith("file:") else uri)


def _expected_sha256(location: str) -> str:
    """The files' hash computed independently: sha256 over "path\\0sha256\\n" lines, sorted."""
    folder = _local(location)
    lines = sorted(
        f"{p.relative_to(folder.parent).as_posix()}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n"
        for p in folder.rglob("*")
        if p.is_file()
    )
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _versions(engine) -> dict[tuple[str, int], dict]:
    with read_session(engine) as s:
        rows = s.exec(select(Model.name, ModelVersion).join(ModelVersion, ModelVersion.model_id == Model.id))
        return {
            (name, v.version): {
                "stage": v.stage,
                "metrics": v.metrics,
                "params": v.params,
                "git_commit": v.git_commit,
                "source_uri": v.source_uri,
                "source_sha256": v.source_sha256,
                "description": v.description,
            }
            for name, v in rows
        }


def _counts(engine) -> dict[str, int]:
    with read_session(engine) as s:
        return {
            "models": len(s.exec(select(Model)).all()),
            "versions": len(s.exec(select(ModelVersion)).all()),
            "datasets": len(s.exec(select(Dataset)).all()),
            "refs": len(s.exec(select(ExternalRef)).all()),
            "edges": len(s.exec(select(LineageEdge)).all()),
            "events": len(s.exec(select(AuditEvent)).all()),
        }


def _alembic(db: Path) -> str:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


# --- what is imported -----------------------------------------------------------------------


def test_import_keeps_mlflow_numbers_metrics_datasets_and_hashes_files_without_loading_them(engine, store):
    world = make_world(engine)
    report = import_mlflow(engine, actor=world.owner, tracking_uri=store.uri)
    assert report.versions_created == VERSIONS
    assert sorted(report.models_created) == ["credit-scoring", "demand-forecast"]
    versions = _versions(engine)
    # MLflow's 1, 3, 4 (2 was deleted there) stay 1, 3, 4; "same artefact as v3" means MLflow's v3.
    assert sorted(n for m, n in versions if m == "credit-scoring") == [1, 3, 4]
    v1, v3, v4 = (versions[("credit-scoring", n)] for n in (1, 3, 4))
    assert (v1["stage"], v3["stage"], v4["stage"]) == ("none", "staging", "production")
    assert v4["description"] == "same artefact as v3"
    assert v1["metrics"] == {"roc_auc": 0.78, "accuracy": 0.74} and v1["params"] == {"max_depth": "3"}
    assert v1["git_commit"] == "a" * 40 and v3["git_commit"] == ""
    if store.major >= 3:
        # The logged model's own metric (logged from an evaluation run, absent from the source
        # run) and its parameters are imported, and the version's files are the logged model's.
        assert v4["metrics"] == {"roc_auc": 0.84, "accuracy": 0.78, "ks_statistic": 0.41}
        assert v4["params"] == {"max_depth": "6", "calibration": "isotonic"}
        assert v4["source_uri"].endswith(f"models/{store.logged_model}/artifacts")
    else:
        assert v4["metrics"] == {"roc_auc": 0.83, "accuracy": 0.78}
        assert v4["source_uri"].endswith("artifacts/model")
    for key, version in versions.items():
        assert version["source_sha256"] == _expected_sha256(version["source_uri"]), key
    assert len({v["source_sha256"] for v in versions.values()}) == 4
    assert not (store.root / "UNPICKLED").exists()  # model.pkl would create it when unpickled
    with read_session(engine) as s:
        credit = s.exec(select(Model).where(Model.name == "credit-scoring")).one()
        assert credit.business_unit == "Credit risk" and credit.purpose == "Scores loan applications"
        first = s.exec(
            select(ModelVersion).where(ModelVersion.model_id == credit.id, ModelVersion.version == 1)
        ).one()
        assert first.artifact_uri == ""  # Steward's own store holds no copy; nothing to unpickle
        training = s.get(Dataset, first.training_dataset_id)
        evaluation = s.get(Dataset, first.evaluation_dataset_id)
        assert (training.name, training.version) == ("loans", "d0c5e11a")
        assert evaluation.name == "loans_holdout" and set(training.data_schema) == {"income", "age", "label"}
        edges = s.exec(
            select(LineageEdge).where(LineageEdge.dst_type == "model_version", LineageEdge.dst_id == first.id)
        ).all()
        assert {e.src_id for e in edges} == {training.id, evaluation.id}
        demand = s.exec(select(Model).where(Model.name == "demand-forecast")).one()
        assert demand.task == "regression" and demand.business_unit == "Unassigned"
        link = s.exec(select(ExternalRef).where(ExternalRef.external_id == "credit-scoring/1")).one()
        assert link.location == report.store and link.data["artifact_sha256"] == first.source_sha256
        assert sorted(f[0] for f in link.data["artifact_files"]) == ["model/MLmodel", "model/model.pkl"]
        assert audit.verify(s).ok
    # Every gap, per version.
    assert report.gaps["credit-scoring v3"] == [
        "no git commit: the run has no mlflow.source.git.commit tag.",
        "no datasets logged on the run: no training or evaluation data.",
    ]
    assert report.gaps["credit-scoring v1"] == [
        "alias @shadow has no Steward meaning; kept only in the import link.",
        "version tags kept only in the import link: validated.",
    ]
    assert report.gaps["demand-forecast v1"] == [
        "git commit tag 'not-a-commit' is not a commit hash; skipped.",
        "dataset sales has no context tag; linked as 'input'.",
        "no dataset logged with context 'training'.",
        "no dataset logged with context 'evaluation'.",
    ]
    assert "credit-scoring v4" not in report.gaps
    assert "demand-forecast: no business_unit tag in MLflow; filed under 'Unassigned'." in report.not_mapped
    assert (
        "credit-scoring v3: no git commit: the run has no mlflow.source.git.commit tag." in report.not_mapped
    )


def test_import_never_writes_to_the_source_and_its_own_mlflow_still_opens_it(
    engine, store, tmp_path, monkeypatch
):
    world = make_world(engine)
    source = _copy(store, tmp_path)
    before, revision = source.db.read_bytes(), _alembic(source.db)
    artifacts = hash_tree(store.root / "artifacts").sha256
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # MLflow 3 puts a default sqlite:///mlflow.db in the working directory
    report = import_mlflow(engine, actor=world.owner, tracking_uri=source.uri)
    assert report.versions_created == VERSIONS
    assert source.db.read_bytes() == before and _alembic(source.db) == revision
    assert sorted(p.name for p in source.root.iterdir()) == ["mlflow.db"]  # no journal, no WAL
    assert hash_tree(store.root / "artifacts").sha256 == artifacts
    assert list(cwd.iterdir()) == []
    if store.major == 2:
        assert "written by an MLflow older than the installed" in report.schema
    # The MLflow that wrote the store (for MLflow 2: older than Steward's) still opens it:
    # its store refuses a schema another MLflow migrated ("out-of-date database schema").
    listed = run_mlflow(
        source,
        "from mlflow import MlflowClient\n"
        "c = MlflowClient(tracking_uri=URI, registry_uri=URI)\n"
        "print(sorted(int(v.version) for v in c.search_model_versions(\"name = 'credit-scoring'\")))",
    )
    assert listed.strip().splitlines()[-1] == "[1, 3, 4]"


def test_the_same_store_through_mlflow_server_and_its_file_is_one_store(engine, store, server):
    world = make_world(engine)
    first = import_mlflow(engine, actor=world.owner, tracking_uri=server)
    assert first.versions_created == VERSIONS and first.schema == "MLflow server"
    imported, counts = _versions(engine), _counts(engine)
    # Through the REST API, the same content as read from the file.
    for key, version in imported.items():
        assert version["source_sha256"] == _expected_sha256(version["source_uri"]), key
    if store.major >= 3:
        assert imported[("credit-scoring", 4)]["metrics"]["ks_statistic"] == 0.41
    second = import_mlflow(engine, actor=world.owner, tracking_uri=store.uri)
    assert second.store == first.store
    assert second.versions_created == [] and second.versions_unchanged == VERSIONS
    assert not second.changed and second.stages_set == []
    assert _versions(engine) == imported and _counts(engine) == counts  # no rows, no audit events
    third = import_mlflow(engine, actor=world.owner, tracking_uri=server)
    assert not third.changed and _counts(engine) == counts
    assert imported[("credit-scoring", 4)]["stage"] == "production"


@pytest.mark.parametrize("major", [3, 2], ids=["mlflow3", "mlflow2"])
def test_file_store_is_read_in_place_and_is_one_store_by_path_or_file_uri(
    engine, major, tmp_path, monkeypatch
):
    written = write_store(mlflow_python(major), tmp_path / "fs", kind="file")
    world = make_world(engine)
    before = hash_tree(written.root).sha256
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    first = import_mlflow(engine, actor=world.owner, tracking_uri=written.uri)
    assert first.versions_created == VERSIONS and first.schema == "MLflow file store"
    counts = _counts(engine)
    second = import_mlflow(engine, actor=world.owner, tracking_uri=str(written.root / "mlruns"))
    assert second.store == first.store and not second.changed and _counts(engine) == counts
    assert hash_tree(written.root).sha256 == before and list(cwd.iterdir()) == []
    for key, version in _versions(engine).items():
        assert version["source_sha256"] == _expected_sha256(version["source_uri"]), key


def test_postgresql_store_is_read_in_a_read_only_transaction(engine, tmp_path):
    """An MLflow store on PostgreSQL: read with default_transaction_read_only, nothing changes."""
    from tests.conftest import PG_URL, _pg_admin

    if not PG_URL:
        pytest.skip("STEWARD_TEST_POSTGRES_URL is not set")
    name = f"mlflow_src_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        written = write_store(mlflow_python(3), tmp_path / "pg", kind=url)
        source = create_engine(url)
        with source.connect() as conn:
            tables = [
                r[0]
                for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            ]
            before = {t: sorted(map(repr, conn.execute(text(f'SELECT * FROM "{t}"')))) for t in tables}
        world = make_world(engine)
        report = import_mlflow(engine, actor=world.owner, tracking_uri=url)
        assert report.versions_created == VERSIONS and "the schema of the installed mlflow" in report.schema
        with source.connect() as conn:
            after = {t: sorted(map(repr, conn.execute(text(f'SELECT * FROM "{t}"')))) for t in tables}
        assert after == before
        assert _versions(engine)[("credit-scoring", 4)]["metrics"]["ks_statistic"] == 0.41
        assert written.logged_model
        source.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- a re-import ----------------------------------------------------------------------------


def test_reimport_changes_nothing_and_reports_what_changed_in_mlflow(engine, store, tmp_path):
    world = make_world(engine)
    source = _copy(store, tmp_path)
    import_mlflow(engine, actor=world.owner, tracking_uri=source.uri)
    counts = _counts(engine)
    again = import_mlflow(engine, actor=world.owner, tracking_uri=source.uri)
    assert not again.changed and _counts(engine) == counts  # no new rows, no audit events
    assert again.gaps["credit-scoring v3"][0].startswith("no git commit")  # gaps are listed again
    with write_session(engine) as s:  # a version registered in Steward takes number 5
        credit = s.exec(select(Model).where(Model.name == "credit-scoring")).one()
        services.register_version(s, actor=world.owner, model_id=credit.id, metrics={"roc_auc": 0.9})
    run_mlflow(
        source,
        "from mlflow import MlflowClient\n"
        "c = MlflowClient(tracking_uri=URI, registry_uri=URI)\n"
        "v1 = c.get_model_version('credit-scoring', '1')\n"
        "for _ in range(2):\n"
        "    c.create_model_version('credit-scoring', source=v1.source, run_id=v1.run_id)\n"
        "c.set_registered_model_alias('credit-scoring', 'champion', '1')\n"
        "c.delete_model_version('credit-scoring', '3')\n",
    )
    events = _counts(engine)["events"]
    report = import_mlflow(engine, actor=world.owner, tracking_uri=source.uri)
    assert report.versions_created == ["credit-scoring v6"]
    assert report.versions_skipped == ["credit-scoring v5"]
    assert report.gaps["credit-scoring v5"][0].startswith(
        "not imported: Steward's v5 of this model is another"
    )
    assert (
        "credit-scoring v3: no longer in MLflow (deleted there); Steward keeps its v3." in report.not_mapped
    )
    assert any(
        "MLflow says production (alias @champion) but Steward has it as none" in line
        for line in report.gaps["credit-scoring v1"]
    )
    versions = _versions(engine)
    assert sorted(n for m, n in versions if m == "credit-scoring") == [1, 3, 4, 5, 6]
    assert versions[("credit-scoring", 4)]["stage"] == "production"  # production never moved
    assert versions[("credit-scoring", 5)]["metrics"] == {"roc_auc": 0.9}  # Steward's own v5 untouched
    with read_session(engine) as s:
        imported = s.exec(
            select(AuditEvent).where(AuditEvent.action == "mlflow.imported", AuditEvent.id > events)
        ).all()
        assert len(imported) == 1
        assert json.loads(imported[0].after)["versions_created"] == ["credit-scoring v6"]
    counts = _counts(engine)
    last = import_mlflow(engine, actor=world.owner, tracking_uri=source.uri)
    assert not last.changed and _counts(engine) == counts


def test_links_from_an_import_filed_under_the_uri_move_to_the_store_identity(engine, store, tmp_path):
    """Imports made before stores had an identity filed links under the URI: no duplicates follow."""
    world = make_world(engine)
    source = _copy(store, tmp_path)
    first = import_mlflow(engine, actor=world.owner, tracking_uri=source.uri)
    with write_session(engine) as s:
        s.execute(text("UPDATE external_ref SET location = :uri"), {"uri": source.uri})
    counts = _counts(engine)
    moved = import_mlflow(engine, actor=world.owner, tracking_uri=source.uri)
    assert moved.versions_created == [] and moved.versions_unchanged == VERSIONS
    assert "model_version credit-scoring/1 (filed under the store's identity)" in moved.links_updated
    after = _counts(engine)
    assert {k: v for k, v in after.items() if k != "events"} == {
        k: v for k, v in counts.items() if k != "events"
    }
    with read_session(engine) as s:
        assert {r.location for r in s.exec(select(ExternalRef))} == {first.store}
        moves = s.exec(select(AuditEvent).where(AuditEvent.action == "mlflow.links_moved")).all()
        assert [(e.object_type, e.object_id) for e in moves] == [("external_ref", first.store)]
        assert json.loads(moves[0].before) == {"location": source.uri}
        assert (
            "model_version credit-scoring/1 (filed under the store's identity)"
            in json.loads(moves[0].after)["links_moved"]
        )
    assert not import_mlflow(engine, actor=world.owner, tracking_uri=source.uri).changed


# --- what cannot be read --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("revision", "says"),
    [
        ("ffffffffffff", "alembic revision ffffffffffff, unknown to the installed mlflow"),
        (None, "alembic revision"),
    ],
    ids=["newer", "own"],
)
def test_a_schema_it_cannot_read_is_refused_naming_the_mlflow_that_wrote_it(
    engine, store, tmp_path, revision, says
):
    world = make_world(engine)
    source = _copy(store, tmp_path)
    with sqlite3.connect(source.db) as conn:
        conn.execute("DROP TABLE model_version_tags")
        if revision:
            conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    own = _alembic(source.db)
    counts = _counts(engine)
    with pytest.raises(SourceError, match="lacks table model_version_tags") as refused:
        import_mlflow(engine, actor=world.owner, tracking_uri=source.uri)
    message = str(refused.value)
    assert says in message and own in message and "never upgrades a source" in message
    if revision:
        assert "written by a newer MLflow" in message
    elif store.major == 2:
        assert "written by an MLflow older than the installed" in message
    else:
        assert "the schema of the installed mlflow" in message
    assert _counts(engine) == counts


def test_bad_sources_say_what_is_wrong_and_write_nothing(engine, store, tmp_path, monkeypatch):
    world = make_world(engine)
    monkeypatch.chdir(tmp_path)
    counts = _counts(engine)
    text_file = tmp_path / "notes.db"
    text_file.write_text("not a database")
    (tmp_path / "bare").mkdir()
    cases = [
        ("  ", InvalidInput, "tracking URI is empty"),
        (
            f"sqlite:///{tmp_path}/none/mlflow.db",
            InvalidInput,
            "No MLflow database at .*: the file does not exist",
        ),
        (f"file://{tmp_path}/nowhere/mlruns", InvalidInput, "No MLflow file store at .*does not exist"),
        (f"{tmp_path}/nowhere/mlruns", InvalidInput, "does not exist"),
        (f"sqlite:///{text_file}", InvalidInput, "is not an SQLite database"),
        (f"file://{tmp_path}/bare", InvalidInput, "is not an MLflow file store .*no .trash folder"),
        ("ftp://example.com/mlruns", InvalidInput, "is not an MLflow tracking URI Steward can read"),
        (
            "postgresql://nobody@127.0.0.1:1/none",
            StewardError,
            "Cannot read the MLflow registry at postgresql",
        ),
    ]
    for uri, error, message in cases:
        with pytest.raises(error, match=message):
            import_mlflow(engine, actor=world.owner, tracking_uri=uri)
    with pytest.raises(InvalidInput, match="no registered model named 'nope'"):
        import_mlflow(engine, actor=world.owner, tracking_uri=store.uri, model_name="nope")
    with pytest.raises(PermissionDenied, match="model_owner"):
        import_mlflow(engine, actor=world.viewer, tracking_uri=store.uri)
    assert _counts(engine) == counts
    assert not (tmp_path / "none").exists() and not (tmp_path / "nowhere").exists()
    assert sorted(p.name for p in (tmp_path / "bare").iterdir()) == []  # no .trash, no models
    assert not (tmp_path / "mlflow.db").exists()


def test_import_of_one_model(engine, store):
    world = make_world(engine)
    report = import_mlflow(engine, actor=world.owner, tracking_uri=store.uri, model_name="demand-forecast")
    assert report.models_created == ["demand-forecast"] and report.versions_created == ["demand-forecast v1"]


# --- Steward's side -------------------------------------------------------------------------


def test_register_version_takes_a_given_number_gaps_allowed_never_reused(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner, versions=1)
    gap = 3
    with write_session(engine) as s:
        services.register_version(s, actor=world.owner, model_id=model_id, version=gap)
        nxt = services.register_version(s, actor=world.owner, model_id=model_id)
        assert s.get(ModelVersion, nxt).version == gap + 1
    with read_session(engine) as s:
        numbers = s.exec(select(ModelVersion.version).where(ModelVersion.model_id == model_id)).all()
        assert sorted(numbers) == [1, 3, 4]
    for bad, error, message in [
        (gap, Conflict, f"already has a version {gap}; a number is never reused"),
        (0, InvalidInput, "version number must be a whole number of at least 1"),
        (True, InvalidInput, "version number must be a whole number of at least 1"),
    ]:
        with pytest.raises(error, match=message), write_session(engine) as s:
            services.register_version(s, actor=world.owner, model_id=model_id, version=bad)


def test_migration_0004_keeps_versions_and_adds_an_empty_source_hash(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner, versions=2)
    counts = _counts(engine)
    downgrade(engine, "0002")
    upgrade(engine)
    assert _counts(engine) == counts
    with read_session(engine) as s:
        assert {v.source_sha256 for v in s.exec(select(ModelVersion))} == {""}
    with write_session(engine) as s:
        services.register_version(s, actor=world.owner, model_id=model_id, source_sha256="ab" * 32)
    with read_session(engine) as s:
        assert sorted(v.source_sha256 for v in s.exec(select(ModelVersion))) == ["", "", "ab" * 32]


def test_cli_import_mlflow_is_idempotent(engine, db_url, store, monkeypatch):
    from core.cli import app
    from core.config import reset_settings_cache
    from tests.cli_auth import TokenRunner

    world = make_world(engine)
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    runner = TokenRunner()
    first = runner.invoke(app, ["import-mlflow", "--tracking-uri", store.uri, "--as", world.owner.email])
    assert first.exit_code == 0, first.output
    assert "2 models created" in first.output and "4 versions created" in first.output
    assert "credit-scoring v3: no git commit" in first.output
    assert "Downloading artifacts" not in first.output
    second = runner.invoke(
        app, ["import-mlflow", "--tracking-uri", store.uri, "--as", world.owner.email, "--json"]
    )
    assert second.exit_code == 0, second.output
    assert '"models_created": []' in second.output and '"versions_unchanged": [' in second.output
    denied = runner.invoke(app, ["import-mlflow", "--tracking-uri", store.uri, "--as", world.viewer.email])
    assert denied.exit_code == 1
    assert "Error:" in denied.output and "model_owner" in denied.output
    missing = runner.invoke(
        app, ["import-mlflow", "--tracking-uri", "file:///nowhere/mlruns", "--as", world.owner.email]
    )
    assert missing.exit_code == 1 and missing.output.count("\n") == 1
    assert "does not exist" in missing.output and "maintenance mode" not in missing.output
