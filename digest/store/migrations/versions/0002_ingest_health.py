"""Feed health for resilient ingestion.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table and copies every row over.
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("disabled_at", TS))
        batch.add_column(sa.Column("disabled_reason", sa.Text))
        batch.add_column(sa.Column("next_attempt_at", TS))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("disabled_reason")
        batch.drop_column("disabled_at")
