"""statistics: the indexes behind GET /v1/stats (no tables: figures are counted from facts)

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_stats_cases_opened_at", "cases", ["opened_at", "age_band"]),
    ("ix_stats_content_items_removed_at", "content_items", ["removed_at"]),
    ("ix_stats_referrals_sent_at", "referrals", ["sent_at"]),
    (
        "ix_stats_referral_updates_business_status",
        "referral_updates",
        ["business_status", "occurred_at"],
    ),
    (
        "ix_stats_support_services_delivered_at",
        "support_services",
        ["delivered_at", "type", "count"],
    ),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
