"""The audit log's tables: entries (the leaves), the tree's perfect-subtree hashes, the tree
state row that serialises appends, the signed checkpoints and the witnesses' cosignatures.

Each entry is a leaf of the RFC 9162 Merkle log (the hashing lives in `merkle.py`). Its leaf is
the RFC 8785 canonical JSON of `document()`, and `leaf_hash` is SHA-256(0x00 || leaf). Entries hold
ids, codes and times only: never a name, a phone number, a note or a query string.
Entries and nodes are append-only: the database refuses UPDATE and DELETE on them (migration 0006).
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.audit.canonical import canonical_json
from services.audit.merkle import leaf_hash
from services.db import Base

OUTCOMES = ("allowed", "denied")

#: The entry fields a leaf covers, in the order the export writes them.
LEAF_FIELDS = (
    "index",
    "at",
    "org",
    "client_id",
    "action",
    "resource",
    "outcome",
    "request_id",
    "case_id",
    "event_id",
)


def format_time(value: datetime) -> str:
    """RFC 3339 UTC with microseconds: the one spelling of a time in a leaf, stable on both DBs."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    # Gap-free from 0: the leaf index in the Merkle log. Assigned by the appender, never reused.
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    org: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(80))
    resource: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(64))
    # The CloudEvent id this entry records: the consumer's dedupe key.
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    leaf_hash: Mapped[str] = mapped_column(String(64))  # lowercase hex

    __table_args__ = (
        Index("ix_audit_entries_case_id", "case_id", "index"),
        Index("ix_audit_entries_org", "org", "index"),
        Index("ix_audit_entries_at", "at"),
    )

    def document(self) -> dict[str, Any]:
        """The entry as a leaf covers it: every field except `leaf_hash` itself."""
        return entry_document(
            index=self.index,
            at=self.at,
            org=self.org,
            client_id=self.client_id,
            action=self.action,
            resource=self.resource,
            outcome=self.outcome,
            request_id=self.request_id,
            case_id=self.case_id,
            event_id=self.event_id,
        )

    def seal(self) -> None:
        """Compute `leaf_hash` from the other fields; called once, when the entry is appended."""
        self.leaf_hash = compute_leaf_hash(self.document())


class AuditTreeNode(Base):
    """The hash of one perfect subtree: leaves [index * 2**level, (index + 1) * 2**level).

    Written once, when its last leaf is appended; proofs read O(log n) of these rows.
    """

    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditTreeState(Base):
    """One row (id 1): the tree size. Appenders lock it FOR UPDATE, so indexes stay gap-free."""

    __tablename__ = "audit_tree_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)


class AuditCheckpoint(Base):
    """A signed tree head: the C2SP tlog-checkpoint note as the log signed it."""

    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime]


class AuditCosignature(Base):
    """A witness's cosignature/v1 on one checkpoint, with the key that verifies it."""

    __tablename__ = "audit_cosignatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checkpoint_size: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_checkpoints.size"))
    witness: Mapped[str] = mapped_column(String(128))  # key name
    verifier_key: Mapped[str] = mapped_column(String(256))
    line: Mapped[str] = mapped_column(Text)  # the signature line, as appended to the note
    cosigned_at: Mapped[datetime]  # the timestamp the cosignature signs
    org: Mapped[str] = mapped_column(String(64))  # who posted it
    received_at: Mapped[datetime]

    __table_args__ = (
        Index(
            "uq_audit_cosignatures_checkpoint_witness",
            "checkpoint_size",
            "verifier_key",
            unique=True,
        ),
    )


def entry_document(
    *,
    index: int,
    at: datetime | str,
    org: str | None,
    client_id: str | None,
    action: str,
    resource: str,
    outcome: str,
    request_id: str | None,
    case_id: str | None,
    event_id: str,
) -> dict[str, Any]:
    return {
        "index": index,
        "at": at if isinstance(at, str) else format_time(at),
        "org": org,
        "client_id": client_id,
        "action": action,
        "resource": resource,
        "outcome": outcome,
        "request_id": request_id,
        "case_id": case_id,
        "event_id": event_id,
    }


def canonical_leaf(document: dict[str, Any]) -> bytes:
    """RFC 8785 (JCS) canonical JSON of an entry document: the bytes the Merkle leaf covers."""
    return canonical_json(document)


def compute_leaf_hash(document: dict[str, Any]) -> str:
    return leaf_hash(canonical_leaf(document)).hex()
