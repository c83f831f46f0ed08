"""Feedback labelling by domain experts: campaigns, sampling, labels and agreement.

A campaign samples unlabelled production predictions of one model version by a strategy
(random, stratified, uncertainty, model-vs-rule disagreement). Labellers answer one case at a
time; the next case is always chosen here, server-side, as the first item the labeller has
not answered that still needs labels, so reruns, refreshes and two tabs never lose or repeat
anything. When an item's label becomes final it is written to the prediction log and the
daily rollup in the same transaction as the label and its audit event.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from core import audit, clock, events
from core.access import Actor, require
from core.db.models import (
    CampaignItem,
    Label,
    LabellingCampaign,
    Model,
    ModelVersion,
    Person,
    PredictionLog,
)
from core.db.models.monitoring_feedback import CAMPAIGN_STRATEGIES
from core.db.models.registry import CLASSIFIER_TASKS
from core.db.types import changed_rows, saved_id
from core.errors import Conflict, InvalidInput, NotFound
from core.logstore import reads as logstore_reads
from core.logstore import write as logstore_write
from core.registry.files import shown
from core.registry.ingest import add_label_to_rollup
from core.registry.rules import OPERATORS, RuleInForce, rules_in_force
from core.registry.validation import case_link, clean_choice, clean_name, clean_text

MAX_CAMPAIGN_SIZE = 5000
MAX_COMMENT = 2000
DEFAULT_THRESHOLD = 0.5
NUMERIC_SEGMENT_BINS = 4  # a numeric segment feature with many values is stratified by quartile
STRATEGY_TEXT = {
    "random": "a simple random sample",
    "stratified": "equal numbers per predicted class (or segment)",
    "uncertainty": "the cases with scores nearest the decision threshold",
    "disagreement": "cases where the model's prediction and the business rule disagree",
}


# --- read models ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignCreated:
    campaign_id: int
    size: int
    size_requested: int
    note: str


@dataclass(frozen=True)
class Progress:
    """Where one labeller stands in a campaign, and where the campaign stands.

    ``answered_by_me`` counts answers only (a class or a value): "unsure" and "skip" are counted
    apart, and never as answers."""

    answered_by_me: int
    remaining_for_me: int
    items_done: int
    size: int
    unsure_by_me: int = 0
    skipped_by_me: int = 0

    @property
    def seen_by_me(self) -> int:
        return self.answered_by_me + self.unsure_by_me + self.skipped_by_me

    @property
    def my_fraction(self) -> float:
        total = self.seen_by_me + self.remaining_for_me
        return self.seen_by_me / total if total else 1.0


@dataclass(frozen=True)
class Case:
    """One item as a labeller sees it. ``prediction``/``score`` are None when hidden."""

    item_id: int
    campaign_id: int
    campaign_name: str
    model_name: str
    task: str
    position: int
    size: int
    ts: datetime
    features: list[tuple[str, Any]]
    prediction: float | None
    score: float | None
    class_names: dict[int, str]
    question: str
    instructions: str
    progress: Progress
    request_id: str = ""  # the case's business identifier ('' when the pipeline logged none)
    case_url: str = ""  # the case in the system where it lives ('' without a link template)
    outcome_by: datetime | None = None  # the end of the outcome horizon the question asks about


@dataclass(frozen=True)
class LabelOutcome:
    label_id: int
    item_status: str
    final_label: float | None
    progress: Progress


@dataclass(frozen=True)
class Measure:
    """One agreement figure: which (``krippendorff``, ``cohen``, ``fleiss``, ``mean_abs_difference``),
    its value (None when undefined), the items it rests on and a note on how far to trust it."""

    method: str
    value: float | None
    n_items: int
    note: str


@dataclass
class AgreementReport:
    """Agreement between labellers. ``measures`` holds Krippendorff's alpha first (every item with
    two or more labels, any number of labellers per item), then Cohen's kappa (exactly two
    labellers on every compared item) or Fleiss' kappa (the same number of labels on every compared
    item) where they apply, and for regressors the mean absolute difference."""

    n_items: int
    n_labellers: int
    note: str
    disagreements: pd.DataFrame = field(default_factory=pd.DataFrame)
    measures: list[Measure] = field(default_factory=list)
    task: str = "binary_classification"
    class_names: dict[int, str] = field(default_factory=dict)  # the answers in words, for the review form

    @property
    def method(self) -> str:
        return self.measures[0].method if self.measures else ""

    @property
    def value(self) -> float | None:
        return self.measures[0].value if self.measures else None

    def measure(self, method: str) -> Measure | None:
        return next((m for m in self.measures if m.method == method), None)


# --- helpers -----------------------------------------------------------------------------------


def _get(session: Session, cls: Any, object_id: int, what: str) -> Any:
    row = session.get(cls, object_id)
    if row is None:
        raise NotFound(f"No {what} with id {object_id}.")
    return row


ANSWERS = {1: "Yes", 0: "No"}  # a binary classifier's classes as labellers answer them


def class_names(model: Model, version: ModelVersion | None = None) -> dict[int, str]:
    """The answers of a classifier in words: a binary classifier's question names the outcome, so
    Yes and No; a multiclass classifier's are its version's class names. Labellers, reviewers and
    tables see these, never the positions stored in the log."""
    if model.task == "multiclass_classification":
        return dict(enumerate(version.class_names or [])) if version is not None else {}
    return dict(ANSWERS)


def answer_text(task: str, value: float | None, names: dict[int, str]) -> str:
    """One answer as people read it: a class's name, or a regressor's value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if task in CLASSIFIER_TASKS:
        return names.get(int(value), f"{value:g}")
    return f"{value:,.2f}"


