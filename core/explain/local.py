"""Why one logged prediction came out as it did: contributions, waterfall data and the sentence."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from core.db.engine import read_session
from core.explain.explainers import to_probability
from core.explain.loading import align_to, decisive_rule, labelling_item, logged_prediction
from core.explain.sentence import Contribution, additivity_line, explain_in_words
from core.explain.summaries import LoadedExplainer
from core.registry.rules import RuleInForce, rules_in_force


@dataclass(frozen=True)
class LocalExplanation:
    """One prediction explained. ``contributions`` is ordered by size, largest first."""

    prediction_id: int | None
    ts: datetime | None
    request_id: str
    logged_score: float | None
    space: str
    method: str
    base_value: float
    model_output: float
    score: float  # what the business sees: probability for classifiers, the prediction otherwise
    contributions: pd.DataFrame  # feature, value, contribution
    additivity_error: float
    check: str
    sentence: str
    rule: RuleInForce | None
    seconds: float
    label: float | None = None  # the true outcome when one was recorded (e.g. by a labelling campaign)
    source: str = ""  # what was explained, in words ("labelling item 3 of campaign 'Q3 review'")

    @property
    def adds_up(self) -> bool:
        return self.additivity_error <= 1e-6


def explain_row(
    loaded: LoadedExplainer,
    row: pd.DataFrame,
    *,
    rules: list[RuleInForce],
    prediction: dict[str, Any] | None = None,
) -> LocalExplanation:
    """Explain a single row of original features (a one-row frame); the sentence names the rule
    in force that decided the score (see ``decisive_rule``)."""
    if len(row) != 1:
        raise ValueError("explain_row explains exactly one row")
    explanation = loaded.explainer.explain(row)
    task = loaded.context.task
    space = explanation.space
    output = float(explanation.model_output[0])
    base = float(explanation.base_value)
    values = explanation.values[0]
    score = to_probability(output, space) if task == "binary_classification" else output
    rule = decisive_rule(rules, score) if task == "binary_classification" else None
    items = [
        Contribution(f, _plain(explanation.data.iloc[0][f]), float(v))
        for f, v in zip(explanation.features, values, strict=True)
    ]
    sentence = explain_in_words(
        score=score,
        base_score=to_probability(base, space) if task == "binary_classification" else base,
        contributions=items,
        task=task,
        rule=rule,
        space=space,
    )
    frame = pd.DataFrame(
        [{"feature": c.feature, "value": c.value, "contribution": c.contribution} for c in items]
    )
    frame = frame.reindex(frame["contribution"].abs().sort_values(ascending=False).index).reset_index(
        drop=True
    )
    prediction = prediction or {}
    return LocalExplanation(
        prediction_id=prediction.get("id"),
        ts=prediction.get("ts"),
        request_id=prediction.get("request_id", ""),
        logged_score=prediction.get("score"),
        space=space,
        method=explanation.method,
        base_value=base,
        model_output=output,
        score=score,
        contributions=frame,
        additivity_error=explanation.additivity_error,
        check=additivity_line(base_value=base, total=float(values.sum()), output=output, space=space),
        sentence=sentence,
        rule=rule,
        seconds=explanation.seconds,
        label=prediction.get("label"),
    )


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def explain_logged_prediction(
    engine: Engine, loaded: LoadedExplainer, prediction_id: int
) -> LocalExplanation:
    """Explain a prediction from the version's prediction log, with the rules in force when it was made."""
    context = loaded.context
    with read_session(engine) as session:
        prediction = logged_prediction(session, context.version_id, prediction_id)
        rules = rules_in_force(
            session, model_id=context.model_id, version_id=context.version_id, at=prediction["ts"]
        )
    row = align_to(pd.DataFrame([prediction["features"]]), loaded.reference, loaded.explainer.parts.features)
    return explain_row(loaded, row, rules=rules, prediction=prediction)


def explain_labelling_item(engine: Engine, loaded: LoadedExplainer, item_id: int) -> LocalExplanation:
    """Explain the prediction a labelling campaign's item samples (what the labellers are judging)."""
    with read_session(engine) as session:
        item = labelling_item(session, loaded.context.version_id, item_id)
    local = explain_logged_prediction(engine, loaded, int(item["prediction_id"]))
    status = {"final": "labelled", "open": "not labelled yet", "disagreement": "labellers disagree"}.get(
        item["status"], item["status"]
    )
    return replace(
        local,
        label=item["final_label"] if item["final_label"] is not None else local.label,
        source=f"labelling item {item['position']} of campaign '{item['campaign']}' ({status})",
    )
