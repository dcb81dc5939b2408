"""The notification consumer: domain events in, per-org notifications (and webhook deliveries)
out, in the transaction that also records the event as processed and the new offsets."""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from events.cloudevents import ReceivedEvent
from events.consumers.base import StreamConsumer
from services.messages import TOPIC_EVENTS, DomainEvent
from services.notifications.commands import EventReceived
from services.notifications.handlers import notify


class NotificationConsumer(StreamConsumer):
    name = "notifications"
    topics = (TOPIC_EVENTS,)

    def apply(self, session: Session, event: ReceivedEvent, topic: str) -> Sequence[DomainEvent]:
        received = EventReceived(
            id=event.id,
            type=event.type,
            time=event.time,
            subject=event.subject,
            data=event.data,
            actor_org=event.actor_org,
            actor_client_id=event.actor_client_id,
            request_id=event.request_id,
        )
        return notify(session, received, self.clock.now())