def outcome_by(model: Model, ts: datetime) -> datetime | None:
    """When the outcome of a prediction made at ``ts`` is known (None: the model has no horizon)."""
    return ts + timedelta(days=model.outcome_horizon_days) if model.outcome_horizon_days is not None else None


def question(model: Model, ts: datetime | None = None) -> str:
    """What the labeller is asked, in the words of what the model predicts; with an outcome horizon,
    about what had happened by its end for this prediction."""
    target = (model.target or "").strip()
    when = ""
    if ts is not None and model.outcome_horizon_days is not None:
        end = outcome_by(model, ts)
        days = model.outcome_horizon_days
        when = f"By {end:%Y-%m-%d} ({days} day{'s' if days != 1 else ''} after the prediction), "
    if model.task == "binary_classification":
        asked = f"did this happen: **{target}**?" if target else "did the outcome the model predicts happen?"
    elif model.task == "multiclass_classification":
        asked = f"which class was it: **{target}**?" if target else "which class was the true outcome?"
    else:
        asked = f"what was the true value: **{target}**?" if target else "what was the true value?"
    return (when + asked) if when else asked[:1].upper() + asked[1:]


def sampling_rule(
    session: Session, model_id: int, version_id: int | None, at: datetime | None = None
) -> RuleInForce | None:
    """The business rule a campaign samples against (uncertainty around its threshold, or
    disagreement with the model): of the rules in force at ``at``, the one that took effect last
    (the highest id among equals). None when no rule is in force."""
    in_force = rules_in_force(session, model_id=model_id, at=at, version_id=version_id)
    return max(in_force, key=lambda r: (r.effective_from, r.id), default=None)


def _default_version(session: Session, model: Model) -> ModelVersion:
    """The production version, else the newest version that has logged predictions."""
    versions = (
        session.execute(
            select(ModelVersion)
            .where(col(ModelVersion.model_id) == model.id)
            .order_by(col(ModelVersion.version).desc())
        )
        .scalars()
        .all()
    )
    for version in versions:
        if version.stage == "production":
            return version
    for version in versions:
        if logstore_reads.has_rows(session, saved_id(version)):
            return version
    raise InvalidInput(f"'{model.name}' has no version with logged predictions to sample from.")


# --- campaign creation and sampling ------------------------------------------------------------


