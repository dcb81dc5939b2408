"""What callers ask of the audit log."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class EntryFilters:
    case_id: str | None = None
    org: str | None = None
    client_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    at_from: datetime | None = None  # inclusive
    at_to: datetime | None = None  # exclusive


@dataclass(frozen=True)
class CosignCheckpoint:
    """A witness's cosignature/v1 line on the checkpoint of `size`, with its verifier key."""

    size: int
    cosignature: str
    verifier_key: str
