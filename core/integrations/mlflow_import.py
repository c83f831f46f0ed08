"""Import MLflow's model registry into Steward, without ever changing the MLflow store.

What is imported: registered models (description, tags, aliases), their versions (stage,
aliases, tags, artifact location and a content hash of the version's files), each version's
source run (parameters, metrics, the git commit tag, logged input datasets with their digests),
the MLflow 3 logged model a version registers (its metrics and parameters) and lineage edges
from the datasets to the version. The source is opened read-only (see mlflow_source): no MLflow
migration ever runs on it, and artifacts are downloaded to a temporary folder and hashed, never
loaded.

Identity: a store is known by its first experiment (id and creation time), not by the URI it
was reached through, so ``sqlite:///mlflow.db`` and ``http://mlflow:5000`` serving that file
are one store; every imported object is linked to its Steward row in ``external_ref`` under
that identity. A re-import therefore finds everything linked and changes nothing (no rows, no
audit events) unless MLflow changed.

Numbering: a Steward version takes its MLflow version number, gaps included (MLflow 1, 3, 4
stay 1, 3, 4), because people cross-reference these numbers in audits. When the number is
already taken in Steward by another version, that MLflow version is not imported and the
report says why.

Stages: a version new to Steward takes its MLflow stage (or alias @champion/@production ->
production, @challenger/@staging -> staging) once, at import, audited with that reason; a
production stage only when the Steward model has no production version yet. After that
Steward's promotion workflow owns the stage: a later difference is reported, never applied,
so MLflow cannot side-step four-eyes approval.

Everything that cannot be mapped is listed in the report, per version, never silently dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, require
from core.db.engine import read_session, write_session
from core.db.models import Dataset, DataSource, ExternalRef, Model, ModelVersion
from core.db.types import saved_id
from core.errors import InvalidInput, StewardError
from core.integrations.mlflow_source import (
    ArtifactDigest,
    MlDataset,
    MlflowSource,
    MlLoggedModel,
    MlRegisteredModel,
    MlRun,
    MlVersion,
    dataset_source_uri,
    download_and_hash,
    open_source,
)
from core.registry import services
from core.registry.validation import clean_name

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
MODEL_TAGS_USED = (
    "business_unit",
    "steward.business_unit",
    "task",
    "steward.task",
    "primary_metric",
    "class_names",
)
TASK_TAGS = {
    "binary_classification": "binary_classification",
    "regression": "regression",
    "multiclass_classification": "multiclass_classification",
    "multiclass": "multiclass_classification",
}
MAX_FILES_KEPT = 500  # files listed in the link; the hash covers all of them
_HEX_DIGITS = set("0123456789abcdef")


@dataclass
class ImportReport:
    tracking_uri: str
    store: str = ""  # the store's identity, the same through a file or a server
    schema: str = ""
    models_created: list[str] = field(default_factory=list)
    models_updated: list[str] = field(default_factory=list)
    versions_created: list[str] = field(default_factory=list)
    versions_unchanged: list[str] = field(default_factory=list)
    versions_skipped: list[str] = field(default_factory=list)
    datasets_created: list[str] = field(default_factory=list)
    stages_set: list[str] = field(default_factory=list)
    links_updated: list[str] = field(default_factory=list)
    links_created: list[str] = field(default_factory=list)
    not_mapped: list[str] = field(default_factory=list)
    gaps: dict[str, list[str]] = field(default_factory=dict)  # "model vN" -> what could not be mapped

    def as_dict(self) -> dict[str, Any]:
        return {
            k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
            for k, v in self.__dict__.items()
        }

    @property
    def changed(self) -> bool:
        return any(
            (
                self.models_created,
                self.models_updated,
                self.versions_created,
                self.datasets_created,
                self.stages_set,
                self.links_updated,
                self.links_created,
            )
        )

    def gap(self, key: str, text: str) -> None:
        self.gaps.setdefault(key, []).append(text)
        self.not_mapped.append(f"{key}: {text}")

    def summary(self) -> str:
        skipped = f", {len(self.versions_skipped)} not imported" if self.versions_skipped else ""
        return (
            f"MLflow import from {self.tracking_uri}: {len(self.models_created)} models created, "
            f"{len(self.models_updated)} updated, {len(self.versions_created)} versions created, "
            f"{len(self.versions_unchanged)} unchanged{skipped}, {len(self.datasets_created)} datasets, "
            f"{len(self.not_mapped)} items not mapped."
        )


@dataclass
class _Prepared:
    """One new MLflow version, read from the source before the write transaction."""

    mv: MlVersion
    run: MlRun | None
    logged: MlLoggedModel | None
    location: str
    digest: ArtifactDigest | None
    gaps: list[str]


def import_mlflow(
    engine: Engine, *, actor: Actor, tracking_uri: str, model_name: str | None = None
) -> ImportReport:
    """Import registered models (all, or ``model_name``) from the MLflow store at ``tracking_uri``."""
    if not tracking_uri or not tracking_uri.strip():
        raise InvalidInput("the MLflow tracking URI is empty.")
    with write_session(engine) as session:
        require(session, actor, "registry.import")
    model_name = (model_name or "").strip() or None
    source = open_source(tracking_uri)
    try:
        return _import(engine, actor, source, model_name)
    finally:
        source.close()


def _import(engine: Engine, actor: Actor, source: MlflowSource, model_name: str | None) -> ImportReport:
    report = ImportReport(tracking_uri=source.location)
    info = source.info()
    report.store, report.schema = info.identity, info.schema
    report.not_mapped.extend(info.notes)
    if report.tracking_uri != report.store:
        _move_legacy_links(engine, actor, report)
    models = source.registered_models(model_name)
    if model_name and not models:
        raise InvalidInput(f"MLflow at {source.location} has no registered model named '{model_name}'.")
    for registered in models:
        versions = source.versions(registered.name)
        with read_session(engine) as session:
            known = {
                mv.version
                for mv in versions
                if _find_ref(session, report, "model_version", f"{registered.name}/{mv.version}")
            }
        prepared = [_prepare(source, registered, mv) for mv in versions if mv.version not in known]
        with write_session(engine) as session:
            _import_model(session, actor, registered, versions, prepared, report)
    return report


# --- reading one new version ----------------------------------------------------------------


def _prepare(source: MlflowSource, registered: MlRegisteredModel, mv: MlVersion) -> _Prepared:
    gaps: list[str] = []
    run = None
    if mv.run_id:
        try:
            run = source.run(mv.run_id)
        except StewardError as exc:
            gaps.append(f"source run {mv.run_id} could not be read ({exc}).")
        else:
            if run is None:
                gaps.append(
                    f"source run {mv.run_id} does not exist in MLflow: no parameters, metrics or datasets."
                )
            elif run.deleted:
                gaps.append(
                    f"source run {mv.run_id} is deleted in MLflow; its data was imported all the same."
                )
    logged = None
    if mv.model_id:
        try:
            logged = source.logged_model(mv.model_id)
        except StewardError as exc:
            gaps.append(f"logged model {mv.model_id} could not be read ({exc}).")
        else:
            if logged is None:
                gaps.append(f"logged model {mv.model_id} does not exist in MLflow: its metrics are missing.")
    location = source.artifact_location(mv, run, logged)
    digest = None
    if not location:
        gaps.append(f"no artifact location: the source '{mv.source[:200]}' does not resolve to files.")
    else:
        try:
            digest = download_and_hash(source, location)
        except Exception as exc:  # any artifact repository error: reported, never fatal
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            gaps.append(f"the files at {location[:300]} could not be downloaded and hashed ({first}).")
    return _Prepared(mv=mv, run=run, logged=logged, location=location, digest=digest, gaps=gaps)


# --- links (external_ref) -------------------------------------------------------------------


def _ref(session: Session, location: str, external_type: str, external_id: str) -> ExternalRef | None:
    return session.exec(
        select(ExternalRef).where(
            col(ExternalRef.system) == SYSTEM,
            col(ExternalRef.location) == location,
            col(ExternalRef.external_type) == external_type,
            col(ExternalRef.external_id) == external_id,
        )
    ).first()


def _find_ref(
    session: Session, report: ImportReport, external_type: str, external_id: str
) -> ExternalRef | None:
    return _ref(session, report.store, external_type, external_id)


def _move_legacy_links(engine: Engine, actor: Actor, report: ImportReport) -> None:
    """Imports made before stores had an identity filed their links under the URI they read:
    they move, once, under the store's identity, so nothing is imported twice."""
    with write_session(engine) as session:
        legacy = session.exec(
            select(ExternalRef).where(
                col(ExternalRef.system) == SYSTEM, col(ExternalRef.location) == report.tracking_uri
            )
        ).all()
        moved = []
        for ref in legacy:
            twin = _ref(session, report.store, ref.external_type, ref.external_id)
            if twin is not None:
                report.not_mapped.append(
                    f"{ref.external_type} {ref.external_id}: an earlier import under {report.tracking_uri} "
                    f"linked it to Steward {ref.steward_type} #{ref.steward_id}, another import to "
                    f"#{twin.steward_id}; the second is kept, the first left as it is."
                )
                continue
            ref.location = report.store
            session.add(ref)
            moved.append(f"{ref.external_type} {ref.external_id} (filed under the store's identity)")
        if moved:
            session.flush()
            report.links_updated.extend(moved)
            audit.record(
                session,
                actor=actor,
                action=events.MLFLOW_LINKS_MOVED,
                object_id=report.store,
                reason=f"links of an earlier import from {report.tracking_uri} filed under the store's identity",
                before={"location": report.tracking_uri},
                after={"store": report.store, "tracking_uri": report.tracking_uri, "links_moved": moved},
            )


