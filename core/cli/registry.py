"""Registry commands: create the registry, load the demo, register models and versions,
import prediction logs and costs, list the inventory.

Each command does its work in one write transaction through the registry's services, so a
refused input writes nothing; errors print as one "Error: ..." line and exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from alembic.util.exc import CommandError
from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from core.cli import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.config import get_settings
from core.db.engine import check_connection, read_session, redact, write_session
from core.db.migrate import current_revision, head_revision, upgrade
from core.db.models import BusinessProcess, Dataset, ModelVersion
from core.errors import InvalidInput, NotFound, SchemaOutOfDate, StewardError
from core.registry import artifacts, ingest, reads, services
from core.registry.files import read_table

T = TypeVar("T")

ARTIFACT_FORMATS = {
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "joblib",
    ".onnx": "onnx",
    ".json": "json",
}


def _guarded(fn: Callable[[], T]) -> T:
    """``common.run``, plus file-system errors (unwritable directory, full disk) and any other
    unexpected failure as one line: a pipeline gets exit code 1 and a message, never a traceback."""

    def body() -> T:
        try:
            return fn()
        except (StewardError, IntegrityError, OperationalError, typer.Exit):
            raise  # common.run words these
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            raise InvalidInput(f"{exc.strerror or exc}{where}.") from None
        except Exception as exc:  # the CLI's last line of defence
            first_line = (str(exc).strip().splitlines() or [""])[0][:300]
            raise StewardError(
                f"unexpected {type(exc).__name__}: {first_line} (please report this)."
            ) from None

    return run(body)


def _url(eng: Engine) -> str:
    return redact(eng.url.render_as_string(hide_password=False))


def _report(result: dict[str, Any], message: str, *, as_json: bool) -> None:
    """The result as JSON for machines, or one sentence for people."""
    emit(result if as_json else message, as_json=as_json)


# --- init and demo ------------------------------------------------------------------------


def initialise(eng: Engine) -> dict[str, Any]:
    """Create or migrate the schema to the newest revision and make sure the system account exists."""
    check_connection(eng)
    before = current_revision(eng)
    try:
        upgrade(eng)
    except CommandError as exc:
        raise SchemaOutOfDate(
            f"The registry at {_url(eng)} is at schema revision {before}, which this Steward does not know "
            f"({exc}). It was probably written by a newer Steward; upgrade Steward instead."
        ) from None
    with write_session(eng) as session:
        services.ensure_system_person(session)
    after = head_revision()
    state = "created" if before is None else ("up to date" if before == after else f"migrated from {before}")
    return {"url": _url(eng), "schema": after, "state": state}


@app.command("init")
def init_command(as_json: bool = JSON_OPTION) -> None:
    """Create the registry at STEWARD_DATABASE_URL, or migrate it to the newest schema. Safe to run again."""

    def body() -> None:
        result = initialise(engine(check=False))
        _report(
            result,
            f"Registry at {result['url']}: {result['state']} (schema {result['schema']}).",
            as_json=as_json,
        )

    _guarded(body)


@app.command("demo")
def demo_command(as_json: bool = JSON_OPTION) -> None:
    """Build the deterministic demo portfolio (creates the registry first; does nothing if it is built)."""

    def body() -> None:
        eng = engine(check=False)
        initialise(eng)
        from core.demo import build_demo  # trains models: imported only when asked for

        summary = build_demo(eng)
        _report(summary, _demo_sentence(summary), as_json=as_json)

    _guarded(body)


def _demo_sentence(summary: dict[str, Any]) -> str:
    counts = (
        f"{summary.get('models', 0)} models in {summary.get('business_units', 0)} business units, "
        f"{summary.get('versions', 0)} versions, {summary.get('prediction_logs', 0):,} logged predictions, "
        f"{summary.get('cost_records', 0):,} cost records"
    )
    if summary.get("already_built"):
        return f"The registry already holds models; the demo was not built again ({counts})."
    return f"Demo portfolio built in {summary.get('seconds', 0):.0f} s: {counts}."


# --- models and versions ------------------------------------------------------------------


def _parse_thresholds(values: list[str]) -> dict[str, dict[str, float]]:
    """``roc_auc:min=0.7`` and ``rmse:max=12`` (repeatable) as {"roc_auc": {"min": 0.7}, ...}."""
    thresholds: dict[str, dict[str, float]] = {}
    for value in values:
        metric, _, bound = value.partition(":")
        side, _, number = bound.partition("=")
        if not metric.strip() or side.strip() not in ("min", "max") or not number.strip():
            raise InvalidInput(f"--threshold '{value}' must look like metric:min=0.7 or metric:max=12.")
        try:
            thresholds.setdefault(metric.strip(), {})[side.strip()] = float(number)
        except ValueError:
            raise InvalidInput(f"--threshold '{value}': '{number}' is not a number.") from None
    return thresholds


def _process_id(
    session: Session, *, actor_: Any, name: str | None, business_unit: str, create: bool
) -> int | None:
    if not name:
        return None
    row = session.exec(select(BusinessProcess).where(BusinessProcess.name == name.strip())).first()
    if row is not None:
        return row.id
    if create:
        return services.create_business_process(session, actor=actor_, name=name, business_unit=business_unit)
    known = session.exec(select(BusinessProcess.name).order_by(BusinessProcess.name)).all()
    raise NotFound(
        f"No business process named '{name}'"
        + (f" (known: {', '.join(known[:10])})" if known else "")
        + ". Add --create-process to create it."
    )


@app.command("register-model")
def register_model_command(
    name: str = typer.Argument(..., help="Unique model name."),
    business_unit: str = typer.Option(..., "--business-unit", help="Business unit that owns the model."),
    task: str = typer.Option("binary_classification", "--task", help="binary_classification or regression."),
    purpose: str = typer.Option("", "--purpose", help="What the model is for."),
    intended_use: str = typer.Option("", "--intended-use", help="Where and how it may be used."),
    out_of_scope: str = typer.Option("", "--out-of-scope", help="Uses it must not be put to."),
    process: str | None = typer.Option(None, "--process", help="Business process it serves (by name)."),
    create_process: bool = typer.Option(
        False, "--create-process", help="Create --process if it does not exist."
    ),
    methodology: str = typer.Option("", "--methodology", help="e.g. gradient boosted trees."),
    target: str = typer.Option("", "--target", help="What the model predicts, in words."),
    kpi: str = typer.Option("", "--kpi", help="The business KPI it moves."),
    primary_metric: str = typer.Option(
        "", "--primary-metric", help="Metric validation is judged on, e.g. roc_auc."
    ),
    threshold: list[str] | None = typer.Option(
        None, "--threshold", help="metric:min=X or metric:max=X (repeatable), e.g. roc_auc:min=0.7."
    ),
    status: str = typer.Option(
        "development", "--status", help="development, validation, production or retired."
    ),
    vendor: str = typer.Option("", "--vendor", help="Vendor name, for a bought-in model."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a new model in the inventory."""

    def body() -> None:
        thresholds = _parse_thresholds(threshold or [])
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            process_id = _process_id(
                session, actor_=who, name=process, business_unit=business_unit, create=create_process
            )
            model_id = services.register_model(
                session,
                actor=who,
                name=name,
                business_unit=business_unit,
                task=task,
                business_process_id=process_id,
                status=status,
                is_vendor=bool(vendor.strip()),
                metric_thresholds=thresholds,
                purpose=purpose,
                intended_use=intended_use,
                out_of_scope_uses=out_of_scope,
                methodology=methodology,
                target=target,
                kpi=kpi,
                primary_metric=primary_metric,
                vendor_name=vendor,
            )
        result = {"id": model_id, "name": name.strip(), "business_unit": business_unit.strip()}
        _report(result, f"Registered model '{result['name']}' (id {model_id}).", as_json=as_json)

    _guarded(body)


