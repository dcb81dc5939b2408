"""Referrals between agencies, and their append-only updates.

Status follows the subset of the HL7 FHIR Task state machine in CONTRACT section 4. Each move
belongs to one side: the sender creates, sends a draft and cancels; the receiver does the rest.
"""

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.db import Base
from services.errors import Conflict, InvalidInput
from services.messages import Aggregate
from services.referrals.events import (
    ReferralRequested,
    ReferralStatusChanged,
    ReferralUpdateAdded,
)

REFERRAL_TYPES = ("takedown", "investigation", "legal_aid", "counseling", "victim_support")
STATUSES = (
    "draft",
    "requested",
    "accepted",
    "rejected",
    "cancelled",
    "in_progress",
    "on_hold",
    "completed",
    "failed",
)
FINAL_STATUSES = frozenset({"rejected", "cancelled", "completed", "failed"})
# A receiver sees the case through a referral in one of these: addressed, and not withdrawn.
SHARING_STATUSES = ("requested", "accepted", "in_progress", "on_hold", "completed", "failed")
# Business status is the receiver's account of its work: only once it took the referral on.
WORKING_STATUSES = frozenset({"accepted", "in_progress", "on_hold", "completed", "failed"})
REASON_REQUIRED = frozenset({"rejected", "failed"})

SENDER = "sender"
RECEIVER = "receiver"

# (from, to) -> the side that may make the move. Nothing else is a move.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "requested"): SENDER,
    ("draft", "cancelled"): SENDER,
    ("requested", "accepted"): RECEIVER,
    ("requested", "rejected"): RECEIVER,
    ("requested", "cancelled"): SENDER,
    ("accepted", "in_progress"): RECEIVER,
    ("accepted", "on_hold"): RECEIVER,
    ("accepted", "cancelled"): SENDER,
    ("in_progress", "on_hold"): RECEIVER,
    ("in_progress", "completed"): RECEIVER,
    ("in_progress", "failed"): RECEIVER,
    ("on_hold", "in_progress"): RECEIVER,
    ("on_hold", "cancelled"): SENDER,
}

# Which org kind receives each type, and which kind sends it.
RECEIVER_KINDS: dict[str, frozenset[str]] = {
    "takedown": frozenset({"standards_commission", "platform"}),
    "investigation": frozenset({"police"}),
    "legal_aid": frozenset({"legal_aid"}),
    "counseling": frozenset({"counseling"}),
    "victim_support": frozenset({"support_center"}),
}
SENDER_KINDS: dict[str, frozenset[str]] = {
    "takedown": frozenset({"support_center"}),
    "investigation": frozenset({"support_center"}),
    "legal_aid": frozenset({"support_center"}),
    "counseling": frozenset({"support_center"}),
    "victim_support": frozenset({"police"}),
}

BUSINESS_STATUS = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# A takedown whose receiver reports this code has taken its items down.
REMOVED_CODE = "removed"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class ReferralContent(Base):
    """The content items a referral shares with its receiver."""

    __tablename__ = "referral_content"

    referral_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("referrals.id"), primary_key=True
    )
    content_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("content_items.id"), primary_key=True
    )

    __table_args__ = (Index("ix_referral_content_content_id", "content_id"),)