def _save_ref(
    session: Session,
    report: ImportReport,
    external_type: str,
    external_id: str,
    steward_type: str,
    steward_id: int,
    data: dict[str, Any],
) -> bool:
    """Create or update the link; returns True when something changed."""
    data = json.loads(json.dumps(data, sort_keys=True, default=str))
    ref = _find_ref(session, report, external_type, external_id)
    if ref is None:
        session.add(
            ExternalRef(
                system=SYSTEM,
                location=report.store,
                external_type=external_type,
                external_id=external_id,
                steward_type=steward_type,
                steward_id=steward_id,
                data=data,
            )
        )
        session.flush()
        report.links_created.append(f"{external_type} {external_id}")
        return True
    if ref.data != data:
        ref.data = data
        ref.imported_at = clock.now()
        session.add(ref)
        session.flush()
        report.links_updated.append(f"{external_type} {external_id}")
        return True
    return False


# --- models ---------------------------------------------------------------------------------


def _infer_task(tags: dict[str, str], prepared: list[_Prepared], name: str, report: ImportReport) -> str:
    task = (tags.get("task") or tags.get("steward.task") or "").strip()
    if task in TASK_TAGS:
        return TASK_TAGS[task]
    metric_names = {m.lower() for p in prepared for m in _metrics(p, [])}
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
    registered: MlRegisteredModel,
    versions: list[MlVersion],
    prepared: list[_Prepared],
    report: ImportReport,
) -> None:
    name = registered.name
    before = _counts(report)
    tags = registered.tags
    ref = _find_ref(session, report, "registered_model", name)
    model = (
        session.get(Model, ref.steward_id)
        if ref
        else session.exec(select(Model).where(col(Model.name) == name)).first()
    )
    description = registered.description.strip()
    if model is None:
        unit = tags.get("business_unit") or tags.get("steward.business_unit") or ""
        if not unit:
            unit = "Unassigned"
            report.not_mapped.append(f"{name}: no business_unit tag in MLflow; filed under 'Unassigned'.")
        model_id = services.register_model(
            session,
            actor=actor,
            name=name,
            business_unit=unit,
            task=_infer_task(tags, prepared, name, report),
            purpose=description,
            primary_metric=tags.get("primary_metric", ""),
        )
        report.models_created.append(name)
    else:
        model_id = saved_id(model)
        if ref is None:
            report.not_mapped.append(
                f"{name}: a Steward model of that name already existed; MLflow's versions were added to it."
            )
        # MLflow's description is taken when it changed in MLflow since the last import, so an
        # edit made in Steward is not overwritten by every re-import.
        last = (ref.data or {}).get("description") if ref else None
        if description and description != model.purpose and description != last:
            services.update_model(
                session, actor=actor, model_id=model_id, purpose=description, reason="updated from MLflow"
            )
            report.models_updated.append(name)
    kept = {k: v for k, v in tags.items() if k not in MODEL_TAGS_USED}
    _save_ref(
        session,
        report,
        "registered_model",
        name,
        "model",
        model_id,
        {
            "created": registered.creation_timestamp,
            "description": description,
            "tags": kept,
            "aliases": registered.aliases,
        },
    )
    aliases_of: dict[int, list[str]] = {}
    for alias, number in sorted(registered.aliases.items()):
        aliases_of.setdefault(number, []).append(alias)
    fresh = {p.mv.version: p for p in prepared}
    wanted_production: list[tuple[int, int, str]] = []
    for mv in versions:
        aliases = aliases_of.get(mv.version, [])
        if mv.version in fresh:
            _create_version(
                session, actor, model_id, fresh[mv.version], aliases, report, wanted_production, tags
            )
        else:
            _relink_version(session, mv, aliases, report)
    _report_removed(session, name, {mv.version for mv in versions}, report)
    _apply_production(session, actor, model_id, name, wanted_production, report)
    if _counts(report) != before:
        audit.record(
            session,
            actor=actor,
            action=events.MLFLOW_IMPORTED,
            object_id=model_id,
            model_id=model_id,
            reason=f"imported from MLflow at {report.tracking_uri}",
            after={
                "store": report.store,
                "tracking_uri": report.tracking_uri,
                **{k: v for k, v in _delta(before, report).items() if v},
            },
        )