@app.command("register-dataset")
def register_dataset_command(
    name: str = typer.Argument(..., help="Dataset name, e.g. applications."),
    version: str = typer.Option(..., "--version", help="Dataset version, e.g. 2024-06 or a content digest."),
    uri: str = typer.Option("", "--uri", help="Where the data lives (path, s3://..., table)."),
    rows: int = typer.Option(0, "--rows", help="Number of rows."),
    sha256: str = typer.Option("", "--sha256", help="sha256 of the data file's content."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a dataset version, so versions can name it with --dataset NAME:VERSION."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            dataset_id = services.create_dataset(
                session, actor=who, name=name, version=version, uri=uri, row_count=rows, content_hash=sha256
            )
        result = {"id": dataset_id, "name": name.strip(), "version": version.strip()}
        _report(
            result, f"Registered dataset '{result['name']}' version '{result['version']}'.", as_json=as_json
        )

    _guarded(body)


def _pairs(values: list[str], option: str) -> dict[str, Any]:
    """A JSON object, or name=value pairs (comma-separated and/or repeated), as a dict.

    Values that read as JSON scalars (numbers, true/false) become those; the rest stay text.
    """
    result: dict[str, Any] = {}
    for value in values:
        text = value.strip()
        if text.startswith("{"):
            result.update(_json_object(text, option))
            continue
        for pair in filter(None, (p.strip() for p in text.split(","))):
            key, sep, raw = pair.partition("=")
            if not sep or not key.strip():
                raise InvalidInput(f"{option} '{pair}' must be name=value (or a JSON object).")
            result[key.strip()] = _scalar(raw.strip())
    return result


def _scalar(raw: str) -> Any:
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, int | float | bool) or value is None else raw


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object of name: value.")
    return value


