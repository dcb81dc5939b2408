"""content, sightings, referrals, referral updates, support services

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "content_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("involves_minor", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("registered_by_org", sa.String(length=64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("takedown_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('image', 'video')", name=op.f("ck_content_items_kind")),
        sa.CheckConstraint(
            "status IN ('online', 'takedown_requested', 'removed', 'reappeared')",
            name=op.f("ck_content_items_status"),
        ),
        sa.CheckConstraint(
            "pdq_quality IS NULL OR (pdq_quality >= 0 AND pdq_quality <= 100)",
            name=op.f("ck_content_items_pdq_quality"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_content_items_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["registered_by_org"], ["orgs.id"], name=op.f("fk_content_items_registered_by_org_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_items")),
        sa.UniqueConstraint("case_id", "sha256", name=op.f("uq_content_items_case_id")),
    )
    op.create_index("ix_content_items_case_id_id", "content_items", ["case_id", "id"], unique=False)
    op.create_index("ix_content_items_sha256", "content_items", ["sha256"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("from_org", sa.String(length=64), nullable=False),
        sa.Column("to_org", sa.String(length=64), nullable=False),
        sa.Column("owner_org", sa.String(length=64), nullable=False),
        sa.Column("share_victim_identity", sa.Boolean(), nullable=False),
        sa.Column("legal_basis", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("based_on", sa.String(length=36), nullable=True),
        sa.Column("victim_age_band", sa.String(length=16), nullable=True),
        sa.Column("harm_types", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("business_status", sa.String(length=64), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_update_seq", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'requested', 'accepted', 'rejected', 'cancelled', 'in_progress', 'on_hold', 'completed', 'failed')",
            name=op.f("ck_referrals_status"),
        ),
        sa.CheckConstraint(
            "type IN ('takedown', 'investigation', 'legal_aid', 'counseling', 'victim_support')",
            name=op.f("ck_referrals_type"),
        ),
        sa.CheckConstraint("from_org <> to_org", name=op.f("ck_referrals_distinct_orgs")),
        sa.ForeignKeyConstraint(
            ["based_on"], ["referrals.id"], name=op.f("fk_referrals_based_on_referrals")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_referrals_case_id_cases")),
        sa.ForeignKeyConstraint(["from_org"], ["orgs.id"], name=op.f("fk_referrals_from_org_orgs")),
        sa.ForeignKeyConstraint(
            ["owner_org"], ["orgs.id"], name=op.f("fk_referrals_owner_org_orgs")
        ),
        sa.ForeignKeyConstraint(["to_org"], ["orgs.id"], name=op.f("fk_referrals_to_org_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    op.create_index("ix_referrals_case_id_to_org", "referrals", ["case_id", "to_org"], unique=False)
    op.create_index("ix_referrals_from_org_id", "referrals", ["from_org", "id"], unique=False)
    op.create_index("ix_referrals_owner_org_id", "referrals", ["owner_org", "id"], unique=False)
    op.create_index("ix_referrals_to_org_id", "referrals", ["to_org", "id"], unique=False)

    op.create_table(
        "content_sightings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("content_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(length=100), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by_org", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('online', 'removed')", name=op.f("ck_content_sightings_state")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_content_sightings_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["content_items.id"],
            name=op.f("fk_content_sightings_content_id_content_items"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_org"], ["orgs.id"], name=op.f("fk_content_sightings_recorded_by_org_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_sightings")),
    )
    op.create_index(
        "ix_content_sightings_content_id_id",
        "content_sightings",
        ["content_id", "id"],
        unique=False,
    )

    op.create_table(
        "referral_content",
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("content_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["content_items.id"],
            name=op.f("fk_referral_content_content_id_content_items"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_content_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("referral_id", "content_id", name=op.f("pk_referral_content")),
    )
    op.create_index(
        "ix_referral_content_content_id", "referral_content", ["content_id"], unique=False
    )

    op.create_table(
        "referral_updates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("author_org", sa.String(length=64), nullable=False),
        sa.Column("previous_status", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("business_status", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_org"], ["orgs.id"], name=op.f("fk_referral_updates_author_org_orgs")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_referral_updates_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_updates_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_updates")),
        sa.UniqueConstraint("referral_id", "seq", name=op.f("uq_referral_updates_referral_id")),
    )

    op.create_table(
        "support_services",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("provider_org", sa.String(length=64), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=True),
        sa.Column("recorded_by_org", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "type IN ('deletion_support', 'consultation', 'legal_support', 'psychological_therapy', 'investigation_support', 'medical_support')",
            name=op.f("ck_support_services_type"),
        ),
        sa.CheckConstraint("count >= 1", name=op.f("ck_support_services_count")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_support_services_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["provider_org"], ["orgs.id"], name=op.f("fk_support_services_provider_org_orgs")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_org"], ["orgs.id"], name=op.f("fk_support_services_recorded_by_org_orgs")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_support_services_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_services")),
    )
    op.create_index(
        "ix_support_services_case_id_id", "support_services", ["case_id", "id"], unique=False
    )
    op.create_index(
        "ix_support_services_delivered_at", "support_services", ["delivered_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_support_services_case_id_id", table_name="support_services")
    op.drop_index("ix_support_services_delivered_at", table_name="support_services")
    op.drop_table("support_services")
    op.drop_table("referral_updates")
    op.drop_index("ix_referral_content_content_id", table_name="referral_content")
    op.drop_table("referral_content")
    op.drop_index("ix_content_sightings_content_id_id", table_name="content_sightings")
    op.drop_table("content_sightings")
    op.drop_index("ix_referrals_case_id_to_org", table_name="referrals")
    op.drop_index("ix_referrals_from_org_id", table_name="referrals")
    op.drop_index("ix_referrals_owner_org_id", table_name="referrals")
    op.drop_index("ix_referrals_to_org_id", table_name="referrals")
    op.drop_table("referrals")
    op.drop_index("ix_content_items_case_id_id", table_name="content_items")
    op.drop_index("ix_content_items_sha256", table_name="content_items")
    op.drop_table("content_items")
