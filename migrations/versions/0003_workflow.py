"""cases, victim identities, consents, idempotency keys

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AGE_BANDS = "'under_14', '14_17', '18_19', '20s', '30s', '40s', '50_plus', 'unknown'"
PURPOSES = (
    "'share_with_police', 'share_with_standards_commission', 'share_with_legal_aid', "
    "'share_with_counseling', 'share_with_platform'"
)


def upgrade() -> None:
    op.create_table(
        "case_reference_sequences",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_case_reference_sequences")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_headers", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        "ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"], unique=False
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("owner_org", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("harm_types", sa.JSON(), nullable=False),
        sa.Column("age_band", sa.String(length=16), nullable=False),
        sa.Column("identity_state", sa.String(length=16), nullable=False),
        sa.Column("origin_referral_id", sa.String(length=36), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(f"age_band IN ({AGE_BANDS})", name=op.f("ck_cases_age_band")),
        sa.CheckConstraint(
            "identity_state IN ('none', 'recorded', 'erased')",
            name=op.f("ck_cases_identity_state"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'active', 'monitoring', 'closed')", name=op.f("ck_cases_status")
        ),
        sa.ForeignKeyConstraint(["owner_org"], ["orgs.id"], name=op.f("fk_cases_owner_org_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("reference", name=op.f("uq_cases_reference")),
    )
    op.create_index("ix_cases_owner_org_id", "cases", ["owner_org", "id"], unique=False)
    op.create_table(
        "case_keys",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("master_key_id", sa.String(length=32), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_keys_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_keys")),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("granted_by", sa.String(length=16), nullable=False),
        sa.Column("legal_basis", sa.String(length=64), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_org", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=16), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "granted_by IN ('victim', 'guardian')", name=op.f("ck_consents_granted_by")
        ),
        sa.CheckConstraint(f"purpose IN ({PURPOSES})", name=op.f("ck_consents_purpose")),
        sa.CheckConstraint(
            "revoked_by IS NULL OR revoked_by IN ('victim', 'guardian')",
            name=op.f("ck_consents_revoked_by"),
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_consents_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["recorded_by_org"], ["orgs.id"], name=op.f("fk_consents_recorded_by_org_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("ix_consents_case_id_purpose", "consents", ["case_id", "purpose"], unique=False)
    op.create_table(
        "victim_identities",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_victim_identities_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_victim_identities")),
    )


def downgrade() -> None:
    op.drop_table("victim_identities")
    op.drop_index("ix_consents_case_id_purpose", table_name="consents")
    op.drop_table("consents")
    op.drop_table("case_keys")
    op.drop_index("ix_cases_owner_org_id", table_name="cases")
    op.drop_table("cases")
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("case_reference_sequences")
