"""Feeds: the outlet name an admin gives a feed (`feeds add --name`, `feeds rename`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: no name given, the outlet is named by the feed's title (every existing feed).
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("outlet", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("outlet")
