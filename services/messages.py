"""What use cases announce: events recorded by aggregates, written to the outbox on commit."""

import dataclasses
import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

EVENT_TYPE_PREFIX = "org.coordination."

TOPIC_EVENTS = "coordination.events"
TOPIC_AUDIT = "coordination.audit"
TOPIC_NOTIFICATIONS = "coordination.notifications"
TOPIC_DEADLETTER = "coordination.deadletter"


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """A fact about one case. Subclasses set `type` and add fields: ids and codes, never PII."""

    type: ClassVar[str]
    topic: ClassVar[str] = TOPIC_EVENTS
    subject: str
    case_id: str

    @property
    def key(self) -> str:
        """The Kafka key: one case's events share a partition and so keep their order."""
        return self.case_id

    def data(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in dataclasses.asdict(self).items() if k != "subject"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (list, tuple, frozenset, set)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


_recorded = itertools.count()


class Aggregate:
    """Mixin for models that record events; the unit of work collects them on commit."""

    def record(self, event: DomainEvent) -> None:
        # Kept in __dict__ rather than as a mapped attribute: loaded rows skip __init__.
        # The counter lets the unit of work keep the order events happened in across aggregates.
        self.__dict__.setdefault("_pending_events", []).append((next(_recorded), event))

    def pull_events(self) -> list[tuple[int, DomainEvent]]:
        events: list[tuple[int, DomainEvent]] = self.__dict__.pop("_pending_events", [])
        return events


def next_sequence() -> int:
    return next(_recorded)
