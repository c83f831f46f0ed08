"""Everything an explanation needs about one model version, loaded safely.

The model and its samples are read only from the artifact store and only when their sha256
matches the registry (core.registry.artifacts). A changed file is refused with a clear message
and the refusal is written to the audit log in its own transaction, so it is on record even
though nothing else is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from core import audit
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
from core.db.types import utcnow
from core.errors import IntegrityViolation, InvalidInput, NotFound
from core.registry import artifacts
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


@dataclass(frozen=True)
class RuleInForce:
    """The active business rule on a model's score, e.g. approve if score > 0.69."""

    name: str
    operator: str
    threshold: float
    outcome: str
    version: int

    def holds(self, score: float) -> bool:
        return {
            ">": score > self.threshold,
            ">=": score >= self.threshold,
            "<": score < self.threshold,
            "<=": score <= self.threshold,
        }[self.operator]

    def text(self) -> str:
        threshold = f"{self.threshold:g}"
        return {
            ">": f"{self.outcome} above {threshold}",
            ">=": f"{self.outcome} at {threshold} or above",
            "<": f"{self.outcome} below {threshold}",
            "<=": f"{self.outcome} at {threshold} or below",
        }[self.operator]


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
        model_id=model.id,
        model_name=model.name,
        version=version.version,  # type: ignore[arg-type]
        stage=version.stage,
        task=model.task,
        business_unit=model.business_unit,
        feature_names=list(version.feature_names),
        artifact_uri=version.artifact_uri,
        artifact_sha256=version.artifact_sha256,
        artifact_format=version.artifact_format,
        training=_sample_ref(session, version.training_dataset_id),
        evaluation=_sample_ref(session, version.evaluation_dataset_id),
        target=(model.target or "").strip(),
    )


def _sample_ref(session: Session, dataset_id: int | None) -> SampleRef | None:
    if dataset_id is None:
        return None
    row = session.get(Dataset, dataset_id)
    if row is None or not row.uri:
        return None
    return SampleRef(row.id, row.name, row.version, row.uri, row.content_hash, row.row_count)  # type: ignore[arg-type]


def rules_in_force(
    session: Session, model_id: int, version_id: int | None = None, at: datetime | None = None
) -> list[RuleInForce]:
    """The model's rules that applied at ``at`` (default now; for a logged prediction, the moment it
    was made), one per rule name; rules tied to another version of the model do not count."""
    from core.governance.rules import rules_in_force as versioned_rules

    return [
        RuleInForce(r.name, r.operator, float(r.threshold), r.outcome, r.version)
        for r in versioned_rules(session, model_id=model_id, at=at, version_id=version_id)
    ]


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
    Without a person (CLI without --as, cron) the system account is named. The same finding
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
            action="artifact.integrity_failed",
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
    query = select(AuditEvent.id).where(
        AuditEvent.action == "artifact.integrity_failed",
        AuditEvent.object_type == object_type,
        AuditEvent.object_id == str(object_id),
        AuditEvent.reason == message,
        AuditEvent.ts >= utcnow() - REPEAT_WINDOW,
    )
    if actor is not None:
        query = query.where(AuditEvent.actor_id == actor.id)
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
        raise NotFound(f"{context.label} has no {which} sample registered, so it cannot be explained.")
    if not ref.content_hash:
        raise InvalidInput(
            f"the {which} sample '{ref.name}' v{ref.version} has no sha256 registered; "
            "Steward reads samples only when their hash is known."
        )
    if not ref.uri.endswith(SAMPLE_FORMATS):
        raise InvalidInput(f"the {which} sample '{ref.uri}' is not a parquet or CSV file.")
    try:
        path = artifacts.verify_artifact(ref.uri, ref.content_hash)
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
    """The newest logged predictions of a version: id, ts, request_id, score, prediction, label."""
    rows = session.exec(
        select(
            PredictionLog.id,
            PredictionLog.ts,
            PredictionLog.request_id,
            PredictionLog.score,
            PredictionLog.prediction,
            PredictionLog.label,
        )
        .where(PredictionLog.model_version_id == version_id)
        .order_by(PredictionLog.ts.desc(), PredictionLog.id.desc())
        .limit(limit)  # type: ignore[attr-defined,union-attr]
    ).all()
    return pd.DataFrame(rows, columns=["id", "ts", "request_id", "score", "prediction", "label"])


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
    rows = session.exec(
        select(
            CampaignItem.id,
            LabellingCampaign.name,
            CampaignItem.position,
            CampaignItem.status,
            CampaignItem.final_label,
            PredictionLog.id,
            PredictionLog.ts,
            PredictionLog.request_id,
            PredictionLog.score,
            PredictionLog.prediction,
        )
        .join(LabellingCampaign, LabellingCampaign.id == CampaignItem.campaign_id)  # type: ignore[arg-type]
        .join(PredictionLog, PredictionLog.id == CampaignItem.prediction_log_id)  # type: ignore[arg-type]
        .where(LabellingCampaign.model_version_id == version_id, PredictionLog.model_version_id == version_id)
        .order_by(
            (LabellingCampaign.status != "open"),
            LabellingCampaign.created_at.desc(),  # type: ignore[attr-defined]
            LabellingCampaign.id.desc(),
            CampaignItem.position,
        )  # type: ignore[union-attr]
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
    row = session.get(PredictionLog, prediction_id)
    if row is None or row.model_version_id != version_id:
        raise NotFound(f"No logged prediction {prediction_id} for this model version.")
    return {
        "id": row.id,
        "ts": row.ts,
        "request_id": row.request_id,
        "features": dict(row.features),
        "score": row.score,
        "prediction": row.prediction,
        "label": row.label,
    }


@dataclass(frozen=True)
class ProductionWindow:
    start: datetime
    end: datetime
    frame: pd.DataFrame


def production_window(
    session: Session, version_id: int, *, days: int = PRODUCTION_WINDOW_DAYS, max_rows: int = 1000
) -> ProductionWindow | None:
    """Logged feature rows of the last ``days`` days before the newest prediction (newest first)."""
    newest = session.exec(
        select(func.max(PredictionLog.ts)).where(PredictionLog.model_version_id == version_id)
    ).one()
    if newest is None:
        return None
    end = newest if newest.tzinfo is not None else newest.replace(tzinfo=UTC)
    start = end - timedelta(days=days)
    rows = session.exec(
        select(PredictionLog.features)
        .where(PredictionLog.model_version_id == version_id, PredictionLog.ts >= start)
        .order_by(PredictionLog.ts.desc())
        .limit(max_rows)  # type: ignore[attr-defined]
    ).all()
    return ProductionWindow(start, end, pd.DataFrame(list(rows)))  # type: ignore[arg-type]


def explainable_versions(session: Session) -> pd.DataFrame:
    """Versions with a model artifact in the store: version_id, model_id, model, version, stage,
    business_unit, task (production first, then newest)."""
    rows = session.exec(
        select(
            ModelVersion.id,
            Model.id,
            Model.name,
            ModelVersion.version,
            ModelVersion.stage,
            Model.business_unit,
            Model.task,
        )
        .join(Model, Model.id == ModelVersion.model_id)  # type: ignore[arg-type]
        .where(ModelVersion.artifact_uri != "")
        .order_by(Model.name, ModelVersion.version.desc())  # type: ignore[attr-defined]
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
