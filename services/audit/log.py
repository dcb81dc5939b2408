"""Appending to the audit log: gap-free indexes, leaf hashes and the stored subtree hashes.

This is the interface the audit consumer calls, once per batch of events:

    entries = append_entries(session, [EntryDraft(...), ...])
    session.commit()  # the caller commits, with its own offsets/dedupe rows

Appends are serialised by a lock on the single tree-state row (SELECT ... FOR UPDATE on
PostgreSQL; SQLite transactions already start with BEGIN IMMEDIATE), so the next index is
always the current size. Each append writes the entry and every perfect subtree its leaf
completes, so any root or proof later needs only O(log n) node reads.
"""

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, TextClause, insert, select, text
from sqlalchemy.orm import Session

from services.audit.merkle import SubtreeHashes, completed_subtrees
from services.audit.models import (
    AuditEntry,
    AuditTreeNode,
    AuditTreeState,
    compute_leaf_hash,
    entry_document,
)
from services.db import Base, one_of

STATE_ROW_ID = 1


@dataclass(frozen=True)
class EntryDraft:
    """One audit entry before it has an index: what happened, who did it, to what, and when."""

    at: datetime
    org: str | None
    client_id: str | None
    action: str
    resource: str
    outcome: str  # "allowed" or "denied"
    request_id: str | None
    case_id: str | None
    event_id: str  # the CloudEvent id; an event already in the log is skipped


class NodeStore:
    """Perfect-subtree hashes read from `audit_tree_nodes`, with a cache of what was read or
    written in this session. `reads` counts database round trips (tests assert O(log n))."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._cache: dict[tuple[int, int], bytes] = {}
        self.reads = 0

    def subtree_hash(self, level: int, index: int) -> bytes:
        key = (level, index)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        self.reads += 1
        found = self._session.scalar(
            select(AuditTreeNode.hash).where(
                AuditTreeNode.level == level, AuditTreeNode.index == index
            )
        )
        if found is None:
            raise LookupError(key)
        self._cache[key] = bytes(found)
        return self._cache[key]

    def prefetch(self, keys: Sequence[tuple[int, int]]) -> int:
        """Read many nodes in one query, and the tree size in the same statement; returns it.

        One statement sees one snapshot, so the size and the nodes always agree, and a proof
        costs one round trip to the database however many nodes it needs.
        """
        wanted = [key for key in keys if key not in self._cache]
        self.reads += 1
        size = 0
        for level, index, hash_ in self._session.execute(*_nodes_and_size(self._session, wanted)):
            if level < 0:
                size = int(index)
            else:
                self._cache[(level, index)] = bytes(hash_)
        return size

    def remember(self, level: int, index: int, hash_: bytes) -> None:
        self._cache[(level, index)] = hash_

    def prefetch_for(self, *computations: Callable[[SubtreeHashes], object]) -> int:
        """Read, in one query, every node the computations will ask for; returns the tree size.

        Which nodes a root or a proof needs depends only on positions, never on hash values,
        so a dry run against a store that records the keys tells exactly what to read.
        """
        recorder = _KeyRecorder()
        for computation in computations:
            computation(recorder)
        return self.prefetch(list(dict.fromkeys(recorder.keys)))


# The tree size as a row of its own (level -1), then the nodes: one statement, one snapshot.
_SIZE_ROW = 'SELECT -1 AS level, size AS "index", NULL AS hash FROM audit_tree_state WHERE id = 1'
# PostgreSQL: one constant statement with the positions bound as two arrays, so psycopg prepares
# it after a few runs and planning is paid once per connection; a nested loop over the
# unnest()ed arrays probes the primary key once per node.
_PG_NODES = text(
    " UNION ALL ".join(
        (
            _SIZE_ROW,
            'SELECT n.level, n."index", n.hash'
            " FROM unnest(CAST(:levels AS integer[]), CAST(:indexes AS bigint[])) AS k(level, idx)"
            ' JOIN audit_tree_nodes n ON n.level = k.level AND n."index" = k.idx',
        )
    )
)


def _nodes_and_size(
    session: Session, keys: Sequence[tuple[int, int]]
) -> tuple[TextClause, dict[str, object]]:
    if session.get_bind().dialect.name == "postgresql":
        return _PG_NODES, {
            "levels": [level for level, _ in keys],
            "indexes": [index for _, index in keys],
        }
    # SQLite has no arrays; it plans an OR of primary-key lookups as index probes (a row-value
    # IN (VALUES ...) made it scan the table). The integers are computed positions, never
    # client text, so they are inlined.
    condition = " OR ".join(
        f'(level = {int(level)} AND "index" = {int(index)})' for level, index in keys
    )
    nodes = f'SELECT level, "index", hash FROM audit_tree_nodes WHERE {condition}'  # noqa: S608
    return text(f"{_SIZE_ROW} UNION ALL {nodes}" if keys else _SIZE_ROW), {}


class _KeyRecorder:
    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []

    def subtree_hash(self, level: int, index: int) -> bytes:
        self.keys.append((level, index))
        return bytes(32)


def _clip(value: str | None, column: str) -> str | None:
    """Values longer than their column (e.g. a case id taken from a hostile path) are cut to
    fit before hashing, so one odd event can never stop the log from growing."""
    length: int = getattr(AuditEntry.__table__.c[column].type, "length", None) or 0
    return value[:length] if value is not None and length and len(value) > length else value


def border_nodes(size: int) -> list[tuple[int, int]]:
    """(level, index) of the perfect subtrees covering leaves [0, size), one per set bit."""
    return [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]


def lock_tree(session: Session) -> AuditTreeState:
    """The tree-state row, locked until the caller's transaction ends."""
    state = session.scalars(
        select(AuditTreeState).where(AuditTreeState.id == STATE_ROW_ID).with_for_update()
    ).one_or_none()
    if state is None:  # migration 0006 inserts it; a bare metadata.create_all() does not
        state = AuditTreeState(id=STATE_ROW_ID, size=0)
        session.add(state)
        session.flush()
    return state


