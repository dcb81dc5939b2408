"""The hash index every worker process keeps, and the change feed that keeps them all correct.

Each process holds one `SharedIndex` (a HashIndex of every matchable item). Before a match it
reads one row, `hash_index_state.generation` (an O(1) primary-key read): unchanged, the index
is current; moved, it replays `hash_index_changes` above the generation it last saw, reloading
just the items (or cases) named there. So a hash registered in any process matches from the
next request on in every process, and the items of a closed or erased case stop matching.

The changes are written by a session hook (`record_index_changes`), in the same transaction as
the change itself, whenever a content item is added or its hashes change, or a case's status or
identity state changes: no handler has to remember to do it.

An item is matchable while its case is not `closed` and its victim identity not `erased`.
"""

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, event, func, insert, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from services.cases.models import Case
from services.content.matching import Entry, HashIndex, pdq_from_hex
from services.content.models import ContentItem
from services.db import dialect_insert
from services.monitoring.models import HashIndexChange, HashIndexState

STATE_ROW = 1
_LOAD_BATCH = 50_000
_CASE_FIELDS = ("status", "identity_state")
_HASH_FIELDS = ("sha256", "pdq", "pdq_quality", "case_id")


def is_matchable_case(case: Case) -> bool:
    return case.status != "closed" and case.identity_state != "erased"


def entry_of(item: ContentItem) -> Entry:
    pdq = pdq_from_hex(item.pdq) if item.pdq else None
    return Entry(item.id, item.sha256, pdq, item.pdq_quality if pdq is not None else None)


# ---- the change feed (write side) ----------------------------------------------------------


def _changed(obj: Any, fields: Iterable[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in fields)


@event.listens_for(Session, "after_flush")
def record_index_changes(session: Session, _context: UOWTransaction) -> None:
    """Log what may have changed matchability in this flush, bumping the generation once."""
    content_ids: set[str] = set()
    case_ids: set[str] = set()
    for obj in session.new:
        if isinstance(obj, ContentItem):
            content_ids.add(obj.id)
    for obj in session.dirty:
        if isinstance(obj, ContentItem) and _changed(obj, _HASH_FIELDS):
            content_ids.add(obj.id)
        elif isinstance(obj, Case) and _changed(obj, _CASE_FIELDS):
            case_ids.add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, ContentItem):
            content_ids.add(obj.id)
        elif isinstance(obj, Case):
            case_ids.add(obj.id)
    if not content_ids and not case_ids:
        return
    connection = session.connection()
    # An upsert rather than an UPDATE, so a state row lost to a table wipe is simply recreated.
    upsert = dialect_insert(connection, HashIndexState).values(id=STATE_ROW, generation=1)
    generation = connection.execute(
        upsert.on_conflict_do_update(
            index_elements=[HashIndexState.id],
            set_={"generation": HashIndexState.generation + 1},
        ).returning(HashIndexState.generation)
    ).scalar_one()
    now = datetime.now(UTC)
    rows = [
        {"generation": generation, "content_id": cid, "case_id": None, "changed_at": now}
        for cid in sorted(content_ids)
    ] + [
        {"generation": generation, "content_id": None, "case_id": kid, "changed_at": now}
        for kid in sorted(case_ids)
    ]
    connection.execute(insert(HashIndexChange), rows)


# ---- the per-process index (read side) -----------------------------------------------------


class SharedIndex:
    """One process's HashIndex, brought up to date with the database before each use."""

    def __init__(self) -> None:
        self.index = HashIndex()
        self._generation: int | None = None  # None: never loaded
        self._lock = threading.Lock()

    @property
    def generation(self) -> int | None:
        return self._generation

    def refresh(self, session: Session) -> None:
        """Catch up with the database: nothing if the generation did not move (one row read)."""
        current = current_generation(session)
        if current == self._generation:
            return
        with self._lock:
            # Read again under the lock: another thread may have caught up meanwhile, and only
            # a fresh read tells a generation that went back (a reset database) from a stale one.
            current = current_generation(session)
            seen = self._generation
            if seen == current:
                return
            if seen is None or seen > current or not _replayable(session, seen):
                # First use, a database that was reset, or changes pruned since: load it all.
                self._load_all(session)
            else:
                self._replay(session, seen, current)
            self._generation = current

    def _load_all(self, session: Session) -> None:
        """Every matchable item, streamed as plain columns (a million rows in seconds)."""
        index = HashIndex()
        stmt = (
            select(ContentItem.id, ContentItem.sha256, ContentItem.pdq, ContentItem.pdq_quality)
            .join(Case, Case.id == ContentItem.case_id)
            .where(Case.status != "closed", Case.identity_state != "erased")
            .execution_options(yield_per=_LOAD_BATCH)
        )
        for rows in session.execute(stmt).partitions():
            index.add_hex_rows([(row.id, row.sha256, row.pdq, row.pdq_quality) for row in rows])
        self.index = index

    def _replay(self, session: Session, seen: int, current: int) -> None:
        changes = session.execute(
            select(HashIndexChange.content_id, HashIndexChange.case_id).where(
                HashIndexChange.generation > seen, HashIndexChange.generation <= current
            )
        ).all()
        content_ids = {row.content_id for row in changes if row.content_id}
        case_ids = {row.case_id for row in changes if row.case_id}
        items: list[tuple[ContentItem, Case]] = []
        if content_ids:
            items += session.execute(
                select(ContentItem, Case)
                .join(Case, Case.id == ContentItem.case_id)
                .where(ContentItem.id.in_(sorted(content_ids)))
            ).all()
        if case_ids:
            items += session.execute(
                select(ContentItem, Case)
                .join(Case, Case.id == ContentItem.case_id)
                .where(ContentItem.case_id.in_(sorted(case_ids)))
            ).all()
        found = {item.id for item, _ in items}
        for content_id in content_ids - found:  # deleted
            self.index.remove(content_id)
        for item, case in items:
            if is_matchable_case(case):
                self.index.add_many([entry_of(item)])
            else:
                self.index.remove(item.id)


def _replayable(session: Session, seen: int) -> bool:
    """Every change above `seen` is still logged (the sweeper prunes old ones)."""
    oldest = session.scalar(select(func.min(HashIndexChange.generation)))
    return oldest is not None and oldest <= seen + 1


def prune_changes(session: Session, before: datetime) -> int:
    """Forget changes logged before `before`; a process that had not seen them reloads."""
    result = session.execute(delete(HashIndexChange).where(HashIndexChange.changed_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def current_generation(session: Session) -> int:
    value = session.scalar(select(HashIndexState.generation).where(HashIndexState.id == STATE_ROW))
    return int(value or 0)
