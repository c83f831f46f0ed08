"""Thresholds, alert evaluation and model health on a constructed registry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from core.db.engine import read_session, write_session
from core.db.models import Alert, AuditEvent, DriftRun, ModelHealth
from core.errors import InvalidInput, PermissionDenied
from core.monitoring import alerts, thresholds
from core.registry import ingest
from tests.factories import make_model, make_world
from tests.feedback_factories import prediction_frame, production_model

AS_OF = datetime(2024, 6, 30, 12, tzinfo=UTC)


def _evaluate(engine, actor, **kw):
    with write_session(engine) as s:
        return {r.model_name: r for r in alerts.evaluate_health(s, actor=actor, as_of=AS_OF, **kw)}


def _audit_count(engine, *actions):
    with read_session(engine) as s:
        return s.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.in_(actions))
        ).scalar_one()


def _add_drift_run(engine, model_id, version_id, share, drifted):
    with write_session(engine) as s:
        s.add(
            DriftRun(
                model_id=model_id,
                model_version_id=version_id,
                period_key="2024-06-23..2024-06-30",
                period_start=AS_OF - timedelta(days=7),
                period_end=AS_OF,
                n_columns=3,
                n_computed=3,
                n_drifted=drifted,
                drift_share=share,
                status="drift" if share >= 0.5 else "ok",
            )
        )


@pytest.fixture
def portfolio(engine):
    """Healthy, outage, concept drift, low label coverage, covariate drift and a model in development."""
    world = make_world(engine)
    ids = {
        "Healthy": production_model(
            engine,
            world.owner,
            name="Healthy",
            n=1500,
            labelled_share=0.2,
            end=AS_OF - timedelta(hours=2),
            days=40,
            metrics={"accuracy": 0.85},
        ),
        "Outage": production_model(
            engine,
            world.owner,
            name="Outage",
            n=600,
            labelled_share=0.2,
            end=AS_OF - timedelta(days=10),
            days=40,
            metrics={"accuracy": 0.85},
        ),
        "Concept": production_model(
            engine,
            world.owner,
            name="Concept",
            n=2000,
            labelled_share=0.3,
            label_accuracy=0.55,
            end=AS_OF - timedelta(hours=2),
            days=40,
            metrics={"accuracy": 0.85},
        ),
        "Unlabelled": production_model(
            engine,
            world.owner,
            name="Unlabelled",
            n=600,
            labelled_share=0.01,
            end=AS_OF - timedelta(hours=2),
            days=40,
            metrics={"accuracy": 0.85},
        ),
        "Drifting": production_model(
            engine,
            world.owner,
            name="Drifting",
            n=600,
            labelled_share=0.2,
            end=AS_OF - timedelta(hours=2),
            days=40,
            metrics={"accuracy": 0.85},
        ),
    }
    make_model(engine, world.owner, name="In development")
    _add_drift_run(engine, *ids["Drifting"], share=2 / 3, drifted=2)
    _add_drift_run(engine, *ids["Healthy"], share=0.0, drifted=0)
    return world, ids


def test_health_of_a_constructed_portfolio(engine, portfolio):
    world, _ = portfolio
    results = _evaluate(engine, world.system)
    status = {name: r.status for name, r in results.items()}
    assert status == {
        "Healthy": "ok",
        "Outage": "alert",
        "Concept": "alert",
        "Unlabelled": "warning",
        "Drifting": "alert",
        "In development": "unknown",
    }
    kinds = {name: [(x["kind"], x["level"]) for x in r.reasons] for name, r in results.items()}
    assert kinds["Outage"] == [("outage", "alert")]
    assert kinds["Concept"] == [("performance", "alert")]
    assert kinds["Unlabelled"] == [("label_coverage", "warning")]
    assert kinds["Drifting"] == [("drift", "alert")]
    assert "No predictions for 10 days" in results["Outage"].reasons[0]["message"]
    assert (
        "Concept drift" in results["Concept"].reasons[0]["message"]
        and "Accuracy in 2024-06" in results["Concept"].reasons[0]["message"]
    )
    assert "67% of features drifted" in results["Drifting"].reasons[0]["message"]
    with read_session(engine) as s:
        rows = {h.model_id: h for h in s.execute(select(ModelHealth)).scalars()}
        open_alerts = s.execute(select(Alert).where(Alert.closed_at.is_(None))).scalars().all()
    assert sorted(h.status for h in rows.values()) == sorted(status.values())
    assert sorted(a.kind for a in open_alerts) == ["drift", "label_coverage", "outage", "performance"]
    # unknown -> something else is a change for five models; "In development" stays unknown
    assert _audit_count(engine, "health.changed") == 5
    assert _audit_count(engine, "alert.opened") == 4


def test_unchanged_health_writes_no_new_events(engine, portfolio):
    world, _ = portfolio
    _evaluate(engine, world.system)
    before = _audit_count(engine, "health.changed", "alert.opened", "alert.updated", "alert.closed")
    again = _evaluate(engine, world.system)
    assert not any(r.changed for r in again.values())
    assert _audit_count(engine, "health.changed", "alert.opened", "alert.updated", "alert.closed") == before


def test_recovered_outage_turns_into_warning_then_clears_with_a_looser_threshold(engine, portfolio):
    world, ids = portfolio
    _evaluate(engine, world.system)
    model_id, version_id = ids["Outage"]
    with write_session(engine) as s:
        ingest.log_predictions(
            s,
            actor=world.owner,
            model_version_id=version_id,
            frame=prediction_frame(50, seed=3, end=AS_OF - timedelta(hours=1), days=1),
        )
    result = _evaluate(engine, world.system)["Outage"]
    assert result.previous_status == "alert" and result.status == "warning"
    assert "predictions resumed on 2024-06-29" in result.reasons[0]["message"]
    with write_session(engine) as s:
        thresholds.set_thresholds(
            s, actor=world.owner, model_id=model_id, outage_days=14, reason="weekly batch job"
        )
    result = _evaluate(engine, world.system)["Outage"]
    assert result.status == "ok" and result.reasons == []
    with read_session(engine) as s:
        outage = s.execute(select(Alert).where(Alert.model_id == model_id)).scalars().all()
        events = (
            s.execute(
                select(AuditEvent.action).where(
                    AuditEvent.model_id == model_id, AuditEvent.action.like("alert.%")
                )
            )
            .scalars()
            .all()
        )
    assert len(outage) == 1 and outage[0].closed_at is not None
    assert events == ["alert.opened", "alert.updated", "alert.closed"]


def test_alert_closes_and_reopens_as_a_new_row(engine, portfolio):
    world, ids = portfolio
    _evaluate(engine, world.system)
    model_id, version_id = ids["Drifting"]
    with write_session(engine) as s:
        s.add(
            DriftRun(
                model_id=model_id,
                model_version_id=version_id,
                period_key="2024-06-30..2024-07-07",
                period_start=AS_OF,
                period_end=AS_OF + timedelta(days=7),
                n_columns=3,
                n_computed=3,
                n_drifted=0,
                drift_share=0.0,
                status="ok",
            )
        )
    assert _evaluate(engine, world.system)["Drifting"].status == "ok"
    with write_session(engine) as s:
        s.add(
            DriftRun(
                model_id=model_id,
                model_version_id=version_id,
                period_key="2024-07-07..2024-07-14",
                period_start=AS_OF + timedelta(days=7),
                period_end=AS_OF + timedelta(days=14),
                n_columns=3,
                n_computed=3,
                n_drifted=1,
                drift_share=1 / 3,
                status="drift",
            )
        )
    assert _evaluate(engine, world.system)["Drifting"].status == "alert"
    with read_session(engine) as s:
        rows = s.execute(select(Alert).where(Alert.model_id == model_id).order_by(Alert.id)).scalars().all()
    assert [(a.kind, a.closed_at is None) for a in rows] == [("drift", False), ("drift", True)]


def test_evaluation_needs_a_monitoring_role(engine, portfolio):
    world, _ = portfolio
    with pytest.raises(PermissionDenied, match="needs the role"):
        _evaluate(engine, world.labeller)


# --- thresholds -------------------------------------------------------------------------------


def test_thresholds_default_then_versioned(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with read_session(engine) as s:
        first = thresholds.current_thresholds(s, model_id=model_id)
    assert first.is_default and first.outage_days == thresholds.DEFAULTS["outage_days"]
    with write_session(engine) as s:
        thresholds.set_thresholds(
            s, actor=world.owner, model_id=model_id, drift_share=0.5, reason="many weak features"
        )
    with write_session(engine) as s:
        latest = thresholds.set_thresholds(
            s, actor=world.approver, model_id=model_id, outage_days=7, reason="weekly"
        )
    assert (latest.version, latest.drift_share, latest.outage_days) == (2, 0.5, 7)
    with read_session(engine) as s:
        history = thresholds.thresholds_history(s, model_id=model_id)
    assert history["version"].tolist() == [2, 1] and history["reason"].tolist() == [
        "weekly",
        "many weak features",
    ]
    assert _audit_count(engine, "thresholds.set") == 2


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"drift_share": 0, "reason": "x"}, "drift share must lie between just above 0 and 1"),
        ({"drift_share": 1.5, "reason": "x"}, "drift share must lie between"),
        ({"min_label_coverage": -0.1, "reason": "x"}, "minimum label coverage must lie between 0 and 1"),
        ({"outage_days": 2.5, "reason": "x"}, "outage days must be a whole number"),
        ({"performance_drop": -1, "reason": "x"}, "performance drop must not be negative"),
        ({"performance_drop": "abc", "reason": "x"}, "performance drop must be a number"),
        ({"outage_days": 5, "reason": "  "}, "reason must not be empty"),
    ],
)
def test_bad_thresholds_are_refused_and_nothing_written(engine, kw, match):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with pytest.raises(InvalidInput, match=match):
        with write_session(engine) as s:
            thresholds.set_thresholds(s, actor=world.owner, model_id=model_id, **kw)
    with read_session(engine) as s:
        assert thresholds.current_thresholds(s, model_id=model_id).is_default


def test_thresholds_need_owner_or_approver(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with pytest.raises(PermissionDenied, match="thresholds set"):
        with write_session(engine) as s:
            thresholds.set_thresholds(s, actor=world.labeller, model_id=model_id, outage_days=5, reason="x")


# --- pure signals -------------------------------------------------------------------------------


def test_alerts_keep_when_their_condition_began(engine, portfolio):
    world, _ = portfolio
    _evaluate(engine, world.system)
    with read_session(engine) as s:
        table = alerts.alerts_table(s)
    since = dict(zip(table["kind"], table["condition_since"], strict=True))
    # the outage began with the last prediction, ten days before the job noticed it
    assert (AS_OF - since["outage"]).days == 10
    assert since["performance"] == datetime(2024, 6, 1, tzinfo=UTC)  # the month accuracy dropped
    assert pd.isna(since["label_coverage"])  # a share of a window: no start of its own


def test_outage_signals():
    days = [date(2024, 6, d) for d in (1, 2, 3, 10, 11, 12)]
    last = datetime(2024, 6, 12, 20, tzinfo=UTC)
    assert (
        alerts.outage_findings(days, last, None, datetime(2024, 6, 13, 9, tzinfo=UTC), 3)[0].level
        == "warning"
    )
    assert alerts.outage_findings(days, last, None, datetime(2024, 6, 13, 9, tzinfo=UTC), 7) == []
    (alert,) = alerts.outage_findings(days, last, None, datetime(2024, 6, 20, tzinfo=UTC), 3)
    assert alert.level == "alert" and "No predictions for 7 days" in alert.message
    assert alert.since == last
    (gap,) = alerts.outage_findings(days, last, None, datetime(2024, 6, 13, 9, tzinfo=UTC), 3)
    assert gap.since == datetime(2024, 6, 4, tzinfo=UTC)
    (never,) = alerts.outage_findings(
        [], None, datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 10, tzinfo=UTC), 3
    )
    assert "since it went into production on 2024-06-01" in never.message


def test_coverage_and_drift_signals():
    assert alerts.coverage_finding(1000, 40, 0.05)[0].message.startswith("Only 4.0% of the 1,000 predictions")
    assert alerts.coverage_finding(1000, 60, 0.05) == []
    assert alerts.coverage_finding(0, 0, 0.05) == []
    run = {"drift_share": 0.2, "period": "week to 2024-06-30", "drifted_features": ["income"]}
    (warning,) = alerts.drift_findings(run, 0.3)
    assert warning.level == "warning" and "(income)" in warning.message
    assert alerts.drift_findings({**run, "drift_share": 0.1}, 0.3) == []
    assert alerts.drift_findings({**run, "drift_share": None}, 0.3) == []
    assert alerts.drift_findings(None, 0.3) == []


def test_health_change_is_audited_with_before_and_after(engine, portfolio):
    world, ids = portfolio
    _evaluate(engine, world.system, model_ids=[ids["Outage"][0]])
    with read_session(engine) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "health.changed")).scalar_one()
    assert (
        event.model_id == ids["Outage"][0]
        and '"status":"unknown"' in event.before
        and '"status":"alert"' in event.after
    )
