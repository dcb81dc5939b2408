from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CreateSubscription:
    url: str
    event_types: list[str]
    secret: str | None = None  # `whsec_` + base64; generated when not given


@dataclass(frozen=True)
class DeleteSubscription:
    subscription_id: str


@dataclass(frozen=True)
class EventReceived:
    """A domain event as read back from the stream (a decoded CloudEvent)."""

    id: str
    type: str  # short form, e.g. `referral.requested`
    time: datetime
    subject: str
    data: dict[str, Any] = field(default_factory=dict)
    actor_org: str = ""
    actor_client_id: str = ""
    request_id: str = ""
