"""Statistics own no table: every figure is counted from the recorded facts. What they own are
the indexes that keep those counts fast over a year of a large database (bench/run stats)."""

from sqlalchemy import Index

from services.cases.models import Case
from services.content.models import ContentItem
from services.referrals.models import Referral, ReferralUpdate
from services.support.models import SupportService

STATISTICS_INDEXES = (
    # Cases opened in a period by age band, from the index alone.
    Index("ix_stats_cases_opened_at", Case.opened_at, Case.age_band),
    Index("ix_stats_content_items_removed_at", ContentItem.removed_at),
    Index("ix_stats_referrals_sent_at", Referral.sent_at),
    Index(
        "ix_stats_referral_updates_business_status",
        ReferralUpdate.business_status,
        ReferralUpdate.occurred_at,
    ),
    # The support actions of a period by type, from the index alone.
    Index(
        "ix_stats_support_services_delivered_at",
        SupportService.delivered_at,
        SupportService.type,
        SupportService.count,
    ),
)