_COUNTED = (
    "models_created",
    "models_updated",
    "versions_created",
    "datasets_created",
    "stages_set",
    "links_updated",
    "links_created",
)


def _counts(report: ImportReport) -> dict[str, int]:
    return {k: len(getattr(report, k)) for k in _COUNTED}


def _delta(before: dict[str, int], report: ImportReport) -> dict[str, list[str]]:
    return {k: getattr(report, k)[before[k] :] for k in _COUNTED}


def _apply_production(
    session: Session,
    actor: Actor,
    model_id: int,
    name: str,
    wanted: list[tuple[int, int, str]],
    report: ImportReport,
) -> None:
    """At most one production version, and only when Steward has none: the highest MLflow one."""
    if not wanted:
        return
    wanted.sort(key=lambda t: t[1])
    current = session.exec(
        select(ModelVersion).where(
            col(ModelVersion.model_id) == model_id, col(ModelVersion.stage) == "production"
        )
    ).first()
    if current is not None:
        for _version_id, number, why in wanted:
            report.gap(
                f"{name} v{number}",
                f"MLflow marks it production ({why}) but Steward's production version is "
                f"v{current.version}; production changes in Steward go through a promotion request.",
            )
        return
    *older, (version_id, number, why) = wanted
    for _older_id, older_number, older_why in older:
        report.gap(
            f"{name} v{older_number}",
            f"MLflow marks it production ({older_why}) but so is a newer version; only the newest, "
            f"v{number}, was set to production.",
        )
    services.apply_stage_change(
        session,
        actor=actor,
        version_id=version_id,
        to_stage="production",
        reason=f"imported from MLflow ({why})",
    )
    report.stages_set.append(f"{name} v{number} -> production")


