"""The notification consumer: domain events in, per-org notifications (and webhook deliveries)
out, in the transaction that also records the event as processed and the new offsets."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from events.cloudevents import ReceivedEvent
from events.consumers.base import StreamConsumer
from services.messages import TOPIC_EVENTS, DomainEvent
from services.notifications.commands import EventReceived
from services.notifications.handlers import notify_all


class NotificationConsumer(StreamConsumer):
    name = "notifications"
    topics = (TOPIC_EVENTS,)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._received: list[EventReceived] = []

    def start_batch(self) -> None:
        self._received = []

    def apply(self, session: Session, event: ReceivedEvent, topic: str) -> Sequence[DomainEvent]:
        # Collected, then turned into notifications once per batch (a few queries per poll).
        self._received.append(
            EventReceived(
                id=event.id,
                type=event.type,
                time=event.time,
                subject=event.subject,
                data=event.data,
                actor_org=event.actor_org,
                actor_client_id=event.actor_client_id,
                request_id=event.request_id,
            )
        )
        return ()

    def finish_batch(self, session: Session) -> Sequence[DomainEvent]:
        received, self._received = self._received, []
        return notify_all(session, received, self.clock.now())
