"""Initial schema: feeds, items, editions, subscribers, deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False, unique=True),
        sa.Column("title", sa.String(512)),
        sa.Column("etag", sa.String(512)),
        sa.Column("last_modified", sa.String(128)),
        sa.Column("last_fetched_at", TS),
        sa.Column("last_status", sa.String(32)),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_success_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("guid", sa.String(2048), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("canonical_url", sa.String(2048), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary_html", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("published", TS, nullable=False),
        sa.Column("fetched", TS, nullable=False),
        sa.Column("updated", TS, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("feed_id", "guid", name="uq_items_feed_guid"),
    )
    op.create_index("ix_items_canonical_url", "items", ["canonical_url"])
    op.create_index("ix_items_published", "items", ["published"])
    op.create_table(
        "editions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("edition_date", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("built_at", TS, nullable=False),
        sa.Column("first_send_at", TS),
        sa.Column("sent_at", TS),
        sa.UniqueConstraint("topic", "edition_date", name="uq_editions_topic_date"),
    )
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(256)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64)),
        sa.Column("sections", sa.JSON, nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("consent_at", TS),
        sa.Column("consent_source", sa.String(256)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "edition_id",
            sa.Integer,
            sa.ForeignKey("editions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS),
        sa.Column("claimed_at", TS),
        sa.Column("last_reply", sa.Text),
        sa.Column("message_id", sa.String(256), nullable=False),
        sa.Column("sent_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("edition_id", "subscriber_id", name="uq_deliveries_edition_subscriber"),
    )
    op.create_index("ix_deliveries_edition_status", "deliveries", ["edition_id", "status"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("subscribers")
    op.drop_table("editions")
    op.drop_table("items")
    op.drop_table("feeds")