def tree_size(session: Session) -> int:
    """The number of entries in the log (committed or in this transaction)."""
    size = session.scalar(select(AuditTreeState.size).where(AuditTreeState.id == STATE_ROW_ID))
    return int(size or 0)


@dataclass(frozen=True, slots=True)
class Appended:
    """Where a draft went: its index and leaf hash (the rest is what the draft said)."""

    index: int
    leaf_hash: str  # lowercase hex


def append_entries(session: Session, drafts: Sequence[EntryDraft]) -> list[Appended]:
    """Append the drafts in order and return where each went; the caller commits. Rows are
    written with bulk inserts, never as ORM objects (building those was a fifth of the audit
    consumer's time).

    Drafts whose `event_id` is already in the log (or earlier in the batch) are skipped, so a
    redelivered event is recorded once.
    """
    if not drafts:
        return []
    state = lock_tree(session)
    seen = set(
        session.scalars(
            select(AuditEntry.event_id).where(
                one_of(session, AuditEntry.event_id, list({d.event_id for d in drafts}), String)
            )
        )
    )
    store = NodeStore(session)
    size = state.size
    store.prefetch(border_nodes(size))
    appended: list[Appended] = []
    entry_rows: list[dict[str, object]] = []
    node_rows: list[dict[str, object]] = []
    for draft in drafts:
        if draft.event_id in seen:
            continue
        seen.add(draft.event_id)
        if draft.at.tzinfo is None:
            raise ValueError("an audit entry's time must be timezone-aware")
        fields = {
            "at": draft.at,
            "org": _clip(draft.org, "org"),
            "client_id": _clip(draft.client_id, "client_id"),
            "action": _clip(draft.action, "action"),
            "resource": _clip(draft.resource, "resource"),
            "outcome": _clip(draft.outcome, "outcome"),
            "request_id": _clip(draft.request_id, "request_id"),
            "case_id": _clip(draft.case_id, "case_id"),
            "event_id": draft.event_id,
        }
        digest = compute_leaf_hash(entry_document(index=size, **fields))  # type: ignore[arg-type]
        entry_rows.append({"index": size, "leaf_hash": digest, **fields})
        appended.append(Appended(size, digest))
        for node in completed_subtrees(store, size, bytes.fromhex(digest)):
            store.remember(node.level, node.index, node.hash)
            node_rows.append({"level": node.level, "index": node.index, "hash": node.hash})
        size += 1
    if appended:
        _insert_rows(session, AuditEntry, entry_rows)
        _insert_rows(session, AuditTreeNode, node_rows)
        state.size = size
        session.flush()
    return appended


def _insert_rows(session: Session, model: type[Base], rows: list[dict[str, object]]) -> None:
    """Insert many rows. On PostgreSQL as one JSON document in one constant statement
    (`json_populate_recordset` over the table's row type): executemany's per-row parameter
    handling was a third of the audit consumer's time. Elsewhere (SQLite, in-process) a Core
    executemany."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(model), rows)
        return
    document = json.dumps([{k: _json_value(v) for k, v in row.items()} for row in rows])
    session.execute(_json_insert(model), {"rows": document})


def _json_value(value: object) -> object:
    # The text forms PostgreSQL reads back into the columns' types: timestamptz, bytea.
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    return value


@functools.cache
def _json_insert(model: type[Base]) -> TextClause:
    table = model.__tablename__
    names = ", ".join(f'"{column.name}"' for column in model.__table__.columns)
    return text(
        f"INSERT INTO {table} ({names}) SELECT {names}"  # noqa: S608 - our own table
        f" FROM json_populate_recordset(NULL::{table}, CAST(:rows AS json))"
    )
