"""The transactional outbox: one row per event, written in the same transaction as the change."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base


class OutboxMessage(Base):
    __tablename__ = "outbox"

    # Write order: the relay publishes by it, so one case's events leave in the order they happened.
    position: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(36), unique=True)  # the CloudEvent id, the dedupe key
    topic: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime]
    data: Mapped[str] = mapped_column(Text)  # canonical JSON of the event data
    created_at: Mapped[datetime]
    # Who caused the event and in which request: the audit trail's "who touched what, when".
    actor_org: Mapped[str] = mapped_column(String(64), default="")
    actor_client_id: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        # The relay's hot query: unpublished rows in write order.
        Index("ix_outbox_pending", "published_at", "position"),
        # Partial indexes of the unpublished rows only (migration 0005): an ordered scan that
        # stops after one batch, and the per-key check of several relays. Marking rows published
        # leaves dead entries behind until VACUUM; an ordered index scan skips them cheaply.
        Index(
            "ix_outbox_unpublished",
            "position",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
        Index(
            "ix_outbox_unpublished_key",
            "key",
            "position",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )
