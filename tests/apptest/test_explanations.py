"""The Explanations page through AppTest: on the demo portfolio, on a small registry (compute and
store on request), and with a tampered artifact (refused with a message, audited)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sqlmodel import select

from core.db.engine import make_engine, read_session
from core.db.models import AuditEvent, GlobalExplanation, Model, ModelVersion
from core.explain.loading import recent_predictions
from tests.factories import make_world
from tests.insight_factories import artifact_path, register_explained_version


def _open(app, url, *, person: str | None = None, **params: str):
    at = app(url)
    if person:
        at.query_params["as"] = person
    for key, value in params.items():
        at.query_params[key] = value
    return at.switch_page("../pages/explanations.py").run(timeout=180)


def _explain(at):
    """Ask for the local explanation: opening the page loads no model."""
    assert not [i for i in at.info if i.value.startswith("Scored ")], "explained before anyone asked"
    return at.button(key="explanations.explain").click().run(timeout=180)


@pytest.fixture
def small_registry(sqlite_template: Path, tmp_path: Path):
    warnings.filterwarnings("ignore", category=UserWarning)
    path = tmp_path / "explain.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    built = register_explained_version(
        engine,
        world.owner,
        estimator=GradientBoostingClassifier(max_depth=3, n_estimators=30, random_state=0),
        rule=(">", 0.69, "approve"),
    )
    yield url, engine, built
    engine.dispose()


def test_demo_model_explained_in_a_sentence_with_its_rule(app, demo_url, demo_engine):
    with read_session(demo_engine) as s:
        credit = s.exec(select(Model).where(Model.name == "Retail credit scoring")).one()
    at = _explain(_open(app, demo_url, model=str(credit.id)))
    assert not at.exception
    version = at.selectbox(key="explanations.version")
    assert version.format_func(version.value).startswith("Retail credit scoring v")
    sentence = at.info[0].value
    assert sentence.startswith("Scored 0.") and "decline application above 0.35" in sentence
    assert "mainly because" in sentence and sentence.endswith(
        "Contributions are in log-odds, the model's internal scale: positive ones raise the score."
    )
    assert any("✓" in c.value and "Additivity check" in c.value for c in at.caption)
    # What the score means comes first, in the model's own words.
    assert any(c.value.startswith("The model scores how likely this is: **default") for c in at.caption), [
        c.value for c in at.caption
    ]
    assert len(at.get("plotly_chart")) >= 5  # waterfall, importance, beeswarm, dependence, drift
    assert any("TreeExplainer" in c.value and "validation sample" in c.value for c in at.caption)
    assert any(
        m.value.startswith(("What drives the model is stable", "Explanation drift")) for m in at.markdown
    )
    with read_session(demo_engine) as s:
        version = s.exec(
            select(ModelVersion).where(ModelVersion.model_id == credit.id, ModelVersion.stage == "production")
        ).one()
        second = int(recent_predictions(s, version.id, limit=2)["id"].iloc[1])  # type: ignore[arg-type]
    at.selectbox(key="explanations.prediction").set_value(second).run(timeout=120)
    assert not at.exception and at.info[0].value.startswith("Scored 0.")


def test_pick_a_prediction_and_a_dependence_feature(app, small_registry):
    url, _engine, built = small_registry
    at = _explain(_open(app, url, person="viewer@example.com"))
    assert not at.exception
    picker = at.selectbox(key="explanations.prediction")
    assert len(picker.options) == 40 and picker.options[0].endswith("req-0000")  # the newest first
    with read_session(_engine) as s:
        second = int(recent_predictions(s, built["version_id"], limit=2)["id"].iloc[1])
    picker.set_value(second).run()
    sentence = at.info[0].value
    assert (
        sentence.startswith("Scored 0.") and "approve above 0.69" in sentence and "mainly because" in sentence
    )
    assert any("not computed yet" in c.value.lower() for c in at.caption)
    assert not [b for b in at.button if b.key == "explanations.compute"], "a viewer gets no compute button"


def test_an_owner_opening_a_production_version_gets_its_global_explanation_computed(app, small_registry):
    """A version in production (just approved, say) is explained on its first view by someone who
    may compute it: no button to find, a progress message while it runs."""
    url, engine, built = small_registry
    at = _open(app, url, person="owner@example.com")
    assert not at.exception
    assert not [b for b in at.button if b.key == "explanations.compute"]
    with read_session(engine) as s:
        stored = s.exec(select(GlobalExplanation)).all()
    assert {r.source for r in stored} == {"validation", "production"}
    feature = at.selectbox(key="explanations.feature")
    assert feature.value == "income"  # the most important feature first
    feature.set_value("late_payments").run()
    # importance, beeswarm, dependence and drift (the one decision is explained when asked)
    assert not at.exception and len(at.get("plotly_chart")) >= 4


def test_a_changed_artifact_is_refused_on_the_page_and_audited(app, small_registry):
    url, engine, built = small_registry
    path = artifact_path(built["artifact_uri"])
    path.write_bytes(path.read_bytes() + b"\x00")
    at = _explain(_open(app, url, person="viewer@example.com"))
    assert not at.exception
    message = at.error[0].value
    assert (
        message.startswith("This model cannot be explained: Artifact")
        and "was changed after registration" in message
    )
    at.run()  # a rerun finds the same changed file: it is on record once, not once per rerun
    assert at.error[0].value == message
    with read_session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "artifact.integrity_failed")).one()
    assert event.actor_email == "viewer@example.com" and event.object_id == str(built["version_id"])


def test_empty_registry_says_what_to_do(app, empty_url):
    at = _open(app, empty_url)
    assert not at.exception
    assert any("No model artifacts to explain" in m.value for m in at.markdown)


def test_explain_a_labelling_item_from_a_link(app, small_registry):
    from core.access import Actor
    from core.db.engine import write_session
    from core.db.models import Person
    from core.explain.loading import labelling_items
    from core.monitoring import labelling

    url, engine, built = small_registry
    with read_session(engine) as s:
        owner = s.exec(select(Person).where(Person.email == "owner@example.com")).one()
        actor = Actor(owner.id, owner.email, owner.name)
    with write_session(engine) as s:
        labelling.create_campaign(
            s, actor=actor, model_id=built["model_id"], size=3, strategy="random", name="June review", seed=1
        )
    with read_session(engine) as s:
        items = labelling_items(s, built["version_id"])
    second = int(items["item_id"].iloc[1])
    at = _open(app, url, person="viewer@example.com", item=str(second))
    assert not at.exception
    assert at.radio(key="explanations.source").value == "An item of a labelling campaign"
    assert at.selectbox(key="explanations.item").value == second
    assert at.info[0].value.startswith("Scored 0.") and "approve above 0.69" in at.info[0].value
    assert any(
        c.value.startswith("Labelling item 2 of campaign 'June review' (not labelled yet)")
        for c in at.caption
    )
    at.radio(key="explanations.source").set_value("A recent logged prediction").run()
    assert not at.exception and at.selectbox(key="explanations.prediction").value is not None


def test_a_model_agnostic_summary_is_never_computed_while_the_owner_waits(app, sqlite_template, tmp_path):
    from sklearn.neighbors import KNeighborsClassifier

    path = tmp_path / "knn.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    built = register_explained_version(
        engine,
        world.owner,
        estimator=KNeighborsClassifier(n_neighbors=15),
        log_predictions=5,
        rule=(">", 0.69, "approve"),
    )
    engine.dispose()
    at = _explain(_open(app, url, person="owner@example.com", version=str(built["version_id"])))
    assert not at.exception
    assert at.info[0].value.startswith(
        "Scored "
    )  # the single row is explained (stated budget in the caption)
    assert any(
        "KernelExplainer, model-agnostic: 50 background rows x up to 512 feature coalitions" in c.value
        for c in at.caption
    )
    assert not [b for b in at.button if b.key == "explanations.compute"]
    # The version is in production: it is timed on its first view (no button to ask), and the
    # model-agnostic summary is still too slow to compute while the owner waits.
    assert not [b for b in at.button if b.key == "explanations.estimate"]
    assert any("so it is not computed while you wait" in c.value for c in at.caption)
