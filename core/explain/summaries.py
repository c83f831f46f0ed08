"""Global explanations: computed once per model version (validation sample) and per recent
production window, stored, and compared (explanation drift).

Computing is slow for some models (a depth-8 forest: seconds; a model-agnostic explainer: a
fraction of a second per row), so it happens in `steward explain`, in the demo builder, or on
an explicit button press; pages read what is stored.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, require
from core.db.engine import read_session, write_session
from core.db.models import GlobalExplanation, Model, ModelVersion
from core.db.models.insight import EXPLANATION_SOURCES
from core.db.types import saved_id
from core.errors import InvalidInput, NotFound
from core.explain.explainers import Explanation, ModelExplainer, build_explainer
from core.explain.loading import (
    VersionContext,
    align_to,
    load_model,
    load_sample,
    production_window,
    version_context,
)
from core.explain.sentence import readable_name

GLOBAL_ROWS = 1000  # validation sample
PRODUCTION_ROWS = 500  # newest rows of the production window
# Model-agnostic explainers cost ~0.1-2 s per row (k-NN on 5,000 training rows is the slow end),
# so their summaries use fewer rows and a smaller background.
KERNEL_GLOBAL_ROWS = 30
KERNEL_GLOBAL_BACKGROUND = 20
STORED_SAMPLE_ROWS = 400  # rows kept for the beeswarm and dependence charts
DRIFT_SHARE_POINTS = 0.10  # a feature's share of total attribution moving this much is flagged


@dataclass
class LoadedExplainer:
    """A version's explainer with its training sample (background and dtypes)."""

    context: VersionContext
    explainer: ModelExplainer
    reference: pd.DataFrame
    output_class: Any = None  # the model's own label of the class explained (multiclass only)
    class_name: str = ""  # that class as the version names it


def load_explainer(
    engine: Engine, version_id: int, *, actor: Actor | None = None, class_name: str | None = None
) -> LoadedExplainer:
    """Load the version's model and training sample (both hash-checked) and build its explainer;
    a multiclass classifier's for ``class_name``, one of the version's class names."""
    with read_session(engine) as session:
        context = version_context(session, version_id)
    output_class = _chosen_class(context, class_name)
    model = load_model(engine, context, actor=actor)
    training = load_sample(engine, context, "training", actor=actor)
    target = _model_class(model, context, class_name) if output_class else None
    explainer = build_explainer(
        model, feature_names=context.feature_names, background=training, output_class=target
    )
    return LoadedExplainer(context, explainer, training, target, class_name or "")


def _chosen_class(context: VersionContext, class_name: str | None) -> bool:
    """Whether a class is to be chosen (a multiclass version); refuses a missing or unknown one."""
    if not context.class_names:
        if class_name:
            raise InvalidInput(
                f"{context.label} is not a multiclass classifier; there is no class to choose."
            )
        return False
    listed = ", ".join(context.class_names)
    if not class_name:
        raise InvalidInput(
            f"{context.label} is a multiclass classifier: choose the class to explain ({listed})."
        )
    if class_name not in context.class_names:
        raise InvalidInput(f"'{class_name}' is not a class of {context.label} ({listed}).")
    return True


def _model_class(model: Any, context: VersionContext, class_name: str | None) -> Any:
    """The model's own label of the version's class ``class_name``: the same name, or (for a model
    trained on class positions 0..k-1) its position in the version's list."""
    classes = list(getattr(model, "classes_", []))
    by_name = [c for c in classes if str(c) == class_name]
    if by_name:
        return by_name[0]
    position = context.class_names.index(str(class_name))
    if [str(c) for c in classes] == [str(i) for i in range(len(context.class_names))]:
        return classes[position]
    raise InvalidInput(
        f"the model's classes ({', '.join(map(str, classes[:12]))}) are neither the class names of "
        f"{context.label} ({', '.join(context.class_names)}) nor their positions."
    )


@dataclass(frozen=True)
class GlobalDraft:
    """A freshly computed global explanation, not yet stored."""

    source: str
    explanation: Explanation
    window_from: datetime | None = None
    window_to: datetime | None = None


def rows_for(kind: str, source: str) -> int:
    if kind == "kernel":
        return KERNEL_GLOBAL_ROWS
    return GLOBAL_ROWS if source == "validation" else PRODUCTION_ROWS


