"""Everything an explanation needs about one model version, loaded safely.

The model and its samples are read only from the artifact store and only when their sha256
matches the registry (core.registry.artifacts). A changed file is refused with a clear message
and the refusal is written to the audit log in its own transaction, so it is on record even
though nothing else is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor
from core.db.engine import read_session, write_session
from core.db.models import (
    AuditEvent,
    CampaignItem,
    Dataset,
    LabellingCampaign,
    Model,
    ModelVersion,
    PredictionLog,
)
from core.db.types import saved_id
from core.errors import IntegrityViolation, InvalidInput, NotFound
from core.logstore import reads as logstore_reads
from core.registry import artifacts, datasets
from core.registry.rules import RuleInForce
from core.registry.services import ensure_system_person

PRODUCTION_WINDOW_DAYS = 30
SAMPLE_FORMATS = (".parquet", ".csv")


@dataclass(frozen=True)
class SampleRef:
    dataset_id: int
    name: str
    version: str
    uri: str
    content_hash: str
    rows: int
    storage: str = ""  # where the file is kept: see core.registry.datasets


@dataclass(frozen=True)
class VersionContext:
    """A model version as the explainer sees it (plain values, no live ORM rows)."""

    version_id: int
    model_id: int
    model_name: str
    version: int
    stage: str
    task: str
    business_unit: str
    feature_names: list[str]
    artifact_uri: str
    artifact_sha256: str
    artifact_format: str
    training: SampleRef | None
    evaluation: SampleRef | None
    target: str = ""  # what the model predicts, in words (Model.target)
    class_names: tuple[str, ...] = ()  # a multiclass classifier's classes, in order

    @property
    def label(self) -> str:
        return f"{self.model_name} v{self.version}"


def version_context(session: Session, version_id: int) -> VersionContext:
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"No model version with id {version_id}.")
    model = session.get(Model, version.model_id)
    assert model is not None
    return VersionContext(
        version_id=version_id,
        model_id=saved_id(model),
        model_name=model.name,
        version=version.version,
        stage=version.stage,
        task=model.task,
        business_unit=model.business_unit,
        feature_names=list(version.feature_names),
        artifact_uri=version.artifact_uri,
        artifact_sha256=version.artifact_sha256,
        artifact_format=version.artifact_format,
        # SHAP's background: the version's background dataset, else its training data.
        training=_sample_ref(session, version.background_dataset_id or version.training_dataset_id),
        evaluation=_sample_ref(session, version.evaluation_dataset_id),
        target=(model.target or "").strip(),
        class_names=tuple(version.class_names or ()) if model.task == "multiclass_classification" else (),
    )


def _sample_ref(session: Session, dataset_id: int | None) -> SampleRef | None:
    if dataset_id is None:
        return None
    row = session.get(Dataset, dataset_id)
    if row is None or not row.uri:
        return None
    return SampleRef(
        saved_id(row), row.name, row.version, row.uri, row.content_hash, row.row_count, row.storage
    )


def decisive_rule(rules: list[RuleInForce], score: float) -> RuleInForce | None:
    """The rule that decided this score: of the rules met, the strictest (decline above 0.35 beats
    refer above 0.18); if none is met, the one closest to being met."""
    if not rules:
        return None

    def strictness(rule: RuleInForce) -> float:
        return rule.threshold if rule.operator in (">", ">=") else -rule.threshold

    met = [r for r in rules if r.holds(score)]
    return max(met, key=strictness) if met else min(rules, key=strictness)


# --- safe loading ------------------------------------------------------------------------------


def record_integrity_failure(
    engine: Engine,
    *,
    actor: Actor | None,
    object_type: str,
    object_id: Any,
    model_id: int | None,
    uri: str,
    expected_sha256: str,
    message: str,
) -> None:
    """Write "artifact.integrity_failed" to the audit log in its own write transaction.

    No role is required: whoever tripped over a changed file, the event must be on record.
    Without a person (a caller that passes no actor) the system account is named. The same finding
    by the same person on the same object within REPEAT_WINDOW is on record already (a page
    rerun, a retry), so it is not written again: the log shows each discovery, not each click.
    """
    with read_session(engine) as session:
        if _recorded_recently(session, actor, object_type, object_id, message):
            return
    with write_session(engine) as session:
        who = actor or ensure_system_person(session)
        audit.record(
            session,
            actor=who,
            action=events.ARTIFACT_INTEGRITY_FAILED,
            object_type=object_type,
            object_id=object_id,
            model_id=model_id,
            after={"uri": uri, "expected_sha256": expected_sha256, "refused": True},
            reason=message,
        )


REPEAT_WINDOW = timedelta(hours=1)


def _recorded_recently(
    session: Session, actor: Actor | None, object_type: str, object_id: Any, message: str
) -> bool:
    query = select(col(AuditEvent.id)).where(
        col(AuditEvent.action) == events.ARTIFACT_INTEGRITY_FAILED.name,
        col(AuditEvent.object_type) == object_type,
        col(AuditEvent.object_id) == str(object_id),
        col(AuditEvent.reason) == message,
        col(AuditEvent.ts) >= clock.now() - REPEAT_WINDOW,
    )
    if actor is not None:
        query = query.where(col(AuditEvent.actor_id) == actor.id)
    return session.exec(query.limit(1)).first() is not None


def load_model(engine: Engine, context: VersionContext, *, actor: Actor | None = None) -> Any:
    """The version's model, unpickled only after its sha256 matched the registry."""
    if not context.artifact_uri:
        raise NotFound(f"{context.label} has no model artifact in the store, so it cannot be explained.")
    try:
        return artifacts.load_verified(context.artifact_uri, context.artifact_sha256, context.artifact_format)
    except IntegrityViolation as exc:
        record_integrity_failure(
            engine,
            actor=actor,
            object_type="model_version",
            object_id=context.version_id,
            model_id=context.model_id,
            uri=context.artifact_uri,
            expected_sha256=context.artifact_sha256,
            message=str(exc),
        )
        raise