def create_campaign(
    session: Session,
    *,
    actor: Actor,
    model_id: int,
    size: int,
    strategy: str,
    name: str = "",
    labels_per_item: int = 1,
    hide_prediction: bool = True,
    segment_feature: str = "",
    version_id: int | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    instructions: str = "",
    seed: int | None = None,
) -> CampaignCreated:
    """Sample ``size`` unlabelled predictions of one version into a new open campaign.

    Predictions already labelled or already in a campaign of that version are never drawn, and
    no prediction is drawn twice. If fewer qualify than asked for, the campaign holds all that
    qualify and ``note`` says so; if none qualify nothing is written and InvalidInput is raised.
    """
    model = _get(session, Model, model_id, "model")
    require(session, actor, "campaign.create", business_unit=model.business_unit)
    strategy = clean_choice(strategy, "strategy", CAMPAIGN_STRATEGIES)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_CAMPAIGN_SIZE:
        raise InvalidInput(f"size must be a whole number from 1 to {MAX_CAMPAIGN_SIZE}, got {size!r}.")
    if isinstance(labels_per_item, bool) or labels_per_item not in (1, 2, 3):
        raise InvalidInput(f"labels per item must be 1, 2 or 3, got {labels_per_item!r}.")
    if period_from and period_to and period_from > period_to:
        raise InvalidInput(f"period: 'from' ({period_from}) lies after 'to' ({period_to}).")
    version = (
        _get(session, ModelVersion, version_id, "model version")
        if version_id
        else _default_version(session, model)
    )
    if version.model_id != model.id:
        raise InvalidInput(f"version id {version.id} belongs to another model than '{model.name}'.")
    name = clean_name(
        name or f"{model.name} v{version.version}: {strategy} sample of {clock.now():%Y-%m-%d}",
        "campaign name",
    )
    segment_feature = (segment_feature or "").strip()
    if segment_feature and strategy != "stratified":
        raise InvalidInput("a segment feature only applies to the 'stratified' strategy.")
    if segment_feature and version.feature_names and segment_feature not in version.feature_names:
        raise InvalidInput(
            f"segment feature '{segment_feature}' is not a feature of {model.name} v{version.version} "
            f"({', '.join(version.feature_names[:15])})."
        )
    seed = int(seed) if seed is not None else int(np.random.default_rng().integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    rule = sampling_rule(session, model.id, version.id)
    horizon = model.outcome_horizon_days
    candidates = _candidates(session, saved_id(version), period_from, period_to, segment_feature, horizon)
    chosen, threshold, condition = _sample(candidates, strategy, size, model.task, rule, rng, segment_feature)
    condition += _horizon_text(horizon)
    if not chosen:
        raise InvalidInput(
            f"No predictions of {model.name} v{version.version} qualify for a {strategy} campaign "
            f"(unlabelled, not in another campaign{condition}{_period_text(period_from, period_to)})."
        )
    note = ""
    if len(chosen) < size:
        note = (
            f"Only {len(chosen)} predictions qualify (unlabelled, not in another campaign{condition}"
            f"{_period_text(period_from, period_to)}); the campaign holds {len(chosen)} of the {size} requested."
        )
    order = rng.permutation(len(chosen))  # shuffled, so labellers never see one class or segment in a block
    campaign = LabellingCampaign(
        model_id=model.id,
        model_version_id=saved_id(version),
        name=name,
        instructions=clean_text(instructions, "instructions", max_len=5000),
        strategy=strategy,
        segment_feature=segment_feature,
        decision_threshold=threshold,
        business_rule_id=rule.id
        if rule is not None and strategy in ("uncertainty", "disagreement")
        else None,
        period_from=period_from,
        period_to=period_to,
        size_requested=size,
        size=len(chosen),
        sampling_note=note,
        seed=seed,
        labels_per_item=labels_per_item,
        hide_prediction=bool(hide_prediction),
        created_by_id=actor.id,
    )
    session.add(campaign)
    session.flush()
    # The drawn predictions join the labelled sample kept in the registry (their labels land there).
    logstore_write.keep_in_sample(session, version_id=saved_id(version), row_ids=[int(i) for i in chosen])
    session.add_all(
        CampaignItem(campaign_id=saved_id(campaign), prediction_log_id=int(chosen[i]), position=pos + 1)
        for pos, i in enumerate(order)
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.CAMPAIGN_CREATED,
        object_id=campaign.id,
        model_id=model.id,
        after={**campaign.model_dump(), "strategy_text": STRATEGY_TEXT[strategy]},
    )
    return CampaignCreated(campaign_id=saved_id(campaign), size=len(chosen), size_requested=size, note=note)


def _horizon_text(horizon_days: int | None) -> str:
    if not horizon_days:
        return ""
    return f", made at least {horizon_days} day{'s' if horizon_days != 1 else ''} ago so that their outcome is known"


def _period_text(period_from: date | None, period_to: date | None) -> str:
    if period_from and period_to:
        return f", logged {period_from} to {period_to}"
    if period_from:
        return f", logged from {period_from}"
    if period_to:
        return f", logged up to {period_to}"
    return ""


def _candidates(
    session: Session,
    version_id: int,
    period_from: date | None,
    period_to: date | None,
    segment_feature: str,
    horizon_days: int | None = None,
) -> pd.DataFrame:
    """Unlabelled predictions of one version not yet in any campaign of that version (and, with an
    outcome horizon, made long enough ago that their outcome is known): read from the version's
    files in the log store (only the days of the period)."""
    in_campaign = [
        int(i)
        for i in session.execute(
            select(col(CampaignItem.prediction_log_id))
            .join(LabellingCampaign, col(LabellingCampaign.id) == col(CampaignItem.campaign_id))
            .where(col(LabellingCampaign.model_version_id) == version_id)
        ).scalars()
    ]
    since = datetime.combine(period_from, datetime.min.time()).replace(tzinfo=UTC) if period_from else None
    until = (
        datetime.combine(period_to + timedelta(days=1), datetime.min.time()).replace(tzinfo=UTC)
        if period_to
        else None
    )
    where = "label IS NULL AND NOT list_contains(?::BIGINT[], row_id)"
    params: list[Any] = [in_campaign]
    if horizon_days is not None:  # the outcome of a prediction is known once its horizon has passed
        known_by = clock.now() - timedelta(days=horizon_days)
        where += " AND ts <= ?"
        params.append(known_by)
        until = (
            min(until, known_by + timedelta(microseconds=1))
            if until
            else known_by + timedelta(microseconds=1)
        )
    columns = ["row_id", "prediction", "score"] + ([segment_feature] if segment_feature else [])
    frame = logstore_reads.rows(
        session,
        version_id,
        columns=columns,
        since=since,
        until=until,
        where=where,
        params=params,
    )
    frame = frame.rename(
        columns={"row_id": "id", segment_feature: "segment"} if segment_feature else {"row_id": "id"}
    )
    if segment_feature:
        frame["segment"] = frame["segment"].map(lambda v: None if _missing(v) else _as_text(v))
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    return frame


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _as_text(value: Any) -> str:
    """A feature value as the registry's JSON text of it would read (``true``, ``3``, ``2.5``)."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and float(value).is_integer() is False:
        return repr(float(value))
    return str(value.item() if isinstance(value, np.generic) else value)


def _sample(
    candidates: pd.DataFrame,
    strategy: str,
    size: int,
    task: str,
    rule: RuleInForce | None,
    rng: np.random.Generator,
    segment_feature: str,
) -> tuple[list[int], float | None, str]:
    """Prediction ids drawn by ``strategy``; the threshold used; the extra condition, for messages."""
    if candidates.empty:
        return [], None, ""
    if strategy == "random":
        ids = candidates["id"].to_numpy()
        return [int(i) for i in rng.choice(ids, size=min(size, len(ids)), replace=False)], None, ""
    if strategy == "stratified":
        strata = _strata(candidates, segment_feature)
        return _stratified(candidates["id"].to_numpy(), strata, size, rng), None, ""
    if task == "multiclass_classification":
        return _multiclass_sample(candidates, strategy, size)
    value = _rule_value(candidates, task)
    if strategy == "uncertainty":
        if task != "binary_classification" and rule is None:
            raise InvalidInput(
                "uncertainty sampling of a regressor needs a business rule with a threshold on its prediction."
            )
        threshold = float(rule.threshold) if rule is not None else DEFAULT_THRESHOLD
        usable = value.notna()
        if not usable.any():
            return [], threshold, ", with a score"
        distance = (value[usable] - threshold).abs()
        # Nearest first; ties broken by id so the sample is reproducible.
        ranked = pd.DataFrame({"id": candidates.loc[usable, "id"], "d": distance}).sort_values(
            ["d", "id"], kind="mergesort"
        )
        return [int(i) for i in ranked["id"].head(size)], threshold, ", with a score"
    # disagreement
    if task != "binary_classification":
        raise InvalidInput(
            "model-vs-rule disagreement sampling needs a classifier (a class prediction to compare)."
        )
    if rule is None:
        raise InvalidInput(
            "no business rule is in force for this model; disagreement sampling compares the model with one."
        )
    usable = value.notna()
    rule_says = OPERATORS[rule.operator](value[usable], rule.threshold)
    model_says = candidates.loc[usable, "prediction"] >= 0.5
    ids = candidates.loc[usable, "id"][rule_says.to_numpy() != model_says.to_numpy()].to_numpy()
    condition = (
        f", where the model and rule '{rule.name}' (score {rule.operator} {rule.threshold:g}) disagree"
    )
    if len(ids) == 0:
        return [], float(rule.threshold), condition
    return (
        [int(i) for i in rng.choice(ids, size=min(size, len(ids)), replace=False)],
        float(rule.threshold),
        condition,
    )


def _multiclass_sample(
    candidates: pd.DataFrame, strategy: str, size: int
) -> tuple[list[int], float | None, str]:
    """Uncertainty sampling of a multiclass classifier: the least confident predictions first (the
    lowest score of the predicted class). Business rules act on a binary score, so there is no
    model-vs-rule disagreement to sample."""
    if strategy == "disagreement":
        raise InvalidInput(
            "model-vs-rule disagreement sampling needs a binary classifier; sample a multiclass "
            "classifier at random, stratified by predicted class, or by uncertainty."
        )
    usable = candidates["score"].notna()
    if not usable.any():
        return [], None, ", with a score"
    ranked = pd.DataFrame(
        {"id": candidates.loc[usable, "id"], "s": candidates.loc[usable, "score"]}
    ).sort_values(["s", "id"], kind="mergesort")
    return [int(i) for i in ranked["id"].head(size)], None, ", with a score"


def _rule_value(candidates: pd.DataFrame, task: str) -> pd.Series:
    """What a decision threshold acts on: a classifier's score, a regressor's prediction."""
    return candidates["score"] if task == "binary_classification" else candidates["prediction"].astype(float)


def _strata(candidates: pd.DataFrame, segment_feature: str) -> pd.Series:
    if not segment_feature:
        return candidates["prediction"].round().astype(int).astype(str)
    raw = candidates["segment"]
    numeric = pd.to_numeric(raw, errors="coerce")
    if numeric.notna().all() and numeric.nunique() > 2 * NUMERIC_SEGMENT_BINS:
        return pd.qcut(numeric, NUMERIC_SEGMENT_BINS, duplicates="drop").astype(str)
    return raw.fillna("(missing)").astype(str)


def allocate(counts: dict[str, int], size: int) -> dict[str, int]:
    """Split ``size`` as equally as possible over strata, never more than a stratum holds.

    Water-filling: a small stratum gives all it has and the rest is shared by the others.
    """
    quota = {k: 0 for k in counts}
    remaining = min(size, sum(counts.values()))
    open_strata = sorted(k for k, c in counts.items() if c > 0)
    while remaining > 0 and open_strata:
        share, extra = divmod(remaining, len(open_strata))
        for i, k in enumerate(open_strata):
            take = min(share + (1 if i < extra else 0), counts[k] - quota[k])
            quota[k] += take
            remaining -= take
        open_strata = [k for k in open_strata if quota[k] < counts[k]]
    return quota


def _stratified(ids: np.ndarray, strata: pd.Series, size: int, rng: np.random.Generator) -> list[int]:
    groups = {str(k): ids[(strata == k).to_numpy()] for k in strata.unique()}
    quota = allocate({k: len(v) for k, v in groups.items()}, size)
    chosen: list[int] = []
    for key in sorted(groups):
        if quota[key]:
            chosen.extend(int(i) for i in rng.choice(groups[key], size=quota[key], replace=False))
    return chosen


def close_campaign(session: Session, *, actor: Actor, campaign_id: int, reason: str = "") -> None:
    """Stop a campaign: labellers no longer get its cases. Labels given so far stay."""
    campaign = _get(session, LabellingCampaign, campaign_id, "labelling campaign")
    model = _get(session, Model, campaign.model_id, "model")
    require(session, actor, "campaign.create", business_unit=model.business_unit)
    if campaign.status == "closed":
        raise Conflict(f"Campaign '{campaign.name}' is already closed.")
    campaign.status = "closed"
    campaign.closed_at = clock.now()
    session.add(campaign)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.CAMPAIGN_CLOSED,
        object_id=campaign_id,
        model_id=campaign.model_id,
        before={"status": "open"},
        after={"status": "closed"},
        reason=clean_text(reason, "reason", max_len=2000),
    )


# --- labelling -------------------------------------------------------------------------------------


def _open_for(labeller_id: int, lpi: Any) -> Any:
    """Condition: the item still needs labels and this labeller has not answered it."""
    answered = exists().where(
        col(Label.item_id) == col(CampaignItem.id), col(Label.labeller_id) == labeller_id
    )
    return and_(col(CampaignItem.status) == "open", col(CampaignItem.n_labels) < lpi, ~answered)


def progress(session: Session, *, campaign_id: int, labeller_id: int) -> Progress:
    campaign = _get(session, LabellingCampaign, campaign_id, "labelling campaign")
    answered, unsure, skipped = session.execute(
        select(
            func.count(col(Label.value)),
            func.coalesce(func.sum(case((col(Label.unsure), 1), else_=0)), 0),
            func.coalesce(func.sum(case((col(Label.skipped), 1), else_=0)), 0),
        ).where(col(Label.campaign_id) == campaign_id, col(Label.labeller_id) == labeller_id)
    ).one()
    remaining = 0
    if campaign.status == "open":
        remaining = session.execute(
            select(func.count())
            .select_from(CampaignItem)
            .where(
                col(CampaignItem.campaign_id) == campaign_id, _open_for(labeller_id, campaign.labels_per_item)
            )
        ).scalar_one()
    done = session.execute(
        select(func.count())
        .select_from(CampaignItem)
        .where(col(CampaignItem.campaign_id) == campaign_id, col(CampaignItem.status) != "open")
    ).scalar_one()
    return Progress(
        answered_by_me=int(answered),
        remaining_for_me=int(remaining),
        items_done=int(done),
        size=campaign.size,
        unsure_by_me=int(unsure),
        skipped_by_me=int(skipped),
    )


def next_case(session: Session, *, campaign_id: int, labeller_id: int) -> Case | None:
    """The first item (by position) this labeller has not answered and that still needs labels.

    None when the labeller is through the campaign or it is closed.
    """
    campaign = _get(session, LabellingCampaign, campaign_id, "labelling campaign")
    if campaign.status != "open":
        return None
    item = session.execute(
        select(CampaignItem)
        .where(col(CampaignItem.campaign_id) == campaign_id, _open_for(labeller_id, campaign.labels_per_item))
        .order_by(col(CampaignItem.position))
        .limit(1)
    ).scalar_one_or_none()
    if item is None:
        return None
    log = _get(session, PredictionLog, item.prediction_log_id, "prediction")
    model = _get(session, Model, campaign.model_id, "model")
    version = _get(session, ModelVersion, campaign.model_version_id, "model version")
    order = list(version.feature_names) + sorted(k for k in log.features if k not in version.feature_names)
    features = [(name, log.features.get(name)) for name in order if name in log.features]
    return Case(
        item_id=item.id,
        campaign_id=campaign.id,
        campaign_name=campaign.name,
        model_name=model.name,
        task=model.task,
        position=item.position,
        size=campaign.size,
        ts=log.ts,
        features=features,
        prediction=None if campaign.hide_prediction else log.prediction,
        score=None if campaign.hide_prediction else log.score,
        class_names=class_names(model, version),
        question=question(model, log.ts),
        instructions=campaign.instructions,
        progress=progress(session, campaign_id=campaign_id, labeller_id=labeller_id),
        request_id=log.request_id,
        case_url=case_link(model.case_link_template, log.request_id),
        outcome_by=outcome_by(model, log.ts),
    )


def submit_label(
    session: Session,
    *,
    actor: Actor,
    item_id: int,
    value: float | str | None = None,
    unsure: bool = False,
    skip: bool = False,
    comment: str = "",
) -> LabelOutcome:
    """Record one labeller's answer to one item: a value, or 'unsure', or 'skip'.

    Each labeller answers an item once (a second answer, e.g. from another tab, raises
    Conflict). Values are counted with a compare-and-set update, so an item never gets more
    than ``labels_per_item`` values however many labellers submit at once. When the last value
    arrives the item's final label goes to the prediction log and the daily rollup.
    """
    item = _get(session, CampaignItem, item_id, "campaign item")
    campaign = _get(session, LabellingCampaign, item.campaign_id, "labelling campaign")
    model = _get(session, Model, campaign.model_id, "model")
    require(session, actor, "label.submit", business_unit=model.business_unit)
    if campaign.status != "open":
        raise Conflict(f"Campaign '{campaign.name}' is closed; its cases can no longer be labelled.")
    version = _get(session, ModelVersion, campaign.model_version_id, "model version")
    value = _clean_answer(model, value, unsure, skip, class_names(model, version))
    comment = clean_text(comment, "comment", max_len=MAX_COMMENT)
    if _already_answered(session, item_id, actor.id):
        raise Conflict(
            f"You already answered case {item.position} of '{campaign.name}' (perhaps in another tab)."
        )
    if value is not None:
        counted = changed_rows(
            session.execute(
                update(CampaignItem)
                .where(
                    col(CampaignItem.id) == item_id,
                    col(CampaignItem.status) == "open",
                    col(CampaignItem.n_labels) < campaign.labels_per_item,
                )
                .values(n_labels=col(CampaignItem.n_labels) + 1)
                .execution_options(synchronize_session=False)
            )
        )
        if counted != 1:
            raise Conflict(
                f"Case {item.position} of '{campaign.name}' got its {campaign.labels_per_item} label(s) from "
                "other labellers meanwhile; your answer was not needed. Here is the next case."
            )
    label = Label(
        item_id=item_id,
        campaign_id=campaign.id,
        labeller_id=actor.id,
        value=value,
        unsure=bool(unsure) and value is None,
        skipped=bool(skip),
        comment=comment,
    )
    session.add(label)
    try:
        session.flush()
    except IntegrityError:
        # Two tabs of one labeller racing on PostgreSQL: the unique (item, labeller) decides.
        raise Conflict(
            f"You already answered case {item.position} of '{campaign.name}' (perhaps in another tab)."
        ) from None
    session.refresh(item)
    if value is not None and item.n_labels >= campaign.labels_per_item:
        _finalise(session, actor, campaign, model, item)
    audit.record(
        session,
        actor=actor,
        action=events.LABEL_SUBMITTED,
        object_id=item_id,
        model_id=model.id,
        after={
            "campaign_id": campaign.id,
            "position": item.position,
            "prediction_log_id": item.prediction_log_id,
            "value": value,
            "unsure": label.unsure,
            "skipped": label.skipped,
            "comment": comment,
            "item_status": item.status,
            "final_label": item.final_label,
        },
    )
    return LabelOutcome(
        label_id=saved_id(label),
        item_status=item.status,
        final_label=item.final_label,
        progress=progress(session, campaign_id=campaign.id, labeller_id=actor.id),
    )


def _already_answered(session: Session, item_id: int, labeller_id: int) -> bool:
    return (
        session.execute(
            select(col(Label.id)).where(col(Label.item_id) == item_id, col(Label.labeller_id) == labeller_id)
        ).first()
        is not None
    )


def _clean_answer(model: Model, value: Any, unsure: bool, skip: bool, names: dict[int, str]) -> float | None:
    given = sum([value is not None, bool(unsure), bool(skip)])
    if given != 1:
        raise InvalidInput("give exactly one answer: a label value, 'unsure' or 'skip'.")
    if value is None:
        return None
    if model.task == "multiclass_classification":
        return _class_answer(model, value, names)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"label '{value}' is not a number.") from None
    if not math.isfinite(number):
        raise InvalidInput(f"label '{value}' is not a finite number.")
    if model.task == "binary_classification" and number not in (0.0, 1.0):
        raise InvalidInput(
            f"label {number:g} is not a class of '{model.name}': answer {names[1]} (1) or {names[0]} (0)."
        )
    return number


def _class_answer(model: Model, value: Any, names: dict[int, str]) -> float:
    """A multiclass answer is a class chosen by its name (never its position); stored as the position."""
    listed = ", ".join(names.values())
    if not isinstance(value, str):
        raise InvalidInput(f"choose the class of '{model.name}' by its name ({listed}), not by a number.")
    position = {name: index for index, name in names.items()}.get(value.strip())
    if position is None:
        raise InvalidInput(
            f"label '{shown(value)}' is not a class of '{model.name}': answer one of {listed}."
        )
    return float(position)


def _finalise(
    session: Session, actor: Actor, campaign: LabellingCampaign, model: Model, item: CampaignItem
) -> None:
    """Decide an item's label from its values and, when decided, write it to the prediction log."""
    values = [
        v
        for (v,) in session.execute(
            select(col(Label.value))
            .where(col(Label.item_id) == item.id, col(Label.value).is_not(None))
            .order_by(col(Label.id))
        ).all()
    ]
    final = consensus(values, model.task)
    if final is None:
        item.status = "disagreement"
        session.add(item)
        session.flush()
        return
    _write_final(session, actor, model, item, final)


def consensus(values: list[float], task: str) -> float | None:
    """A classifier's strict-majority class (None on a tie); a regressor's mean value."""
    if not values:
        return None
    if task not in CLASSIFIER_TASKS:
        return float(np.mean(values))
    (top, count), *rest = Counter(values).most_common()
    return float(top) if count * 2 > len(values) else None


def _write_final(session: Session, actor: Actor, model: Model, item: CampaignItem, final: float) -> None:
    """Set the item's final label and copy it to the prediction log and its daily rollup."""
    item.status = "final"
    item.final_label = final
    session.add(item)
    log = _get(session, PredictionLog, item.prediction_log_id, "prediction")
    previous = log.label
    log.label = final
    log.labelled_by_id = actor.id
    log.labelled_at = clock.now()
    session.add(log)
    session.flush()
    add_label_to_rollup(
        session,
        version_id=log.model_version_id,
        task=model.task,
        day=log.ts.date(),
        prediction=log.prediction,
        label=final,
        previous_label=previous,
    )


def resolve_disagreement(
    session: Session, *, actor: Actor, item_id: int, value: float | str, reason: str
) -> None:
    """A reviewer decides the label of an item its labellers disagreed on (with a written reason)."""
    item = _get(session, CampaignItem, item_id, "campaign item")
    campaign = _get(session, LabellingCampaign, item.campaign_id, "labelling campaign")
    model = _get(session, Model, campaign.model_id, "model")
    require(session, actor, "label.resolve", business_unit=model.business_unit)
    if item.status != "disagreement":
        raise Conflict(f"Case {item.position} of '{campaign.name}' is {item.status}, not awaiting review.")
    if value is None:
        raise InvalidInput("give the final label of the case.")
    version = _get(session, ModelVersion, campaign.model_version_id, "model version")
    final = _clean_answer(model, value, False, False, class_names(model, version))
    assert final is not None  # a value was given, so the answer is that value
    reason = clean_name(reason, "reason", max_len=2000)
    _write_final(session, actor, model, item, final)
    audit.record(
        session,
        actor=actor,
        action=events.LABEL_RESOLVED,
        object_id=item_id,
        model_id=model.id,
        before={"status": "disagreement"},
        after={"status": "final", "final_label": final},
        reason=reason,
    )


# --- reads ---------------------------------------------------------------------------------------


def list_campaigns(
    session: Session, *, model_id: int | None = None, status: str | None = None
) -> pd.DataFrame:
    """Campaigns with their model, strategy, size and how many items are done."""
    done = (
        select(col(CampaignItem.campaign_id), func.count().label("done"))
        .where(col(CampaignItem.status) != "open")
        .group_by(col(CampaignItem.campaign_id))
        .subquery()
    )
    query = (
        select(
            col(LabellingCampaign.id),
            col(LabellingCampaign.name),
            col(Model.name).label("model"),
            col(ModelVersion.version),
            col(LabellingCampaign.strategy),
            col(LabellingCampaign.size),
            col(LabellingCampaign.labels_per_item),
            col(LabellingCampaign.hide_prediction),
            col(LabellingCampaign.status),
            col(LabellingCampaign.created_at),
            col(LabellingCampaign.sampling_note),
            func.coalesce(done.c.done, 0).label("items_done"),
            col(LabellingCampaign.model_id),
        )
        .join(Model, col(Model.id) == col(LabellingCampaign.model_id))
        .join(ModelVersion, col(ModelVersion.id) == col(LabellingCampaign.model_version_id))
        .outerjoin(done, done.c.campaign_id == col(LabellingCampaign.id))
        .order_by(col(LabellingCampaign.created_at).desc(), col(LabellingCampaign.id).desc())
    )
    if model_id is not None:
        query = query.where(col(LabellingCampaign.model_id) == model_id)
    if status is not None:
        query = query.where(col(LabellingCampaign.status) == status)
    rows = session.execute(query).all()
    columns = [
        "id",
        "name",
        "model",
        "version",
        "strategy",
        "size",
        "labels_per_item",
        "hide_prediction",
        "status",
        "created_at",
        "sampling_note",
        "items_done",
        "model_id",
    ]
    return pd.DataFrame(rows, columns=columns)


def campaigns_for_labeller(session: Session, *, labeller_id: int) -> pd.DataFrame:
    """Open campaigns with how many cases this labeller has answered and has left."""
    frame = list_campaigns(session, status="open")
    if frame.empty:
        return frame.assign(answered_by_me=[], remaining_for_me=[])
    stats = [progress(session, campaign_id=int(cid), labeller_id=labeller_id) for cid in frame["id"]]
    frame["answered_by_me"] = [p.answered_by_me for p in stats]
    frame["remaining_for_me"] = [p.remaining_for_me for p in stats]
    # campaigns with cases waiting for this labeller first, so the page opens on work to do
    return frame.sort_values("remaining_for_me", key=lambda r: r == 0, kind="stable").reset_index(drop=True)


def campaign_labels(session: Session, *, campaign_id: int) -> pd.DataFrame:
    """Every answer in a campaign: item position, labeller, value/unsure/skip, comment, when."""
    rows = session.execute(
        select(
            col(CampaignItem.position),
            col(CampaignItem.id),
            col(CampaignItem.prediction_log_id),
            col(CampaignItem.status),
            col(CampaignItem.final_label),
            col(Person.name),
            col(Label.labeller_id),
            col(Label.value),
            col(Label.unsure),
            col(Label.skipped),
            col(Label.comment),
            col(Label.created_at),
        )
        .join(CampaignItem, col(CampaignItem.id) == col(Label.item_id))
        .join(Person, col(Person.id) == col(Label.labeller_id))
        .where(col(Label.campaign_id) == campaign_id)
        .order_by(col(CampaignItem.position), col(Label.id))
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "position",
            "item_id",
            "prediction_log_id",
            "item_status",
            "final_label",
            "labeller",
            "labeller_id",
            "value",
            "unsure",
            "skipped",
            "comment",
            "created_at",
        ],
    )


