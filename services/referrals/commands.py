from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class CreateReferral:
    type: str
    to_org: str
    case_id: str | None = None
    content_ids: list[str] = field(default_factory=list)
    share_victim_identity: bool = False
    note: str | None = None
    draft: bool = False  # created as `draft`, to be sent later; otherwise sent (`requested`)
    based_on: str | None = None
    legal_basis: str | None = None
    # A police `victim_support` referral has no case yet: what the center needs to open one.
    harm_types: list[str] | None = None
    victim_age_band: str | None = None


@dataclass(frozen=True)
class PostReferralUpdate:
    referral_id: str
    expected_version: int | None
    status: str | None = None
    business_status: str | None = None
    note: str | None = None
    reason: str | None = None
    occurred_at: datetime | None = None
