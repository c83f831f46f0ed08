"""Multiclass classifiers on SQLite and PostgreSQL: a version with its ordered class names, its
predictions and labels logged by class name (per-class scores optional), bad input refused with
nothing written, realised macro/weighted F1, accuracy, per-class precision and recall and the
confusion matrix (as sklearn computes them, also from the CLI), and prediction drift per class."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sqlalchemy import Engine, func, select

from core.access import actor_by_id
from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session, write_session
from core.db.models import (
    AuditEvent,
    CampaignItem,
    Label,
    LogFile,
    ModelVersion,
    PredictionDaily,
    PredictionLog,
)
from core.errors import InvalidInput
from core.explain.loading import recent_predictions
from core.explain.local import explain_logged_prediction
from core.explain.summaries import class_summary, load_explainer
from core.integrations import mlflow_import
from core.monitoring import labelling, performance
from core.monitoring.drift import reads as drift_reads
from core.monitoring.drift.runs import run_drift
from core.monitoring.drift.sources import Period
from core.registry import artifacts, services
from tests.cli_auth import TokenRunner, insert_token
from tests.factories import World, make_world
from tests.insight_factories import FEATURES, register_explained_version
from tests.multiclass_factories import CLASSES, batch, log, register

runner = TokenRunner()


def _count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with read_session(engine) as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


# --- registration ------------------------------------------------------------------------------


def test_a_multiclass_version_keeps_its_classes_in_order(engine: Engine, world: World) -> None:
    version_id = register(engine, world.owner)
    with read_session(engine) as s:
        version = s.get(ModelVersion, version_id)
        assert version is not None and version.class_names == CLASSES
        event = s.execute(
            select(AuditEvent).where(
                AuditEvent.action == "version.registered", AuditEvent.object_id == str(version_id)
            )
        ).scalar_one()
        after = json.loads(event.after) if isinstance(event.after, str) else event.after
        assert after["class_names"] == CLASSES


@pytest.mark.parametrize(
    ("class_names", "message"),
    [
        (None, "give its class names in order"),
        (["only"], "give its class names in order"),
        (["low", "high", "low"], "class name 'low' is given twice"),
        (["low", "2"], "class name 2 is '2': a class is named in words"),
        ("low,high", "must be a list of names"),
    ],
)
def test_bad_class_names_are_refused_and_nothing_is_written(
    engine: Engine, world: World, class_names, message: str
) -> None:  # type: ignore[no-untyped-def]
    with write_session(engine) as s:
        model_id = services.register_model(
            s,
            actor=world.owner,
            name="Risk band",
            business_unit="Credit risk",
            task="multiclass_classification",
        )
    with pytest.raises(InvalidInput, match=message), write_session(engine) as s:
        services.register_version(s, actor=world.owner, model_id=model_id, class_names=class_names)
    assert _count(engine, ModelVersion) == 0


def test_class_names_are_refused_for_a_binary_classifier(engine: Engine, world: World) -> None:
    with write_session(engine) as s:
        model_id = services.register_model(s, actor=world.owner, name="Churn", business_unit="Retail")
    with pytest.raises(InvalidInput, match="class names are for multiclass classifiers; 'Churn' is a binary"):
        with write_session(engine) as s:
            services.register_version(s, actor=world.owner, model_id=model_id, class_names=["a", "b"])
    assert _count(engine, ModelVersion) == 0


# --- prediction logs ---------------------------------------------------------------------------


def test_predictions_and_labels_are_logged_by_class_name(engine: Engine, world: World) -> None:
    version_id = register(engine, world.owner)
    frame = batch(50, date(2024, 3, 5), seed=1)
    frame["score.low"] = 0.2
    frame["score.medium"] = 0.3
    frame["score.high"] = 0.5
    assert log(engine, world.owner, version_id, frame) == 50
    with read_session(engine) as s:
        rows = s.execute(select(PredictionLog.prediction, PredictionLog.label, PredictionLog.score)).all()
        daily = s.execute(select(PredictionDaily)).scalar_one()
    stored = sorted((CLASSES[int(p)], CLASSES[int(y)], sc) for p, y, sc in rows)
    expected_score = frame["prediction"].map({"low": 0.2, "medium": 0.3, "high": 0.5})
    assert stored == sorted(zip(frame["prediction"], frame["label"], expected_score, strict=True))
    assert daily.n == 50 and daily.n_correct == int((frame["prediction"] == frame["label"]).sum())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: f.assign(prediction=["low"] * 9 + ["severe"]),
            "data row 10, column 'prediction': 'severe' is not a class of Risk band v1 (low, medium, high)",
        ),
        (
            lambda f: f.assign(label=["low"] * 4 + ["3"] + ["low"] * 5),
            "data row 5, column 'label': '3' is not a class",
        ),
        (
            lambda f: f.assign(prediction=["low"] * 2 + [None] * 8),
            "data row 3, column 'prediction': a class name is required",
        ),
        (
            lambda f: f.assign(**{"score.severe": 0.1}),
            "score column(s) score.severe name no class of Risk band v1",
        ),
        (
            lambda f: f.assign(**{"score.low": [0.1] * 9 + [1.5]}),
            "data row 10, column 'score.low': '1.5' must lie between 0 and 1",
        ),
        (lambda f: f.assign(score=0.4, **{"score.low": 0.4}), "either a 'score' column"),
    ],
)
def test_bad_prediction_files_are_refused_naming_the_row_and_nothing_is_written(
    engine: Engine, world: World, change, message: str
) -> None:  # type: ignore[no-untyped-def]
    version_id = register(engine, world.owner)
    frame = change(batch(10, date(2024, 3, 5), seed=2))
    with pytest.raises(InvalidInput, match=__import__("re").escape(message)):
        log(engine, world.owner, version_id, frame)
    assert _count(engine, LogFile) == 0 and _count(engine, PredictionDaily) == 0


# --- realised performance ----------------------------------------------------------------------


def test_realised_metrics_match_sklearn(engine: Engine, world: World) -> None:
    version_id = register(engine, world.owner)
    frame = batch(400, date(2024, 3, 5), seed=3)
    log(engine, world.owner, version_id, frame)
    with read_session(engine) as s:
        model_id = s.get(ModelVersion, version_id).model_id  # type: ignore[union-attr]
        report = performance.performance_report(s, model_id=model_id, n_boot=200)
    y, pred = frame["label"], frame["prediction"]
    found = report.table.set_index("metric")["value"]
    assert set(found.index) == {"accuracy", "f1_macro", "f1_weighted"}
    assert found["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred))
    assert found["f1_macro"] == pytest.approx(metrics.f1_score(y, pred, average="macro"))
    assert found["f1_weighted"] == pytest.approx(metrics.f1_score(y, pred, average="weighted"))
    for row in report.table.itertuples():
        assert row.lower <= row.value <= row.upper
    per_class = report.per_class.set_index("class")
    assert list(per_class.index) == CLASSES
    recall = metrics.recall_score(y, pred, labels=CLASSES, average=None)
    precision = metrics.precision_score(y, pred, labels=CLASSES, average=None)
    assert per_class["recall"].tolist() == pytest.approx(list(recall))
    assert per_class["precision"].tolist() == pytest.approx(list(precision))
    expected = metrics.confusion_matrix(y, pred, labels=CLASSES)
    assert report.confusion.to_numpy().tolist() == expected.tolist()
    assert list(report.confusion.index) == CLASSES and list(report.confusion.columns) == CLASSES


def test_bootstrap_f1_matches_sklearn_on_each_resample() -> None:
    rng = np.random.default_rng(4)
    y, pred = rng.integers(0, 4, 60), rng.integers(0, 4, 60)
    resamples = rng.integers(0, 60, size=(5, 60))
    confusions = performance._confusions(y, pred, 4, resamples)
    for weighted, average in ((False, "macro"), (True, "weighted")):
        ours = performance._f1_from_confusions(confusions, weighted)
        theirs = [metrics.f1_score(y[r], pred[r], average=average, zero_division=0) for r in resamples]
        assert ours.tolist() == pytest.approx(theirs)


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def test_cli_registers_logs_and_reports_a_multiclass_model(
    registry: Engine, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    world = make_world(registry)
    monkeypatch.setenv("STEWARD_TOKEN", insert_token(registry, world.system.email))

    def steward(*args: object):  # type: ignore[no-untyped-def]
        return runner.invoke(app, [str(a) for a in args])

    done = steward("register-model", "Risk band", "--business-unit", "Credit risk", "--task", "multiclass")
    assert done.exit_code == 0, done.output
    refused = steward("register-version", "--model", "Risk band", "--features", "income,age")
    assert refused.exit_code == 1 and "give its class names in order" in refused.stderr
    done = steward(
        "register-version",
        "--model",
        "Risk band",
        "--features",
        "income,age",
        "--class-names",
        "low, medium,high",
    )
    assert done.exit_code == 0, done.output
    path = tmp_path / "predictions.csv"
    frame = batch(120, date(2024, 3, 5), seed=5)
    frame.assign(ts=frame["ts"].map(lambda t: t.isoformat())).to_csv(path, index=False)
    bad = tmp_path / "bad.csv"
    frame.assign(ts=frame["ts"].map(lambda t: t.isoformat()), prediction="severe").to_csv(bad, index=False)
    refused = steward("log-predictions", bad, "--model", "Risk band", "--version", 1)
    assert refused.exit_code == 1 and "'severe' is not a class of Risk band v1" in refused.stderr
    assert _count(registry, LogFile) == 0
    done = steward("log-predictions", path, "--model", "Risk band", "--version", 1, "--json")
    assert done.exit_code == 0, done.output
    result = steward("performance", "--model", "Risk band", "--version", 1, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {m["metric"] for m in data["months"]} == {"accuracy", "f1_macro", "f1_weighted"}
    assert data["classes"] == CLASSES
    assert [row["class"] for row in data["per_class"]] == CLASSES
    expected = metrics.confusion_matrix(frame["label"], frame["prediction"], labels=CLASSES)
    assert data["confusion_matrix"]["counts"] == expected.tolist()
    text = steward("performance", "--model", "Risk band", "--version", 1)
    assert text.exit_code == 0 and "Confusion matrix (rows: actual class" in text.stdout


# --- drift -------------------------------------------------------------------------------------


def test_prediction_drift_compares_the_share_of_each_class(
    engine: Engine, world: World, tmp_path: Path
) -> None:
    rng = np.random.default_rng(6)
    training = pd.DataFrame(
        {"income": rng.lognormal(10, 0.4, 1500).round(0), "age": rng.integers(18, 80, 1500)}
    )
    path = tmp_path / "train.parquet"
    training.to_parquet(path, index=False)
    uri, sha = artifacts.store_artifact(path, model_name="Risk band", version=1)
    with write_session(engine) as s:
        dataset_id = services.create_dataset(
            s, actor=world.owner, name="bands", version="1", content_hash=sha, row_count=1500, uri=uri
        )
    version_id = register(engine, world.owner, training_dataset_id=dataset_id)
    log(engine, world.owner, version_id, batch(2000, date(2024, 3, 5), seed=7, labelled=False))
    shifted = batch(2000, date(2024, 5, 5), seed=8, labelled=False)
    shifted["prediction"] = rng.choice(CLASSES, 2000, p=[0.1, 0.2, 0.7])
    log(engine, world.owner, version_id, shifted)
    with read_session(engine) as s:
        model_id = s.get(ModelVersion, version_id).model_id  # type: ignore[union-attr]
    [may] = run_drift(
        engine, actor=world.owner, model_id=model_id, period=Period(date(2024, 5, 1), date(2024, 5, 31))
    )
    with read_session(engine) as s:
        detail = drift_reads.run_detail(s, may.id)
    prediction = detail.columns.set_index("column").loc["prediction"]
    assert prediction["role"] == "prediction" and prediction["test"] == "jensenshannon"
    assert bool(prediction["drifted"]) is True and may.prediction_drifted is True
    histogram = detail.histograms["prediction"]
    assert histogram["type"] == "categorical" and set(histogram["categories"]) == set(CLASSES)
    current = dict(zip(histogram["categories"], histogram["current"], strict=True))
    assert current["high"] == pytest.approx(100 * (shifted["prediction"] == "high").mean(), abs=0.1)


# --- labelling ---------------------------------------------------------------------------------


def _labelled_setup(engine: Engine, world: World, *, labels_per_item: int = 2, size: int = 4):  # type: ignore[no-untyped-def]
    version_id = register(engine, world.owner)
    frame = batch(40, date(2024, 3, 5), seed=9, labelled=False)
    frame["score"] = np.linspace(0.35, 0.95, 40)
    log(engine, world.owner, version_id, frame)
    with write_session(engine) as s:
        model_id = s.get(ModelVersion, version_id).model_id  # type: ignore[union-attr]
        other = services.create_person(
            s, actor=world.system, name="Leo Labeller", email="leo@example.com", roles=[("labeller", "")]
        )
        created = labelling.create_campaign(
            s,
            actor=world.owner,
            model_id=model_id,
            size=size,
            strategy="random",
            labels_per_item=labels_per_item,
            seed=1,
        )
    with read_session(engine) as s:
        second = actor_by_id(s, other)
    return created.campaign_id, second


def _answer(engine: Engine, actor, item_id: int, **kw):  # type: ignore[no-untyped-def]
    with write_session(engine) as s:
        return labelling.submit_label(s, actor=actor, item_id=item_id, **kw)


def _next(engine: Engine, campaign_id: int, actor):  # type: ignore[no-untyped-def]
    with read_session(engine) as s:
        return labelling.next_case(s, campaign_id=campaign_id, labeller_id=actor.id)


def test_labellers_choose_a_class_by_name_and_agreement_is_nominal(engine: Engine, world: World) -> None:
    campaign_id, other = _labelled_setup(engine, world)
    case = _next(engine, campaign_id, world.labeller)
    assert (
        case.class_names == dict(enumerate(CLASSES)) and case.question == "Which class was the true outcome?"
    )
    first = ["low", "high", "medium", "medium"]
    second = ["low", "medium", "medium", "medium"]
    items = []
    for mine, theirs in zip(first, second, strict=True):
        case = _next(engine, campaign_id, world.labeller)
        items.append(case.item_id)
        _answer(engine, world.labeller, case.item_id, value=mine)
        outcome = _answer(engine, other, case.item_id, value=theirs)
    with read_session(engine) as s:
        report = labelling.agreement(s, campaign_id=campaign_id)
        finals = [s.get(CampaignItem, i).final_label for i in items]  # type: ignore[union-attr]
    assert outcome.item_status == "final" and finals == [0.0, None, 1.0, 1.0]
    assert "Lena Labeller: high" in report.disagreements.loc[0, "answers"]
    assert "Leo Labeller: medium" in report.disagreements.loc[0, "answers"]
    cohen = report.measure("cohen")
    assert cohen is not None and cohen.value == pytest.approx(
        metrics.cohen_kappa_score([CLASSES.index(c) for c in first], [CLASSES.index(c) for c in second])
    )
    assert "nominal" in report.measures[0].note
    with write_session(engine) as s:
        labelling.resolve_disagreement(s, actor=world.approver, item_id=items[1], value="high", reason="file")
    with read_session(engine) as s:
        item = s.get(CampaignItem, items[1])
        assert item is not None and item.final_label == 2.0
        assert s.get(PredictionLog, item.prediction_log_id).label == 2.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (2, "choose the class of 'Risk band' by its name (low, medium, high), not by a number"),
        (1.0, "not by a number"),
        ("severe", "label 'severe' is not a class of 'Risk band': answer one of low, medium, high"),
    ],
)
def test_an_answer_that_is_not_a_class_name_is_refused(
    engine: Engine, world: World, value, message: str
) -> None:  # type: ignore[no-untyped-def]
    campaign_id, _ = _labelled_setup(engine, world, labels_per_item=1)
    case = _next(engine, campaign_id, world.labeller)
    with pytest.raises(InvalidInput, match=__import__("re").escape(message)):
        _answer(engine, world.labeller, case.item_id, value=value)
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(Label)).scalar_one() == 0


def test_uncertainty_sampling_takes_the_least_confident_predictions(engine: Engine, world: World) -> None:
    version_id = register(engine, world.owner)
    frame = batch(30, date(2024, 3, 5), seed=10, labelled=False)
    frame["score"] = np.linspace(0.9, 0.4, 30)
    log(engine, world.owner, version_id, frame)
    with write_session(engine) as s:
        model_id = s.get(ModelVersion, version_id).model_id  # type: ignore[union-attr]
        created = labelling.create_campaign(
            s, actor=world.owner, model_id=model_id, size=3, strategy="uncertainty"
        )
        with pytest.raises(InvalidInput, match="disagreement sampling needs a binary classifier"):
            labelling.create_campaign(
                s, actor=world.owner, model_id=model_id, size=3, strategy="disagreement"
            )
    with read_session(engine) as s:
        scores = s.execute(
            select(PredictionLog.score)
            .join(CampaignItem, CampaignItem.prediction_log_id == PredictionLog.id)
            .where(CampaignItem.campaign_id == created.campaign_id)
        ).scalars()
        assert sorted(scores) == pytest.approx(sorted(frame["score"].nsmallest(3)))


def test_mlflow_task_tags_name_a_multiclass_model() -> None:
    report = mlflow_import.ImportReport(tracking_uri="sqlite:///mlflow.db")
    for tag in ("multiclass", "multiclass_classification"):
        assert (
            mlflow_import._infer_task({"task": tag}, [], "Risk band", report) == "multiclass_classification"
        )
    assert mlflow_import._infer_task({"task": "regression"}, [], "Demand", report) == "regression"
    assert report.not_mapped == [] and "class_names" in mlflow_import.MODEL_TAGS_USED


# --- explanations ------------------------------------------------------------------------------


def test_a_version_is_explained_for_the_chosen_class_by_its_name(engine: Engine, world: World) -> None:
    from sklearn.ensemble import RandomForestClassifier

    built = register_explained_version(
        engine,
        world.owner,
        estimator=RandomForestClassifier(max_depth=6, n_estimators=20, random_state=0),
        classes=CLASSES,
        n_train=400,
        n_eval=120,
    )
    version_id, pipe = built["version_id"], built["pipeline"]
    with pytest.raises(
        InvalidInput, match=r"is a multiclass classifier: choose the class to explain \(low, medium, high\)"
    ):
        load_explainer(engine, version_id)
    with pytest.raises(
        InvalidInput, match=r"'severe' is not a class of Credit scoring v1 \(low, medium, high\)"
    ):
        load_explainer(engine, version_id, class_name="severe")
    summaries = {}
    for name in CLASSES:
        loaded = load_explainer(engine, version_id, class_name=name)
        position = list(pipe.classes_).index(name)
        rows = built["eval"][FEATURES].head(20)
        explanation = loaded.explainer.explain(rows)
        np.testing.assert_allclose(explanation.model_output, pipe.predict_proba(rows)[:, position])
        assert explanation.additivity_error <= 1e-6
        summaries[name] = class_summary(engine, loaded)
        assert summaries[name].source == f"validation, class {name}" and summaries[name].n_rows == 120
    assert summaries["low"].importance != summaries["medium"].importance
    assert next(iter(summaries["high"].importance)) == "income"  # the bands are cut by income
    with read_session(engine) as s:
        [logged] = recent_predictions(s, version_id, limit=1)["id"]
    local = explain_logged_prediction(
        engine, load_explainer(engine, version_id, class_name="high"), int(logged)
    )
    assert local.adds_up and local.sentence.startswith("Predicted ")
