"""The current health of each model, kept by monitoring and read by the inventory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import UTCDateTime

__all__ = ["ModelHealth"]

HEALTH_STATUSES = ("ok", "warning", "alert", "unknown")


class ModelHealth(SQLModel, table=True):
    """One row per model: ok / warning / alert with the reasons (drift, performance, outage...)."""

    __tablename__ = "model_health"
    __table_args__ = (CheckConstraint("status IN ('ok', 'warning', 'alert', 'unknown')", name="status"),)

    model_id: int = Field(foreign_key="model.id", primary_key=True)
    status: str = Field(default="unknown", max_length=20, index=True)
    reasons: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_type=JSON,
        description='[{"kind": "drift", "level": "alert", "message": "..."}]',
    )
    updated_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
