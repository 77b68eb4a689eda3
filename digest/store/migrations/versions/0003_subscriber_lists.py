"""Subscriber lists, memberships and suppression.

Every subscriber already in the database is put on the ``default`` list, whose topic is the one
the installation is configured for, so an upgrade keeps everyone receiving the digest.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("attributes", sa.JSON))
    lists = op.create_table(
        "lists",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("topic", sa.String(128)),
        sa.Column("description", sa.String(512)),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "list_members",
        sa.Column(
            "list_id", sa.Integer, sa.ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_list_members_subscriber", "list_members", ["subscriber_id"])
    op.create_table(
        "suppressions",
        sa.Column("address_hash", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    connection = op.get_bind()
    if connection.execute(sa.text("SELECT count(*) FROM subscribers")).scalar():
        now = datetime.now(UTC)
        op.bulk_insert(
            lists,
            [
                {
                    "id": 1,
                    "name": "default",
                    "topic": None,
                    "description": "subscribers added before lists existed",
                    "created_at": now,
                }
            ],
        )
        connection.execute(
            sa.text(
                "INSERT INTO list_members (list_id, subscriber_id, created_at) "
                "SELECT 1, id, created_at FROM subscribers"
            )
        )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_index("ix_list_members_subscriber", "list_members")
    op.drop_table("list_members")
    op.drop_table("lists")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("attributes")
        batch.drop_column("paused")
