"""statistics: the daily rollup of support actions (kept by the stats consumer of the event
stream) and covering indexes for the other figures of GET /v1/stats

The rollup starts empty: the stats consumer fills it as it reads `coordination.events`, from
the start of the topic the first time it runs.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = (
    ("ix_stats_content_items_removed_at", "content_items", ["removed_at"]),
    ("ix_stats_referrals_sent_at", "referrals", ["sent_at"]),
)
CREATED = (
    (
        "ix_stats_content_items_removal",
        "content_items",
        ["removed_at", "involves_minor", "takedown_requested_at"],
    ),
    ("ix_stats_referrals_sent", "referrals", ["sent_at", "type", "status"]),
    ("ix_stats_referrals_raised", "referrals", ["type", "created_at", "based_on"]),
)


def upgrade() -> None:
    op.create_table(
        "stats_support_actions_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("actions", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "type", name=op.f("pk_stats_support_actions_daily")),
    )
    for name, table, columns in CREATED:
        op.create_index(name, table, columns, unique=False)
    for name, table, _ in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in DROPPED:
        op.create_index(name, table, columns, unique=False)
    for name, table, _ in reversed(CREATED):
        op.drop_index(name, table_name=table)
    op.drop_table("stats_support_actions_daily")