class Referral(Base, Aggregate):
    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("cases.id"))
    type: Mapped[str] = mapped_column(String(24))
    from_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    to_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    # The center that owns (or, for victim support, will own) the case.
    owner_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    share_victim_identity: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_basis: Mapped[str | None] = mapped_column(String(64), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    based_on: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("referrals.id"), default=None
    )
    # What the police know when referring a victim who has no case yet (codes only).
    victim_age_band: Mapped[str | None] = mapped_column(String(16), default=None)
    harm_types: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    status: Mapped[str] = mapped_column(String(16))
    business_status: Mapped[str | None] = mapped_column(String(64), default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    last_update_seq: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer)

    shared: Mapped[list[ReferralContent]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=ReferralContent.content_id
    )

    __mapper_args__: Any = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(f"type IN {_in(REFERRAL_TYPES)}", name="type"),
        CheckConstraint(f"status IN {_in(STATUSES)}", name="status"),
        CheckConstraint("from_org <> to_org", name="distinct_orgs"),
        Index("ix_referrals_case_id_to_org", "case_id", "to_org"),
        Index("ix_referrals_to_org_id", "to_org", "id"),
        Index("ix_referrals_from_org_id", "from_org", "id"),
        Index("ix_referrals_owner_org_id", "owner_org", "id"),
    )

    @property
    def content_ids(self) -> list[str]:
        return [link.content_id for link in self.shared]

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def side_of(self, org: str) -> str | None:
        if org == self.from_org:
            return SENDER
        if org == self.to_org:
            return RECEIVER
        return None

    @classmethod
    def create(
        cls,
        *,
        referral_id: str,
        case_id: str | None,
        referral_type: str,
        from_org: str,
        to_org: str,
        owner_org: str,
        content_ids: list[str],
        share_victim_identity: bool,
        legal_basis: str | None,
        note: str | None,
        based_on: str | None,
        victim_age_band: str | None,
        harm_types: list[str] | None,
        draft: bool,
        due_hours: int | None,
        now: datetime,
    ) -> "Referral":
        referral = cls(
            id=referral_id,
            case_id=case_id,
            type=referral_type,
            from_org=from_org,
            to_org=to_org,
            owner_org=owner_org,
            share_victim_identity=share_victim_identity,
            legal_basis=legal_basis,
            note=note,
            based_on=based_on,
            victim_age_band=victim_age_band,
            harm_types=harm_types,
            status="draft",
            created_at=now,
            updated_at=now,
            last_update_seq=0,
            shared=[ReferralContent(content_id=cid) for cid in sorted(set(content_ids))],
        )
        if not draft:
            referral._send(now, due_hours)
        return referral

    def check_update(
        self,
        *,
        by_org: str,
        status: str | None,
        business_status: str | None,
        note: str | None,
        reason: str | None,
    ) -> str:
        """Refuses an update this side may not post now, changing nothing; gives the side."""
        side = self.side_of(by_org)
        if side is None:  # pragma: no cover - the policy hides the referral before this
            raise Conflict("only the sender or the receiver may update a referral")
        if status is not None and status not in STATUSES:
            raise InvalidInput(
                "unknown status", errors={"status": [f"one of {', '.join(STATUSES)}"]}
            )
        if self.is_final:
            raise Conflict(f"the referral is {self.status}, which is final; refer anew instead")
        if status is not None:
            allowed_side = TRANSITIONS.get((self.status, status))
            if allowed_side is None:
                raise Conflict(f"a referral cannot move from {self.status} to {status}")
            if allowed_side != side:
                raise Conflict(f"only the {allowed_side} may move a referral to {status}")
            if status in REASON_REQUIRED and not reason:
                raise InvalidInput(
                    f"moving to {status} needs a reason", errors={"reason": ["required"]}
                )
        if reason and status not in REASON_REQUIRED:
            raise InvalidInput(
                "a reason goes with a move to rejected or failed",
                errors={"reason": ["only with status rejected or failed"]},
            )
        if business_status is not None:
            if not BUSINESS_STATUS.match(business_status):
                raise InvalidInput(
                    "the business status is not a code",
                    errors={"business_status": ["lowercase letters, digits and _"]},
                )
            if side != RECEIVER:
                raise Conflict("only the receiver reports a business status")
            if (status or self.status) not in WORKING_STATUSES:
                raise Conflict("a business status is reported once the referral is accepted")
        if status is None and business_status is None and not note:
            raise InvalidInput(
                "an update needs a status, a business status or a note",
                errors={"status": ["give status, business_status or note"]},
            )
        return side

    def post_update(
        self,
        *,
        update_id: str,
        by_org: str,
        status: str | None,
        business_status: str | None,
        note: str | None,
        reason: str | None,
        occurred_at: datetime,
        due_hours: int | None,
        now: datetime,
    ) -> "ReferralUpdate":
        """Append one update; when it carries a status it must be a move of the poster's side.

        Checks everything before changing anything, so a refused update leaves no trace.
        """
        side = self.check_update(
            by_org=by_org,
            status=status,
            business_status=business_status,
            note=note,
            reason=reason,
        )
        previous = self.status
        self.last_update_seq += 1
        update = ReferralUpdate(
            id=update_id,
            referral_id=self.id,
            case_id=self.case_id,
            seq=self.last_update_seq,
            author_org=by_org,
            previous_status=previous,
            status=status,
            business_status=business_status,
            note=note,
            reason=reason,
            occurred_at=occurred_at,
            recorded_at=now,
        )
        if business_status is not None:
            self.business_status = business_status
        self.updated_at = now
        if status == "requested":
            self._send(now, due_hours)
        elif status is not None:
            self.status = status
            if status in FINAL_STATUSES:
                self.ended_at = now
            self.record(
                ReferralStatusChanged(
                    **self._event_base(),
                    previous_status=previous,
                    update_id=update_id,
                    actor_side=side,
                    due_at=self.due_at,
                )
            )
        self.record(
            ReferralUpdateAdded(
                **self._event_base(), update_id=update_id, author_org=by_org, moved_to=status
            )
        )
        return update

    def link_case(self, case_id: str, owner_org: str) -> None:
        """A center accepted a police `victim_support` referral and opened the case: it owns it."""
        self.case_id = case_id
        self.owner_org = owner_org

    def _send(self, now: datetime, due_hours: int | None) -> None:
        self.status = "requested"
        self.sent_at = now
        self.due_at = now + timedelta(hours=due_hours) if due_hours else None
        self.record(
            ReferralRequested(
                **self._event_base(),
                content_ids=tuple(self.content_ids),
                share_victim_identity=self.share_victim_identity,
                based_on=self.based_on,
                due_at=self.due_at,
            )
        )

    def _event_base(self) -> dict[str, Any]:
        return {
            "subject": self.id,
            "case_id": self.case_id or "",
            "owner_org": self.owner_org,
            "referral_id": self.id,
            "from_org": self.from_org,
            "to_org": self.to_org,
            "referral_type": self.type,
            "status": self.status,
            "business_status": self.business_status,
        }


class ReferralUpdate(Base):
    """One entry of a referral's history. Never changed or deleted once written."""

    __tablename__ = "referral_updates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    referral_id: Mapped[str] = mapped_column(String(36), ForeignKey("referrals.id"))
    case_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    author_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    previous_status: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16), default=None)
    business_status: Mapped[str | None] = mapped_column(String(64), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("referral_id", "seq"),)