# --- agreement -------------------------------------------------------------------------------------


def cohen_kappa(a: list[float] | np.ndarray, b: list[float] | np.ndarray) -> float | None:
    """Cohen's kappa of two raters over the same items; None when undefined (chance agreement is 1)."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) != len(b) or len(a) == 0:
        raise InvalidInput("Cohen's kappa needs two equally long, non-empty rating lists.")
    categories = np.union1d(a, b)
    p_observed = float(np.mean(a == b))
    p_a = np.array([np.mean(a == c) for c in categories])
    p_b = np.array([np.mean(b == c) for c in categories])
    p_chance = float(np.sum(p_a * p_b))
    if math.isclose(p_chance, 1.0):
        return None
    return (p_observed - p_chance) / (1.0 - p_chance)


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa from an items x categories table of rating counts (same raters count per item)."""
    counts = np.asarray(counts, dtype=float)
    n_raters = counts.sum(axis=1)
    if counts.ndim != 2 or len(counts) == 0 or not np.all(n_raters == n_raters[0]) or n_raters[0] < 2:
        raise InvalidInput("Fleiss' kappa needs every item rated by the same number (at least 2) of raters.")
    n = n_raters[0]
    p_item = (np.sum(counts**2, axis=1) - n) / (n * (n - 1))
    p_category = counts.sum(axis=0) / counts.sum()
    p_chance = float(np.sum(p_category**2))
    if math.isclose(p_chance, 1.0):
        return None
    return (float(np.mean(p_item)) - p_chance) / (1.0 - p_chance)


