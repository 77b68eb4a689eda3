"""Sending shared by several processes: each claim of a delivery row names its sender, so
only that sender records or releases it; the relay's quota (a token bucket and the failures in
a row) is one row every sender shares; a suppression's reason is as long as it needs
(PostgreSQL enforces a column's length; SQLite never did, so longer reasons exist already).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("claim_token", sa.String(32), nullable=True))
    with op.batch_alter_table("suppressions") as batch:
        batch.alter_column("reason", type_=sa.Text(), existing_type=sa.String(64))
    op.create_table(
        "relay_quota",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("stamp", sa.Float(), nullable=False),
        sa.Column("last_grant", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("relay_quota")
    with op.batch_alter_table("suppressions") as batch:
        batch.alter_column("reason", type_=sa.String(64), existing_type=sa.Text())
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claim_token")
