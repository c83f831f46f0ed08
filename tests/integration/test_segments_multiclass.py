"""Segment and fairness metrics of a multiclass classifier from the registry, on SQLite and
PostgreSQL: per group accuracy, macro recall and F1, per-class recall and predicted share by class
name, "too few cases", disparities naming the class, the segment and fairness alerts with the
re-assessment flags they raise, the model's thresholds, and a segment that does not exist refused
by name (from core and from `steward segments --segment`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, recall_score
from sqlalchemy import Engine, func, select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session, write_session
from core.db.models import Alert, AuditEvent
from core.errors import InvalidInput
from core.governance import risk
from core.monitoring import alerts, segments, thresholds
from core.registry import ingest, services
from tests.cli_auth import TokenRunner
from tests.factories import make_world

AS_OF = datetime(2024, 6, 30, 12, tzinfo=UTC)
CLASSES = ["low", "medium", "high"]
runner = TokenRunner()


def predictions(n: int, *, seed: int = 0, broker_error: float = 0.5, end: datetime = AS_OF) -> pd.DataFrame:
    """Labelled predictions by class name over 80 days before ``end``: the broker channel errs
    ``broker_error`` of the time, other channels 15%; an age band (sensitive, logged with the
    prediction) on which the model is as good everywhere."""
    rng = np.random.default_rng(seed)
    channel = rng.choice(["phone", "web", "broker"], n, p=[0.4, 0.4, 0.2])
    label = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    wrong = rng.random(n) < np.where(channel == "broker", broker_error, 0.15)
    predicted = np.where(wrong, (label + rng.integers(1, 3, n)) % 3, label)
    names = np.array(CLASSES, dtype=object)
    return pd.DataFrame(
        {
            "ts": [
                end - timedelta(days=80) + timedelta(seconds=float(s)) for s in np.linspace(0, 80 * 86400, n)
            ],
            "request_id": [f"r{seed}-{i:05d}" for i in range(n)],
            "income": rng.lognormal(10, 0.4, n).round(0),
            "channel": channel,
            "prediction": names[predicted],
            "label": names[label],
            "sensitive.age_band": rng.choice(["18-40", "41-64", "65+"], n),
        }
    )


def deployed(
    engine: Engine, owner, frame: pd.DataFrame, *, promoted: datetime = AS_OF - timedelta(days=100)
) -> int:  # type: ignore[no-untyped-def]
    with write_session(engine) as s:
        model_id = services.register_model(
            s, actor=owner, name="Risk band", business_unit="Credit risk", task="multiclass", purpose="Band"
        )
        version_id = services.register_version(
            s,
            actor=owner,
            model_id=model_id,
            feature_names=["income", "channel"],
            class_names=CLASSES,
            metrics={"f1_macro": 0.8},
        )
        services.apply_stage_change(
            s, actor=owner, version_id=version_id, to_stage="production", reason="t", at=promoted
        )
        ingest.log_predictions(s, actor=owner, model_version_id=version_id, frame=frame)
    return model_id


def report(engine: Engine, model_id: int, **kw) -> segments.SegmentReport:  # type: ignore[no-untyped-def]
    with read_session(engine) as s:
        return segments.segment_report(s, model_id=model_id, as_of=AS_OF, n_boot=200, **kw)


def test_multiclass_segments_are_measured_by_class_name(engine):
    world = make_world(engine)
    frame = predictions(1500)
    frame.loc[:4, "channel"] = "branch"  # five cases: too few for a number
    model_id = deployed(engine, world.owner, frame)
    got = report(engine, model_id)
    assert got.n_labelled == 1500 and got.classes == CLASSES
    assert dict(zip(got.segments["segment"], got.segments["source"], strict=True)) == {
        "channel": "feature",
        "age_band": "sensitive",
    }
    assert got.segments["measured"].all()
    groups = got.groups
    broker_rows = frame[frame["channel"] == "broker"]
    y, pred = broker_rows["label"], broker_rows["prediction"]

    def value(group: str, metric: str, class_name: str | None = None) -> float:
        rows = groups[
            (groups["segment"] == "channel") & (groups["group"] == group) & (groups["metric"] == metric)
        ]
        rows = rows[rows["class"].isna()] if class_name is None else rows[rows["class"] == class_name]
        return float(rows["value"].iloc[0])

    assert value("broker", "accuracy") == pytest.approx((y == pred).mean())
    assert value("broker", "recall_macro") == pytest.approx(recall_score(y, pred, average="macro"))
    assert value("broker", "f1_macro") == pytest.approx(f1_score(y, pred, average="macro"))
    for name in CLASSES:
        assert value("broker", "class_recall", name) == pytest.approx(
            ((y == name) & (pred == name)).sum() / (y == name).sum()
        )
        assert value("broker", "class_selection_rate", name) == pytest.approx((pred == name).mean())
    per_class = groups[groups["metric"].isin(["class_recall", "class_selection_rate"])]
    assert set(per_class["class"]) == set(CLASSES)  # by name, never a position
    # Too few cases: no number, and no part in gaps or disparities.
    branch = got.as_dict()
    small = [g for g in branch["groups"] if g["group"] == "branch"]
    assert small and all(g["value"] is None and g["note"] == "too few cases (fewer than 30)" for g in small)
    assert all(g["n"] == 5 for g in small)
    assert branch["classes"] == CLASSES
    assert not [gap for gap in branch["gaps"] if gap["group"] == "branch"]
    # Disparities name their class; the age band is fair, the channel is not.
    disparities = got.disparities.set_index(["segment", "measure"])
    assert disparities.at[("channel", "accuracy_difference"), "level"] == "alert"
    assert disparities.loc[("channel", "class_recall_difference"), "class"] in CLASSES
    assert disparities.loc[("age_band", "predicted_class_rate_difference"), "class"] in CLASSES
    assert [(f.kind, f.subject) for f in got.findings] == [("segment", "channel = broker")]


def test_multiclass_segment_and_fairness_alerts_feed_the_decay_risk_and_follow_thresholds(engine):
    world = make_world(engine)
    frame = predictions(2400, seed=1)
    # The model gets class "high" right far less often for the 65+ band.
    older = (frame["sensitive.age_band"] == "65+") & (frame["label"] == "high")
    frame.loc[older, "prediction"] = np.where(np.arange(int(older.sum())) % 3 == 0, "high", "medium")
    model_id = deployed(engine, world.owner, frame)
    got = report(engine, model_id)
    fairness = next(f for f in got.findings if f.kind == "fairness")
    assert fairness.subject == "age_band" and "per-class recall difference (class high)" in fairness.message
    with write_session(engine) as s:
        alerts.evaluate_health(s, actor=world.system, as_of=AS_OF)
    with read_session(engine) as s:
        opened = {(a.kind, a.subject) for a in s.execute(select(Alert)).scalars() if a.closed_at is None}
        flags = {f.trigger: f for f in risk.reassessment_flags(s, model_ids=[model_id], today=AS_OF.date())}
    assert {("segment", "channel = broker"), ("fairness", "age_band")} <= opened
    assert flags["segment_alert"].category == "decay" and flags["fairness_alert"].category == "decay"
    # The model's own, looser limits clear both: the alerts close, audited.
    with write_session(engine) as s:
        thresholds.set_thresholds(
            s, actor=world.owner, model_id=model_id, reason="t", segment_gap=0.9, disparity_limit=0.95
        )
    with write_session(engine) as s:
        alerts.evaluate_health(s, actor=world.system, as_of=AS_OF)
    with read_session(engine) as s:
        still_open = s.execute(
            select(func.count())
            .select_from(Alert)
            .where(Alert.kind.in_(["segment", "fairness"]), Alert.closed_at.is_(None))
        ).scalar_one()
        closed = s.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "alert.closed")
        ).scalar_one()
    assert still_open == 0 and closed >= 2
    assert report(engine, model_id).disparities["limit"].eq(0.95).all()


def test_a_segment_that_does_not_exist_is_refused_by_name(engine):
    world = make_world(engine)
    model_id = deployed(engine, world.owner, predictions(200))
    only = report(engine, model_id, segment="age_band")
    assert list(only.segments["segment"]) == ["age_band"] and set(only.groups["segment"]) == {"age_band"}
    with pytest.raises(
        InvalidInput,
        match=r"'gender' is not a segment of 'Risk band': no categorical input or sensitive attribute of that "
        r"name among its labelled predictions of the last 90 days \(segments: 'age_band', 'channel'\)",
    ):
        report(engine, model_id, segment="gender")
    with pytest.raises(InvalidInput, match=r"'income' is not a segment of 'Risk band'"):
        report(engine, model_id, segment="income")  # a number, not a segment


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def test_cli_reports_multiclass_segments_by_class_name_and_refuses_an_unknown_segment(registry):
    world = make_world(registry)
    end = datetime.now(UTC) - timedelta(hours=1)
    deployed(registry, world.owner, predictions(900, end=end), promoted=end - timedelta(days=100))
    result = runner.invoke(app, ["segments", "Risk band", "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["task"] == "multiclass_classification" and got["classes"] == CLASSES
    assert {g["class"] for g in got["groups"] if g["metric"] == "class_recall"} == set(CLASSES)
    assert {d["measure"] for d in got["disparities"] if d["segment"] == "channel"} == {
        "accuracy_difference",
        "class_recall_difference",
        "predicted_class_rate_difference",
    }
    table = runner.invoke(app, ["segments", "Risk band"])
    assert table.exit_code == 0, table.output
    assert "accuracy" in table.stdout and "ALERT (segment)" in table.stdout
    recall_line = next(line for line in table.stdout.splitlines() if "class_recall_difference" in line)
    assert recall_line.split()[2] in CLASSES  # the class it is largest for, by name
    one = runner.invoke(app, ["segments", "Risk band", "--segment", "age_band", "--json"])
    assert one.exit_code == 0, one.output
    assert {s["segment"] for s in json.loads(one.stdout)["segments"]} == {"age_band"}
    bad = runner.invoke(app, ["segments", "Risk band", "--segment", "gender"])
    assert bad.exit_code == 1
    assert bad.stderr.startswith("Error: 'gender' is not a segment of 'Risk band'")
    assert "(segments: 'age_band', 'channel')" in bad.stderr
