"""Explanations against a real registry: stored once per version, local explanations of logged
predictions with the rule in force, explanation drift, and safe loading (hash mismatch refused
and audited)."""

from __future__ import annotations

import warnings

import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sqlalchemy import Engine
from sqlmodel import select

from core import audit
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, GlobalExplanation
from core.errors import IntegrityViolation, NotFound, PermissionDenied
from core.explain.loading import decisive_rule, recent_predictions
from core.explain.local import explain_logged_prediction
from core.explain.sentence import LOG_ODDS_NOTE
from core.explain.summaries import (
    compute_global,
    ensure_global_explanations,
    explanation_drift,
    load_explainer,
    store_global_explanation,
    stored_explanations,
)
from core.registry.rules import rules_in_force
from tests.factories import approved_rule, make_world, rule_view
from tests.insight_factories import FEATURES, artifact_path, register_explained_version


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.filterwarnings("ignore", category=UserWarning)


def _gbc() -> GradientBoostingClassifier:
    return GradientBoostingClassifier(max_depth=3, n_estimators=40, random_state=0)


def test_global_explanations_are_computed_once_per_version_and_stored(engine: Engine) -> None:
    world = make_world(engine)
    built = register_explained_version(engine, world.owner, estimator=_gbc())
    first = ensure_global_explanations(engine, actor=world.owner, version_id=built["version_id"])
    assert first == {"validation": "computed", "production": "computed"}
    with read_session(engine) as s:
        stored = stored_explanations(s, built["version_id"])
    validation = stored["validation"]
    assert validation.explainer == "tree" and validation.space == "probability"
    assert validation.n_rows == 300 and validation.additivity_error <= 1e-6
    assert list(validation.importance)[:2] == ["income", "late_payments"]  # the label's known drivers
    assert list(validation.values.columns) == FEATURES and len(validation.values) == 300
    assert stored["production"].window_to is not None and stored["production"].n_rows == 40

    again = ensure_global_explanations(
        engine, actor=world.owner, version_id=built["version_id"], refresh_production=False
    )
    assert again == {"validation": "kept", "production": "kept"}
    with read_session(engine) as s:
        rows = s.exec(select(GlobalExplanation)).all()
        assert len(rows) == 2 and {r.computed_at for r in rows} == {
            validation.computed_at,
            stored["production"].computed_at,
        }
        actions = [
            e.action for e in s.exec(select(AuditEvent).where(AuditEvent.action == "explanation.stored"))
        ]
    assert len(actions) == 2


def test_explanation_drift_compares_validation_with_production(engine: Engine) -> None:
    world = make_world(engine)
    built = register_explained_version(engine, world.owner, estimator=_gbc(), log_predictions=60)
    ensure_global_explanations(engine, actor=world.owner, version_id=built["version_id"])
    with read_session(engine) as s:
        stored = stored_explanations(s, built["version_id"])
    drift = explanation_drift(stored["validation"], stored["production"])
    assert set(drift["feature"]) == set(FEATURES)
    assert drift["validation_share"].sum() == pytest.approx(1.0)
    assert drift["production_share"].sum() == pytest.approx(1.0)
    assert drift.iloc[0]["feature"] == "income"


def test_local_explanation_of_a_logged_prediction_names_top_features_with_signs(engine: Engine) -> None:
    world = make_world(engine)
    built = register_explained_version(engine, world.owner, estimator=_gbc(), rule=(">", 0.69, "approve"))
    loaded = load_explainer(engine, built["version_id"], actor=world.viewer)
    with read_session(engine) as s:
        recent = recent_predictions(s, built["version_id"], limit=10)
        rules = rules_in_force(s, model_id=built["model_id"], version_id=built["version_id"])
    assert len(recent) == 10 and recent["ts"].is_monotonic_decreasing
    assert [r.text() for r in rules] == ["approve above 0.69"]
    for prediction_id in recent["id"]:
        local = explain_logged_prediction(engine, loaded, int(prediction_id))
        assert local.adds_up and "✓" in local.check
        assert local.score == pytest.approx(
            local.logged_score, abs=1e-9
        )  # same model as the one that logged it
        top = local.contributions.iloc[0]
        shown = f"{top['feature'].replace('_', ' ')} = "
        assert shown in local.sentence
        met = local.score > 0.69
        rule = "(approve above 0.69)" if met else '(rule "approve above 0.69" not met)'
        assert local.sentence.startswith(f"Scored {local.score:.2f} {rule}")
        # every feature named before "against" pushes towards where the score landed, every one after it away
        toward = 1 if met else -1
        main, _, against = local.sentence.partition("; against: ")
        for row in local.contributions.itertuples():
            name = f"{row.feature.replace('_', ' ')} = "
            if name in main:
                assert row.contribution * toward > 0
            if name in against:
                assert row.contribution * toward < 0


