"""Support delivered (CONTRACT section 5): ids, codes and counts."""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from services.messages import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ServiceRecorded(DomainEvent):
    type: ClassVar[str] = "service.recorded"
    owner_org: str
    service_id: str
    service_type: str
    provider_org: str
    count: int
    referral_id: str | None
    delivered_at: datetime