def _metrics_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    if not path.is_file():
        raise InvalidInput(f"metrics file '{path}' does not exist.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"metrics file '{path}' is not UTF-8 JSON.") from None
    return _json_object(text, f"metrics file '{path}'")


def _dataset_id(session: Session, reference: str | None, option: str) -> int | None:
    if not reference:
        return None
    name, sep, version = reference.rpartition(":")
    if not sep or not name.strip() or not version.strip():
        raise InvalidInput(f"{option} '{reference}' must be NAME:VERSION.")
    row = session.exec(
        select(Dataset).where(Dataset.name == name.strip(), Dataset.version == version.strip())
    ).first()
    if row is None:
        raise NotFound(f"No dataset '{name.strip()}' version '{version.strip()}' in the registry ({option}).")
    return row.id


@contextmanager
def _removed_on_failure() -> Iterator[list[Path]]:
    """Files added to the yielded list are deleted if the block fails: their version was never registered."""
    created: list[Path] = []
    try:
        yield created
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise


def _register_version(
    session: Session,
    *,
    who: Any,
    model_name: str,
    artifact: Path | None,
    artifact_format: str,
    datasets: tuple[str | None, str | None],
    created: list[Path],
    **fields: Any,
) -> dict[str, Any]:
    """Store the artifact (if any) under the next version number and register that version."""
    model = services.model_by_name(session, model_name)
    assert model.id is not None  # a stored row has its id
    number = _next_version(session, model.id)
    uri = sha = fmt = ""
    if artifact is not None:
        uri, sha = artifacts.store_artifact(artifact, model_name=model.name, version=number)
        created.append(artifacts.resolve(uri))
        fmt = artifact_format or ARTIFACT_FORMATS.get(artifact.suffix.lower(), artifact.suffix.lstrip("."))
    version_id = services.register_version(
        session,
        actor=who,
        model_id=model.id,
        artifact_uri=uri,
        artifact_sha256=sha,
        artifact_format=fmt,
        training_dataset_id=_dataset_id(session, datasets[0], "--dataset"),
        evaluation_dataset_id=_dataset_id(session, datasets[1], "--eval-dataset"),
        **fields,
    )
    return {
        "model": model.name,
        "version": number,
        "version_id": version_id,
        "artifact_uri": uri,
        "artifact_sha256": sha,
    }


def _next_version(session: Session, model_id: int) -> int:
    latest = session.exec(
        select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model_id)
    ).one()
    return (latest or 0) + 1