def load_sample(
    engine: Engine, context: VersionContext, which: str, *, actor: Actor | None = None
) -> pd.DataFrame:
    """The version's training or evaluation sample (feature columns and label), hash-checked."""
    ref = context.training if which == "training" else context.evaluation
    if ref is None:
        role = "background" if which == "training" else which
        raise NotFound(
            f"{context.label} has no {which} sample registered, so it cannot be explained. Register one with "
            f"its file: steward register-dataset NAME --version V --file FILE --role {role} "
            f'--model "{context.model_name}" --model-version {context.version} (or upload it on the Model page).'
        )
    if not ref.content_hash:
        raise InvalidInput(
            f"the {which} sample '{ref.name}' v{ref.version} has no sha256 registered; "
            "Steward reads samples only when their hash is known."
        )
    if not ref.uri.endswith(SAMPLE_FORMATS):
        raise InvalidInput(f"the {which} sample '{ref.uri}' is not a parquet or CSV file.")
    try:
        path = datasets.verified_path(ref.uri, ref.content_hash, ref.storage)
    except IntegrityViolation as exc:
        record_integrity_failure(
            engine,
            actor=actor,
            object_type="dataset",
            object_id=ref.dataset_id,
            model_id=context.model_id,
            uri=ref.uri,
            expected_sha256=ref.content_hash,
            message=str(exc),
        )
        raise
    frame = pd.read_parquet(path) if ref.uri.endswith(".parquet") else pd.read_csv(path)
    missing = [f for f in context.feature_names if f not in frame.columns]
    if missing:
        raise InvalidInput(f"the {which} sample '{ref.name}' lacks feature column(s): {', '.join(missing)}.")
    return frame


# --- logged predictions ----------------------------------------------------------------------


