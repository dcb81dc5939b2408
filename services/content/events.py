"""Content facts (CONTRACT section 5): ids and codes, never a URL or a description."""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from services.messages import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ContentRegistered(DomainEvent):
    type: ClassVar[str] = "content.registered"
    owner_org: str
    content_id: str
    kind: str
    involves_minor: bool
    status: str


@dataclass(frozen=True, kw_only=True)
class ContentSighted(DomainEvent):
    type: ClassVar[str] = "content.sighted"
    owner_org: str
    content_id: str
    sighting_id: str
    state: str  # of the sighting: online or removed
    status: str  # of the item, after the sighting
    recorded_by_org: str


@dataclass(frozen=True, kw_only=True)
class ContentRemoved(DomainEvent):
    type: ClassVar[str] = "content.removed"
    owner_org: str
    content_id: str
    involves_minor: bool
    referral_id: str | None
    takedown_requested_at: datetime | None = None
    removed_at: datetime | None = None
    seconds_to_removal: int | None = None  # from the takedown request, for the statistics


@dataclass(frozen=True, kw_only=True)
class ContentReuploadDetected(DomainEvent):
    """A monitoring hit matched a known item (issue 7). Its owning center is notified."""

    type: ClassVar[str] = "content.reupload_detected"
    owner_org: str
    content_id: str
    sighting_id: str
    previous_status: str  # of the item before the hit
    status: str  # after it: `reappeared` if it had been removed
    match_type: str  # sha256 or pdq
    distance: int  # PDQ Hamming distance; 0 for an exact SHA-256 match
    detected_by_org: str
    draft_referral_id: str | None = None  # the takedown drafted for the center to send
