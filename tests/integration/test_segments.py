"""Segment metrics from the registry on SQLite and PostgreSQL: categorical features and sensitive
attributes (from the prediction log and from a join file), too few cases, the segment and fairness
alerts, and the re-assessment flags they raise; bad join files write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from core.db.engine import read_session, write_session
from core.db.models import Alert, AuditEvent, SegmentAttribute
from core.errors import InvalidInput
from core.governance import risk
from core.monitoring import alerts, segments, thresholds
from core.registry import attributes, ingest, services
from tests.factories import make_world

AS_OF = datetime(2024, 6, 30, 12, tzinfo=UTC)
FEATURES = ["income", "region", "channel"]


def predictions(
    n: int, *, seed: int = 0, broker_error: float = 0.15, days: int = 80, end: datetime = AS_OF
) -> pd.DataFrame:
    """Labelled predictions over ``days`` days before ``end``; the broker channel errs ``broker_error``
    of the time, every other segment 12%."""
    rng = np.random.default_rng(seed)
    channel = rng.choice(["phone", "web", "broker"], n, p=[0.4, 0.4, 0.2])
    label = rng.integers(0, 2, n).astype(float)
    wrong = rng.random(n) < np.where(channel == "broker", broker_error, 0.12)
    return pd.DataFrame(
        {
            "ts": [
                end - timedelta(days=days) + timedelta(seconds=float(s))
                for s in np.linspace(0, days * 86400 - 60, n)
            ],
            "request_id": [f"r{seed}-{i:05d}" for i in range(n)],
            "income": rng.lognormal(10, 0.4, n).round(0),
            "region": rng.choice(["North", "South"], n),
            "channel": channel,
            "prediction": np.where(wrong, 1 - label, label),
            "label": label,
        }
    )


def deployed(
    engine,
    owner,
    frame: pd.DataFrame,
    *,
    name: str = "Claims triage",
    promoted: datetime = AS_OF - timedelta(days=100),
) -> tuple[int, int]:
    with write_session(engine) as s:
        model_id = services.register_model(
            s,
            actor=owner,
            name=name,
            business_unit="Claims",
            task="binary_classification",
            purpose="Route claims",
        )
        version_id = services.register_version(
            s, actor=owner, model_id=model_id, metrics={"accuracy": 0.87}, feature_names=FEATURES
        )
        services.apply_stage_change(
            s, actor=owner, version_id=version_id, to_stage="production", reason="test", at=promoted
        )
        ingest.log_predictions(s, actor=owner, model_version_id=version_id, frame=frame)
    return model_id, version_id


def report(engine, model_id):  # type: ignore[no-untyped-def]
    with read_session(engine) as s:
        return segments.segment_report(s, model_id=model_id, as_of=AS_OF, n_boot=200)


def count(engine, table) -> int:  # type: ignore[no-untyped-def]
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(table)).scalar_one()


def test_categorical_features_are_segments_and_numbers_are_not(engine):
    world = make_world(engine)
    model_id, _ = deployed(engine, world.owner, predictions(600))
    got = report(engine, model_id)
    assert got.n_labelled == 600
    assert set(got.segments["segment"]) == {"region", "channel"}  # income is a number
    error = got.groups[(got.groups["metric"] == "error_rate")].set_index(["segment", "group"])
    frame = predictions(600)
    broker = frame[frame["channel"] == "broker"]
    assert error.at[("channel", "broker"), "value"] == pytest.approx(
        (broker["label"] != broker["prediction"]).mean()
    )
    assert error.at[("channel", "broker"), "n"] == len(broker)
    assert not got.findings  # 15% against 12%: within the 10-point limit


def test_segment_alert_opens_closes_and_feeds_the_decay_risk(engine):
    world = make_world(engine)
    model_id, _ = deployed(engine, world.owner, predictions(1500, broker_error=0.5))
    with write_session(engine) as s:
        alerts.evaluate_health(s, actor=world.system, as_of=AS_OF)
    with read_session(engine) as s:
        (alert,) = s.execute(select(Alert).where(Alert.kind == "segment")).scalars().all()
        assert alert.subject == "channel = broker" and alert.level == "alert" and alert.closed_at is None
        assert "Error rate for channel = broker" in alert.message
        flags = {f.trigger: f for f in risk.reassessment_flags(s, model_ids=[model_id], today=AS_OF.date())}
    assert flags["segment_alert"].category == "decay"
    assert "channel = broker" in flags["segment_alert"].reason
    # A looser limit clears the condition: the alert closes (once), audited.
    with write_session(engine) as s:
        thresholds.set_thresholds(s, actor=world.owner, model_id=model_id, reason="test", segment_gap=0.9)
    with write_session(engine) as s:
        alerts.evaluate_health(s, actor=world.system, as_of=AS_OF)
    with read_session(engine) as s:
        assert s.execute(select(Alert.closed_at).where(Alert.kind == "segment")).scalar_one() is not None
        closed = s.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "alert.closed")
        ).scalar_one()
    assert closed == 1


def _join_file(frame: pd.DataFrame, *, biased: bool) -> pd.DataFrame:
    """An age band per request; when ``biased``, the band 65+ is predicted positive far more often."""
    rng = np.random.default_rng(7)
    if biased:
        band = np.where(
            frame["prediction"] == 1,
            rng.choice(["18-40", "65+"], len(frame), p=[0.2, 0.8]),
            rng.choice(["18-40", "65+"], len(frame), p=[0.8, 0.2]),
        )
    else:
        band = rng.choice(["18-40", "41-64", "65+"], len(frame))
    return pd.DataFrame({"request_id": frame["request_id"], "age_band": band})


def test_sensitive_attribute_from_a_join_file_is_measured_and_its_disparity_alerts(engine):
    world = make_world(engine)
    frame = predictions(1200)
    model_id, _ = deployed(engine, world.owner, frame)
    with write_session(engine) as s:
        result = attributes.attach_attributes(
            s, actor=world.owner, model_id=model_id, frame=_join_file(frame, biased=True)
        )
    assert result["rows"] == 1200 and result["attributes"] == ["age_band"] and result["replaced"] == 0
    got = report(engine, model_id)
    assert got.segments.set_index("segment").at["age_band", "source"] == "sensitive"
    dp = got.disparities.set_index(["segment", "measure"]).loc[("age_band", "demographic_parity_difference")]
    joined = frame.assign(age_band=_join_file(frame, biased=True)["age_band"])
    rates = joined.groupby("age_band")["prediction"].mean()
    assert dp["value"] == pytest.approx(rates.max() - rates.min())
    assert [(f.kind, f.subject) for f in got.findings] == [("fairness", "age_band")]
    with write_session(engine) as s:
        alerts.evaluate_health(s, actor=world.system, as_of=AS_OF)
        flags = {f.trigger for f in risk.reassessment_flags(s, model_ids=[model_id], today=AS_OF.date())}
    assert "fairness_alert" in flags and "fairness_gap" not in flags  # one flag, not one per source
    # Attaching again replaces the values: the disparity is gone, and so is the alert.
    with write_session(engine) as s:
        again = attributes.attach_attributes(
            s, actor=world.owner, model_id=model_id, frame=_join_file(frame, biased=False)
        )
        assert again["replaced"] == 1200
        alerts.evaluate_health(s, actor=world.system, as_of=AS_OF)
    with read_session(engine) as s:
        assert s.execute(select(Alert.closed_at).where(Alert.kind == "fairness")).scalar_one() is not None
    assert count(engine, SegmentAttribute) == 1200


def test_sensitive_attributes_can_come_with_the_prediction_log(engine):
    world = make_world(engine)
    frame = predictions(300)
    frame["sensitive.gender"] = np.where(np.arange(300) % 2, "f", "m")
    model_id, _ = deployed(engine, world.owner, frame)
    got = report(engine, model_id)
    assert got.segments.set_index("segment").at["gender", "source"] == "sensitive"
    assert set(got.groups[got.groups["segment"] == "gender"]["group"]) == {"f", "m"}
    with read_session(engine) as s:
        assert attributes.attribute_names(s, model_id=model_id) == ["gender"]
        logged = s.execute(
            select(AuditEvent.after).where(AuditEvent.action == "predictions.logged")
        ).scalar_one()
    assert "gender" in str(logged)


def test_too_few_cases_shows_no_number(engine):
    world = make_world(engine)
    frame = predictions(400)
    frame.loc[:4, "region"] = "Islands"  # five cases
    model_id, _ = deployed(engine, world.owner, frame)
    got = report(engine, model_id).as_dict()
    islands = [g for g in got["groups"] if g["group"] == "Islands"]
    assert islands and all(g["value"] is None and g["lower"] is None for g in islands)
    assert all(g["note"] == "too few cases (fewer than 30)" for g in islands)
    assert all(g["n"] == 5 for g in islands)
    assert not [d for d in got["gaps"] if d["group"] == "Islands"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["request_id"]), "the join file has no 'request_id' column"),
        (
            lambda f: f.assign(request_id=f["request_id"].where(f.index != 3, "nope")),
            r"1 request_id\(s\) are not in the prediction log of this model: 'nope'",
        ),
        (
            lambda f: f.assign(request_id=f["request_id"].where(f.index != 3, f["request_id"][2])),
            "the same request_id appears twice in row 3, 4 of the join file",
        ),
        (
            lambda f: f.assign(request_id=f["request_id"].where(f.index != 5, "")),
            "column 'request_id' is empty in row 6 of the join file",
        ),
        (
            lambda f: f.rename(columns={"age_band": "channel"}),
            "attribute 'channel' is a feature of the model",
        ),
        (lambda f: f.rename(columns={"age_band": "label"}), "attribute column 'label' has a reserved name"),
        (lambda f: f[["request_id"]], "no attribute column besides 'request_id'"),
        (
            lambda f: f.assign(age_band="x" * 201),
            "column 'age_band' holds a value longer than 200 characters in row 1, 2, 3, 4, 5 and 35 more",
        ),
    ],
)
def test_a_bad_join_file_is_refused_with_the_reason_and_nothing_is_written(engine, change, message):
    world = make_world(engine)
    frame = predictions(40)
    model_id, _ = deployed(engine, world.owner, frame)
    events_before = count(engine, AuditEvent)
    with pytest.raises(InvalidInput, match=message), write_session(engine) as s:
        attributes.attach_attributes(
            s, actor=world.owner, model_id=model_id, frame=change(_join_file(frame, biased=False))
        )
    assert count(engine, SegmentAttribute) == 0 and count(engine, AuditEvent) == events_before


def test_a_log_with_sensitive_columns_but_no_request_id_writes_nothing(engine):
    world = make_world(engine)
    frame = predictions(40).drop(columns=["request_id"]).assign(**{"sensitive.gender": "f"})
    with pytest.raises(
        InvalidInput,
        match="column 'request_id' is empty in row 1, 2, 3, 4, 5 and 35 more of the prediction file",
    ):
        deployed(engine, world.owner, frame)
    assert count(engine, SegmentAttribute) == 0


def test_segment_thresholds_are_checked(engine):
    world = make_world(engine)
    model_id, _ = deployed(engine, world.owner, predictions(40))
    with (
        pytest.raises(InvalidInput, match="minimum group size must be a whole number of at least 1"),
        write_session(engine) as s,
    ):
        thresholds.set_thresholds(s, actor=world.owner, model_id=model_id, reason="x", min_group_size=0)
    with (
        pytest.raises(InvalidInput, match="disparity limit must lie between 0 and 1"),
        write_session(engine) as s,
    ):
        thresholds.set_thresholds(s, actor=world.owner, model_id=model_id, reason="x", disparity_limit=2)
    with write_session(engine) as s:
        new = thresholds.set_thresholds(
            s, actor=world.owner, model_id=model_id, reason="x", min_group_size=50
        )
    assert (new.min_group_size, new.segment_gap, new.disparity_limit) == (50, 0.1, 0.1)
