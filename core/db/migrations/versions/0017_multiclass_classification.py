"""Multiclass classifiers: model.task may be 'multiclass_classification', and a version holds its
ordered class names (model_version.class_names). Logged predictions and labels of such a version
keep the index of their class in that list, so the log's numeric columns are unchanged. Existing
versions get no class names ([]), which is what binary classifiers and regressions hold.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TASKS = "task IN ('binary_classification', 'regression')"
NEW_TASKS = "task IN ('binary_classification', 'multiclass_classification', 'regression')"


def upgrade() -> None:
    with op.batch_alter_table("model") as batch:
        batch.drop_constraint(op.f("ck_model_task"), type_="check")
        batch.create_check_constraint(op.f("ck_model_task"), NEW_TASKS)
    with op.batch_alter_table("model_version") as batch:
        batch.add_column(sa.Column("class_names", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    # A multiclass model cannot be expressed in the older schema: refuse rather than relabel it.
    bind = op.get_bind()
    count = bind.execute(sa.text("SELECT COUNT(*) FROM model WHERE task = 'multiclass_classification'")).scalar()
    if count:
        raise RuntimeError(
            f"{count} multiclass model(s) are registered; the schema before 0017 cannot hold them. "
            "Retire and remove them first, or stay on this version."
        )
    with op.batch_alter_table("model_version") as batch:
        batch.drop_column("class_names")
    with op.batch_alter_table("model") as batch:
        batch.drop_constraint(op.f("ck_model_task"), type_="check")
        batch.create_check_constraint(op.f("ck_model_task"), OLD_TASKS)
