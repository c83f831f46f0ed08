"""prediction-log store: manifest of Parquet files, row ids, retention per model

New tables: log_file (one row per Parquet file of the log store: model, version, day, path,
rows, row-id range, sha256, content checksum, schema), log_row_id (the next free row id of
logged predictions, started after the highest prediction_log id so migrated rows keep theirs)
and log_retention (how many days a model's raw rows are kept). prediction_log itself is left
as it is: `steward migrate-logs` moves its rows into the store and proves it.

Revision ID: 0015
Revises: 0011 (the head on main when the log store was merged)
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import core.db.types
from alembic import op

revision: str = "0015"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "log_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("first_row_id", sa.BigInteger(), nullable=False),
        sa.Column("last_row_id", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("checksum", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", core.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("source IN ('ingest', 'migrate')", name=op.f("ck_log_file_source")),
        sa.ForeignKeyConstraint(["model_id"], ["model.id"], name=op.f("fk_log_file_model_id_model")),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_version.id"], name=op.f("fk_log_file_model_version_id_model_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_file")),
        sa.UniqueConstraint("path", name=op.f("uq_log_file_path")),
    )
    op.create_index(op.f("ix_log_file_model_id"), "log_file", ["model_id"], unique=False)
    op.create_index("ix_log_file_version_day", "log_file", ["model_version_id", "day"], unique=False)
    op.create_table(
        "log_row_id",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_row_id")),
    )
    op.execute("INSERT INTO log_row_id (id, next_id) SELECT 1, COALESCE(MAX(id), 0) + 1 FROM prediction_log")
    op.create_table(
        "log_retention",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("raw_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", core.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("last_applied_at", core.db.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint("raw_days >= 1", name=op.f("ck_log_retention_raw_days")),
        sa.ForeignKeyConstraint(["model_id"], ["model.id"], name=op.f("fk_log_retention_model_id_model")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["person.id"], name=op.f("fk_log_retention_updated_by_id_person")
        ),
        sa.PrimaryKeyConstraint("model_id", name=op.f("pk_log_retention")),
    )


def downgrade() -> None:
    op.drop_table("log_retention")
    op.drop_table("log_row_id")
    op.drop_index("ix_log_file_version_day", table_name="log_file")
    op.drop_index(op.f("ix_log_file_model_id"), table_name="log_file")
    op.drop_table("log_file")
