"""Scheduler: run history, the daemon lease, and one edition per (topic, date, zone).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Existing editions get zone "" (the digest's own time zone): they stay what they were.
    with op.batch_alter_table("editions") as batch:
        batch.add_column(sa.Column("zone", sa.String(64), nullable=False, server_default=""))
        batch.drop_constraint("uq_editions_topic_date", type_="unique")
        batch.create_unique_constraint(
            "uq_editions_topic_date_zone", ["topic", "edition_date", "zone"]
        )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False, server_default=""),
        sa.Column("edition_date", sa.Date),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_runs_job_started", "runs", ["job", "started_at"])
    op.create_table(
        "daemon_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(256), nullable=False),
        sa.Column("acquired_at", TS, nullable=False),
        sa.Column("renewed_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("daemon_lease")
    op.drop_index("ix_runs_job_started", table_name="runs")
    op.drop_table("runs")
    with op.batch_alter_table("editions") as batch:
        batch.drop_constraint("uq_editions_topic_date_zone", type_="unique")
        batch.create_unique_constraint("uq_editions_topic_date", ["topic", "edition_date"])
        batch.drop_column("zone")
