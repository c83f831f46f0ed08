"""Read an MLflow tracking store without changing it.

Three kinds of source, all read-only:

- a database store (``sqlite:///…``, ``postgresql://…``, ``mysql://…``): its tables are read
  directly with SQLAlchemy over a read-only connection (SQLite opened with ``mode=ro``,
  PostgreSQL and MySQL in read-only transactions). MLflow's own store class is never built on
  it, because that class creates missing tables and runs MLflow's schema migrations, which
  would move a store written by an older MLflow to the schema of the installed one and lock
  the team's own (older) server out of it;
- an MLflow server (``http(s)://…``): its REST API, through ``MlflowClient``, which only reads;
- a file store (``file:///…/mlruns`` or a directory): MLflow's file store, opened only when the
  folders it would otherwise create already exist.

Whatever the kind, the importer gets the same plain records (``MlRegisteredModel``,
``MlVersion``, ``MlRun``, ``MlLoggedModel``). Artifacts are downloaded to a temporary folder
through MLflow's artifact repository and hashed; they are never loaded or unpickled.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import re
import sqlite3
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from core.db.engine import redact
from core.errors import InvalidInput, StewardError

DELETED_STAGE = "Deleted_Internal"  # what MLflow's database store writes for a deleted version
DEFAULT_WORKSPACE = "default"
SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mssql")
# The columns Steward reads; tables MLflow added later (aliases, datasets, logged models) are optional.
REQUIRED_COLUMNS: dict[str, set[str]] = {
    "experiments": {"experiment_id", "name", "artifact_location"},
    "registered_models": {"name", "creation_time", "description"},
    "registered_model_tags": {"name", "key", "value"},
    "model_versions": {
        "name",
        "version",
        "creation_time",
        "description",
        "user_id",
        "current_stage",
        "source",
        "run_id",
        "status",
    },
    "model_version_tags": {"name", "version", "key", "value"},
    "runs": {"run_uuid", "artifact_uri", "lifecycle_stage"},
    "params": {"run_uuid", "key", "value"},
    "latest_metrics": {"run_uuid", "key", "value"},
    "tags": {"run_uuid", "key", "value"},
}
OPTIONAL_COLUMNS: dict[str, set[str]] = {
    "registered_model_aliases": {"name", "alias", "version"},
    "datasets": {"dataset_uuid", "name", "digest", "dataset_source_type", "dataset_source", "dataset_schema"},
    "inputs": {"input_uuid", "source_type", "source_id", "destination_type", "destination_id"},
    "input_tags": {"input_uuid", "name", "value"},
    "logged_models": {"model_id", "name", "artifact_location", "source_run_id"},
    "logged_model_metrics": {
        "model_id",
        "metric_name",
        "metric_value",
        "metric_step",
        "metric_timestamp_ms",
        "dataset_name",
        "dataset_digest",
        "run_id",
    },
    "logged_model_params": {"model_id", "param_key", "param_value"},
    "logged_model_tags": {"model_id", "tag_key", "tag_value"},
}
_LOGGED_MODEL_URI = re.compile(r"^models:/(m-[0-9a-zA-Z]+)/?$")


class SourceError(StewardError):
    """The MLflow store cannot be read as asked; the message says why."""


# --- what a source yields -------------------------------------------------------------------


@dataclass(frozen=True)
class MlDataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str
    context: str


@dataclass(frozen=True)
class MlRun:
    run_id: str
    artifact_uri: str
    deleted: bool
    params: dict[str, str]
    metrics: dict[str, float | None]  # None: MLflow holds NaN or an infinity
    tags: dict[str, str]
    datasets: tuple[MlDataset, ...]


@dataclass(frozen=True)
class MlMetric:
    key: str
    value: float | None
    step: int
    timestamp: int
    dataset_name: str
    run_id: str


@dataclass(frozen=True)
class MlLoggedModel:
    model_id: str
    name: str
    artifact_location: str
    source_run_id: str
    params: dict[str, str]
    tags: dict[str, str]
    metrics: tuple[MlMetric, ...]


@dataclass(frozen=True)
class MlVersion:
    name: str
    version: int
    creation_timestamp: int | None
    description: str
    user_id: str
    current_stage: str
    source: str
    storage_location: str
    run_id: str
    status: str
    tags: dict[str, str]
    model_id: str  # MLflow 3: the logged model this version registers ("" for none)


@dataclass(frozen=True)
class MlRegisteredModel:
    name: str
    creation_timestamp: int | None
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]


@dataclass
class StoreInfo:
    identity: str  # independent of the URI the store was reached through
    schema: str = ""  # e.g. "alembic revision 1b5f0d9ad7c1 (the schema of mlflow 3.18.0)"
    notes: list[str] = field(default_factory=list)


def logged_model_id(source: str) -> str:
    """The logged-model id in a ``models:/m-…`` source ("" for any other source)."""
    match = _LOGGED_MODEL_URI.match(source or "")
    return match.group(1) if match else ""


def identity_from(experiment_id: Any, creation_time: Any, artifact_location: Any) -> str:
    """A store's identity: MLflow's first experiment, created with the store, never changes.

    Its id and creation time (in ms) are the same whether the store is read from its file or
    through ``mlflow server``; the artifact location stands in when an old store has no
    creation time."""
    basis = f"{experiment_id}|{creation_time}" if creation_time else f"{experiment_id}|{artifact_location}"
    return "mlflow-store:" + hashlib.sha256(basis.encode()).hexdigest()[:24]


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


# --- schema revisions -----------------------------------------------------------------------


def installed_mlflow() -> tuple[str, dict[str, str | None]]:
    """The installed mlflow's version and its migration graph (revision -> down revision)."""
    try:
        import mlflow
    except ImportError:  # pragma: no cover - depends on the installation
        return "", {}
    graph: dict[str, str | None] = {}
    folder = Path(mlflow.__file__).parent / "store" / "db_migrations" / "versions"
    for script in folder.glob("*.py"):
        body = script.read_text(encoding="utf-8", errors="replace")
        rev = re.search(r'^revision\s*=\s*["\']([^"\']+)["\']', body, re.M)
        down = re.search(r'^down_revision\s*=\s*(?:["\']([^"\']+)["\']|None)', body, re.M)
        if rev:
            graph[rev.group(1)] = down.group(1) if down else None
    return getattr(mlflow, "__version__", ""), graph


