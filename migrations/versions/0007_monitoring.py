"""monitoring: the hash index generation and change feed, low-quality hits, referral clocks
(overdue marker, time to removal) and the monitoring schedule

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hash_index_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", BIGINT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hash_index_state")),
    )
    # The one row every process reads before matching (services/monitoring/index.py).
    op.execute("INSERT INTO hash_index_state (id, generation) VALUES (1, 0)")
    op.create_table(
        "hash_index_changes",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("generation", BIGINT, nullable=False),
        sa.Column("content_id", sa.String(length=36), nullable=True),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hash_index_changes")),
    )
    op.create_index("ix_hash_index_changes_generation", "hash_index_changes", ["generation"])
    op.create_table(
        "monitoring_hits",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reported_by_org", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reason IN ('low_quality')", name=op.f("ck_monitoring_hits_reason")),
        sa.ForeignKeyConstraint(
            ["reported_by_org"],
            ["orgs.id"],
            name=op.f("fk_monitoring_hits_reported_by_org_orgs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_hits")),
    )
    op.create_index(
        "ix_monitoring_hits_reported_by_org_id", "monitoring_hits", ["reported_by_org", "id"]
    )
    op.create_table(
        "monitoring_plans",
        sa.Column("content_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("owner_org", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checks_done", sa.Integer(), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_monitoring_plans_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["content_items.id"],
            name=op.f("fk_monitoring_plans_content_id_content_items"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org"], ["orgs.id"], name=op.f("fk_monitoring_plans_owner_org_orgs")
        ),
        sa.PrimaryKeyConstraint("content_id", name=op.f("pk_monitoring_plans")),
    )
    op.create_index(
        "ix_monitoring_plans_owner_org_next_check_at",
        "monitoring_plans",
        ["owner_org", "next_check_at"],
    )
    op.create_table(
        "referral_clocks",
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds_to_removal", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_clocks_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_referral_clocks")),
    )


def downgrade() -> None:
    op.drop_table("referral_clocks")
    op.drop_index("ix_monitoring_plans_owner_org_next_check_at", table_name="monitoring_plans")
    op.drop_table("monitoring_plans")
    op.drop_index("ix_monitoring_hits_reported_by_org_id", table_name="monitoring_hits")
    op.drop_table("monitoring_hits")
    op.drop_index("ix_hash_index_changes_generation", table_name="hash_index_changes")
    op.drop_table("hash_index_changes")
    op.drop_table("hash_index_state")
