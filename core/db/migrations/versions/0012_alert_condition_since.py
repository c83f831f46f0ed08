"""alert.condition_since: when the condition an alert reports began

An alert is opened when the monitoring job first sees its condition, which may be days after the
condition began (an outage noticed by the nightly job, a performance drop measured once enough
labels came in). The new column keeps when it began (the last prediction before an outage, the
first day of the drifted period, the month performance dropped), so pages show both moments.
Existing alerts get NULL: when their condition began was not recorded.

Revision ID: 0012
Revises: 0003 (the head on main; the brief named 0007, which 0003 now follows)
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.types

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.add_column(sa.Column("condition_since", core.db.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("condition_since")
