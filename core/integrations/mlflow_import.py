"""Import MLflow's model registry into Steward.

What is imported: registered models (description, tags, aliases), their versions (stage,
aliases, tags, source location), each version's source run (parameters, metrics, the git
commit tag, logged input datasets with their digests) and lineage edges from those datasets
to the version. Re-running updates and never duplicates: every imported object is linked to
its Steward row in ``external_ref``.

Stages: a version new to Steward takes its MLflow stage (or alias @champion/@production ->
production, @challenger/@staging -> staging) once, at import, audited with that reason. After
that Steward's promotion workflow owns the stage: a later difference is reported, never
applied, so MLflow cannot side-step four-eyes approval.

Everything that cannot be mapped is listed in the report, never silently dropped.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, select

from core import audit
from core.access import Actor, require
from core.db.engine import redact, write_session
from core.db.models import Dataset, DataSource, ExternalRef, Model, ModelVersion
from core.errors import InvalidInput, StewardError
from core.registry import services

SYSTEM = "mlflow"
CLASSIFIER_METRICS = (
    "roc_auc",
    "auc",
    "accuracy",
    "f1",
    "f1_score",
    "precision",
    "recall",
    "log_loss",
    "logloss",
)
REGRESSOR_METRICS = ("rmse", "mae", "mse", "r2", "r2_score", "mape")
STAGE_MAP = {"production": "production", "staging": "staging", "archived": "archived", "none": "none"}
ALIAS_STAGE = {
    "champion": "production",
    "production": "production",
    "prod": "production",
    "challenger": "staging",
    "staging": "staging",
}
TRAINING_CONTEXTS = ("training", "train")
EVALUATION_CONTEXTS = ("evaluation", "eval", "validation", "test", "testing")
_HEX = re.compile(r"^[0-9a-f]{7,64}$")


@dataclass
class ImportReport:
    tracking_uri: str
    models_created: list[str] = field(default_factory=list)
    models_updated: list[str] = field(default_factory=list)
    versions_created: list[str] = field(default_factory=list)
    versions_unchanged: list[str] = field(default_factory=list)
    datasets_created: list[str] = field(default_factory=list)
    stages_set: list[str] = field(default_factory=list)
    not_mapped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def summary(self) -> str:
        return (
            f"MLflow import from {self.tracking_uri}: {len(self.models_created)} models created, "
            f"{len(self.models_updated)} updated, {len(self.versions_created)} versions created, "
            f"{len(self.versions_unchanged)} unchanged, {len(self.datasets_created)} datasets, "
            f"{len(self.not_mapped)} items not mapped."
        )


def _client(tracking_uri: str | None) -> Any:
    """An MLflow client for ``tracking_uri`` (None: only check that mlflow is installed)."""
    try:
        from mlflow import MlflowClient
    except ImportError:  # pragma: no cover - depends on the installation
        raise StewardError(
            "MLflow is not installed: pip install 'steward[mlflow]' (or mlflow-skinny)."
        ) from None
    if tracking_uri is None:
        return None
    # MLflow retries an unreachable server for about four minutes by default; a person waiting on
    # the Admin page (or a cron job) should hear within seconds. Explicit settings are kept.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _check_local_store(tracking_uri: str, location: str) -> None:
    """Refuse an SQLite URI whose file does not exist: MLflow would create an empty store there."""
    if not tracking_uri.strip().lower().startswith("sqlite:"):
        return
    try:
        database = make_url(tracking_uri.strip()).database
    except ArgumentError:
        raise InvalidInput(
            f"'{location}' is not a valid SQLite URI: use sqlite:///path/to/mlflow.db."
        ) from None
    if not database or database == ":memory:" or not Path(database).is_file():
        raise InvalidInput(
            f"No MLflow database at {location}: the file does not exist. Check the tracking URI "
            "(sqlite:///relative/path.db or sqlite:////absolute/path.db)."
        )


def _all_pages(fetch: Any) -> list[Any]:
    items: list[Any] = []
    token = None
    while True:
        page = fetch(token)
        items.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return items


def import_mlflow(
    engine: Engine, *, actor: Actor, tracking_uri: str, model_name: str | None = None
) -> ImportReport:
    """Import registered models (all, or ``model_name``) from the MLflow store at ``tracking_uri``."""
    if not tracking_uri or not tracking_uri.strip():
        raise InvalidInput("the MLflow tracking URI is empty.")
    with write_session(engine) as session:
        require(session, actor, "registry.import")
    location = redact(tracking_uri)
    report = ImportReport(tracking_uri=location)
    _client(None)  # fails clearly when mlflow is not installed
    _check_local_store(tracking_uri, location)
    try:
        client = _client(tracking_uri)
        query = f"name = '{model_name}'" if model_name else ""
        models = _all_pages(
            lambda t: client.search_registered_models(filter_string=query or None, page_token=t)
        )
    except Exception as exc:  # MLflow raises many types for an unreachable or foreign store
        raise StewardError(
            f"Cannot read the MLflow registry at {location}: {str(exc).splitlines()[0]}"
        ) from None
    if model_name and not models:
        raise InvalidInput(f"MLflow at {location} has no registered model named '{model_name}'.")
    for registered in models:
        full = client.get_registered_model(registered.name)
        versions = _all_pages(
            lambda t, n=registered.name: client.search_model_versions(f"name = '{n}'", page_token=t)
        )
        versions.sort(key=lambda v: int(v.version))
        runs = {
            v.run_id: _get_run(client, v.run_id, report, registered.name, v.version)
            for v in versions
            if v.run_id
        }
        with write_session(engine) as session:
            _import_model(session, actor, location, full, versions, runs, report)
    with write_session(engine) as session:
        audit.record(
            session,
            actor=actor,
            action="mlflow.imported",
            object_type="external_ref",
            object_id=location,
            after={k: (len(v) if isinstance(v, list) else v) for k, v in report.as_dict().items()},
        )
    return report


def _get_run(client: Any, run_id: str, report: ImportReport, model: str, version: str) -> Any:
    try:
        return client.get_run(run_id)
    except Exception as exc:
        report.not_mapped.append(
            f"{model} v{version}: source run {run_id} could not be read ({str(exc).splitlines()[0]})."
        )
        return None


def _ref(session: Session, location: str, external_type: str, external_id: str) -> ExternalRef | None:
    return session.exec(
        select(ExternalRef).where(
            ExternalRef.system == SYSTEM,
            ExternalRef.location == location,
            ExternalRef.external_type == external_type,
            ExternalRef.external_id == external_id,
        )
    ).first()


def _save_ref(
    session: Session,
    location: str,
    external_type: str,
    external_id: str,
    steward_type: str,
    steward_id: int,
    data: dict[str, Any],
) -> bool:
    """Create or update the link; returns True when something changed."""
    ref = _ref(session, location, external_type, external_id)
    if ref is None:
        session.add(
            ExternalRef(
                system=SYSTEM,
                location=location,
                external_type=external_type,
                external_id=external_id,
                steward_type=steward_type,
                steward_id=steward_id,
                data=data,
            )
        )
        session.flush()
        return True
    if ref.data != data:
        ref.data = data
        ref.imported_at = datetime.now(UTC)
        session.add(ref)
        session.flush()
        return True
    return False


def _infer_task(tags: dict[str, str], runs: dict[str, Any], name: str, report: ImportReport) -> str:
    task = tags.get("task") or tags.get("steward.task")
    if task in ("binary_classification", "regression"):
        return task
    metric_names = {m.lower() for run in runs.values() if run is not None for m in run.data.metrics}
    if metric_names & set(REGRESSOR_METRICS) and not metric_names & set(CLASSIFIER_METRICS):
        return "regression"
    if not metric_names & set(CLASSIFIER_METRICS):
        report.not_mapped.append(
            f"{name}: task not tagged and not evident from metrics; registered as binary_classification "
            "(tag the MLflow model with task=regression to change)."
        )
    return "binary_classification"


def _import_model(
    session: Session,
    actor: Actor,
    location: str,
    registered: Any,
    versions: list[Any],
    runs: dict[str, Any],
    report: ImportReport,
) -> None:
    tags = dict(registered.tags or {})
    aliases = {alias: str(v) for alias, v in (registered.aliases or {}).items()}
    ref = _ref(session, location, "registered_model", registered.name)
    model = (
        session.get(Model, ref.steward_id)
        if ref
        else session.exec(select(Model).where(Model.name == registered.name)).first()
    )
    description = (registered.description or "").strip()
    if model is None:
        unit = tags.get("business_unit") or tags.get("steward.business_unit") or ""
        if not unit:
            unit = "Unassigned"
            report.not_mapped.append(
                f"{registered.name}: no business_unit tag in MLflow; filed under 'Unassigned'."
            )
        model_id = services.register_model(
            session,
            actor=actor,
            name=registered.name,
            business_unit=unit,
            task=_infer_task(tags, runs, registered.name, report),
            purpose=description,
            primary_metric=tags.get("primary_metric", ""),
        )
        report.models_created.append(registered.name)
    else:
        model_id = model.id  # type: ignore[assignment]
        if description and description != model.purpose:
            services.update_model(
                session, actor=actor, model_id=model_id, purpose=description, reason="updated from MLflow"
            )
            report.models_updated.append(registered.name)
    known = {
        k: v
        for k, v in tags.items()
        if k not in ("business_unit", "steward.business_unit", "task", "steward.task", "primary_metric")
    }
    if (
        _save_ref(
            session,
            location,
            "registered_model",
            registered.name,
            "model",
            model_id,
            {"tags": known, "aliases": aliases},
        )
        and model is not None
        and registered.name not in report.models_updated
    ):
        report.models_updated.append(registered.name)
    by_version = {v: alias for alias, v in aliases.items()}
    wanted_production: list[tuple[int, int, str]] = []
    for mv in versions:
        _import_version(
            session,
            actor,
            location,
            model_id,
            registered.name,
            mv,
            runs.get(mv.run_id),
            by_version,
            report,
            wanted_production,
        )
    # At most one production version: the highest MLflow version that claims it wins.
    for _steward_version_id, mlflow_version, why in sorted(wanted_production, key=lambda t: t[1])[:-1]:
        report.not_mapped.append(
            f"{registered.name} v{mlflow_version}: also marked production in MLflow ({why}); "
            "only the newest such version was set to production."
        )
    if wanted_production:
        version_id, mlflow_version, why = max(wanted_production, key=lambda t: t[1])
        services.apply_stage_change(
            session,
            actor=actor,
            version_id=version_id,
            to_stage="production",
            reason=f"imported from MLflow ({why})",
        )
        report.stages_set.append(f"{registered.name} v{mlflow_version} -> production")


def _mlflow_stage(mv: Any, alias: str | None) -> tuple[str, str]:
    if alias and alias.lower() in ALIAS_STAGE:
        return ALIAS_STAGE[alias.lower()], f"alias @{alias}"
    stage = STAGE_MAP.get(str(mv.current_stage or "None").lower(), "none")
    return stage, f"stage {mv.current_stage}"


def _import_version(
    session: Session,
    actor: Actor,
    location: str,
    model_id: int,
    name: str,
    mv: Any,
    run: Any,
    by_version: dict[str, str],
    report: ImportReport,
    wanted_production: list[tuple[int, int, str]],
) -> None:
    external_id = f"{name}/{mv.version}"
    alias = by_version.get(str(mv.version))
    stage, why = _mlflow_stage(mv, alias)
    data = {
        "tags": dict(mv.tags or {}),
        "alias": alias,
        "mlflow_stage": str(mv.current_stage),
        "run_id": mv.run_id,
        "source": mv.source,
    }
    ref = _ref(session, location, "model_version", external_id)
    if ref is not None:
        version = session.get(ModelVersion, ref.steward_id)
        _save_ref(session, location, "model_version", external_id, "model_version", ref.steward_id, data)
        report.versions_unchanged.append(f"{name} v{mv.version}")
        if version is not None and stage != "none" and version.stage != stage:
            report.not_mapped.append(
                f"{name} v{mv.version}: MLflow says {stage} ({why}) but Steward has it as {version.stage}; "
                "stage changes after the first import go through Steward's promotion requests."
            )
        return
    metrics, params, commit, training, evaluation, extra = {}, {}, "", None, None, []
    if run is not None:
        for key, value in run.data.metrics.items():
            if isinstance(value, int | float) and math.isfinite(value):
                metrics[key] = float(value)
            else:
                report.not_mapped.append(
                    f"{name} v{mv.version}: metric {key}={value} is not a finite number; skipped."
                )
        params = dict(run.data.params)
        commit = (run.data.tags.get("mlflow.source.git.commit") or "").strip().lower()
        if commit and not _HEX.match(commit):
            report.not_mapped.append(
                f"{name} v{mv.version}: git commit tag '{commit[:80]}' is not a commit hash; skipped."
            )
            commit = ""
        training, evaluation, extra = _import_datasets(
            session, actor, location, name, mv.version, run, report
        )
    created = datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC) if mv.creation_timestamp else None
    version_id = services.register_version(
        session,
        actor=actor,
        model_id=model_id,
        metrics=metrics,
        params=params,
        git_commit=commit,
        training_dataset_id=training,
        evaluation_dataset_id=evaluation,
        description=(mv.description or "").strip(),
        created_at=created,
    )
    version = session.get(ModelVersion, version_id)
    assert version is not None
    version.source_uri = (mv.source or "")[:1000]
    session.add(version)
    for dataset_id, context in extra:
        services.add_lineage_edge(
            session,
            actor=actor,
            src_type="dataset",
            src_id=dataset_id,
            dst_type="model_version",
            dst_id=version_id,
            relation=context[:40] or "input",
        )
    _save_ref(session, location, "model_version", external_id, "model_version", version_id, data)
    report.versions_created.append(f"{name} v{mv.version} (Steward v{version.version})")
    if stage == "production":
        wanted_production.append((version_id, int(mv.version), why))
    elif stage != "none":
        services.apply_stage_change(
            session,
            actor=actor,
            version_id=version_id,
            to_stage=stage,
            reason=f"imported from MLflow ({why})",
        )
        report.stages_set.append(f"{name} v{mv.version} -> {stage}")


def _import_datasets(
    session: Session, actor: Actor, location: str, name: str, version: str, run: Any, report: ImportReport
) -> tuple[int | None, int | None, list[tuple[int, str]]]:
    training: int | None = None
    evaluation: int | None = None
    extra: list[tuple[int, str]] = []
    for dataset_input in getattr(run.inputs, "dataset_inputs", None) or []:
        ds = dataset_input.dataset
        context = next((t.value for t in dataset_input.tags if t.key == "mlflow.data.context"), "")
        dataset_id = _dataset(session, actor, location, ds, report)
        if context.lower() in TRAINING_CONTEXTS and training is None:
            training = dataset_id
        elif context.lower() in EVALUATION_CONTEXTS and evaluation is None:
            evaluation = dataset_id
        else:
            if not context:
                report.not_mapped.append(
                    f"{name} v{version}: dataset {ds.name} has no context tag; linked as 'input'."
                )
            extra.append((dataset_id, context or "input"))
    return training, evaluation, extra


def _dataset(session: Session, actor: Actor, location: str, ds: Any, report: ImportReport) -> int:
    external_id = f"{ds.name}@{ds.digest}"
    ref = _ref(session, location, "dataset", external_id)
    if ref is not None:
        return ref.steward_id
    existing = session.exec(
        select(Dataset).where(Dataset.name == ds.name, Dataset.version == ds.digest)
    ).first()
    if existing is not None:
        dataset_id = existing.id
    else:
        source_id = _data_source(session, actor, ds)
        dataset_id = services.create_dataset(
            session,
            actor=actor,
            name=ds.name,
            version=ds.digest,
            data_source_id=source_id,
            data_schema=_schema(ds),
            uri=_source_uri(ds)[:1000],
        )
        report.datasets_created.append(f"{ds.name} (digest {ds.digest})")
    _save_ref(
        session,
        location,
        "dataset",
        external_id,
        "dataset",
        dataset_id,  # type: ignore[arg-type]
        {"source_type": ds.source_type, "source": ds.source},
    )
    return dataset_id  # type: ignore[return-value]


def _source_uri(ds: Any) -> str:
    try:
        source = json.loads(ds.source)
    except (TypeError, ValueError):
        return str(ds.source or "")
    if isinstance(source, dict):
        return str(
            source.get("uri") or source.get("url") or source.get("path") or source.get("table_name") or ""
        )
    return str(source)


def _data_source(session: Session, actor: Actor, ds: Any) -> int | None:
    uri = _source_uri(ds)
    if not uri:
        return None
    name = uri if len(uri) <= 200 else uri[:197] + "..."
    existing = session.exec(select(DataSource).where(DataSource.name == name)).first()
    if existing is not None:
        return existing.id
    return services.create_data_source(
        session,
        actor=actor,
        name=name,
        kind=str(ds.source_type or "unknown")[:40],
        location=uri,
        description="imported from MLflow",
    )


def _schema(ds: Any) -> dict[str, str]:
    try:
        parsed = json.loads(ds.schema) if ds.schema else {}
        columns = (
            json.loads(parsed.get("mlflow_colspec", "[]"))
            if isinstance(parsed.get("mlflow_colspec"), str)
            else parsed.get("mlflow_colspec", [])
        )
        return {str(c.get("name")): str(c.get("type")) for c in columns if isinstance(c, dict)}
    except (TypeError, ValueError, AttributeError):
        return {}
