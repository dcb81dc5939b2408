"""The unit of work: owns one transaction, and writes the outbox rows of its events in it.

Or it joins a `SharedTransaction` that its owner commits once, later: a write request's units
of work do (coordination/http/transaction.py), so that the change, the stored answer of its
Idempotency-Key and the request's access record commit together.
"""

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from sqlalchemy.orm import Session, sessionmaker

from services.actor import SYSTEM, Actor
from services.clock import Clock, SystemClock
from services.messages import Aggregate, DomainEvent, next_sequence
from services.outbox.writer import insert_rows, outbox_values


class SharedTransaction:
    """One transaction that units of work write into one after another; its owner commits it.

    A joining unit's `commit()` writes its changes into it and hands it its events' outbox rows
    (`pending`); the owner's `commit()` inserts every unit's rows in one INSERT, and commits. A
    unit that ends without committing, or with an exception, rolls back everything in it so
    far, as its own transaction would have been rolled back: so units join in sequence, each
    committing what must stay.
    """

    def __init__(self, session_factory: sessionmaker[Any]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None
        self._rows: list[dict[str, Any]] = []
        self._if_lost: list[Callable[[], None]] = []
        #: A unit of work committed into it: there is something for the owner to commit.
        self.pending = False

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    def add(self, rows: list[dict[str, Any]]) -> None:
        """A unit of work committed into it, with its events' outbox rows."""
        self._rows.extend(rows)
        self.pending = True

    def if_lost(self, undo: Callable[[], None]) -> None:
        """UNDO (which must not raise) is called if the owner's commit fails or is abandoned:
        for what was done outside of this transaction on the strength of it."""
        self._if_lost.append(undo)

    def commit(self) -> None:
        """The units' outbox rows, then the commit. If it fails, the owner calls `abandon()`."""
        insert_rows(self.session, self._rows)
        self.session.commit()
        self._rows, self._if_lost, self.pending = [], [], False

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
        self._rows, self.pending = [], False

    def abandon(self) -> None:
        """Roll back and undo: the owner will not (or could not) commit."""
        undo, self._if_lost = self._if_lost, []
        try:
            self.rollback()
        finally:
            for call in undo:
                call()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        self._rows, self._if_lost, self.pending = [], [], False


class UnitOfWork:
    session: Session

    def __init__(
        self,
        session_factory: sessionmaker[Any],
        clock: Clock | None = None,
        *,
        actor: Actor = SYSTEM,
        request_id: str = "",
        joins: SharedTransaction | None = None,
    ) -> None:
        self._session_factory = session_factory
        self.clock: Clock = clock or SystemClock()
        # Stamped on every outbox row, so each event says who caused it and in which request.
        self.actor = actor
        self.request_id = request_id
        self._joins = joins
        self._committed = False
        self._loose_events: list[tuple[int, DomainEvent]] = []
        self._rows: list[dict[str, Any]] = []

    def __enter__(self) -> Self:
        self.session = self._joins.session if self._joins else self._session_factory()
        self._loose_events = []
        self._rows = []
        self._committed = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._joins is None:
            self.rollback()  # nothing, after a commit
            self.session.close()
        elif exc_type is not None or not self._committed:
            self.rollback()

    def announce(self, event: DomainEvent) -> None:
        """Record an event that belongs to no single aggregate (an access record, a sweep)."""
        self._loose_events.append((next_sequence(), event))

    def write_rows(self, rows: list[dict[str, Any]]) -> None:
        """Outbox rows made by the caller (`outbox_values`), for events that need their own
        actor or request id: written at the commit, with the unit's own events' rows."""
        self._rows.extend(rows)

    def commit(self) -> None:
        now = self.clock.now()
        rows = [
            outbox_values(event, now, self.actor, self.request_id)
            for event in self._collect_events()
        ]
        rows.extend(self._rows)
        self._rows = []
        # The changes first, then the events' rows (plain rows, one INSERT), then the commit.
        self.session.flush()
        if self._joins is None:
            insert_rows(self.session, rows)
            self.session.commit()
        else:
            self._joins.add(rows)  # inserted with the other units' at the owner's commit
        self._committed = True

    def rollback(self) -> None:
        if self._joins is None:
            self.session.rollback()
        else:
            self._joins.rollback()
        self._loose_events = []
        self._rows = []

    def _collect_events(self) -> list[DomainEvent]:
        events = list(self._loose_events)
        self._loose_events = []
        for obj in [*self.session.new, *self.session.identity_map.values()]:
            if isinstance(obj, Aggregate):
                events.extend(obj.pull_events())
        return [event for _, event in sorted(events, key=lambda pair: pair[0])]
