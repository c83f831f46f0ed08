"""cost_budget.amount and risk_assessment.exposure_amount as exact decimals

0008 made cost records exact; budgets and the money at stake in a risk assessment were still
double precision, so a budget of 1234567.89 could come back as 1234567.8899999999 and a
comparison of spend with budget could tip on the last cent. Both become
``core.db.types.Money``: NUMERIC(16, 4) on PostgreSQL, an INTEGER count of ten-thousandths on
SQLite. Existing values are rounded to four places. A value of 10^12 or more (or not a number)
does not fit: the upgrade then stops, names the table and how many rows hold one, and changes
nothing, so they can be corrected first.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCALE = 4
LIMIT = 10**12
COLUMNS = (("cost_budget", "amount", False), ("risk_assessment", "exposure_amount", True))


def upgrade() -> None:
    bind = op.get_bind()
    for table, column, _ in COLUMNS:
        too_large = bind.execute(
            sa.text(f"SELECT COUNT(*) FROM {table} WHERE {column} >= :limit OR {column} <> {column}"),
            {"limit": LIMIT},
        ).scalar_one()
        if too_large:
            raise RuntimeError(
                f"{too_large} {table} row(s) hold a {table}.{column} of 10^12 or more (or not a number), which "
                "Steward now refuses; correct or delete them, then run `steward init` again."
            )
    for table, column, nullable in COLUMNS:
        if bind.dialect.name == "sqlite":
            op.execute(f"UPDATE {table} SET {column} = ROUND({column} * {10**SCALE})")
            with op.batch_alter_table(table) as batch:
                batch.alter_column(column, existing_type=sa.Float(), type_=sa.BigInteger(), existing_nullable=nullable)
            op.execute(f"UPDATE {table} SET {column} = CAST({column} AS INTEGER)")
        else:
            op.alter_column(
                table,
                column,
                existing_type=sa.Float(),
                type_=sa.Numeric(12 + SCALE, SCALE),
                existing_nullable=nullable,
                postgresql_using=f"round({column}::numeric, {SCALE})",
            )


def downgrade() -> None:
    bind = op.get_bind()
    for table, column, nullable in COLUMNS:
        if bind.dialect.name == "sqlite":
            with op.batch_alter_table(table) as batch:
                batch.alter_column(column, existing_type=sa.BigInteger(), type_=sa.Float(), existing_nullable=nullable)
            op.execute(f"UPDATE {table} SET {column} = {column} / {float(10**SCALE)}")
        else:
            op.alter_column(
                table,
                column,
                existing_type=sa.Numeric(12 + SCALE, SCALE),
                type_=sa.Float(),
                existing_nullable=nullable,
                postgresql_using=f"{column}::double precision",
            )