def _report_removed(session: Session, name: str, present: set[int], report: ImportReport) -> None:
    """Versions Steward imported from this store that MLflow no longer shows (deleted there)."""
    refs = session.exec(
        select(ExternalRef).where(
            col(ExternalRef.system) == SYSTEM,
            col(ExternalRef.location) == report.store,
            col(ExternalRef.external_type) == "model_version",
        )
    ).all()
    for ref in refs:
        owner, _, number = ref.external_id.rpartition("/")
        if owner == name and number.isdigit() and int(number) not in present:
            version = session.get(ModelVersion, ref.steward_id)
            kept = (
                f"Steward keeps its v{version.version}" if version is not None else "Steward keeps its record"
            )
            report.not_mapped.append(f"{name} v{number}: no longer in MLflow (deleted there); {kept}.")


# --- versions -------------------------------------------------------------------------------


def _stage(mv: MlVersion, aliases: list[str], gaps: list[str]) -> tuple[str, str]:
    by_alias = [(ALIAS_STAGE[a.lower()], a) for a in aliases if a.lower() in ALIAS_STAGE]
    for alias in aliases:
        if alias.lower() not in ALIAS_STAGE:
            gaps.append(f"alias @{alias} has no Steward meaning; kept only in the import link.")
    raw = str(mv.current_stage or "None")
    stage = STAGE_MAP.get(raw.lower())
    if stage is None:
        gaps.append(f"unknown MLflow stage '{raw[:40]}'; taken as no stage.")
        stage = "none"
    if by_alias:
        best = min(by_alias, key=lambda t: ("production", "staging").index(t[0]))
        return best[0], f"alias @{best[1]}"
    return stage, f"stage {raw}"


