"""ownership periods and model card revisions

Ownerships gain a reason (why the person was named). New tables: ownership_period (a finished
ownership, with its end and why it ended) and model_card_revision (every revision of a version's
card; edits add a revision, never overwrite one). Every existing version gets revision 1 holding
its current card, written by whoever registered it, so each version's card has a revision a
promotion request can name.

Revision ID: 0009
Revises: 0003
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
import core.db.types
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECTIONS = (
    "card_training_data",
    "card_evaluation",
    "card_limitations",
    "card_ethical_considerations",
    "card_caveats",
)


def upgrade() -> None:
    with op.batch_alter_table("ownership", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), server_default="", nullable=False))

    op.create_table(
        "ownership_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("since", core.db.types.UTCDateTime(), nullable=False),
        sa.Column("until", core.db.types.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("end_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("ended_by_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "role IN ('business_owner', 'technical_owner', 'validator', 'backup')",
            name=op.f("ck_ownership_period_role"),
        ),
        sa.CheckConstraint("until >= since", name=op.f("ck_ownership_period_ordered")),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["person.id"], name=op.f("fk_ownership_period_ended_by_id_person")
        ),
        sa.ForeignKeyConstraint(["model_id"], ["model.id"], name=op.f("fk_ownership_period_model_id_model")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_ownership_period_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ownership_period")),
    )
    with op.batch_alter_table("ownership_period", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ownership_period_model_id"), ["model_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ownership_period_person_id"), ["person_id"], unique=False)

    op.create_table(
        "model_card_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.types.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_model_card_revision_revision_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["person.id"], name=op.f("fk_model_card_revision_created_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_version.id"],
            name=op.f("fk_model_card_revision_model_version_id_model_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_card_revision")),
        sa.UniqueConstraint(
            "model_version_id", "revision", name=op.f("uq_model_card_revision_model_version_id_revision")
        ),
    )
    with op.batch_alter_table("model_card_revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_card_revision_model_version_id"), ["model_version_id"], unique=False
        )

    # Revision 1 of every existing card: what it holds now, by whoever registered the version.
    versions = sa.table(
        "model_version",
        sa.column("id", sa.Integer()),
        sa.column("created_by_id", sa.Integer()),
        sa.column("created_at", core.db.types.UTCDateTime()),
        *(sa.column(s, sa.Text()) for s in SECTIONS),
    )
    revisions = sa.table(
        "model_card_revision",
        sa.column("model_version_id", sa.Integer()),
        sa.column("revision", sa.Integer()),
        sa.column("sections", sa.JSON()),
        sa.column("created_by_id", sa.Integer()),
        sa.column("created_at", core.db.types.UTCDateTime()),
        sa.column("reason", sa.Text()),
    )
    conn = op.get_bind()
    rows = [
        {
            "model_version_id": r.id,
            "revision": 1,
            "sections": {s: getattr(r, s) or "" for s in SECTIONS},
            "created_by_id": r.created_by_id,
            "created_at": r.created_at,
            "reason": "card as it was when revisions began",
        }
        for r in conn.execute(sa.select(versions)).all()
    ]
    if rows:
        op.bulk_insert(revisions, rows)


def downgrade() -> None:
    with op.batch_alter_table("model_card_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_card_revision_model_version_id"))
    op.drop_table("model_card_revision")
    with op.batch_alter_table("ownership_period", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ownership_period_person_id"))
        batch_op.drop_index(batch_op.f("ix_ownership_period_model_id"))
    op.drop_table("ownership_period")
    with op.batch_alter_table("ownership", schema=None) as batch_op:
        batch_op.drop_column("reason")
