"""What happens to a case (CONTRACT section 5). Ids and codes only, never personal data."""

from dataclasses import dataclass
from typing import ClassVar

from services.messages import DomainEvent


@dataclass(frozen=True, kw_only=True)
class CaseOpened(DomainEvent):
    type: ClassVar[str] = "case.opened"
    owner_org: str
    status: str
    age_band: str
    is_minor: bool
    harm_types: tuple[str, ...]
    origin_referral_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class CaseUpdated(DomainEvent):
    type: ClassVar[str] = "case.updated"
    owner_org: str
    changed: tuple[str, ...]  # field names, never their values
    status: str
    previous_status: str
    age_band: str
    is_minor: bool


@dataclass(frozen=True, kw_only=True)
class CaseClosed(DomainEvent):
    type: ClassVar[str] = "case.closed"
    owner_org: str
