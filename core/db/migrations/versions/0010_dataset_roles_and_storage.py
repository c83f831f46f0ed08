"""datasets within reach: where a dataset's data is kept, its role, a version's drift reference and SHAP background

dataset gains ``role`` (training, evaluation, reference, background; '' when unsaid) and
``storage`` ('store': a content-addressed file in the artifact store; 'external': a location
Steward reads and checks against the sha256; '': a location recorded as text only, as before).
model_version gains ``reference_dataset_id`` (drift's reference) and ``background_dataset_id``
(SHAP's background); both default to the training dataset when empty. A new table, lineage_event,
keeps every ingested OpenLineage event whole (facets Steward does not map included), keyed by
its content hash. Existing rows keep their values: the new columns are empty.

Revision ID: 0010
Revises: 0003
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lineage_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("event_time", core.db.types.UTCDateTime(), nullable=True),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("job_namespace", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("job_name", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("producer", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("ingested_at", core.db.types.UTCDateTime(), nullable=False),
        sa.Column("ingested_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ingested_by_id"], ["person.id"], name=op.f("fk_lineage_event_ingested_by_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_event")),
        sa.UniqueConstraint("event_hash", name=op.f("uq_lineage_event_event_hash")),
    )
    with op.batch_alter_table("lineage_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lineage_event_run_id"), ["run_id"], unique=False)
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("storage", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default="")
        )
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference_dataset_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("background_dataset_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_model_version_reference_dataset_id_dataset"), "dataset", ["reference_dataset_id"], ["id"]
        )
        batch_op.create_foreign_key(
            op.f("fk_model_version_background_dataset_id_dataset"), "dataset", ["background_dataset_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("lineage_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lineage_event_run_id"))
    op.drop_table("lineage_event")
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_model_version_background_dataset_id_dataset"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_model_version_reference_dataset_id_dataset"), type_="foreignkey")
        batch_op.drop_column("background_dataset_id")
        batch_op.drop_column("reference_dataset_id")
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.drop_column("storage")
        batch_op.drop_column("role")