def krippendorff_alpha(items: pd.DataFrame, task: str) -> float | None:
    """Krippendorff's alpha of (item_id, labeller_id, value) rows: every item, any number of labellers
    per item (items with one label are not pairable and add nothing), nominal for classes and interval
    for values. None when undefined (every value the same, or no item with two labels). Computed by
    the ``krippendorff`` package."""
    import krippendorff  # lazy: only the agreement report needs it

    if items.empty or items.groupby("item_id").size().max() < 2:
        return None
    matrix = items.pivot_table(index="labeller_id", columns="item_id", values="value", aggfunc="first")
    data = matrix.to_numpy(dtype=float)
    try:
        if task in CLASSIFIER_TASKS:
            value = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        else:
            value = krippendorff.alpha(reliability_data=data, level_of_measurement="interval")
    except ValueError:  # one value in the whole domain: expected disagreement is 0
        return None
    return None if value is None or math.isnan(value) else float(value)


def agreement(session: Session, *, campaign_id: int) -> AgreementReport:
    """Agreement between labellers on the items that got two or more values, and the disagreements.

    Krippendorff's alpha over every such item, whatever the number of labellers on each; besides it,
    for classifiers, Cohen's kappa when exactly two labellers rated every compared item, or Fleiss'
    kappa when every compared item has the same number of labels; for regressors the mean absolute
    difference between labellers' values. "Unsure" and "skip" are not answers and are never compared.
    """
    campaign = _get(session, LabellingCampaign, campaign_id, "labelling campaign")
    model = _get(session, Model, campaign.model_id, "model")
    names = class_names(model, _get(session, ModelVersion, campaign.model_version_id, "model version"))
    answers = campaign_labels(session, campaign_id=campaign_id)
    valued = answers[answers["value"].notna()]
    per_item = valued.groupby("item_id")
    multi = valued[valued["item_id"].map(per_item.size()) >= 2]
    labellers = int(multi["labeller_id"].nunique()) if not multi.empty else 0
    disagreements = _disagreements(answers, multi, model.task, names)
    if multi.empty:
        note = (
            "each item needs one label in this campaign, so agreement is not measured"
            if campaign.labels_per_item == 1
            else "no item has two labels yet"
        )
        return AgreementReport(0, labellers, note, disagreements, [], model.task, names)
    n_items = int(multi["item_id"].nunique())
    alpha = krippendorff_alpha(multi[["item_id", "labeller_id", "value"]], model.task)
    level = "nominal" if model.task in CLASSIFIER_TASKS else "interval"
    measures = [
        Measure(
            "krippendorff",
            alpha,
            n_items,
            f"Krippendorff's alpha ({level}) over all {n_items} cases with two or more labels"
            + _kappa_caveat(alpha, n_items),
        )
    ]
    if model.task not in CLASSIFIER_TASKS:
        spread = multi.groupby("item_id")["value"].agg(_mean_pairwise_difference)
        measures.append(
            Measure(
                "mean_abs_difference",
                float(spread.mean()),
                int(spread.size),
                "mean absolute difference between two labellers' values",
            )
        )
    else:
        measures.extend(_kappas(multi, labellers))
    return AgreementReport(n_items, labellers, measures[0].note, disagreements, measures, model.task, names)


