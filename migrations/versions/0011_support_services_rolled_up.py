"""statistics: each support service says whether the daily rollup holds it (`rolled_up`), and
the rollup is rebuilt from every service already recorded

The stats consumer adds a service to `stats_support_actions_daily` by the one statement that
turns its flag from false to true (services.stats.rollup), so a service is counted exactly once
whatever the events that name it: a replay, a duplicate, or none left on the topic (a broker
keeps a week). This migration does the same for the services recorded before it, in one
transaction: the rollup becomes the recount of every service, and every service is flagged.

It REPLACES the rollup rather than adding to it: a database at 0010 whose stats consumer has
run already holds some of these services in its rollup, unflagged. Stop the 0010 stats
consumers (`coordination consume stats`, `serve` workers) before upgrading: one still running
afterwards would add again what this migration rolled up.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rollup of every service. The UTC day of `delivered_at`: PostgreSQL stores a timestamptz,
# SQLite the UTC time as text.
ROLL_UP = """
INSERT INTO stats_support_actions_daily (day, type, actions)
SELECT {day}, type, sum(count) FROM support_services GROUP BY 1, 2
"""
ROLL_UP_ALL = {
    "postgresql": ROLL_UP.format(day="CAST(delivered_at AT TIME ZONE 'UTC' AS date)"),
    "sqlite": ROLL_UP.format(day="date(delivered_at)"),
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # On PostgreSQL, ADD COLUMN holds support_services in ACCESS EXCLUSIVE mode until this
    # transaction commits: no service is recorded between the flagging and the recount below
    # (SQLite serialises every write anyway). The rollup is locked against a consumer too.
    if dialect == "postgresql":
        # Added as true, which flags every existing row without rewriting the table (the
        # default of a new column is kept in the catalog), then false for the rows to come.
        op.add_column(
            "support_services",
            sa.Column("rolled_up", sa.Boolean(), server_default=sa.true(), nullable=False),
        )
        op.alter_column("support_services", "rolled_up", server_default=sa.false())
        op.execute("LOCK TABLE stats_support_actions_daily IN EXCLUSIVE MODE")
    else:
        with op.batch_alter_table("support_services", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("rolled_up", sa.Boolean(), server_default=sa.false(), nullable=False)
            )
        op.execute("UPDATE support_services SET rolled_up = 1")
    op.execute("DELETE FROM stats_support_actions_daily")
    op.execute(ROLL_UP_ALL[dialect])
    op.create_index(
        "ix_support_services_not_rolled_up",
        "support_services",
        ["id"],
        unique=False,
        postgresql_where=sa.text("NOT rolled_up"),
        sqlite_where=sa.text("NOT rolled_up"),
    )


def downgrade() -> None:
    # The rollup stays: the 0010 consumer goes on adding to it from the events.
    op.drop_index("ix_support_services_not_rolled_up", table_name="support_services")
    with op.batch_alter_table("support_services", schema=None) as batch_op:
        batch_op.drop_column("rolled_up")
