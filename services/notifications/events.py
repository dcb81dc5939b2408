"""What the notification consumer announces: each notification, on `coordination.notifications`."""

from dataclasses import dataclass
from typing import ClassVar

from services.messages import TOPIC_NOTIFICATIONS, DomainEvent


@dataclass(frozen=True, kw_only=True)
class NotificationCreated(DomainEvent):
    """Subject: the notification id. Keyed by the recipient org, so each org's feed keeps order."""

    type: ClassVar[str] = "notification.created"
    topic: ClassVar[str] = TOPIC_NOTIFICATIONS
    org: str
    seq: int
    notification_type: str
    event_id: str
    referral_id: str | None = None
    content_id: str | None = None
    status: str | None = None
    business_status: str | None = None

    @property
    def key(self) -> str:
        return self.org
