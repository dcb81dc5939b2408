"""Referral facts (CONTRACT section 5). Ids and codes only: never a note or a reason text.

A police `victim_support` referral has no case until the center accepts it; its events then
carry an empty `case_id` and are keyed by the referral id instead, and `owner_org` is the
sending police org until the center accepts it and owns the case.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from services.messages import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ReferralEvent(DomainEvent):
    owner_org: str
    referral_id: str
    from_org: str
    to_org: str
    referral_type: str
    status: str
    business_status: str | None = None

    @property
    def key(self) -> str:
        return self.case_id or self.referral_id


@dataclass(frozen=True, kw_only=True)
class ReferralRequested(ReferralEvent):
    type: ClassVar[str] = "referral.requested"
    content_ids: tuple[str, ...] = ()
    share_victim_identity: bool = False
    based_on: str | None = None
    due_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ReferralStatusChanged(ReferralEvent):
    type: ClassVar[str] = "referral.status_changed"
    previous_status: str
    update_id: str | None = None
    actor_side: str  # sender or receiver
    due_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ReferralUpdateAdded(ReferralEvent):
    type: ClassVar[str] = "referral.update_added"
    update_id: str
    author_org: str
    moved_to: str | None = None  # the status this update moved to, if it moved it


@dataclass(frozen=True, kw_only=True)
class ReferralOverdue(ReferralEvent):
    """The referral passed its `due_at` unfinished (issue 7). Announced once, by the sweeper."""

    type: ClassVar[str] = "referral.overdue"
    due_at: datetime
    overdue_at: datetime
