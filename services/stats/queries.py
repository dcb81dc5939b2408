"""Statistics counted from the recorded facts (cases, content, referrals and their updates,
support services): no second set of counters that could drift from them.

`count_figures` gives the TRUE counts of a period; they are never handed out as they are.
`services.stats.report.publish` turns them into the published figures (small-cell suppression).

What each figure counts, for a period [start, end):
- cases opened: cases whose `opened_at` is in the period;
- victims served: the victims who came to the center in the period, one per case opened in
  it (the seed's "270 victims contacted the center"); their age bands are counted on the same
  cases. (Counting earlier cases given a service in the period too was measured: over 10
  million services it cannot be answered within the one-second target without a rollup.)
- content removed: items whose (last) removal falls in the period, and how many of them involve
  a minor; the median time from takedown request to removal is taken over those of them whose
  takedown was requested through a referral;
- support actions: the sum of `count` of the services delivered in the period, by type;
- referrals: referrals sent in the period, by type and current status (their outcome so far);
- re-uploads detected: takedown referrals raised in the period for an item already taken down
  once (`based_on` an earlier takedown);
- offenders apprehended: investigation referrals with an update reporting `arrested` that
  occurred in the period.
"""

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, select
from sqlalchemy.orm import Session

from services.cases.models import AGE_BANDS, Case
from services.content.models import ContentItem
from services.referrals.models import REFERRAL_TYPES, Referral, ReferralUpdate
from services.support.models import SERVICE_TYPES, SupportService

ARRESTED = "arrested"


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive


@dataclass
class Figures:
    """True counts of one period. Never published without `publish`."""

    period: Period
    cases_opened: int = 0
    victims_served: int = 0
    victims_by_age_band: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGE_BANDS, 0))
    content_removed: int = 0
    content_removed_involving_minors: int = 0
    takedown_to_removal_count: int = 0  # the base of the median below
    median_hours_takedown_to_removal: float | None = None
    support_actions_by_type: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(SERVICE_TYPES, 0)
    )
    referrals_by_type: dict[str, dict[str, int]] = field(
        default_factory=lambda: {t: {} for t in REFERRAL_TYPES}
    )
    reuploads_detected: int = 0
    offenders_apprehended: int = 0

    @property
    def support_actions(self) -> int:
        return sum(self.support_actions_by_type.values())


def within(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


def count_figures(session: Session, period: Period) -> Figures:
    figures = Figures(period)
    bands = dict.fromkeys(AGE_BANDS, 0)
    for band, count in session.execute(
        select(Case.age_band, func.count())
        .where(within(Case.opened_at, period))
        .group_by(Case.age_band)
    ):
        bands[band] = count
    figures.victims_by_age_band = bands
    figures.victims_served = figures.cases_opened = sum(bands.values())

    removed = within(ContentItem.removed_at, period)
    total, minors = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((ContentItem.involves_minor, 1), else_=0)), 0),
        ).where(removed)
    ).one()
    figures.content_removed, figures.content_removed_involving_minors = int(total), int(minors)
    figures.takedown_to_removal_count, figures.median_hours_takedown_to_removal = _median_hours(
        session, period
    )

    by_type = dict.fromkeys(SERVICE_TYPES, 0)
    for service_type, count in session.execute(
        select(SupportService.type, func.sum(SupportService.count))
        .where(within(SupportService.delivered_at, period))
        .group_by(SupportService.type)
    ):
        by_type[service_type] = int(count)
    figures.support_actions_by_type = by_type

    referrals: dict[str, dict[str, int]] = {t: {} for t in REFERRAL_TYPES}
    for referral_type, status, count in session.execute(
        select(Referral.type, Referral.status, func.count())
        .where(within(Referral.sent_at, period))
        .group_by(Referral.type, Referral.status)
    ):
        referrals[referral_type][status] = count
    figures.referrals_by_type = referrals

    figures.reuploads_detected = (
        session.scalar(
            select(func.count())
            .select_from(Referral)
            .where(
                Referral.type == "takedown",
                Referral.based_on.is_not(None),
                within(Referral.created_at, period),
            )
        )
        or 0
    )
    figures.offenders_apprehended = (
        session.scalar(
            select(func.count(distinct(ReferralUpdate.referral_id)))
            .join(Referral, Referral.id == ReferralUpdate.referral_id)
            .where(
                Referral.type == "investigation",
                ReferralUpdate.business_status == ARRESTED,
                within(ReferralUpdate.occurred_at, period),
            )
        )
        or 0
    )
    return figures


def _median_hours(session: Session, period: Period) -> tuple[int, float | None]:
    """How many removed items had a takedown request, and the median hours it took."""
    where = and_(
        within(ContentItem.removed_at, period), ContentItem.takedown_requested_at.is_not(None)
    )
    if session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", ContentItem.removed_at - ContentItem.takedown_requested_at)
        count, median = session.execute(
            select(func.count(), func.percentile_cont(0.5).within_group(seconds)).where(where)
        ).one()
        return int(count), (round(float(median) / 3600, 1) if median is not None else None)
    durations = [
        (removed - requested).total_seconds()
        for removed, requested in session.execute(
            select(ContentItem.removed_at, ContentItem.takedown_requested_at).where(where)
        )
        if removed is not None and requested is not None
    ]
    if not durations:
        return 0, None
    return len(durations), round(statistics.median(durations) / 3600, 1)


def month_periods(period: Period) -> list[Period]:
    """The calendar months (UTC) that the period touches, each cut to the period."""
    months = []
    start = period.start
    while start < period.end:
        first = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        following = first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)
        end = min(following, period.end)
        months.append(Period(start, end))
        start = end
    return months
