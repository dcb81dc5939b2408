"""event stream: drop the outbox NOTIFY trigger; the relay polls for unpublished rows instead

A transaction that NOTIFYs takes a database-wide lock at commit, so the trigger serialised every
writing transaction of the API behind one another. The relay now probes the `ix_outbox_unpublished`
partial index every few milliseconds while idle (events/relay.py), which needs no trigger.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
        op.execute("DROP FUNCTION IF EXISTS coordination_outbox_notify()")


def downgrade() -> None:
    # As migration 0005 made them.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION coordination_outbox_notify() RETURNS trigger AS $$
            BEGIN
                PERFORM pg_notify('coordination_outbox', '');
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
            "FOR EACH STATEMENT EXECUTE FUNCTION coordination_outbox_notify()"
        )
