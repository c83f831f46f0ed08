"""segment metrics and fairness: sensitive attributes, segment thresholds, alerts per subject

New table segment_attribute (sensitive attributes of requests, keyed by model and request id).
monitoring_thresholds gains min_group_size, segment_gap and disparity_limit (server defaults,
so existing threshold versions keep their meaning and get the defaults). alert gains a subject
(default '') and the kinds 'segment' and 'fairness'; the partial unique index of open alerts
becomes (model_id, kind, subject). The CHECK constraint of alert.kind is replaced in batch mode
(SQLite copies the table, its rows included). Existing data stays as it is.

Revision ID: 0011
Revises: 0003
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
import core.db.types
from alembic import op

OLD_ALERT_KINDS = ("drift", "performance", "outage", "label_coverage")
NEW_ALERT_KINDS = (*OLD_ALERT_KINDS, "segment", "fairness")

revision: str = "0011"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _kinds(values: tuple[str, ...]) -> str:
    return f"kind IN ({', '.join(repr(v) for v in values)})"


def _open_alert_index(*columns: str) -> None:
    op.create_index(
        "uq_alert_open_per_kind",
        "alert",
        list(columns),
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )


def upgrade() -> None:
    op.create_table(
        "segment_attribute",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("attached_at", core.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["model.id"], name=op.f("fk_segment_attribute_model_id_model")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_attribute")),
        sa.UniqueConstraint(
            "model_id", "request_id", "name", name=op.f("uq_segment_attribute_model_id_request_id_name")
        ),
    )
    with op.batch_alter_table("segment_attribute", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_attribute_model_id"), ["model_id"], unique=False)

    with op.batch_alter_table("monitoring_thresholds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_group_size", sa.Integer(), server_default="30", nullable=False))
        batch_op.add_column(sa.Column("segment_gap", sa.Float(), server_default="0.1", nullable=False))
        batch_op.add_column(sa.Column("disparity_limit", sa.Float(), server_default="0.1", nullable=False))
        batch_op.create_check_constraint(op.f("ck_monitoring_thresholds_min_group_size"), "min_group_size >= 1")
        batch_op.create_check_constraint(
            op.f("ck_monitoring_thresholds_segment_gap"), "segment_gap >= 0 AND segment_gap <= 1"
        )
        batch_op.create_check_constraint(
            op.f("ck_monitoring_thresholds_disparity_limit"), "disparity_limit >= 0 AND disparity_limit <= 1"
        )

    op.drop_index("uq_alert_open_per_kind", table_name="alert")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), server_default="", nullable=False)
        )
        batch_op.drop_constraint(op.f("ck_alert_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_kind"), _kinds(NEW_ALERT_KINDS))
    _open_alert_index("model_id", "kind", "subject")


def downgrade() -> None:
    # The old schema holds one open alert per kind and neither new kind: drop what it cannot hold.
    op.execute("DELETE FROM alert WHERE kind IN ('segment', 'fairness')")
    op.drop_index("uq_alert_open_per_kind", table_name="alert")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_kind"), _kinds(OLD_ALERT_KINDS))
        batch_op.drop_column("subject")
    _open_alert_index("model_id", "kind")

    with op.batch_alter_table("monitoring_thresholds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_monitoring_thresholds_disparity_limit"), type_="check")
        batch_op.drop_constraint(op.f("ck_monitoring_thresholds_segment_gap"), type_="check")
        batch_op.drop_constraint(op.f("ck_monitoring_thresholds_min_group_size"), type_="check")
        batch_op.drop_column("disparity_limit")
        batch_op.drop_column("segment_gap")
        batch_op.drop_column("min_group_size")

    with op.batch_alter_table("segment_attribute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_attribute_model_id"))
    op.drop_table("segment_attribute")