def _mean_pairwise_difference(values: pd.Series) -> float:
    v = values.to_numpy(dtype=float)
    return float(np.abs(np.subtract.outer(v, v)).sum() / (len(v) * (len(v) - 1)))


# Below this many compared cases a kappa swings by +-0.2 or more from one case to the next,
# so the report says it is indicative only (Sim & Wright 2005 put useful sample sizes above 30).
KAPPA_SMALL_SAMPLE = 30


def _kappas(multi: pd.DataFrame, labellers: int) -> list[Measure]:
    """Cohen's kappa (two labellers on every item) or Fleiss' kappa (equal labels per item), where
    they apply; each uses every compared item, or is not given."""
    sizes = multi.groupby("item_id").size()
    if labellers == 2 and bool((sizes == 2).all()):
        wide = multi.pivot(index="item_id", columns="labeller_id", values="value")
        value = cohen_kappa(wide.iloc[:, 0].to_numpy(), wide.iloc[:, 1].to_numpy())
        note = "Cohen's kappa of the two labellers" + _kappa_caveat(value, len(wide))
        return [Measure("cohen", value, int(len(wide)), note)]
    if sizes.nunique() == 1:
        table = pd.crosstab(multi["item_id"], multi["value"]).to_numpy()
        value = fleiss_kappa(table)
        note = f"Fleiss' kappa over cases with {int(sizes.iloc[0])} labels each" + _kappa_caveat(
            value, len(table)
        )
        return [Measure("fleiss", value, int(len(table)), note)]
    return []


