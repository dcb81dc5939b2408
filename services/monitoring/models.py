"""Re-upload monitoring and the takedown clock: what the matcher, the sweeper and the
monitoring schedule keep beyond the content and referral records themselves.

* `hash_index_state` / `hash_index_changes`: a generation counter and the change log each
  process replays into its in-memory HashIndex, so every worker matches the same hashes.
* `monitoring_hits`: hits that could not be matched automatically (a PDQ of low quality).
* `referral_clocks`: per referral with a due time, when it went overdue (the exactly-once
  marker of `referral.overdue`) and when its items were removed (time to removal).
* `monitoring_plans`: per removed item of a case in `monitoring`, when the next re-check is due.
"""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base

_BIGINT = BigInteger().with_variant(Integer, "sqlite")

LOW_QUALITY = "low_quality"
HIT_REASONS = (LOW_QUALITY,)


class HashIndexState(Base):
    """One row (id 1): the generation of the set of matchable hashes.

    Every transaction that changes what may match bumps it with an UPDATE, so on PostgreSQL
    the row lock orders those transactions: generation order is commit order, and a process
    that replays the changes above the generation it saw never skips one.
    """

    __tablename__ = "hash_index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(_BIGINT)


class HashIndexChange(Base):
    """Something whose matchability may have changed: one item, or every item of a case."""

    __tablename__ = "hash_index_changes"

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    generation: Mapped[int] = mapped_column(_BIGINT)
    content_id: Mapped[str | None] = mapped_column(String(36), default=None)
    case_id: Mapped[str | None] = mapped_column(String(36), default=None)
    changed_at: Mapped[datetime]

    __table_args__ = (Index("ix_hash_index_changes_generation", "generation"),)


class MonitoringHit(Base):
    """A hit kept for a person to look at, never matched automatically (e.g. PDQ quality < 50)."""

    __tablename__ = "monitoring_hits"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reported_by_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    reason: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    pdq: Mapped[str | None] = mapped_column(String(64), default=None)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, default=None)
    url: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("reason IN ('low_quality')", name="reason"),
        Index("ix_monitoring_hits_reported_by_org_id", "reported_by_org", "id"),
    )


class ReferralClock(Base):
    """The takedown clock of one referral: overdue once, and how long removal took."""

    __tablename__ = "referral_clocks"

    referral_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("referrals.id"), primary_key=True
    )
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set once, by the sweeper that announced `referral.overdue`: the exactly-once marker.
    overdue_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)
    seconds_to_removal: Mapped[int | None] = mapped_column(Integer, default=None)


class MonitoringPlan(Base):
    """Re-checks of one removed item: every 6 months for 3 years after its case was cleared."""

    __tablename__ = "monitoring_plans"

    content_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("content_items.id"), primary_key=True
    )
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"))
    owner_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    started_at: Mapped[datetime]
    # None once every re-check is done (or while the case is no longer in monitoring).
    next_check_at: Mapped[datetime | None] = mapped_column(default=None)
    checks_done: Mapped[int] = mapped_column(Integer, default=0)
    last_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    ends_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_monitoring_plans_owner_org_next_check_at", "owner_org", "next_check_at"),
    )