def _name_problem(name: str, what: str) -> str:
    try:
        clean_name(name, what)
    except InvalidInput as exc:
        return str(exc)
    return ""


def _metrics(p: _Prepared, gaps: list[str]) -> dict[str, float]:
    """The run's latest metrics, overlaid with the logged model's (MLflow 3), finite numbers only."""
    values: dict[str, float] = {}
    if p.run is not None:
        for key, value in sorted(p.run.metrics.items()):
            if value is None:
                gaps.append(f"metric {key} is not a finite number (NaN or infinite) in MLflow; skipped.")
            else:
                values[key] = value
    if p.logged is None:
        return values
    latest: dict[tuple[str, str], Any] = {}
    for metric in p.logged.metrics:
        slot = (metric.key, metric.dataset_name)
        if slot not in latest or (metric.step, metric.timestamp) >= (
            latest[slot].step,
            latest[slot].timestamp,
        ):
            latest[slot] = metric
    per_key: dict[str, list[Any]] = {}
    for (key, _dataset), metric in sorted(latest.items()):
        per_key.setdefault(key, []).append(metric)
    for key, metrics in per_key.items():
        for metric in metrics:
            name = f"{key} ({metric.dataset_name})" if len(metrics) > 1 and metric.dataset_name else key
            if metric.value is None:
                gaps.append(f"logged-model metric {name} is not a finite number in MLflow; skipped.")
                continue
            if name in values and values[name] != metric.value:
                gaps.append(
                    f"metric {name}: the logged model says {metric.value:g}, the source run "
                    f"{values[name]:g}; the logged model's value was kept."
                )
            values[name] = metric.value
    return values


def _params(p: _Prepared, gaps: list[str]) -> dict[str, str]:
    values = dict(p.run.params) if p.run is not None else {}
    if p.logged is not None:
        for key, value in sorted(p.logged.params.items()):
            if key in values and values[key] != value:
                gaps.append(
                    f"parameter {key}: the logged model says '{value[:40]}', the source run '{values[key][:40]}'; the logged model's value was kept."
                )
            values[key] = value
    return values


def _commit(p: _Prepared, gaps: list[str]) -> str:
    tags = dict(p.run.tags) if p.run is not None else {}
    if p.logged is not None:
        tags = {**tags, **{k: v for k, v in p.logged.tags.items() if k.startswith("mlflow.source.git")}}
    commit = (tags.get("mlflow.source.git.commit") or "").strip().lower()
    if not commit:
        if p.run is not None or p.logged is not None:
            gaps.append("no git commit: the run has no mlflow.source.git.commit tag.")
        return ""
    if not (7 <= len(commit) <= 64 and set(commit) <= _HEX_DIGITS):
        gaps.append(f"git commit tag '{commit[:80]}' is not a commit hash; skipped.")
        return ""
    return commit


def _clean_values(values: dict[str, Any], what: str, gaps: list[str]) -> dict[str, Any]:
    kept = {}
    for key, value in values.items():
        problem = _name_problem(key, f"{what} name")
        if problem:
            gaps.append(f"{what} '{key[:80]}' skipped: {problem}")
        else:
            kept[key] = value
    return kept


