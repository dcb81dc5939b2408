"""Reading the audit log: entries, checkpoints with their cosignatures, and RFC 9162 proofs.

Proofs and roots are built from the stored perfect-subtree hashes, O(log n) rows each; the tree
is never rebuilt for a request.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.actor import Actor
from services.audit.commands import EntryFilters
from services.audit.log import NodeStore
from services.audit.merkle import consistency_proof, inclusion_proof, root
from services.audit.models import AuditCheckpoint, AuditCosignature, AuditEntry
from services.audit.note import Checkpoint
from services.audit.policy import entry_filter, reads_every_entry
from services.errors import InvalidInput, NotFound
from services.pagination import Page, PageRequest

LIST_NAME = "audit-entries"
#: Entry indexes are BIGINT: no log is larger, and larger positions would not even bind.
MAX_TREE_SIZE = 2**63 - 1


def list_entries(
    session: Session, actor: Actor, filters: EntryFilters, page: PageRequest
) -> Page[AuditEntry]:
    """Entries the actor may read, newest first, keyed on the index."""
    stmt = select(AuditEntry).where(entry_filter(actor))
    if filters.case_id is not None:
        stmt = stmt.where(AuditEntry.case_id == filters.case_id)
    if filters.org is not None:
        stmt = stmt.where(AuditEntry.org == filters.org)
    if filters.client_id is not None:
        stmt = stmt.where(AuditEntry.client_id == filters.client_id)
    if filters.action is not None:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.outcome is not None:
        stmt = stmt.where(AuditEntry.outcome == filters.outcome)
    if filters.at_from is not None:
        stmt = stmt.where(AuditEntry.at >= filters.at_from)
    if filters.at_to is not None:
        stmt = stmt.where(AuditEntry.at < filters.at_to)
    if page.after is not None:
        try:
            after = int(page.after)
        except ValueError:
            raise InvalidInput("bad cursor", errors={"cursor": ["not valid"]}) from None
        stmt = stmt.where(AuditEntry.index < after)
    rows = list(session.scalars(stmt.order_by(AuditEntry.index.desc()).limit(page.limit + 1)))
    items = rows[: page.limit]
    more = len(rows) > page.limit
    return Page(items, str(items[-1].index) if more and items else None)


def get_entry(session: Session, actor: Actor, index: int) -> AuditEntry:
    if index > MAX_TREE_SIZE:  # would not even bind
        raise NotFound("no such audit entry")
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.index == index, entry_filter(actor))
    ).one_or_none()
    if entry is None:
        raise NotFound("no such audit entry")
    return entry


@dataclass(frozen=True)
class CheckpointView:
    checkpoint: AuditCheckpoint
    parsed: Checkpoint
    cosignatures: list[AuditCosignature]

    @property
    def note(self) -> str:
        """The signed note with every cosignature line appended (C2SP signed-note)."""
        return self.checkpoint.note + "".join(c.line for c in self.cosignatures)


def get_checkpoint(session: Session, size: int | None = None) -> CheckpointView:
    """The latest signed checkpoint, or the one of `size`."""
    stmt = select(AuditCheckpoint)
    if size is None:
        stmt = stmt.order_by(AuditCheckpoint.size.desc()).limit(1)
    else:
        _check_possible(size)
        stmt = stmt.where(AuditCheckpoint.size == size)
    checkpoint = session.scalars(stmt).one_or_none()
    if checkpoint is None:
        raise NotFound("no signed checkpoint" + (f" of size {size}" if size is not None else ""))
    return view_checkpoint(session, checkpoint)


def view_checkpoint(session: Session, checkpoint: AuditCheckpoint) -> CheckpointView:
    body = checkpoint.note[: checkpoint.note.rfind("\n\n") + 1]
    cosignatures = list(
        session.scalars(
            select(AuditCosignature)
            .where(AuditCosignature.checkpoint_size == checkpoint.size)
            .order_by(AuditCosignature.id)
        )
    )
    return CheckpointView(checkpoint, Checkpoint.from_note_body(body), cosignatures)


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    root_hash: bytes
    path: Sequence[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: Sequence[bytes]


def prove_inclusion(session: Session, actor: Actor, index: int, size: int | None) -> InclusionProof:
    """Audit path of leaf `index` in the tree of `size` (default: the latest checkpoint).

    Only for an entry the actor may read (`NotFound` otherwise, as for the entry itself). For
    the auditor, who reads every entry, this is one database round trip (two with the default
    size); a support center's proof first checks that the entry is about one of its cases.
    """
    _outside_a_transaction(session)
    if size is None:
        size = _latest_signed_size(session)
    _check_possible(size)
    if not 0 <= index < size:
        raise InvalidInput(
            f"index must be from 0 to {size - 1}" if size else "the tree is empty",
            errors={"index": [f"not in a tree of size {size}"]},
        )
    if not reads_every_entry(actor):
        get_entry(session, actor, index)
    store = NodeStore(session)
    current = store.prefetch_for(
        lambda nodes: nodes.subtree_hash(0, index),
        lambda nodes: root(nodes, size),
        lambda nodes: inclusion_proof(nodes, index, size),
    )
    _check_size(size, current)
    return InclusionProof(
        index=index,
        tree_size=size,
        leaf_hash=store.subtree_hash(0, index),
        root_hash=root(store, size),
        path=inclusion_proof(store, index, size),
    )


def prove_consistency(session: Session, first: int, second: int | None) -> ConsistencyProof:
    """Proof that the tree of `first` entries is a prefix of the tree of `second`: one database
    round trip (two with the default `second`)."""
    _outside_a_transaction(session)
    if second is None:
        second = _latest_signed_size(session)
    _check_possible(second)
    if not 0 < first <= second:
        raise InvalidInput(
            f"first must be from 1 to second ({second})",
            errors={"first": [f"from 1 to {second}"]},
        )
    store = NodeStore(session)
    current = store.prefetch_for(
        lambda nodes: root(nodes, first),
        lambda nodes: root(nodes, second),
        lambda nodes: consistency_proof(nodes, first, second),
    )
    _check_size(second, current)
    return ConsistencyProof(
        first=first,
        second=second,
        first_root=root(store, first),
        second_root=root(store, second),
        path=consistency_proof(store, first, second),
    )


def _outside_a_transaction(session: Session) -> None:
    """A proof reads the log with one statement, which sees one snapshot by itself (with a
    default size or a support center's entry check, each further read only finds the
    append-only log the same or longer). So on PostgreSQL a fresh session reads without a
    transaction: no BEGIN and no ROLLBACK, two of the request's four round trips. The pool
    puts the connection's own isolation level back when the session ends."""
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _check_possible(size: int) -> None:
    if size > MAX_TREE_SIZE:
        raise NotFound(f"no log has more than {MAX_TREE_SIZE} entries")


def _check_size(size: int, current: int) -> None:
    # Checked after the read that also fetched the nodes: a tree the log has not reached yet
    # simply lacks some of them.
    if size > current:
        raise NotFound(f"the log has {current} entries, not {size}")


def _latest_signed_size(session: Session) -> int:
    size = session.scalar(select(AuditCheckpoint.size).order_by(AuditCheckpoint.size.desc()))
    if size is None:
        raise NotFound("no signed checkpoint yet")
    return int(size)