def describe_revision(revision: str) -> str:
    """Which MLflow wrote a schema revision, relative to the installed mlflow."""
    version, graph = installed_mlflow()
    if not revision:
        return "no alembic_version row (not written by MLflow's database store)"
    if not graph:
        return f"alembic revision {revision}"
    downs = {d for d in graph.values() if d}
    heads = [r for r in graph if r not in downs]
    if revision in heads:
        return f"alembic revision {revision}, the schema of the installed mlflow {version}"
    if revision in graph:
        return f"alembic revision {revision}, written by an MLflow older than the installed {version}"
    return (
        f"alembic revision {revision}, unknown to the installed mlflow {version}: written by a newer MLflow"
    )


# --- opening a source -----------------------------------------------------------------------


def open_source(tracking_uri: str) -> MlflowSource:
    """The source for ``tracking_uri``; raises InvalidInput/SourceError naming the problem."""
    uri = tracking_uri.strip()
    location = redact(uri)
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    base = scheme.split("+", 1)[0]
    if base in SQL_SCHEMES:
        return SqlSource(uri, location)
    if base in ("http", "https"):
        return ClientSource(uri, location)
    if base == "file" or (not scheme and not uri.startswith("databricks")) or len(scheme) == 1:
        return ClientSource(uri, location, file_root=_file_store_root(uri, location))
    if base.startswith("databricks"):
        return ClientSource(uri, location)
    raise InvalidInput(
        f"'{location}' is not an MLflow tracking URI Steward can read: use sqlite:///path/mlflow.db, "
        "postgresql://…, http(s)://mlflow-server or file:///path/mlruns."
    )