def _create_version(
    session: Session,
    actor: Actor,
    model_id: int,
    p: _Prepared,
    aliases: list[str],
    report: ImportReport,
    wanted_production: list[tuple[int, int, str]],
    model_tags: dict[str, str],
) -> None:
    mv = p.mv
    key = f"{mv.name} v{mv.version}"
    external_id = f"{mv.name}/{mv.version}"
    taken = session.exec(
        select(ModelVersion).where(
            col(ModelVersion.model_id) == model_id, col(ModelVersion.version) == mv.version
        )
    ).first()
    if taken is not None:
        report.versions_skipped.append(key)
        report.gap(
            key,
            f"not imported: Steward's v{mv.version} of this model is another version (registered "
            f"{taken.created_at:%Y-%m-%d} outside this MLflow store); Steward keeps MLflow's numbers, so "
            "it will not file this one under a different number.",
        )
        return
    gaps = list(p.gaps)
    stage, why = _stage(mv, aliases, gaps)
    if mv.status and mv.status.upper() != "READY":
        gaps.append(f"MLflow registration status is {mv.status}; imported as it is.")
    if not mv.run_id and p.logged is None:
        gaps.append("no source run in MLflow: no parameters, metrics, git commit or datasets.")
    # A multiclass model's classes, in order: the version's class_names tag, else the model's.
    class_names = [
        c.strip() for c in (mv.tags.get("class_names") or model_tags.get("class_names") or "").split(",")
    ]
    class_names = [c for c in class_names if c]
    model_row = session.get(Model, model_id)
    if model_row is not None and model_row.task == "multiclass_classification" and not class_names:
        report.versions_skipped.append(key)
        report.gap(
            key,
            "not imported: a multiclass model's version needs its classes in order; tag the MLflow "
            "version (or model) with class_names=low,medium,high and import again.",
        )
        return
    if mv.user_id:
        gaps.append(
            f"created in MLflow by '{mv.user_id[:80]}'; Steward records the importing person as registrant."
        )
    if mv.tags:
        gaps.append(f"version tags kept only in the import link: {', '.join(sorted(mv.tags))[:300]}.")
    metrics = _clean_values(_metrics(p, gaps), "metric", gaps)
    params = _clean_values(_params(p, gaps), "parameter", gaps)
    commit = _commit(p, gaps)
    training, evaluation, extra = _import_datasets(session, actor, p.run, gaps, report)
    created = datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC) if mv.creation_timestamp else None
    version_id = services.register_version(
        session,
        actor=actor,
        model_id=model_id,
        version=mv.version,
        metrics=metrics,
        params=params,
        git_commit=commit,
        training_dataset_id=training,
        evaluation_dataset_id=evaluation,
        description=mv.description.strip(),
        created_at=created,
        source_uri=p.location[:1000],
        source_sha256=p.digest.sha256 if p.digest else "",
        class_names=class_names
        if model_row is not None and model_row.task == "multiclass_classification"
        else [],
    )
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
    for gap in gaps:
        report.gap(key, gap)
    _save_ref(
        session,
        report,
        "model_version",
        external_id,
        "model_version",
        version_id,
        {
            **_mutable(mv, aliases),
            "created": mv.creation_timestamp,
            "source": mv.source,
            "run_id": mv.run_id,
            "model_id": mv.model_id,
            "artifact_location": p.location,
            "artifact_sha256": p.digest.sha256 if p.digest else "",
            "artifact_bytes": p.digest.size if p.digest else 0,
            "artifact_files": [list(f) for f in p.digest.files[:MAX_FILES_KEPT]] if p.digest else [],
            "gaps": gaps,
        },
    )
    report.versions_created.append(key)
    if stage == "production":
        wanted_production.append((version_id, mv.version, why))
    elif stage != "none":
        services.apply_stage_change(
            session,
            actor=actor,
            version_id=version_id,
            to_stage=stage,
            reason=f"imported from MLflow ({why})",
        )
        report.stages_set.append(f"{key} -> {stage}")


def _mutable(mv: MlVersion, aliases: list[str]) -> dict[str, Any]:
    """What MLflow lets people change on a version after it was created."""
    return {"aliases": sorted(aliases), "mlflow_stage": mv.current_stage, "tags": dict(mv.tags)}


