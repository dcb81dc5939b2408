"""The stats consumer: keeps the daily rollup of support actions from `service.recorded`.

Each batch rolls up the services its events name (services.stats.rollup.roll_up): one
statement flags those not rolled up yet and returns them, and their counts per UTC day and type
are added to `stats_support_actions_daily`, in the batch transaction that also records the
event ids and the offsets (events/consumers/base.py). A service is added once however many
events name it (a replay, a duplicate under another id); the figures come from its row, not
from the event. The statistics read the rollup for whole days (services.stats.queries) instead
of summing millions of services.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from events.cloudevents import ReceivedEvent
from events.consumers.base import StreamConsumer
from services.messages import TOPIC_EVENTS, DomainEvent
from services.stats.rollup import roll_up
from services.support.events import ServiceRecorded


class StatsConsumer(StreamConsumer):
    name = "stats"
    topics = (TOPIC_EVENTS,)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._services: set[str] = set()

    def apply(self, session: Session, event: ReceivedEvent, topic: str) -> Sequence[DomainEvent]:
        if event.type == ServiceRecorded.type:
            # Gathered, rolled up once per batch: one UPDATE, one upsert per day and type.
            self._services.add(service_id(event))
        return ()

    def start_batch(self) -> None:
        self._services = set()

    def finish_batch(self, session: Session) -> Sequence[DomainEvent]:
        services, self._services = self._services, set()
        roll_up(session, services)
        return ()


def service_id(event: ReceivedEvent) -> str:
    """The service a `service.recorded` event names. One without raises, and is dead-lettered."""
    value = event.data["service_id"]
    if not isinstance(value, str) or not value:
        raise ValueError("service.recorded without a service id")
    return value
