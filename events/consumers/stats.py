"""The stats consumer: keeps the daily rollup of support actions from `service.recorded`.

Each batch adds its services' counts per UTC day and type to `stats_support_actions_daily`,
in the batch transaction that also records the event ids and the offsets (events/consumers/
base.py): an event read twice (a replay, a duplicate) is added once. The statistics read the
rollup for whole days (services.stats.queries) instead of summing millions of services.
"""

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from events.cloudevents import ReceivedEvent
from events.consumers.base import StreamConsumer
from services.messages import TOPIC_EVENTS, DomainEvent
from services.stats.rollup import DayAndType, add_support_actions, utc_day
from services.support.events import ServiceRecorded


class StatsConsumer(StreamConsumer):
    name = "stats"
    topics = (TOPIC_EVENTS,)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._actions: Counter[DayAndType] = Counter()

    def apply(self, session: Session, event: ReceivedEvent, topic: str) -> Sequence[DomainEvent]:
        if event.type == ServiceRecorded.type:
            # Summed in memory, written once per batch: one upsert per day and type touched.
            self._actions[support_actions(event)] += int(event.data["count"])
        return ()

    def start_batch(self) -> None:
        self._actions = Counter()

    def finish_batch(self, session: Session) -> Sequence[DomainEvent]:
        actions, self._actions = self._actions, Counter()
        add_support_actions(session, actions)
        return ()


def support_actions(event: ReceivedEvent) -> DayAndType:
    """The rollup row of a `service.recorded` event: the UTC day it was delivered, its type.
    A record without them raises, and is dead-lettered."""
    delivered_at = datetime.fromisoformat(str(event.data["delivered_at"]).replace("Z", "+00:00"))
    if delivered_at.tzinfo is None:
        raise ValueError("delivered_at without a time zone")
    return utc_day(delivered_at), str(event.data["service_type"])
