"""`steward explain --model M --version V` on a multiclass classifier, on SQLite and PostgreSQL:
global importance per class, named by class, over the validation sample and the recent production
window (the same numbers the Explanations page computes for a class), nothing stored; one class
with --class; an unknown class, or --class on a binary classifier, refused by name."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session
from core.db.models import AuditEvent, GlobalExplanation
from core.errors import InvalidInput
from core.explain.summaries import class_summary, ensure_global_explanations, load_explainer
from tests.cli_auth import TokenRunner
from tests.factories import make_world
from tests.insight_factories import register_explained_version
from tests.multiclass_factories import CLASSES

runner = TokenRunner()


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with read_session(engine) as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


def steward(*args: object):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


def test_cli_explains_a_multiclass_version_per_class_by_name(registry: Engine) -> None:
    from sklearn.ensemble import RandomForestClassifier

    world = make_world(registry)
    built = register_explained_version(
        registry,
        world.owner,
        estimator=RandomForestClassifier(max_depth=6, n_estimators=20, random_state=0),
        classes=CLASSES,
        n_train=400,
        n_eval=120,
        log_predictions=30,
    )
    stored_before = _count(registry, GlobalExplanation)
    result = steward(
        "explain", "--model", "Credit scoring", "--version", 1, "--json", "--as", world.owner.email
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["stored"] is False and list(data["classes"]) == CLASSES
    for name in CLASSES:
        validation, production = data["classes"][name]["validation"], data["classes"][name]["production"]
        assert validation["status"] == "computed" and validation["rows"] == 120
        assert production["status"] == "computed" and production["rows"] == 30
        assert set(validation["importance"]) == set(built["pipeline"].feature_names_in_)
    # The same numbers the Explanations page shows for a class.
    page = class_summary(registry, load_explainer(registry, built["version_id"], class_name="high"))
    assert data["classes"]["high"]["validation"]["importance"] == pytest.approx(page.importance, rel=1e-6)
    assert next(iter(data["classes"]["high"]["validation"]["importance"])) == "income"
    assert (
        data["classes"]["low"]["validation"]["importance"]
        != data["classes"]["medium"]["validation"]["importance"]
    )
    assert _count(registry, GlobalExplanation) == stored_before == 0  # per-class summaries are not stored

    one = steward(
        "explain", "--model", "Credit scoring", "--version", 1, "--class", "high", "--as", world.owner.email
    )
    assert one.exit_code == 0, one.output
    assert "is a multiclass classifier: explained per class" in one.stdout
    assert "Credit scoring v1 validation, class high: computed (120 rows, top: income" in one.stdout
    assert "class low" not in one.stdout

    events = _count(registry, AuditEvent)
    unknown = steward(
        "explain", "--model", "Credit scoring", "--version", 1, "--class", "severe", "--as", world.owner.email
    )
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith(
        "Error: 'severe' is not a class of Credit scoring v1 (low, medium, high)."
    )
    assert _count(registry, AuditEvent) == events and _count(registry, GlobalExplanation) == 0

    with pytest.raises(
        InvalidInput,
        match=r"Credit scoring v1 is a multiclass classifier: its global explanations are per class \(low, medium, high\)",
    ):
        ensure_global_explanations(registry, actor=world.owner, version_id=built["version_id"])


def test_cli_refuses_a_class_for_a_binary_classifier(registry: Engine) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    world = make_world(registry)
    register_explained_version(
        registry,
        world.owner,
        estimator=GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=0),
        n_train=200,
        n_eval=60,
        log_predictions=5,
    )
    result = steward(
        "explain", "--model", "Credit scoring", "--version", 1, "--class", "high", "--as", world.owner.email
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: Credit scoring v1 is not a multiclass classifier; there is no class to choose."
    )
    assert _count(registry, GlobalExplanation) == 0
