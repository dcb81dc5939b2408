"""The stats consumer: keeps the daily rollup of support actions from `service.recorded`.

Each batch rolls up the services its events name (services.stats.rollup.roll_up): one
statement flags those not rolled up yet and returns them, and their counts per UTC day and type
are added to `stats_support_actions_daily`, in the batch transaction that also records the
event ids and the offsets (events/consumers/base.py). A service is added once however many
events name it (a replay, a duplicate under another id); the figures come from its row, not
from the event. The statistics read the rollup for whole days (services.stats.queries) instead
of summing millions of services.

An event that never reaches the consumer (dead-lettered, say after a database error, or lost
with the broker's data) would leave its service out for good: so, when idle, the consumer also
rolls up the services still pending, at start and then every minute. Rolling up a service
before its event arrives is harmless: the event then adds nothing.
"""

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from events.cloudevents import ReceivedEvent
from events.consumers.base import StreamConsumer
from services.messages import TOPIC_EVENTS, DomainEvent
from services.stats.rollup import roll_up, roll_up_pending
from services.support.events import ServiceRecorded

SWEEP_EVERY_S = 60.0


class StatsConsumer(StreamConsumer):
    name = "stats"
    topics = (TOPIC_EVENTS,)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._services: set[str] = set()
        self._swept_at: float | None = None

    def poll_once(self, timeout_ms: int = 200) -> int:
        polled = super().poll_once(timeout_ms)
        now = time.monotonic()
        if not polled and (self._swept_at is None or now - self._swept_at >= SWEEP_EVERY_S):
            self.roll_up_pending()
            self._swept_at = now
        return polled

    def roll_up_pending(self) -> int:
        """Roll up every service still pending, a batch per transaction; how many it added."""
        added = 0
        while True:
            with self.session_factory() as session:
                swept = roll_up_pending(session, self.max_records)
                session.commit()
            added += swept
            if swept < self.max_records:
                return added

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
