"""model.case_link_template and model.outcome_horizon_days: label work domain experts can do

A labeller sees each case's business identifier (the prediction's request id) with a link to the
system where the case lives, built from the model's link template (an http(s) address holding
``{request_id}``). A model whose outcome is known only some time after the prediction ("defaults
within 12 months") has an outcome horizon in days: the question names it, and predictions whose
horizon has not passed are not sampled. Existing models get no template ("") and no horizon (NULL),
which is how they behaved before.

Revision ID: 0013
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model") as batch:
        batch.add_column(sa.Column("case_link_template", sa.String(length=1000), nullable=False, server_default=""))
        batch.add_column(sa.Column("outcome_horizon_days", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_model_outcome_horizon_days"), "outcome_horizon_days IS NULL OR outcome_horizon_days BETWEEN 0 AND 3660"
        )


def downgrade() -> None:
    with op.batch_alter_table("model") as batch:
        batch.drop_constraint(op.f("ck_model_outcome_horizon_days"), type_="check")
        batch.drop_column("outcome_horizon_days")
        batch.drop_column("case_link_template")