def _file_store_root(uri: str, location: str) -> Path:
    """The folder of a file store, checked so that MLflow's file store never has to create anything."""
    if uri.lower().startswith("file:"):
        parsed = urllib.parse.urlsplit(uri)
        path = Path(urllib.parse.unquote(parsed.path))
    else:
        path = Path(uri).expanduser()
    if not path.exists():
        raise InvalidInput(
            f"No MLflow file store at {location}: the directory {path} does not exist. Check the "
            "tracking URI (file:///absolute/path/mlruns)."
        )
    if not path.is_dir():
        raise InvalidInput(f"'{location}' is not a directory, so it is not an MLflow file store.")
    if not (path / ".trash").is_dir():
        raise InvalidInput(
            f"{path} is not an MLflow file store (it has no .trash folder, which MLflow creates); "
            "Steward does not write to a source, so it does not create one."
        )
    return path


class MlflowSource:
    """What the importer needs from a store. Subclasses read a database, a server or a folder."""

    location: str

    def info(self) -> StoreInfo:
        raise NotImplementedError

    def registered_models(self, name: str | None) -> list[MlRegisteredModel]:
        raise NotImplementedError

    def versions(self, name: str) -> list[MlVersion]:
        raise NotImplementedError

    def run(self, run_id: str) -> MlRun | None:
        raise NotImplementedError

    def logged_model(self, model_id: str) -> MlLoggedModel | None:
        raise NotImplementedError

    def artifact_location(self, mv: MlVersion, run: MlRun | None, model: MlLoggedModel | None) -> str:
        """Where the version's files are: the logged model's or the run's folder, or its source."""
        if model is not None and model.artifact_location:
            return model.artifact_location
        if mv.storage_location and not mv.storage_location.startswith("models:/"):
            return mv.storage_location
        source = mv.source
        if source.startswith("runs:/"):
            rest = source[len("runs:/") :]
            run_id, _, path = rest.partition("/")
            if run is not None and run.run_id == run_id and run.artifact_uri:
                return run.artifact_uri.rstrip("/") + ("/" + path if path else "")
            return ""
        if source.startswith("models:/"):
            return ""
        return source

    def download(self, location: str, destination: Path) -> None:
        """Copy the files at ``location`` into ``destination`` with MLflow's artifact repository."""
        from mlflow.artifacts import download_artifacts

        download_artifacts(artifact_uri=location, dst_path=str(destination))

    def close(self) -> None:
        return None


# --- database stores ------------------------------------------------------------------------


def _read_only_engine(uri: str, location: str) -> Engine:
    try:
        url = make_url(uri)
    except ArgumentError:
        raise InvalidInput(
            f"'{location}' is not a valid database URI: use sqlite:///path/to/mlflow.db."
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, location)
    if backend in ("postgresql", "postgres"):
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return create_engine(
            url,
            poolclass=NullPool,
            connect_args={"options": "-c default_transaction_read_only=on", "connect_timeout": 10},
        )
    if backend == "mysql":
        if url.drivername == "mysql":
            url = url.set(drivername="mysql+pymysql")
        try:
            engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})
        except ImportError:
            raise SourceError(
                f"Reading the MySQL store at {location} needs the PyMySQL driver (pip install pymysql), "
                "or import through the team's MLflow server (http://…)."
            ) from None

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            with contextlib.closing(dbapi_connection.cursor()) as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")

        return engine
    raise SourceError(
        f"Steward reads SQLite, PostgreSQL and MySQL MLflow stores directly; for {backend} import "
        "through the team's MLflow server (http://…)."
    )


def _sqlite_engine(url: URL, location: str) -> Engine:
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise InvalidInput(
            f"'{location}' names no MLflow database file: use sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db."
        )
    path = Path(database).expanduser().resolve()
    if not path.is_file():
        raise InvalidInput(
            f"No MLflow database at {location}: the file does not exist ({path}). Check the tracking "
            "URI (sqlite:///relative/path.db or sqlite:////absolute/path.db)."
        )
    with path.open("rb") as fh:
        header = fh.read(16)
    if header != b"SQLite format 3\x00" and header:
        raise InvalidInput(f"{path} is not an SQLite database, so it is not an MLflow store.")
    target = f"file:{urllib.parse.quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(target, uri=True, timeout=15, check_same_thread=False)
        connection.execute("PRAGMA query_only = ON")
        return connection

    return create_engine("sqlite://", creator=connect, poolclass=NullPool)


