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
from sqlmodel import Session, col, select

from core import audit
from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.config import get_settings
from core.db.engine import check_connection, read_session, redact, write_session
from core.db.migrate import current_revision, head_revision, is_known_revision, newer_schema_message, upgrade
from core.db.models import BusinessProcess, Dataset, Model, ModelVersion
from core.db.types import saved_id
from core.demo import build_demo
from core.errors import InvalidInput, NotFound, SchemaOutOfDate, StewardError
from core.governance import retraining
from core.registry import artifacts, datasets, figures, ingest, reads, services
from core.registry.files import read_records
from core.registry.ingest_validation import EPOCH_UNITS, TimeRules

T = TypeVar("T")

ARTIFACT_FORMATS = {
    ".skops": "skops",
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
    if before is not None and not is_known_revision(before):
        raise SchemaOutOfDate(newer_schema_message(_url(eng), before))
    try:
        upgrade(eng)
    except CommandError:
        raise SchemaOutOfDate(newer_schema_message(_url(eng), str(before))) from None
    with write_session(eng) as session:
        services.ensure_system_person(session)
        audit.adopt_key(session)  # a chain keyed before key checks existed gets its check now
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
        # Progress on stderr, so that --json output stays one JSON document on stdout.
        summary = build_demo(eng, progress=lambda line: typer.echo(line, err=True))
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
    row = session.exec(select(BusinessProcess).where(col(BusinessProcess.name) == name.strip())).first()
    if row is not None:
        return row.id
    if create:
        return services.create_business_process(session, actor=actor_, name=name, business_unit=business_unit)
    known = session.exec(select(col(BusinessProcess.name)).order_by(col(BusinessProcess.name))).all()
    raise NotFound(
        f"No business process named '{name}'"
        + (f" (known: {', '.join(known[:10])})" if known else "")
        + ". Add --create-process to create it."
    )


@app.command("register-model")
def register_model_command(
    name: str = typer.Argument(..., help="Unique model name."),
    business_unit: str = typer.Option(..., "--business-unit", help="Business unit that owns the model."),
    task: str = typer.Option(
        "binary_classification",
        "--task",
        help="binary_classification, multiclass_classification (or multiclass) or regression.",
    ),
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
    file: Path | None = typer.Option(
        None, "--file", help="CSV or Parquet file: read, hashed and kept in the artifact store."
    ),
    uri: str = typer.Option(
        "",
        "--uri",
        help="Where the data lives: a local path or file:// URI is read and kept like --file "
        "(or, with --keep-external, checked and recorded where it is).",
    ),
    keep_external: bool = typer.Option(
        False,
        "--keep-external",
        help="Leave the --uri file where it is; its sha256 is checked at every read.",
    ),
    location_only: bool = typer.Option(
        False,
        "--location-only",
        help="Record --uri as text without reading it (s3://, a table...): lineage only, no drift or SHAP.",
    ),
    role: str = typer.Option(
        "", "--role", help="training, evaluation, reference (drift) or background (SHAP)."
    ),
    model: str | None = typer.Option(None, "--model", help="Model whose version uses the data in --role."),
    model_version: int | None = typer.Option(
        None, "--model-version", help="That model's version number (default: its newest)."
    ),
    rows: int = typer.Option(0, "--rows", help="Number of rows (checked against the file when one is read)."),
    sha256: str = typer.Option(
        "", "--sha256", help="sha256 of the file's content (checked against the file when one is read)."
    ),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a dataset version with its data (CSV or Parquet), so drift, SHAP and performance can
    read it; versions name it with --dataset NAME:VERSION, or --model/--role link it here."""

    def body() -> None:
        data = _dataset_data(file, uri, location_only=location_only, keep_external=keep_external)
        if model_version is not None and not model:
            raise InvalidInput("--model-version needs --model.")
        if model and not role:
            raise InvalidInput("--model needs --role: which data this is for the version.")
        eng = engine()
        who = actor(eng, as_email)
        with _removed_on_failure() as created, write_session(eng) as session:
            version_id = _linked_version(session, model, model_version)
            if data is None:
                dataset_id = services.create_dataset(
                    session,
                    actor=who,
                    name=name,
                    version=version,
                    uri=uri,
                    row_count=rows,
                    content_hash=sha256,
                    role=role,
                )
                if version_id is not None:
                    datasets.link_dataset(
                        session, actor=who, version_id=version_id, dataset_id=dataset_id, role=role
                    )
            else:
                dataset_id, written = datasets.register(
                    session,
                    actor=who,
                    name=name,
                    version=version,
                    data=data,
                    role=role,
                    expected_sha256=sha256,
                    expected_rows=rows or None,
                    external_uri=uri if keep_external else "",
                    version_id=version_id,
                )
                if written:
                    created.append(artifacts.resolve(datasets.store_uri(data)))
            row = session.get(Dataset, dataset_id)
            assert row is not None
            result = {
                "id": dataset_id,
                "name": row.name,
                "version": row.version,
                "role": row.role,
                "storage": row.storage,
                "uri": row.uri,
                "sha256": row.content_hash,
                "rows": row.row_count,
                "model_version_id": version_id,
            }
        kept = {"store": " (kept in the artifact store)", "external": " (checked at its location)"}
        _report(
            result,
            f"Registered dataset '{result['name']}' version '{result['version']}'"
            + (f", {result['rows']:,} rows" if data is not None else "")
            + kept.get(str(result["storage"]), "")
            + (f" as {datasets.ROLE_LABELS[role]} of {model} v{model_version or 'newest'}" if model else "")
            + ".",
            as_json=as_json,
        )

    _guarded(body)


def _dataset_data(
    file: Path | None, uri: str, *, location_only: bool, keep_external: bool
) -> datasets.DataFile | None:
    """The data to register, read and checked before the registry is opened (None: a location only)."""
    max_mb = get_settings().upload_max_mb
    if file is not None and uri:
        raise InvalidInput("give --file or --uri, not both.")
    if location_only and (file is not None or keep_external):
        raise InvalidInput(
            "--location-only records a --uri without reading it; it takes no --file or --keep-external."
        )
    if keep_external and not uri:
        raise InvalidInput("--keep-external needs --uri (the location to keep).")
    if location_only and not uri:
        raise InvalidInput("--location-only needs --uri.")
    if file is not None:
        return datasets.read_location(str(file), max_mb=max_mb)
    if uri and not location_only:
        return datasets.read_location(uri, max_mb=max_mb)
    return None


def _linked_version(session: Session, model: str | None, number: int | None) -> int | None:
    if not model:
        return None
    row = services.model_by_name(session, model)
    if number is None:
        number = _next_version(session, saved_id(row)) - 1
        if number < 1:
            raise NotFound(f"Model '{row.name}' has no version yet; register one first.")
    return saved_id(services.version_by_number(session, saved_id(row), number))


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
        select(Dataset).where(col(Dataset.name) == name.strip(), col(Dataset.version) == version.strip())
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
    dataset_refs: tuple[str | None, ...],
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
        training_dataset_id=_dataset_id(session, dataset_refs[0], "--dataset"),
        evaluation_dataset_id=_dataset_id(session, dataset_refs[1], "--eval-dataset"),
        **fields,
    )
    for role, reference, option in (
        ("reference", dataset_refs[2] if len(dataset_refs) > 2 else None, "--reference-dataset"),
        ("background", dataset_refs[3] if len(dataset_refs) > 3 else None, "--background-dataset"),
    ):
        dataset_id = _dataset_id(session, reference, option)
        if dataset_id is not None:
            datasets.link_dataset(session, actor=who, version_id=version_id, dataset_id=dataset_id, role=role)
    return {
        "model": model.name,
        "version": number,
        "version_id": version_id,
        "artifact_uri": uri,
        "artifact_sha256": sha,
    }


def _next_version(session: Session, model_id: int) -> int:
    latest = session.exec(
        select(func.max(col(ModelVersion.version))).where(col(ModelVersion.model_id) == model_id)
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
        "", "--artifact-format", help="skops (loaded safely), pickle, joblib, onnx... (default: from suffix)."
    ),
    training_dataset: str | None = typer.Option(
        None, "--dataset", "--training-dataset", help="Training data NAME:VERSION."
    ),
    eval_dataset: str | None = typer.Option(None, "--eval-dataset", help="Evaluation data NAME:VERSION."),
    reference_dataset: str | None = typer.Option(
        None, "--reference-dataset", help="Drift reference NAME:VERSION (default: the training data)."
    ),
    background_dataset: str | None = typer.Option(
        None, "--background-dataset", help="SHAP background NAME:VERSION (default: the training data)."
    ),
    git_commit: str = typer.Option("", "--git-commit", help="Commit of the training code."),
    features: str = typer.Option("", "--features", help="Input feature names, comma-separated."),
    class_names: str = typer.Option(
        "",
        "--class-names",
        help="A multiclass classifier's classes in order, comma-separated (required for one), e.g. low,medium,high.",
    ),
    description: str = typer.Option("", "--description", help="What changed in this version."),
    card_training_data: str = typer.Option("", "--card-training-data", help="Model card: training data."),
    card_evaluation: str = typer.Option("", "--card-evaluation", help="Model card: evaluation."),
    card_limitations: str = typer.Option("", "--card-limitations", help="Model card: limitations."),
    card_ethical_considerations: str = typer.Option(
        "", "--card-ethical-considerations", help="Model card: ethics."
    ),
    card_caveats: str = typer.Option("", "--card-caveats", help="Model card: caveats and recommendations."),
    answers: int | None = typer.Option(
        None, "--answers", help="Retraining request this version answers (closes when it reaches production)."
    ),
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
            "class_names": [c.strip() for c in class_names.split(",") if c.strip()],
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
                dataset_refs=(training_dataset, eval_dataset, reference_dataset, background_dataset),
                created=created,
                **fields,
            )
            if answers is not None:  # in the same transaction: a wrong request number registers nothing
                retraining.answer(session, actor=who, request_id=answers, version_id=result["version_id"])
                result["answers"] = answers
        answered = f" It answers retraining request #{answers}." if answers is not None else ""
        _report(
            result, f"Registered '{result['model']}' version {result['version']}.{answered}", as_json=as_json
        )

    _guarded(body)


# --- prediction logs and costs ------------------------------------------------------------------


TIMEZONE_OPTION = typer.Option(
    None,
    "--timezone",
    help="IANA zone (e.g. Europe/Paris, UTC) of times written without one; without it they are refused.",
)
EPOCH_UNIT_OPTION = typer.Option(
    None,
    "--epoch-unit",
    help=f"Unit of integer epoch times ({', '.join(EPOCH_UNITS)}); without it epochs are refused.",
)
DATE_FORMAT_OPTION = typer.Option(
    None,
    "--date-format",
    help="strptime format of non-ISO dates, e.g. '%d/%m/%Y %H:%M'; without it only ISO 8601 is read.",
)


@app.command("log-predictions")
def log_predictions_command(
    file: Path = typer.Argument(
        ..., help="CSV or Parquet: ts, prediction, optional score, label, request_id, features."
    ),
    model: str = typer.Option(..., "--model", help="Name of the registered model."),
    version: int = typer.Option(..., "--version", help="Version number that made the predictions."),
    timezone: str | None = TIMEZONE_OPTION,
    epoch_unit: str | None = EPOCH_UNIT_OPTION,
    date_format: str | None = DATE_FORMAT_OPTION,
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Append a file of production predictions to a model version's log (all rows or none)."""

    def body() -> None:
        rules = TimeRules(timezone=timezone, epoch_unit=epoch_unit, date_format=date_format)
        table = read_records(file, max_mb=get_settings().upload_max_mb)
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            row = services.model_by_name(session, model)
            found = session.exec(
                select(ModelVersion).where(
                    col(ModelVersion.model_id) == row.id, col(ModelVersion.version) == version
                )
            ).first()
            if found is None:
                raise NotFound(f"Model '{row.name}' has no version {version}.")
            count = ingest.log_predictions(
                session,
                actor=who,
                model_version_id=saved_id(found),
                frame=table.frame,
                rules=rules,
                source=table.source,
            )
        result = {"model": row.name, "version": version, "rows": count}
        _report(result, f"Logged {count:,} predictions for '{row.name}' version {version}.", as_json=as_json)

    _guarded(body)


@app.command("log-costs")
def log_costs_command(
    file: Path = typer.Argument(
        ..., help="CSV or Parquet with columns day, model, category, amount, currency."
    ),
    epoch_unit: str | None = EPOCH_UNIT_OPTION,
    date_format: str | None = DATE_FORMAT_OPTION,
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Import daily cost records (compute, storage, inference, labelling) per model (all rows or none)."""

    def body() -> None:
        rules = TimeRules(epoch_unit=epoch_unit, date_format=date_format)
        table = read_records(file, max_mb=get_settings().upload_max_mb)
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            count = ingest.log_costs(session, actor=who, frame=table.frame, rules=rules, source=table.source)
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


@app.command("figures")
def figures_command(
    model: str | None = typer.Option(None, "--model", help="One model's figures (by name) instead."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The portfolio's headline figures (or one model's), each as every page shows it: cost over the
    last 30 days and in the last calendar month, models assessed, health, card sections filled."""

    def body() -> None:
        with read_session(engine()) as session:
            if model is None:
                data = figures.portfolio_figures(session)
                emit(data.as_dict() if as_json else _figures_text(data), as_json=as_json)
                return
            found = session.exec(select(Model).where(col(Model.name) == model)).first()
            if found is None:
                raise NotFound(f"No model named '{model}'. `steward ls` lists the registered models.")
            one = figures.model_figures(session, saved_id(found))
        if as_json:
            emit(one.as_dict(), as_json=True)
            return
        card = one.card.text if one.card else "no version registered"
        emit(
            f"{one.name}: health {figures.HEALTH_LABELS.get(one.health, one.health).lower()}; "
            f"{figures.COST_LAST_30_DAYS.lower()} {figures.money(one.cost_last_30_days)}; "
            f"model card (v{one.card_version}) {card}; "
            f"risk {'assessed' if one.risk_assessed else 'never assessed'}.",
            as_json=False,
        )

    _guarded(body)


def _figures_text(f: figures.PortfolioFigures) -> str:
    health = ", ".join(f"{n} {figures.HEALTH_LABELS[s].lower()}" for s, n in f.health.items() if n)
    return "\n".join(
        [
            f"Models: {f.models} ({f.in_production} in production)",
            f"{f.cost_window.name} ({f.cost_window.period}): {figures.money(f.cost_last_30_days)}",
            f"{f.month_window.name}: {figures.money(f.cost_in_month)}",
            f"Models assessed: {f.assessed.text} ({f.assessed.retired} retired)",
            f"Health: {health or 'no model'}",
        ]
    )


@app.command("ls")
def ls_command(as_json: bool = JSON_OPTION) -> None:
    """List the models with their stage, production version and owners."""

    def body() -> None:
        with read_session(engine()) as session:
            listing = reads.inventory(session)
        shown = listing[list(LS_COLUMNS)].rename(columns=LS_COLUMNS).astype(object)
        emit(listing, as_json=as_json, table=shown.where(shown.notna(), "-"))

    _guarded(body)