def _summary_explainer(loaded: LoadedExplainer) -> ModelExplainer:
    if loaded.explainer.kind != "kernel":
        return loaded.explainer
    return build_explainer(
        loaded.explainer.parts.model,
        feature_names=loaded.context.feature_names,
        background=loaded.reference,
        kernel_background_rows=KERNEL_GLOBAL_BACKGROUND,
        output_class=loaded.output_class,
    )


def compute_global(
    engine: Engine, loaded: LoadedExplainer, source: str, *, actor: Actor | None = None
) -> GlobalDraft | None:
    """Explain up to 1,000 rows of the validation sample or the newest 500 of the recent production
    window (30 of either for model-agnostic explainers). None when nothing was logged."""
    if source not in EXPLANATION_SOURCES:
        raise InvalidInput(f"explanation source '{source}' is not one of: {', '.join(EXPLANATION_SOURCES)}.")
    context = loaded.context
    features = loaded.explainer.parts.features
    limit = rows_for(loaded.explainer.kind, source)
    if source == "validation":
        frame = load_sample(engine, context, "evaluation", actor=actor)
        rows = align_to(frame, loaded.reference, features)
        rows = rows.sample(limit, random_state=0) if len(rows) > limit else rows
        return GlobalDraft(source, _summary_explainer(loaded).explain(rows))
    with read_session(engine) as session:
        window = production_window(session, context.version_id, max_rows=limit)
    if window is None or window.frame.empty:
        return None
    rows = align_to(window.frame, loaded.reference, features)
    return GlobalDraft(source, _summary_explainer(loaded).explain(rows), window.start, window.end)


PAGE_BUDGET_SECONDS = 5.0  # the longest a summary may take when someone waits for it on a page
PROBE_ROWS = 20


def estimate_summary_seconds(engine: Engine, loaded: LoadedExplainer, *, actor: Actor | None = None) -> float:
    """How long computing the version's summaries (validation sample and production window) would
    take, from timing ``PROBE_ROWS`` rows (TreeSHAP and linear SHAP are linear in rows; the fixed
    cost makes this an overestimate). Model-agnostic explainers: infinite, they are only ever
    precomputed (`steward explain`)."""
    if loaded.explainer.kind == "kernel":
        return math.inf
    frame = load_sample(engine, loaded.context, "evaluation", actor=actor)
    rows = align_to(frame, loaded.reference, loaded.explainer.parts.features)
    probe = rows.head(PROBE_ROWS)
    if probe.empty:
        return 0.0
    started = time.perf_counter()
    loaded.explainer.explain(probe)
    per_row = (time.perf_counter() - started) / len(probe)
    return per_row * (min(len(rows), GLOBAL_ROWS) + PRODUCTION_ROWS)


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _sample_payload(explanation: Explanation) -> dict[str, Any]:
    n = min(len(explanation.data), STORED_SAMPLE_ROWS)
    data = explanation.data.iloc[:n]
    return {
        "features": list(explanation.features),
        "values": [[round(float(v), 8) for v in row] for row in explanation.values[:n]],
        "data": [
            [_json_value(v) for v in row] for row in data[list(explanation.features)].to_numpy(dtype=object)
        ],
        "output": [round(float(v), 8) for v in explanation.model_output[:n]],
    }


