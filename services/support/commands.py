from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RecordService:
    case_id: str
    type: str
    delivered_at: datetime
    count: int = 1
    provider_org: str | None = None  # the actor's own org when not given
    referral_id: str | None = None
