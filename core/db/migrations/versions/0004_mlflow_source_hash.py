"""model_version.source_sha256: the content hash of a version's files held outside Steward

An MLflow import records where each version's files are (source_uri, already present) and,
new here, the sha256 over those files, downloaded and hashed at import. Existing rows get ""
(no hash recorded), which is what they had: nothing was hashed before.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_version") as batch:
        batch.add_column(sa.Column("source_sha256", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("model_version") as batch:
        batch.drop_column("source_sha256")
