"""Content facts (CONTRACT section 5): ids and codes, never a URL or a description."""

from dataclasses import dataclass
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
