"""cost_record.amount as an exact decimal instead of a float

Amounts of money were stored as double precision, so 99999999999999999999999.99 came back as
1.0000000000000001e+23 and cents could drift in sums. They become exact (core.db.types.Money):
NUMERIC(16, 4) on PostgreSQL; on SQLite, which has no exact decimal type, an INTEGER count of
ten-thousandths. Existing amounts are rounded to four places (they were written with at most
two by every Steward import). An amount of 10^12 or more does not fit: the upgrade then stops,
names how many rows hold one and changes nothing, so they can be corrected first.

Revision ID: 0008
Revises: 0003 (the head on main: 0001, 0002, 0004, 0007, 0003)
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCALE = 4
LIMIT = 10**12


def upgrade() -> None:
    bind = op.get_bind()
    too_large = bind.execute(
        sa.text("SELECT COUNT(*) FROM cost_record WHERE amount >= :limit OR amount <> amount"), {"limit": LIMIT}
    ).scalar_one()
    if too_large:
        raise RuntimeError(
            f"{too_large} cost_record row(s) hold an amount of 10^12 or more (or not a number), which "
            "Steward now refuses; correct or delete them, then run `steward init` again."
        )
    if bind.dialect.name == "sqlite":
        op.execute(f"UPDATE cost_record SET amount = ROUND(amount * {10**SCALE})")
        with op.batch_alter_table("cost_record") as batch:
            batch.alter_column("amount", existing_type=sa.Float(), type_=sa.BigInteger(), existing_nullable=False)
        op.execute("UPDATE cost_record SET amount = CAST(amount AS INTEGER)")
    else:
        op.alter_column(
            "cost_record",
            "amount",
            existing_type=sa.Float(),
            type_=sa.Numeric(12 + SCALE, SCALE),
            existing_nullable=False,
            postgresql_using=f"round(amount::numeric, {SCALE})",
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("cost_record") as batch:
            batch.alter_column("amount", existing_type=sa.BigInteger(), type_=sa.Float(), existing_nullable=False)
        op.execute(f"UPDATE cost_record SET amount = amount / {float(10**SCALE)}")
    else:
        op.alter_column(
            "cost_record",
            "amount",
            existing_type=sa.Numeric(12 + SCALE, SCALE),
            type_=sa.Float(),
            existing_nullable=False,
            postgresql_using="amount::double precision",
        )
