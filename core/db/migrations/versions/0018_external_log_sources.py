"""log_source: a version's prediction logs read where they already live

A version can point at a Parquet file, directory or glob (local, or at a URL pyarrow opens), or at
a Delta table, with
a mapping of its columns (timestamp, request id, prediction, score, label, features) instead of
having its rows copied into the log store. Nothing existing changes.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.db.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "log_source",
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_at", core.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("synced_at", core.db.types.UTCDateTime(), nullable=True),
        sa.Column("synced_rows", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("kind IN ('parquet', 'delta')", name=op.f("ck_log_source_kind")),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_version.id"], name=op.f("fk_log_source_model_version_id_model_version")
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["person.id"], name=op.f("fk_log_source_created_by_id_person")),
        sa.PrimaryKeyConstraint("model_version_id", name=op.f("pk_log_source")),
    )


def downgrade() -> None:
    op.drop_table("log_source")
