"""Audit entries: one per event and per API access, appended by the audit consumer.

Each entry is a leaf of the RFC 9162 Merkle log (the tree itself lives in `merkle.py`). Its leaf is
the RFC 8785 canonical JSON of `document()`, and `leaf_hash` is SHA-256(0x00 || leaf). Entries hold
ids, codes and times only: never a name, a phone number, a note or a query string.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.audit.canonical import canonical_json
from services.audit.merkle import leaf_hash
from services.db import Base

OUTCOMES = ("allowed", "denied")


def format_time(value: datetime) -> str:
    """RFC 3339 UTC with microseconds: the one spelling of a time in a leaf, stable on both DBs."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    # Gap-free from 0: the leaf index in the Merkle log. Assigned by the appender, never reused.
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    org: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(80))
    resource: Mapped[str] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # The CloudEvent id this entry records: the consumer's dedupe key.
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    leaf_hash: Mapped[str] = mapped_column(String(64))  # lowercase hex

    __table_args__ = (
        Index("ix_audit_entries_case_id", "case_id"),
        Index("ix_audit_entries_org", "org"),
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


def entry_document(
    *,
    index: int,
    at: datetime,
    org: str,
    client_id: str,
    action: str,
    resource: str,
    outcome: str,
    request_id: str,
    case_id: str | None,
    event_id: str,
) -> dict[str, Any]:
    return {
        "index": index,
        "at": format_time(at),
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