@app.command("register-version")
def register_version_command(
    model: str = typer.Option(..., "--model", help="Name of the registered model."),
    metrics: list[str] | None = typer.Option(
        None,
        "--metrics",
        help="Validation metrics: JSON '{\"roc_auc\": 0.81}' or roc_auc=0.81,f1=0.6 (repeatable).",
    ),
    metrics_file: Path | None = typer.Option(
        None, "--metrics-file", help="JSON file of metrics (e.g. from training)."
    ),
    params: list[str] | None = typer.Option(
        None, "--params", help="Hyper-parameters: JSON or name=value pairs."
    ),
    artifact: Path | None = typer.Option(
        None, "--artifact", help="Model file; copied into the artifact store."
    ),
    artifact_format: str = typer.Option(
        "", "--artifact-format", help="pickle, joblib, onnx... (default: from suffix)."
    ),
    training_dataset: str | None = typer.Option(
        None, "--dataset", "--training-dataset", help="Training data NAME:VERSION."
    ),
    eval_dataset: str | None = typer.Option(None, "--eval-dataset", help="Evaluation data NAME:VERSION."),
    git_commit: str = typer.Option("", "--git-commit", help="Commit of the training code."),
    features: str = typer.Option("", "--features", help="Input feature names, comma-separated."),
    description: str = typer.Option("", "--description", help="What changed in this version."),
    card_training_data: str = typer.Option("", "--card-training-data", help="Model card: training data."),
    card_evaluation: str = typer.Option("", "--card-evaluation", help="Model card: evaluation."),
    card_limitations: str = typer.Option("", "--card-limitations", help="Model card: limitations."),
    card_ethical_considerations: str = typer.Option(
        "", "--card-ethical-considerations", help="Model card: ethics."
    ),
    card_caveats: str = typer.Option("", "--card-caveats", help="Model card: caveats and recommendations."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Register the next version of a model; prints its version number."""

    def body() -> None:
        metric_values = {**_metrics_file(metrics_file), **_pairs(metrics or [], "--metrics")}
        param_values = _pairs(params or [], "--params")
        if artifact is not None and not artifact.is_file():
            raise InvalidInput(f"artifact file '{artifact}' does not exist or is not a file.")
        fields = {
            "metrics": metric_values,
            "params": param_values,
            "git_commit": git_commit,
            "feature_names": [f.strip() for f in features.split(",") if f.strip()],
            "description": description,
            "card_training_data": card_training_data,
            "card_evaluation": card_evaluation,
            "card_limitations": card_limitations,
            "card_ethical_considerations": card_ethical_considerations,
            "card_caveats": card_caveats,
        }
        eng = engine()
        who = actor(eng, as_email)
        with _removed_on_failure() as created, write_session(eng) as session:
            result = _register_version(
                session,
                who=who,
                model_name=model,
                artifact=artifact,
                artifact_format=artifact_format,
                datasets=(training_dataset, eval_dataset),
                created=created,
                **fields,
            )
        _report(result, f"Registered '{result['model']}' version {result['version']}.", as_json=as_json)

    _guarded(body)


# --- prediction logs and costs ------------------------------------------------------------------


@app.command("log-predictions")
def log_predictions_command(
    file: Path = typer.Argument(
        ..., help="CSV or Parquet: ts, prediction, optional score, label, request_id, features."
    ),
    model: str = typer.Option(..., "--model", help="Name of the registered model."),
    version: int = typer.Option(..., "--version", help="Version number that made the predictions."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Append a file of production predictions to a model version's log (all rows or none)."""

    def body() -> None:
        frame = read_table(file, max_mb=get_settings().upload_max_mb)
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            row = services.model_by_name(session, model)
            found = session.exec(
                select(ModelVersion).where(ModelVersion.model_id == row.id, ModelVersion.version == version)
            ).first()
            if found is None:
                raise NotFound(f"Model '{row.name}' has no version {version}.")
            count = ingest.log_predictions(session, actor=who, model_version_id=found.id, frame=frame)  # type: ignore[arg-type]
        result = {"model": row.name, "version": version, "rows": count}
        _report(result, f"Logged {count:,} predictions for '{row.name}' version {version}.", as_json=as_json)

    _guarded(body)


@app.command("log-costs")
def log_costs_command(
    file: Path = typer.Argument(
        ..., help="CSV or Parquet with columns day, model, category, amount, currency."
    ),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Import daily cost records (compute, storage, inference, labelling) per model (all rows or none)."""

    def body() -> None:
        frame = read_table(file, max_mb=get_settings().upload_max_mb)
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            count = ingest.log_costs(session, actor=who, frame=frame)
        _report({"rows": count}, f"Imported {count:,} cost records.", as_json=as_json)

    _guarded(body)


# --- listing ---------------------------------------------------------------------------------------


LS_COLUMNS = {
    "name": "name",
    "business_unit": "business unit",
    "status": "status",
    "stage": "stage",
    "production_version": "production version",
    "version_count": "versions",
    "accountable_owner": "accountable owner",
    "technical_owner": "technical owner",
    "health": "health",
}


@app.command("ls")
def ls_command(as_json: bool = JSON_OPTION) -> None:
    """List the models with their stage, production version and owners."""

    def body() -> None:
        with read_session(engine()) as session:
            listing = reads.inventory(session)
        shown = listing[list(LS_COLUMNS)].rename(columns=LS_COLUMNS).astype(object)
        emit(listing, as_json=as_json, table=shown.where(shown.notna(), "-"))

    _guarded(body)
