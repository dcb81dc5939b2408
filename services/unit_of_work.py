"""The unit of work: owns one transaction, and writes the outbox rows of its events in it."""

from types import TracebackType
from typing import Any, Self

from sqlalchemy.orm import Session, sessionmaker

from services.actor import SYSTEM, Actor
from services.clock import Clock, SystemClock
from services.messages import Aggregate, DomainEvent, next_sequence
from services.outbox.writer import insert_rows, outbox_values


class UnitOfWork:
    session: Session

    def __init__(
        self,
        session_factory: sessionmaker[Any],
        clock: Clock | None = None,
        *,
        actor: Actor = SYSTEM,
        request_id: str = "",
    ) -> None:
        self._session_factory = session_factory
        self.clock: Clock = clock or SystemClock()
        # Stamped on every outbox row, so each event says who caused it and in which request.
        self.actor = actor
        self.request_id = request_id
        self._loose_events: list[tuple[int, DomainEvent]] = []

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        self._loose_events = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        self.session.close()

    def announce(self, event: DomainEvent) -> None:
        """Record an event that belongs to no single aggregate (an access record, a sweep)."""
        self._loose_events.append((next_sequence(), event))

    def commit(self) -> None:
        now = self.clock.now()
        rows = [
            outbox_values(event, now, self.actor, self.request_id)
            for event in self._collect_events()
        ]
        # The changes first, then the events' rows (plain rows, one INSERT), then the commit.
        self.session.flush()
        insert_rows(self.session, rows)
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
        self._loose_events = []

    def _collect_events(self) -> list[DomainEvent]:
        events = list(self._loose_events)
        self._loose_events = []
        for obj in [*self.session.new, *self.session.identity_map.values()]:
            if isinstance(obj, Aggregate):
                events.extend(obj.pull_events())
        return [event for _, event in sorted(events, key=lambda pair: pair[0])]
