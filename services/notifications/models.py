"""Notifications (one ordered feed per org), webhook subscriptions and their deliveries.

Everything here is ids, codes and times: a notification says *that* something happened to a
referral, never what a note said or who the victim is.
"""

import json
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base

DELIVERY_STATUSES = ("pending", "delivered", "failed")


class NotificationFeed(Base):
    """The head of one org's feed: the last `seq` handed out (so the next is always +1)."""

    __tablename__ = "notification_feeds"

    org: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(36))
    case_id: Mapped[str | None] = mapped_column(String(64), default=None)
    referral_id: Mapped[str | None] = mapped_column(String(64), default=None)
    content_id: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str | None] = mapped_column(String(64), default=None)
    business_status: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("org", "seq", name="uq_notifications_org_seq"),
        # One event tells one org once, however often the stream is replayed.
        UniqueConstraint("org", "event_id", name="uq_notifications_org_event_id"),
    )


class Subscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    event_types_json: Mapped[str] = mapped_column("event_types", Text)
    # The Standard Webhooks signing secret (`whsec_` + base64). Not personal data; never listed.
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]

    @property
    def event_types(self) -> list[str]:
        types: list[str] = json.loads(self.event_types_json)
        return types

    def wants(self, notification_type: str) -> bool:
        return notification_type in self.event_types


class Delivery(Base):
    """One notification on its way to one subscription; the body is fixed when it is created, so
    every retry sends the same bytes under the same `webhook-id`."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    org: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        # The delivery worker's query: what is due now.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at"),
    )