def test_linear_model_local_explanation_says_log_odds(engine: Engine) -> None:
    world = make_world(engine)
    built = register_explained_version(engine, world.owner, estimator=LogisticRegression(max_iter=2000))
    loaded = load_explainer(engine, built["version_id"])
    with read_session(engine) as s:
        prediction_id = int(recent_predictions(s, built["version_id"], limit=1)["id"].iloc[0])
    local = explain_logged_prediction(engine, loaded, prediction_id)
    assert local.space == "log-odds" and local.sentence.endswith(LOG_ODDS_NOTE)
    assert local.additivity_error <= 1e-6
    assert 0.0 <= local.score <= 1.0 and local.score == pytest.approx(local.logged_score, abs=1e-9)


def test_changed_artifact_is_refused_and_audited(engine: Engine) -> None:
    world = make_world(engine)
    built = register_explained_version(engine, world.owner, estimator=_gbc(), log_predictions=0)
    path = artifact_path(built["artifact_uri"])
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(IntegrityViolation, match="was changed after registration: sha256 .* does not match"):
        load_explainer(engine, built["version_id"], actor=world.viewer)
    # Trying again is the same finding: on record once. Another person's discovery is recorded.
    with pytest.raises(IntegrityViolation):
        load_explainer(engine, built["version_id"], actor=world.viewer)
    with read_session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "artifact.integrity_failed")).all()
        assert len(events) == 1
        event = events[0]
        assert (event.actor_email, event.object_type, event.object_id) == (
            "viewer@example.com",
            "model_version",
            str(built["version_id"]),
        )
        assert event.model_id == built["model_id"] and "will not be loaded" in event.reason
        assert audit.verify(s).ok
    with pytest.raises(IntegrityViolation):
        load_explainer(engine, built["version_id"], actor=world.owner)
    with read_session(engine) as s:
        actors = s.exec(
            select(AuditEvent.actor_email).where(AuditEvent.action == "artifact.integrity_failed")
        ).all()
    assert sorted(actors) == sorted(["viewer@example.com", world.owner.email])


def test_changed_sample_is_refused_and_audited_as_the_system_account(engine: Engine) -> None:
    world = make_world(engine)
    built = register_explained_version(engine, world.owner, estimator=_gbc(), log_predictions=0)
    with read_session(engine) as s:
        from core.explain.loading import version_context

        training_uri = version_context(s, built["version_id"]).training.uri  # type: ignore[union-attr]
    path = artifact_path(training_uri)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IntegrityViolation, match="It will not be loaded"):
        load_explainer(engine, built["version_id"])
    with read_session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "artifact.integrity_failed")).one()
    assert event.object_type == "dataset" and event.actor_email == "system@steward.local"


def test_storing_an_explanation_needs_the_role(engine: Engine) -> None:
    world = make_world(engine)
    built = register_explained_version(engine, world.owner, estimator=_gbc(), log_predictions=0)
    loaded = load_explainer(engine, built["version_id"])
    draft = compute_global(engine, loaded, "validation")
    assert draft is not None
    with pytest.raises(PermissionDenied, match="may not explanation compute"):
        with write_session(engine) as s:
            store_global_explanation(
                s,
                actor=world.viewer,
                version_id=built["version_id"],
                draft=draft,
                artifact_sha256=built["artifact_sha256"],
            )
    with read_session(engine) as s:
        assert stored_explanations(s, built["version_id"]) == {}
    assert compute_global(engine, loaded, "production") is None  # nothing logged: no production window


def test_rules_in_force_and_the_decisive_one(engine: Engine) -> None:
    world = make_world(engine)
    built = register_explained_version(engine, world.owner, estimator=_gbc(), log_predictions=0, rule=None)
    with read_session(engine) as s:
        assert rules_in_force(s, model_id=built["model_id"]) == []
    with write_session(engine) as s:
        for name, threshold, outcome in [
            ("decline", 0.3, "decline"),
            ("decline", 0.35, "decline application"),
            ("referral", 0.18, "refer to underwriter"),
        ]:
            approved_rule(
                s,
                proposer=world.owner,
                approver=world.approver,
                model_id=built["model_id"],
                name=name,
                operator=">",
                threshold=threshold,
                outcome=outcome,
            )
    with read_session(engine) as s:
        rules = rules_in_force(s, model_id=built["model_id"])
    assert sorted(r.text() for r in rules) == [
        "decline application above 0.35",
        "refer to underwriter above 0.18",
    ]
    assert decisive_rule(rules, 0.42).outcome == "decline application"  # type: ignore[union-attr]
    assert decisive_rule(rules, 0.20).outcome == "refer to underwriter"  # type: ignore[union-attr]
    assert decisive_rule(rules, 0.05).outcome == "refer to underwriter"  # type: ignore[union-attr]  # closest not met
    block = rule_view("release", "<=", 0.1, "release payment", 1)
    assert block.text() == "release payment at 0.1 or below" and block.holds(0.1)
    assert decisive_rule([], 0.5) is None


def test_cli_explain_stores_once_and_reports(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from core.cli import app
    from core.config import reset_settings_cache
    from tests.cli_auth import TokenRunner

    world = make_world(engine)
    register_explained_version(engine, world.owner, estimator=_gbc(), log_predictions=20)
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    runner = TokenRunner()
    first = runner.invoke(
        app, ["explain", "--model", "Credit scoring", "--version", "1", "--json", "--as", "owner@example.com"]
    )
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert data["validation"]["status"] == "computed" and data["production"]["rows"] == 20
    assert list(data["validation"]["importance"])[0] in ("income", "late_payments")
    again = runner.invoke(
        app,
        [
            "explain",
            "--model",
            "Credit scoring",
            "--version",
            "1",
            "--keep-production",
            "--as",
            "owner@example.com",
        ],
    )
    assert again.exit_code == 0 and "Credit scoring v1 validation: kept" in again.output
    missing = runner.invoke(
        app, ["explain", "--model", "Credit scoring", "--version", "7", "--as", "owner@example.com"]
    )
    assert (
        missing.exit_code == 1
        and "Error: Model id" in missing.output
        and "has no version 7" in missing.output
    )


def test_local_explanation_of_a_labelling_item_says_which_item_and_its_label(engine: Engine) -> None:
    from core.explain.loading import labelling_items
    from core.explain.local import explain_labelling_item
    from core.monitoring import labelling

    world = make_world(engine)
    built = register_explained_version(engine, world.owner, estimator=_gbc(), rule=(">", 0.69, "approve"))
    with write_session(engine) as s:
        created = labelling.create_campaign(
            s,
            actor=world.owner,
            model_id=built["model_id"],
            size=5,
            strategy="random",
            name="June review",
            seed=1,
        )
    with read_session(engine) as s:
        items = labelling_items(s, built["version_id"])
    assert len(items) == 5 and list(items["position"]) == [1, 2, 3, 4, 5]
    assert set(items["campaign"]) == {"June review"} and set(items["status"]) == {"open"}
    first = items.iloc[0]
    loaded = load_explainer(engine, built["version_id"])
    local = explain_labelling_item(engine, loaded, int(first["item_id"]))
    # the item's own logged prediction, explained with the rule in force when it was made
    assert local.prediction_id == int(first["prediction_id"]) and local.logged_score == pytest.approx(
        first["score"]
    )
    assert local.adds_up and local.sentence.startswith(f"Scored {local.score:.2f} (")
    assert "approve above 0.69" in local.sentence
    assert (
        local.source == "labelling item 1 of campaign 'June review' (not labelled yet)"
        and local.label is None
    )
    with write_session(engine) as s:
        labelling.submit_label(s, actor=world.labeller, item_id=int(first["item_id"]), value=1.0)
    labelled = explain_labelling_item(engine, loaded, int(first["item_id"]))
    assert labelled.label == 1.0 and labelled.source.endswith("(labelled)")
    assert labelled.contributions.equals(local.contributions)  # the label does not change the explanation
    # an item of another version is not found
    other = register_explained_version(
        engine, world.owner, estimator=_gbc(), name="Other model", log_predictions=5
    )
    with pytest.raises(NotFound, match=f"No labelling item {int(first['item_id'])} for this model version"):
        explain_labelling_item(engine, load_explainer(engine, other["version_id"]), int(first["item_id"]))
    assert created.size == 5


def test_summary_estimate_says_when_a_page_may_compute_while_someone_waits(engine: Engine) -> None:
    import math

    from sklearn.neighbors import KNeighborsClassifier

    from core.explain.summaries import PAGE_BUDGET_SECONDS, estimate_summary_seconds

    world = make_world(engine)
    trees = register_explained_version(engine, world.owner, estimator=_gbc(), log_predictions=0)
    estimate = estimate_summary_seconds(engine, load_explainer(engine, trees["version_id"]))
    assert 0 < estimate < math.inf and PAGE_BUDGET_SECONDS == 5.0
    agnostic = register_explained_version(
        engine,
        world.owner,
        estimator=KNeighborsClassifier(n_neighbors=15),
        name="Neighbours",
        log_predictions=0,
    )
    loaded = load_explainer(engine, agnostic["version_id"])
    assert loaded.explainer.kind == "kernel"
    assert estimate_summary_seconds(engine, loaded) == math.inf  # model-agnostic: precomputed only
    with read_session(engine) as s:
        assert stored_explanations(s, trees["version_id"]) == {}  # estimating stores nothing
