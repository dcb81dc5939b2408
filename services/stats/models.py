"""What statistics own: the indexes that keep the counts from the facts fast over a year of a
large database (bench/run stats), and one rollup kept by a consumer of the event stream.

The rollup holds the support actions per UTC day and type. It is the one figure too large to
count from the facts within the one-second target (a year is millions of services); it is
not a second set of counters written next to the facts: each service is added once, by the
statement that flags it `rolled_up` (services.stats.rollup): the stats consumer
(events/consumers/stats.py) for the services its `service.recorded` events name (and, when
idle, any still pending), migration 0011 for those recorded before.
tests/integration/test_stats_rollup.py proves it equals a recount."""

from datetime import date

from sqlalchemy import BigInteger, Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.cases.models import Case
from services.content.models import ContentItem
from services.db import Base
from services.referrals.models import Referral, ReferralUpdate
from services.support.models import SupportService


class SupportActionsDaily(Base):
    __tablename__ = "stats_support_actions_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)  # UTC day of `delivered_at`
    type: Mapped[str] = mapped_column(String(32), primary_key=True)
    actions: Mapped[int] = mapped_column(BigInteger)  # the sum of the services' `count`


STATISTICS_INDEXES = (
    # Cases opened in a period by age band, from the index alone.
    Index("ix_stats_cases_opened_at", Case.opened_at, Case.age_band),
    # Items removed in a period, how many involve a minor and the median time to removal, in
    # one pass over the index alone.
    Index(
        "ix_stats_content_items_removal",
        ContentItem.removed_at,
        ContentItem.involves_minor,
        ContentItem.takedown_requested_at,
    ),
    # Referrals sent in a period by type and status, from the index alone.
    Index("ix_stats_referrals_sent", Referral.sent_at, Referral.type, Referral.status),
    # Re-uploads: takedowns raised in a period `based_on` an earlier one, from the index alone.
    Index("ix_stats_referrals_raised", Referral.type, Referral.created_at, Referral.based_on),
    Index(
        "ix_stats_referral_updates_business_status",
        ReferralUpdate.business_status,
        ReferralUpdate.occurred_at,
    ),
    # The support actions of the hours outside whole days (and the recount that checks the
    # rollup), from the index alone.
    Index(
        "ix_stats_support_services_delivered_at",
        SupportService.delivered_at,
        SupportService.type,
        SupportService.count,
    ),
)
