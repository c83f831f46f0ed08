"""Demo step for notifications and retraining (last of the area steps).

A validator opens a retraining request from the demo's first open drift alert, so the Model,
Owners and Review meeting pages show one. Then every outbound event the demo's made-up history
wrote is marked as dispatched: they are history, not news, and must never be e-mailed to the
personas once someone configures SMTP on a demo registry.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from core.db.engine import write_session
from core.db.models import Alert, Model
from core.demo.catalogue import PRIYA
from core.governance import retraining
from core.notify.delivery import mark_history_dispatched


def populate(engine: Engine, context: dict[str, Any]) -> None:
    at, on = context["at"], context["on"]
    # The clock is frozen at the request's moment, so its audit event carries the demo's date too.
    with on(2, hour=11), write_session(engine) as session:
        alert = session.exec(
            select(Alert)
            .join(Model, col(Model.id) == col(Alert.model_id))
            .where(Alert.kind == "drift", col(Alert.closed_at).is_(None), Alert.level == "alert")
            .order_by(col(Model.name))
        ).first()
        if alert is not None:
            when = at(2, hour=11)
            retraining.open_request(
                session,
                actor=context["people"][PRIYA],
                model_id=alert.model_id,
                reason="Drift has stayed above the limit since the last committee; retrain on the recent "
                "months before the next validation.",
                alert_id=alert.id,
                due_on=(when + timedelta(days=21)).date(),
                at=when,
            )
    with on(0, hour=0), write_session(engine) as session:
        mark_history_dispatched(session, note_time=at(0, hour=0))