def store_global_explanation(
    session: Session,
    *,
    actor: Actor,
    version_id: int,
    draft: GlobalDraft,
    artifact_sha256: str,
    computed_at: datetime | None = None,
) -> int:
    """Store (or replace) the version's global explanation for ``draft.source``; audited."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"No model version with id {version_id}.")
    model = session.get(Model, version.model_id)
    assert model is not None
    require(session, actor, "explanation.compute", business_unit=model.business_unit)
    explanation = draft.explanation
    row = session.exec(
        select(GlobalExplanation).where(
            col(GlobalExplanation.model_version_id) == version_id,
            col(GlobalExplanation.source) == draft.source,
        )
    ).first()
    before = None if row is None else {"computed_at": row.computed_at, "n_rows": row.n_rows}
    row = row or GlobalExplanation(
        model_version_id=version_id,
        source=draft.source,
        explainer="",
        output_space="",
        base_value=0.0,
        n_rows=0,
    )
    row.explainer = explanation.kind
    row.method = explanation.method[:300]
    row.output_space = explanation.space
    row.base_value = float(explanation.base_value)
    row.n_rows = len(explanation.data)
    row.additivity_error = explanation.additivity_error
    row.importance = {f: round(v, 10) for f, v in explanation.mean_abs().items()}
    row.sample = _sample_payload(explanation)
    row.window_from, row.window_to = draft.window_from, draft.window_to
    row.artifact_sha256 = artifact_sha256
    row.seconds = round(explanation.seconds, 4)
    row.computed_at = computed_at or clock.now()
    row.computed_by_id = actor.id
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.EXPLANATION_STORED,
        object_id=version_id,
        model_id=model.id,
        before=before,
        after={
            "source": draft.source,
            "explainer": row.explainer,
            "rows": row.n_rows,
            "seconds": row.seconds,
            "importance": row.importance,
        },
    )
    return saved_id(row)


def ensure_global_explanations(
    engine: Engine,
    *,
    actor: Actor,
    version_id: int,
    refresh_production: bool = True,
    loaded: LoadedExplainer | None = None,
    computed_at: datetime | None = None,
) -> dict[str, str]:
    """Compute and store what is missing: the validation explanation once per version (kept on
    later runs), the production-window one when missing or when ``refresh_production``.
    Returns source -> 'computed' / 'kept' / 'no predictions logged'. A multiclass classifier is
    explained one class at a time, when asked (``class_explanations``): refused here, saying so."""
    with read_session(engine) as session:
        context = version_context(session, version_id)
    if context.class_names:
        raise InvalidInput(
            f"{context.label} is a multiclass classifier: its global explanations are per class "
            f"({', '.join(context.class_names)}), computed when asked and not stored; "
            "explain them with class_explanations (steward explain computes every class)."
        )
    with read_session(engine) as session:
        stored = {
            r.source
            for r in session.exec(
                select(GlobalExplanation).where(col(GlobalExplanation.model_version_id) == version_id)
            )
        }
    outcome: dict[str, str] = {}
    for source in EXPLANATION_SOURCES:
        if source in stored and (source == "validation" or not refresh_production):
            outcome[source] = "kept"
            continue
        loaded = loaded or load_explainer(engine, version_id, actor=actor)
        draft = compute_global(engine, loaded, source, actor=actor)
        if draft is None:
            outcome[source] = "no predictions logged"
            continue
        with write_session(engine) as session:
            store_global_explanation(
                session,
                actor=actor,
                version_id=version_id,
                draft=draft,
                artifact_sha256=loaded.context.artifact_sha256,
                computed_at=computed_at,
            )
        outcome[source] = "computed"
    return outcome


def class_explanations(
    engine: Engine,
    *,
    actor: Actor | None,
    version_id: int,
    class_name: str | None = None,
    sources: tuple[str, ...] = tuple(EXPLANATION_SOURCES),
) -> dict[str, dict[str, GlobalSummary | None]]:
    """Global importance of a multiclass classifier for each of its classes (or only ``class_name``),
    over its validation sample and its recent production window: class -> source -> summary (None
    when nothing was logged). The model is loaded once; nothing is stored (one summary per class,
    as the Explanations page computes them when asked)."""
    with read_session(engine) as session:
        context = version_context(session, version_id)
    if not context.class_names:
        raise InvalidInput(
            f"{context.label} is not a multiclass classifier: its global explanation is one, "
            "stored (ensure_global_explanations)."
        )
    names = [class_name] if class_name else list(context.class_names)
    first = load_explainer(engine, version_id, actor=actor, class_name=names[0])
    model = first.explainer.parts.model
    found: dict[str, dict[str, GlobalSummary | None]] = {}
    for name in names:
        loaded = first
        if name != names[0]:
            _chosen_class(context, name)  # refuses an unknown class, naming the classes
            target = _model_class(model, context, name)
            explainer = build_explainer(
                model, feature_names=context.feature_names, background=first.reference, output_class=target
            )
            loaded = LoadedExplainer(context, explainer, first.reference, target, name)
        found[name] = {source: _class_summary(engine, loaded, source, actor=actor) for source in sources}
    return found


def class_summary(engine: Engine, loaded: LoadedExplainer, *, actor: Actor | None = None) -> GlobalSummary:
    """Global importance of a multiclass classifier for the class ``loaded`` explains, over its
    validation sample (as ``compute_global`` samples it); computed when asked, not stored."""
    summary = _class_summary(engine, loaded, "validation", actor=actor)
    assert summary is not None  # the validation sample is always there (load_sample raises otherwise)
    return summary


def _class_summary(
    engine: Engine, loaded: LoadedExplainer, source: str, *, actor: Actor | None = None
) -> GlobalSummary | None:
    """``class_summary`` over ``source``; None for a production window with nothing logged."""
    if not loaded.class_name:
        raise InvalidInput("a class summary needs a multiclass classifier's explainer for one class.")
    draft = compute_global(engine, loaded, source, actor=actor)
    if draft is None:
        return None
    explanation = draft.explanation
    importance = dict(sorted(explanation.mean_abs().items(), key=lambda kv: kv[1], reverse=True))
    rows = min(len(explanation.data), STORED_SAMPLE_ROWS)
    return GlobalSummary(
        f"{source}, class {loaded.class_name}",
        explanation.kind,
        explanation.method,
        explanation.space,
        explanation.base_value,
        len(explanation.data),
        explanation.additivity_error,
        importance,
        pd.DataFrame(explanation.values[:rows], columns=explanation.features),
        explanation.data.head(rows).reset_index(drop=True),
        draft.window_from,
        draft.window_to,
        clock.now(),
        explanation.seconds,
        loaded.context.artifact_sha256,
    )


# --- reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlobalSummary:
    """A stored global explanation as the page shows it."""

    source: str
    explainer: str
    method: str
    space: str
    base_value: float
    n_rows: int
    additivity_error: float
    importance: dict[str, float]  # ordered, most important first
    values: pd.DataFrame  # per-row SHAP values, one column per feature
    data: pd.DataFrame  # the same rows' feature values
    window_from: datetime | None
    window_to: datetime | None
    computed_at: datetime
    seconds: float
    artifact_sha256: str


def stored_explanations(session: Session, version_id: int) -> dict[str, GlobalSummary]:
    rows = session.exec(
        select(GlobalExplanation).where(col(GlobalExplanation.model_version_id) == version_id)
    ).all()
    return {row.source: _summary(row) for row in rows}


def _summary(row: GlobalExplanation) -> GlobalSummary:
    features = list(row.sample.get("features", list(row.importance)))
    values = pd.DataFrame(row.sample.get("values", []), columns=features, dtype=float)
    data = pd.DataFrame(row.sample.get("data", []), columns=features)
    importance = dict(sorted(row.importance.items(), key=lambda kv: kv[1], reverse=True))
    return GlobalSummary(
        row.source,
        row.explainer,
        row.method,
        row.output_space,
        row.base_value,
        row.n_rows,
        row.additivity_error,
        importance,
        values,
        data,
        row.window_from,
        row.window_to,
        row.computed_at,
        row.seconds,
        row.artifact_sha256,
    )


def explanation_drift(validation: GlobalSummary, production: GlobalSummary) -> pd.DataFrame:
    """Per feature: mean |SHAP| on validation vs production, each as a share of the total, and
    whether the share moved by 10 points or more (the model now leans on other features)."""
    features = list(dict.fromkeys([*validation.importance, *production.importance]))
    before = pd.Series({f: validation.importance.get(f, 0.0) for f in features})
    after = pd.Series({f: production.importance.get(f, 0.0) for f in features})
    share_before = before / before.sum() if before.sum() > 0 else before * 0
    share_after = after / after.sum() if after.sum() > 0 else after * 0
    frame = pd.DataFrame(
        {
            "feature": features,
            "validation_mean_abs_shap": before.to_numpy(),
            "production_mean_abs_shap": after.to_numpy(),
            "validation_share": share_before.to_numpy(),
            "production_share": share_after.to_numpy(),
        }
    )
    frame["share_change"] = frame["production_share"] - frame["validation_share"]
    frame["shifted"] = frame["share_change"].abs() >= DRIFT_SHARE_POINTS
    return frame.sort_values("validation_mean_abs_shap", ascending=False).reset_index(drop=True)


def drift_sentence(drift: pd.DataFrame) -> str:
    """One line naming the largest shift in what drives the model."""
    if drift.empty:
        return "No features to compare."
    top = drift.loc[drift["share_change"].abs().idxmax()]
    move = (
        f"{readable_name(top['feature'])} went from {top['validation_share']:.0%} to "
        f"{top['production_share']:.0%} of the total attribution"
    )
    if not drift["shifted"].any():
        return f"What drives the model is stable: the largest shift is small ({move})."
    names = ", ".join(readable_name(f) for f in drift.loc[drift["shifted"], "feature"])
    return f"Explanation drift: the model leans differently on {names} in production ({move})."
