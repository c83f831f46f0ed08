"""Links between Steward's rows and objects in other systems (MLflow), for idempotent imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from core import clock
from core.db.types import UTCDateTime

__all__ = ["ExternalRef"]


class ExternalRef(SQLModel, table=True):
    """One external object (e.g. an MLflow model version) and the Steward row it became."""

    __tablename__ = "external_ref"
    __table_args__ = (UniqueConstraint("system", "location", "external_type", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    system: str = Field(max_length=40, description="e.g. mlflow")
    location: str = Field(
        max_length=1000,
        description="the source's identity, e.g. mlflow-store:<hash> (the same through any URI); "
        "links from before identities held the tracking URI",
    )
    external_type: str = Field(max_length=40, description="registered_model, model_version, dataset")
    external_id: str = Field(max_length=500)
    steward_type: str = Field(max_length=40)
    steward_id: int
    data: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description="last imported tags, aliases, stage"
    )
    imported_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