def align_to(frame: pd.DataFrame, reference: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """``frame``'s feature columns with the dtypes of ``reference`` (logged JSON loses them)."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise InvalidInput(f"logged predictions lack feature(s): {', '.join(missing)}.")
    out = pd.DataFrame(index=frame.index)
    for feature in features:
        column = frame[feature]
        if feature in reference.columns and pd.api.types.is_numeric_dtype(reference[feature]):
            out[feature] = pd.to_numeric(column, errors="coerce").astype(float)
        else:
            out[feature] = column.astype(object)
    return out


def recent_predictions(session: Session, version_id: int, *, limit: int = 50) -> pd.DataFrame:
    """The newest logged predictions of a version: id, ts, request_id, score, prediction, label
    (from the log store; a label given later in a campaign, kept in the registry, wins)."""
    frame = logstore_reads.rows(session, version_id, newest_first=True, limit=limit)
    frame = frame.rename(columns={"row_id": "id"})[["id", "ts", "request_id", "score", "prediction", "label"]]
    if len(frame):
        labels: dict[int, float] = dict(
            session.execute(  # type: ignore[arg-type]
                sa.select(col(PredictionLog.id), col(PredictionLog.label)).where(
                    col(PredictionLog.id).in_([int(i) for i in frame["id"]]),
                    col(PredictionLog.label).is_not(None),
                )
            ).all()
        )
        if labels:
            frame["label"] = [
                labels.get(int(i), lab) for i, lab in zip(frame["id"], frame["label"], strict=True)
            ]
    return frame


LABELLING_ITEM_COLUMNS = [
    "item_id",
    "campaign",
    "position",
    "status",
    "final_label",
    "prediction_id",
    "ts",
    "request_id",
    "score",
    "prediction",
]


def labelling_items(session: Session, version_id: int, *, limit: int = 200) -> pd.DataFrame:
    """Items of the labelling campaigns on this version (open campaigns first, then newest), with
    the logged prediction each one samples: item_id, campaign, position, status, final_label,
    prediction_id, ts, request_id, score, prediction."""
    rows = session.execute(
        sa.select(
            col(CampaignItem.id),
            col(LabellingCampaign.name),
            col(CampaignItem.position),
            col(CampaignItem.status),
            col(CampaignItem.final_label),
            col(PredictionLog.id),
            col(PredictionLog.ts),
            col(PredictionLog.request_id),
            col(PredictionLog.score),
            col(PredictionLog.prediction),
        )
        .join(LabellingCampaign, col(LabellingCampaign.id) == col(CampaignItem.campaign_id))
        .join(PredictionLog, col(PredictionLog.id) == col(CampaignItem.prediction_log_id))
        .where(
            col(LabellingCampaign.model_version_id) == version_id,
            col(PredictionLog.model_version_id) == version_id,
        )
        .order_by(
            (col(LabellingCampaign.status) != "open"),
            col(LabellingCampaign.created_at).desc(),
            col(LabellingCampaign.id).desc(),
            col(CampaignItem.position),
        )
        .limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=LABELLING_ITEM_COLUMNS)


def labelling_item(session: Session, version_id: int, item_id: int) -> dict[str, Any]:
    """One labelling item of this version: its campaign, position, status, final label and prediction id."""
    item = session.get(CampaignItem, item_id)
    campaign = None if item is None else session.get(LabellingCampaign, item.campaign_id)
    if item is None or campaign is None or campaign.model_version_id != version_id:
        raise NotFound(f"No labelling item {item_id} for this model version.")
    return {
        "item_id": item.id,
        "campaign": campaign.name,
        "position": item.position,
        "status": item.status,
        "final_label": item.final_label,
        "prediction_id": item.prediction_log_id,
    }


def logged_prediction(session: Session, version_id: int, prediction_id: int) -> dict[str, Any]:
    """One logged prediction: from the registry's labelled sample when it is there (with the
    label given in a campaign), else from the log store."""
    row = session.get(PredictionLog, prediction_id)
    if row is not None and row.model_version_id == version_id:
        return {
            "id": row.id,
            "ts": row.ts,
            "request_id": row.request_id,
            "features": dict(row.features),
            "score": row.score,
            "prediction": row.prediction,
            "label": row.label,
        }
    stored = logstore_reads.row(session, version_id, prediction_id)
    if stored is None:
        raise NotFound(f"No logged prediction {prediction_id} for this model version.")
    return stored


@dataclass(frozen=True)
class ProductionWindow:
    start: datetime
    end: datetime
    frame: pd.DataFrame


def production_window(
    session: Session, version_id: int, *, days: int = PRODUCTION_WINDOW_DAYS, max_rows: int = 1000
) -> ProductionWindow | None:
    """Logged feature rows of the last ``days`` days before the newest prediction (newest first)."""
    end = logstore_reads.newest_ts(session, version_id)
    if end is None:
        return None
    start = end - timedelta(days=days)
    rows = logstore_reads.rows(
        session, version_id, columns=None, since=start, newest_first=True, limit=max_rows
    )
    frame = rows.drop(columns=list(logstore_reads.BASE_COLUMNS)).reset_index(drop=True)
    frame = frame.astype(object).where(frame.notna(), None)
    return ProductionWindow(start, end, frame)


def explainable_versions(session: Session) -> pd.DataFrame:
    """Versions with a model artifact in the store: version_id, model_id, model, version, stage,
    business_unit, task (production first, then newest)."""
    rows = session.execute(
        sa.select(
            col(ModelVersion.id),
            col(Model.id),
            col(Model.name),
            col(ModelVersion.version),
            col(ModelVersion.stage),
            col(Model.business_unit),
            col(Model.task),
        )
        .join(Model, col(Model.id) == col(ModelVersion.model_id))
        .where(col(ModelVersion.artifact_uri) != "")
        .order_by(col(Model.name), col(ModelVersion.version).desc())
    ).all()
    frame = pd.DataFrame(
        rows, columns=["version_id", "model_id", "model", "version", "stage", "business_unit", "task"]
    )
    frame["rank"] = (frame["stage"] != "production").astype(int)
    return (
        frame.sort_values(["model", "rank", "version"], ascending=[True, True, False])
        .drop(columns="rank")
        .reset_index(drop=True)
    )