def _kappa_caveat(value: float | None, n_items: int) -> str:
    if value is None:
        return ": undefined, every label is the same class"
    if n_items < KAPPA_SMALL_SAMPLE:
        return (
            f": only {n_items} case{'s' if n_items != 1 else ''} compared, so treat it as indicative"
            f" until at least {KAPPA_SMALL_SAMPLE} are"
        )
    return ""


def _disagreements(
    answers: pd.DataFrame, multi: pd.DataFrame, task: str, names: dict[int, str]
) -> pd.DataFrame:
    """Items whose labellers gave different values, or that await a reviewer's decision."""
    columns = ["position", "item_id", "prediction_log_id", "status", "answers", "comments"]
    if answers.empty:
        return pd.DataFrame(columns=columns)
    differing = set(multi.groupby("item_id")["value"].nunique().loc[lambda s: s > 1].index)
    flagged = set(answers.loc[answers["item_status"] == "disagreement", "item_id"])
    rows = []
    for item_id, group in answers[answers["item_id"].isin(differing | flagged)].groupby(
        "item_id", sort=False
    ):
        first = group.iloc[0]
        rows.append(
            {
                "position": int(first["position"]),
                "item_id": int(item_id),
                "prediction_log_id": int(first["prediction_log_id"]),
                "status": first["item_status"],
                "answers": "; ".join(
                    f"{r.labeller}: {_answer_text(r, task, names)}" for r in group.itertuples()
                ),
                "comments": " | ".join(f"{r.labeller}: {r.comment}" for r in group.itertuples() if r.comment),
            }
        )
    return pd.DataFrame(rows, columns=columns).sort_values("position").reset_index(drop=True)


def _answer_text(row: Any, task: str, names: dict[int, str]) -> str:
    if row.skipped:
        return "skipped"
    if row.unsure:
        return "unsure"
    return answer_text(task, row.value, names)
