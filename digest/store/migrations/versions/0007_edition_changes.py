"""Editor changes belong to the date, for every zone's edition of it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edition_changes",
        sa.Column("topic", sa.String(128), primary_key=True),
        sa.Column("edition_date", sa.Date(), primary_key=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Each date keeps the changes of its default-zone edition, else of its first zone's.
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT topic, edition_date, changes, built_at FROM editions "
            "ORDER BY topic, edition_date, CASE WHEN zone = '' THEN 0 ELSE 1 END, id"
        )
    ).all()
    seen: set[tuple[str, object]] = set()
    table = sa.table(
        "edition_changes",
        sa.column("topic"),
        sa.column("edition_date"),
        sa.column("changes", sa.JSON()),
        sa.column("updated_at"),
    )
    for topic, day, changes, built_at in rows:
        if isinstance(changes, str):
            changes = json.loads(changes or "{}")
        if (topic, day) in seen or not changes:
            continue
        seen.add((topic, day))
        bind.execute(
            table.insert().values(
                topic=topic, edition_date=day, changes=changes, updated_at=built_at
            )
        )


def downgrade() -> None:
    op.drop_table("edition_changes")
