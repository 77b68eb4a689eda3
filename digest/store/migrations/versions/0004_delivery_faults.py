"""Delivery ledger: snapshots, retries and bounces.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Snapshot of what a delivery sends (the name in To, the preference variant), and whether
    # a run took it over from a sender that died mid-message (it may have gone out twice).
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("name", sa.String(256), nullable=True))
        batch.add_column(sa.Column("variant", sa.String(512), nullable=True))
        batch.add_column(
            sa.Column("uncertain", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(
            sa.Column("hard_bounces", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("hard_bounces")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("uncertain")
        batch.drop_column("variant")
        batch.drop_column("name")
