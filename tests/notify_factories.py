"""Builders for notification and retraining tests: a production model with owners, a drift alert
opened by the real health evaluation, and settings that point the worker at the test servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from core.config import reset_settings_cache
from core.db.engine import read_session, write_session
from core.db.models import Alert, DriftRun, NotifyDelivery, OutboxEvent
from core.monitoring import alerts
from core.notify.delivery import mark_history_dispatched
from core.registry import services
from tests.factories import World
from tests.feedback_factories import production_model
from tests.notify_servers import PASSWORD, USER, Mailbox

BASE_URL = "https://steward.example.test"


def monitored_model(
    engine: Engine, world: World, *, name: str = "Credit scoring", unit: str = "Credit risk"
) -> tuple[int, int]:
    """A production model with recent, well-labelled predictions (no outage, no coverage or
    performance finding), owned by the world's owner (business) and viewer (backup)."""
    model_id, version_id = production_model(
        engine,
        world.owner,
        name=name,
        business_unit=unit,
        n=900,
        labelled_share=0.3,
        end=datetime.now(UTC) - timedelta(hours=1),
        days=30,
        metrics={"accuracy": 0.85},
    )
    with write_session(engine) as s:
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.owner.id, role="business_owner"
        )
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.viewer.id, role="backup"
        )
    return model_id, version_id


def open_drift_alert(engine: Engine, actor, model_id: int, version_id: int, *, share: float = 0.6) -> int:  # type: ignore[no-untyped-def]
    """Store a drift run with ``share`` of features drifted and let the health check open the alert."""
    now = datetime.now(UTC)
    with write_session(engine) as s:
        s.add(
            DriftRun(
                model_id=model_id,
                model_version_id=version_id,
                period_key=f"{now:%Y-%m-%d}-{share}",
                period_start=now - timedelta(days=7),
                period_end=now,
                n_columns=3,
                n_computed=3,
                n_drifted=2,
                drift_share=share,
                drifted_features=["income", "age"],
                status="drift",
            )
        )
    with write_session(engine) as s:
        alerts.evaluate_health(s, actor=actor, model_ids=[model_id])
    with read_session(engine) as s:
        alert = s.exec(
            select(Alert).where(
                Alert.model_id == model_id, Alert.kind == "drift", col(Alert.closed_at).is_(None)
            )
        ).first()
        assert alert is not None, "the health check opened no drift alert"
        return alert.id  # type: ignore[return-value]


def use_servers(
    monkeypatch: pytest.MonkeyPatch,
    box: Mailbox | None = None,
    *,
    security: str = "starttls",
    **settings: object,
) -> None:
    """Point Steward's settings at the test SMTP server (and any other ``settings``)."""
    monkeypatch.setenv("STEWARD_BASE_URL", BASE_URL)
    if box is not None:
        monkeypatch.setenv("STEWARD_SMTP_HOST", box.host)
        monkeypatch.setenv("STEWARD_SMTP_PORT", str(box.port))
        monkeypatch.setenv("STEWARD_SMTP_SECURITY", security)
        monkeypatch.setenv("STEWARD_SMTP_USERNAME", USER)
        monkeypatch.setenv("STEWARD_SMTP_PASSWORD", PASSWORD)
        monkeypatch.setenv("STEWARD_SMTP_CA_FILE", str(box.ca_file))
        monkeypatch.setenv("STEWARD_SMTP_FROM", "steward@example.test")
    for name, value in settings.items():
        monkeypatch.setenv(f"STEWARD_{name.upper()}", str(value))
    reset_settings_cache()


def events(engine: Engine, type_: str | None = None) -> list[OutboxEvent]:
    with read_session(engine) as s:
        query = select(OutboxEvent).order_by(col(OutboxEvent.id))
        if type_:
            query = query.where(OutboxEvent.type == type_)
        return list(s.exec(query).all())


def deliveries(engine: Engine, **where: object) -> list[NotifyDelivery]:
    with read_session(engine) as s:
        query = select(NotifyDelivery).order_by(col(NotifyDelivery.id))
        for name, value in where.items():
            query = query.where(getattr(NotifyDelivery, name) == value)
        return list(s.exec(query).all())


def mark_all_dispatched(engine: Engine) -> None:
    """Forget what happened while the test built its registry: only what follows is news."""
    with write_session(engine) as s:
        mark_history_dispatched(s)
