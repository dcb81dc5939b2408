"""Consent facts (CONTRACT section 5). Ids and codes only."""

from dataclasses import dataclass
from typing import ClassVar

from services.messages import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ConsentGranted(DomainEvent):
    type: ClassVar[str] = "consent.granted"
    owner_org: str
    consent_id: str
    purpose: str
    granted_by: str
    legal_basis: str | None


@dataclass(frozen=True, kw_only=True)
class ConsentRevoked(DomainEvent):
    type: ClassVar[str] = "consent.revoked"
    owner_org: str
    consent_id: str
    purpose: str
    # The orgs whose access the revocation cut: each is told at once.
    affected_orgs: tuple[str, ...]