def _relink_version(session: Session, mv: MlVersion, aliases: list[str], report: ImportReport) -> None:
    """A version imported before: refresh what MLflow may change; report, never apply, a new stage."""
    key = f"{mv.name} v{mv.version}"
    external_id = f"{mv.name}/{mv.version}"
    ref = _find_ref(session, report, "model_version", external_id)
    assert ref is not None  # known before the transaction; links are never deleted
    version = session.get(ModelVersion, ref.steward_id)
    data = dict(ref.data or {})
    for gap in data.get("gaps", []):
        report.gap(key, gap)
    recorded = data.get("created")
    if recorded and mv.creation_timestamp and recorded != mv.creation_timestamp:
        report.versions_skipped.append(key)
        report.gap(
            key,
            f"not imported: MLflow's v{mv.version} was created at {_ms(mv.creation_timestamp)}, but the "
            f"version Steward imported under that number was created at {_ms(recorded)} (the model was "
            "deleted and re-created in MLflow?).",
        )
        return
    report.versions_unchanged.append(key)
    if version is not None and version.version != mv.version:
        report.gap(
            key,
            f"imported before Steward kept MLflow's numbers: Steward's v{version.version} is MLflow's v{mv.version}.",
        )
    stage, why = _stage(mv, aliases, [])
    if version is not None and stage != "none" and version.stage != stage:
        report.gap(
            key,
            f"MLflow says {stage} ({why}) but Steward has it as {version.stage}; stage changes after "
            "the first import go through Steward's promotion requests.",
        )
    data.update(_mutable(mv, aliases))
    _save_ref(session, report, "model_version", external_id, "model_version", ref.steward_id, data)


def _ms(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- datasets -------------------------------------------------------------------------------


def _import_datasets(
    session: Session, actor: Actor, run: MlRun | None, gaps: list[str], report: ImportReport
) -> tuple[int | None, int | None, list[tuple[int, str]]]:
    training: int | None = None
    evaluation: int | None = None
    extra: list[tuple[int, str]] = []
    if run is None:
        return None, None, []
    if not run.datasets:
        gaps.append("no datasets logged on the run: no training or evaluation data.")
        return None, None, []
    for ds in run.datasets:
        problem = _name_problem(ds.name, "dataset name")
        if problem:
            gaps.append(f"dataset '{ds.name[:80]}' skipped: {problem}")
            continue
        dataset_id = _dataset(session, actor, ds, report)
        context = ds.context.lower()
        if context in TRAINING_CONTEXTS and training is None:
            training = dataset_id
        elif context in EVALUATION_CONTEXTS and evaluation is None:
            evaluation = dataset_id
        else:
            if not ds.context:
                gaps.append(f"dataset {ds.name} has no context tag; linked as 'input'.")
            extra.append((dataset_id, ds.context or "input"))
    if training is None:
        gaps.append("no dataset logged with context 'training'.")
    if evaluation is None:
        gaps.append("no dataset logged with context 'evaluation'.")
    return training, evaluation, extra


def _dataset(session: Session, actor: Actor, ds: MlDataset, report: ImportReport) -> int:
    external_id = f"{ds.name}@{ds.digest}"
    ref = _find_ref(session, report, "dataset", external_id)
    if ref is not None:
        return ref.steward_id
    existing = session.exec(
        select(Dataset).where(col(Dataset.name) == ds.name, col(Dataset.version) == ds.digest)
    ).first()
    if existing is not None:
        dataset_id = saved_id(existing)
    else:
        dataset_id = services.create_dataset(
            session,
            actor=actor,
            name=ds.name,
            version=ds.digest,
            data_source_id=_data_source(session, actor, ds),
            data_schema=_schema(ds),
            uri=dataset_source_uri(ds.source)[:1000],
        )
        report.datasets_created.append(f"{ds.name} (digest {ds.digest})")
    _save_ref(
        session,
        report,
        "dataset",
        external_id,
        "dataset",
        dataset_id,
        {"source_type": ds.source_type, "source": ds.source},
    )
    return dataset_id


def _data_source(session: Session, actor: Actor, ds: MlDataset) -> int | None:
    uri = dataset_source_uri(ds.source)
    if not uri:
        return None
    name = uri if len(uri) <= 200 else uri[:197] + "..."
    existing = session.exec(select(DataSource).where(col(DataSource.name) == name)).first()
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


def _schema(ds: MlDataset) -> dict[str, str]:
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