class SqlSource(MlflowSource):
    """An MLflow database store, read table by table over a read-only connection."""

    def __init__(self, uri: str, location: str) -> None:
        self.location = location
        self.engine = _read_only_engine(uri, location)
        try:
            self.connection = self.engine.connect()
            self.tables = {
                name: {c["name"] for c in inspect(self.connection).get_columns(name)}
                for name in inspect(self.connection).get_table_names()
            }
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise SourceError(f"Cannot read the MLflow registry at {location}: {_first_line(exc)}") from None
        self.revision = self._revision()
        self._check_schema()
        self.workspace = "workspace" in self.tables["registered_models"]

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        try:
            return list(self.connection.execute(text(sql), params).mappings())
        except SQLAlchemyError as exc:
            raise SourceError(
                f"Cannot read the MLflow store at {self.location} "
                f"({describe_revision(self.revision)}): {_first_line(exc)}"
            ) from None

    def _revision(self) -> str:
        if "alembic_version" not in self.tables:
            return ""
        rows = list(self.connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
        return str(rows[0]) if rows else ""

    def _check_schema(self) -> None:
        if "registered_models" not in self.tables and "experiments" not in self.tables:
            raise SourceError(
                f"{self.location} is not an MLflow store: it has no experiments or registered_models table."
            )
        missing: list[str] = []
        for table, columns in REQUIRED_COLUMNS.items():
            if table not in self.tables:
                missing.append(f"table {table}")
            else:
                missing.extend(f"column {table}.{c}" for c in sorted(columns - self.tables[table]))
        if missing:
            raise SourceError(
                f"Cannot read the MLflow store at {self.location}: it lacks {', '.join(missing[:4])}"
                f"{' …' if len(missing) > 4 else ''}. Its schema is {describe_revision(self.revision)}. "
                "Steward never upgrades a source; import through the MLflow server that uses this store."
            )

    def _has(self, table: str) -> bool:
        return table in self.tables and OPTIONAL_COLUMNS[table] <= self.tables[table]

    def _ws(self, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return f" AND {prefix}workspace = :ws" if self.workspace else ""

    def info(self) -> StoreInfo:
        columns = self.tables["experiments"]
        created = "creation_time" if "creation_time" in columns else "NULL"
        rows = self._rows(
            f"SELECT experiment_id, {created} AS creation_time, artifact_location FROM experiments "
            "ORDER BY experiment_id LIMIT 1"
        )
        info = StoreInfo(identity="", schema=describe_revision(self.revision))
        if rows:
            first = rows[0]
            info.identity = identity_from(
                first["experiment_id"], first["creation_time"], first["artifact_location"]
            )
        else:
            models = self._rows(
                "SELECT name, creation_time FROM registered_models ORDER BY creation_time, name"
            )
            if not models:
                raise SourceError(f"The MLflow store at {self.location} is empty: no experiments, no models.")
            info.identity = identity_from("model:" + models[0]["name"], models[0]["creation_time"], "")
        if "newer MLflow" in info.schema:
            info.notes.append(
                f"The store's schema is {info.schema}; Steward read only the tables and columns it knows."
            )
        if self.workspace:
            others = self._rows(
                "SELECT COUNT(*) AS n FROM registered_models WHERE workspace <> :ws", ws=DEFAULT_WORKSPACE
            )
            if others and others[0]["n"]:
                info.notes.append(
                    f"{others[0]['n']} registered models in MLflow workspaces other than "
                    f"'{DEFAULT_WORKSPACE}' were not imported (import them through the server)."
                )
        return info

    def registered_models(self, name: str | None) -> list[MlRegisteredModel]:
        ws = {"ws": DEFAULT_WORKSPACE} if self.workspace else {}
        where = " WHERE 1 = 1" + self._ws() + (" AND name = :name" if name else "")
        models = self._rows(
            f"SELECT name, creation_time, description FROM registered_models{where} ORDER BY name",
            **ws,
            **({"name": name} if name else {}),
        )
        tags: dict[str, dict[str, str]] = {}
        for row in self._rows(
            f"SELECT name, key, value FROM registered_model_tags WHERE 1 = 1{self._ws()}", **ws
        ):
            tags.setdefault(row["name"], {})[row["key"]] = row["value"] or ""
        aliases: dict[str, dict[str, int]] = {}
        if self._has("registered_model_aliases"):
            alias_ws = self._ws() if "workspace" in self.tables["registered_model_aliases"] else ""
            for row in self._rows(
                f"SELECT name, alias, version FROM registered_model_aliases WHERE 1 = 1{alias_ws}",
                **(ws if alias_ws else {}),
            ):
                aliases.setdefault(row["name"], {})[row["alias"]] = int(row["version"])
        return [
            MlRegisteredModel(
                name=m["name"],
                creation_timestamp=m["creation_time"],
                description=m["description"] or "",
                tags=tags.get(m["name"], {}),
                aliases=aliases.get(m["name"], {}),
            )
            for m in models
        ]

    def versions(self, name: str) -> list[MlVersion]:
        ws = {"ws": DEFAULT_WORKSPACE} if self.workspace else {}
        storage = "storage_location" if "storage_location" in self.tables["model_versions"] else "NULL"
        rows = self._rows(
            "SELECT version, creation_time, description, user_id, current_stage, source, run_id, status, "
            f"{storage} AS storage_location FROM model_versions WHERE name = :name AND "
            f"(current_stage IS NULL OR current_stage <> :deleted){self._ws()} ORDER BY version",
            name=name,
            deleted=DELETED_STAGE,
            **ws,
        )
        tag_ws = self._ws() if "workspace" in self.tables["model_version_tags"] else ""
        tags: dict[int, dict[str, str]] = {}
        for row in self._rows(
            f"SELECT version, key, value FROM model_version_tags WHERE name = :name{tag_ws}",
            name=name,
            **(ws if tag_ws else {}),
        ):
            tags.setdefault(int(row["version"]), {})[row["key"]] = row["value"] or ""
        return [
            MlVersion(
                name=name,
                version=int(r["version"]),
                creation_timestamp=r["creation_time"],
                description=r["description"] or "",
                user_id=r["user_id"] or "",
                current_stage=r["current_stage"] or "None",
                source=r["source"] or "",
                storage_location=r["storage_location"] or "",
                run_id=r["run_id"] or "",
                status=r["status"] or "READY",
                tags=tags.get(int(r["version"]), {}),
                model_id=logged_model_id(r["source"] or ""),
            )
            for r in rows
        ]

    def run(self, run_id: str) -> MlRun | None:
        rows = self._rows(
            "SELECT run_uuid, artifact_uri, lifecycle_stage FROM runs WHERE run_uuid = :id", id=run_id
        )
        if not rows:
            return None
        nan = "is_nan" in self.tables["latest_metrics"]
        metrics: dict[str, float | None] = {}
        for row in self._rows(
            f"SELECT key, value{', is_nan' if nan else ''} FROM latest_metrics WHERE run_uuid = :id",
            id=run_id,
        ):
            metrics[row["key"]] = _finite(row["value"], nan and bool(row["is_nan"]))
        params = {
            r["key"]: r["value"] or ""
            for r in self._rows("SELECT key, value FROM params WHERE run_uuid = :id", id=run_id)
        }
        tags = {
            r["key"]: r["value"] or ""
            for r in self._rows("SELECT key, value FROM tags WHERE run_uuid = :id", id=run_id)
        }
        return MlRun(
            run_id=run_id,
            artifact_uri=rows[0]["artifact_uri"] or "",
            deleted=(rows[0]["lifecycle_stage"] or "") == "deleted",
            params=params,
            metrics=metrics,
            tags=tags,
            datasets=self._datasets(run_id),
        )

    def _datasets(self, run_id: str) -> tuple[MlDataset, ...]:
        if not (self._has("datasets") and self._has("inputs")):
            return ()
        rows = self._rows(
            "SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, d.dataset_schema "
            "FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
            "WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id = :id "
            "ORDER BY d.name, d.digest",
            id=run_id,
        )
        contexts: dict[str, str] = {}
        if rows and self._has("input_tags"):
            for row in self._rows(
                "SELECT t.input_uuid, t.value FROM input_tags t JOIN inputs i ON i.input_uuid = t.input_uuid "
                "WHERE i.destination_id = :id AND t.name = 'mlflow.data.context'",
                id=run_id,
            ):
                contexts[row["input_uuid"]] = row["value"] or ""
        return tuple(
            MlDataset(
                name=r["name"],
                digest=r["digest"],
                source_type=r["dataset_source_type"] or "",
                source=r["dataset_source"] or "",
                schema=r["dataset_schema"] or "",
                context=contexts.get(r["input_uuid"], ""),
            )
            for r in rows
        )

    def logged_model(self, model_id: str) -> MlLoggedModel | None:
        if not self._has("logged_models"):
            return None
        rows = self._rows(
            "SELECT model_id, name, artifact_location, source_run_id FROM logged_models WHERE model_id = :id",
            id=model_id,
        )
        if not rows:
            return None
        metrics: tuple[MlMetric, ...] = ()
        if self._has("logged_model_metrics"):
            metrics = tuple(
                MlMetric(
                    key=r["metric_name"],
                    value=_finite(r["metric_value"], False),
                    step=int(r["metric_step"] or 0),
                    timestamp=int(r["metric_timestamp_ms"] or 0),
                    dataset_name=r["dataset_name"] or "",
                    run_id=r["run_id"] or "",
                )
                for r in self._rows(
                    "SELECT metric_name, metric_value, metric_step, metric_timestamp_ms, dataset_name, run_id "
                    "FROM logged_model_metrics WHERE model_id = :id",
                    id=model_id,
                )
            )
        params: dict[str, str] = {}
        if self._has("logged_model_params"):
            params = {
                r["param_key"]: r["param_value"] or ""
                for r in self._rows(
                    "SELECT param_key, param_value FROM logged_model_params WHERE model_id = :id", id=model_id
                )
            }
        tags: dict[str, str] = {}
        if self._has("logged_model_tags"):
            tags = {
                r["tag_key"]: r["tag_value"] or ""
                for r in self._rows(
                    "SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = :id", id=model_id
                )
            }
        return MlLoggedModel(
            model_id=model_id,
            name=rows[0]["name"] or "",
            artifact_location=rows[0]["artifact_location"] or "",
            source_run_id=rows[0]["source_run_id"] or "",
            params=params,
            tags=tags,
            metrics=metrics,
        )

    def download(self, location: str, destination: Path) -> None:
        if location.startswith("mlflow-artifacts:"):
            raise SourceError(
                "the files are served by an MLflow server (mlflow-artifacts:); import through that "
                "server's URL to hash them"
            )
        super().download(location, destination)

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


def _finite(value: Any, is_nan: bool) -> float | None:
    if is_nan or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --- servers and file stores, through MlflowClient ------------------------------------------


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _all_pages(fetch: Callable[[Any], Any]) -> list[Any]:
    items: list[Any] = []
    token = None
    while True:
        page = fetch(token)
        items.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return items


class ClientSource(MlflowSource):
    """An MLflow server (REST API) or file store, through MlflowClient's read calls only."""

    def __init__(self, uri: str, location: str, file_root: Path | None = None) -> None:
        try:
            from mlflow import MlflowClient
        except ImportError:  # pragma: no cover - depends on the installation
            raise StewardError(
                "MLflow is not installed: pip install 'steward[mlflow]' (or mlflow-skinny)."
            ) from None
        self.location = location
        self.uri = uri
        self.file_root = file_root
        # MLflow retries an unreachable server for minutes by default; someone waiting on the
        # Admin page (or a cron job) should hear within seconds. Explicit settings are kept.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
        # Parts of MLflow build their own MlflowClient() on the default tracking URI, which in
        # MLflow 3 is sqlite:///mlflow.db in the working directory: searching a file store's
        # registry would create that file. Pointing the default at the source keeps every read
        # there. MLflow 3 also refuses its (deprecated) file store unless asked; Steward only
        # reads it, and only after checking the folders MLflow would otherwise create are there.
        values = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri}
        if file_root:
            values["MLFLOW_ALLOW_FILE_STORE"] = "true"
        self._env = _environment(values)
        self._env.__enter__()
        import mlflow

        self._previous_uri: str | None = None
        if mlflow.get_tracking_uri() != uri:  # set in code earlier, which outranks the environment
            self._previous_uri = mlflow.get_tracking_uri()
            mlflow.set_tracking_uri(uri)
        self.has_models = file_root is None or (file_root / "models").is_dir()
        try:
            self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        except Exception as exc:  # MLflow raises many types for a foreign store
            self.close()
            raise SourceError(f"Cannot read the MLflow registry at {location}: {_first_line(exc)}") from None

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except StewardError:
            raise
        except Exception as exc:  # MLflow raises many types for an unreachable or foreign store
            raise SourceError(
                f"Cannot read the MLflow registry at {self.location}: {_first_line(exc)}"
            ) from None

    def info(self) -> StoreInfo:
        def first_experiment() -> Any:
            try:
                return self.client.get_experiment("0")
            except Exception:  # the default experiment was removed: the oldest one left
                from mlflow.entities import ViewType

                found = _all_pages(
                    lambda t: self.client.search_experiments(view_type=ViewType.ALL, page_token=t)
                )
                return min(found, key=lambda e: int(e.experiment_id)) if found else None

        experiment = self._call(first_experiment)
        if experiment is None:
            raise SourceError(f"The MLflow store at {self.location} has no experiments to identify it by.")
        schema = "MLflow server" if self.file_root is None else "MLflow file store"
        return StoreInfo(
            identity=identity_from(
                experiment.experiment_id,
                getattr(experiment, "creation_time", None),
                experiment.artifact_location,
            ),
            schema=schema,
        )

    def registered_models(self, name: str | None) -> list[MlRegisteredModel]:
        if not self.has_models:
            return []
        if name:
            found = self._call(lambda: _maybe(lambda: self.client.get_registered_model(name)))
            models = [found] if found is not None else []
        else:
            listed = self._call(
                lambda: _all_pages(lambda t: self.client.search_registered_models(page_token=t))
            )
            models = [self._call(functools.partial(self.client.get_registered_model, m.name)) for m in listed]
        return sorted(
            (
                MlRegisteredModel(
                    name=m.name,
                    creation_timestamp=m.creation_timestamp,
                    description=m.description or "",
                    tags=dict(m.tags or {}),
                    aliases={a: int(v) for a, v in (m.aliases or {}).items()},
                )
                for m in models
            ),
            key=lambda m: m.name,
        )

    def versions(self, name: str) -> list[MlVersion]:
        escaped = name.replace("\\", "\\\\").replace("'", "\\'")
        found = self._call(
            lambda: _all_pages(
                lambda t: self.client.search_model_versions(f"name = '{escaped}'", page_token=t)
            ),
        )
        result = []
        for mv in found:
            if mv.name != name or str(mv.current_stage) == DELETED_STAGE:
                continue
            storage = self._call(
                functools.partial(
                    _maybe, functools.partial(self.client.get_model_version_download_uri, name, mv.version)
                ),
            )
            result.append(
                MlVersion(
                    name=name,
                    version=int(mv.version),
                    creation_timestamp=mv.creation_timestamp,
                    description=mv.description or "",
                    user_id=mv.user_id or "",
                    current_stage=str(mv.current_stage or "None"),
                    source=mv.source or "",
                    storage_location=storage or "",
                    run_id=mv.run_id or "",
                    status=str(mv.status or "READY"),
                    tags=dict(mv.tags or {}),
                    model_id=getattr(mv, "model_id", None) or logged_model_id(mv.source or ""),
                )
            )
        return sorted(result, key=lambda v: v.version)

    def run(self, run_id: str) -> MlRun | None:
        run = self._call(lambda: _maybe(lambda: self.client.get_run(run_id)))
        if run is None:
            return None
        datasets = []
        for dataset_input in getattr(run.inputs, "dataset_inputs", None) or []:
            ds = dataset_input.dataset
            context = next((t.value for t in dataset_input.tags if t.key == "mlflow.data.context"), "")
            datasets.append(
                MlDataset(
                    name=ds.name,
                    digest=ds.digest,
                    source_type=ds.source_type or "",
                    source=ds.source or "",
                    schema=ds.schema or "",
                    context=context or "",
                )
            )
        return MlRun(
            run_id=run_id,
            artifact_uri=run.info.artifact_uri or "",
            deleted=run.info.lifecycle_stage == "deleted",
            params=dict(run.data.params),
            metrics={k: _finite(v, False) for k, v in run.data.metrics.items()},
            tags=dict(run.data.tags),
            datasets=tuple(sorted(datasets, key=lambda d: (d.name, d.digest))),
        )

    def logged_model(self, model_id: str) -> MlLoggedModel | None:
        if not hasattr(self.client, "get_logged_model"):
            return None
        model = self._call(lambda: _maybe(lambda: self.client.get_logged_model(model_id)))
        if model is None:
            return None
        return MlLoggedModel(
            model_id=model.model_id,
            name=model.name or "",
            artifact_location=model.artifact_location or "",
            source_run_id=model.source_run_id or "",
            params=dict(model.params or {}),
            tags=dict(model.tags or {}),
            metrics=tuple(
                MlMetric(
                    key=m.key,
                    value=_finite(m.value, False),
                    step=int(m.step or 0),
                    timestamp=int(m.timestamp or 0),
                    dataset_name=getattr(m, "dataset_name", None) or "",
                    run_id=getattr(m, "run_id", None) or "",
                )
                for m in model.metrics or []
            ),
        )

    def download(self, location: str, destination: Path) -> None:
        from mlflow.artifacts import download_artifacts

        tracking = self.uri if self.file_root is None else None
        download_artifacts(artifact_uri=location, dst_path=str(destination), tracking_uri=tracking)

    def close(self) -> None:
        if self._previous_uri is not None:
            import mlflow

            mlflow.set_tracking_uri(self._previous_uri)
            self._previous_uri = None
        self._env.__exit__(None, None, None)


def _maybe(fn: Callable[[], Any]) -> Any:
    """``fn()``, or None when MLflow says the object does not exist."""
    try:
        return fn()
    except Exception as exc:
        code = getattr(exc, "error_code", "")
        if code == "RESOURCE_DOES_NOT_EXIST" or "RESOURCE_DOES_NOT_EXIST" in str(exc):
            return None
        raise


# --- hashing the files of a version ---------------------------------------------------------


@dataclass(frozen=True)
class ArtifactDigest:
    sha256: str  # sha256 of the manifest below
    files: tuple[tuple[str, str, int], ...]  # (relative path, sha256, bytes), sorted by path

    @property
    def size(self) -> int:
        return sum(f[2] for f in self.files)


def hash_tree(root: Path) -> ArtifactDigest:
    """The content hash of every file under ``root``: sha256 over "path\\0sha256\\n" lines, sorted.

    Files are read as bytes and hashed, never opened as models. A symbolic link counts as its
    target path, not followed."""
    entries: list[tuple[str, str, int]] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in files:
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                target = os.readlink(path)
                entries.append((relative, "symlink:" + hashlib.sha256(target.encode()).hexdigest(), 0))
                continue
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            entries.append((relative, digest.hexdigest(), path.stat().st_size))
    entries.sort()
    manifest = "".join(f"{p}\0{h}\n" for p, h, _ in entries)
    return ArtifactDigest(sha256=hashlib.sha256(manifest.encode()).hexdigest(), files=tuple(entries))


def download_and_hash(source: MlflowSource, location: str) -> ArtifactDigest:
    """Download the files at ``location`` to a temporary folder, hash them, delete the copy."""
    with (
        _environment({"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}),
        tempfile.TemporaryDirectory(prefix="steward-mlflow-") as tmp,
    ):
        target = Path(tmp) / "files"
        target.mkdir()
        source.download(location, target)
        digest = hash_tree(target)
    if not digest.files:
        raise SourceError(f"no files at {location}")
    return digest


def dataset_source_uri(source: str) -> str:
    """The URI inside an MLflow dataset source (a JSON document), or the source itself."""
    try:
        parsed = json.loads(source)
    except (TypeError, ValueError):
        return str(source or "")
    if isinstance(parsed, dict):
        return str(
            parsed.get("uri") or parsed.get("url") or parsed.get("path") or parsed.get("table_name") or ""
        )
    return str(parsed)
