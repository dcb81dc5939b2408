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
- support actions: the sum of `count` of the services delivered in the period, by type (whole
  days from the daily rollup the stats consumer keeps from `service.recorded` events: ten
  million services cannot be summed within the one-second target; see services.stats.rollup);
- referrals: referrals sent in the period, by type and current status (their outcome so far);
- re-uploads detected: takedown referrals raised in the period for an item already taken down
  once (`based_on` an earlier takedown);
- offenders apprehended: investigation referrals with an update reporting `arrested` that
  occurred in the period.
"""

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, select, text
from sqlalchemy.orm import Session

from services.cases.models import AGE_BANDS, Case
from services.content.models import ContentItem
from services.referrals.models import REFERRAL_TYPES, Referral, ReferralUpdate
from services.stats import rollup
from services.stats.rollup import day_start, utc_day
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

    _count_removals(session, period, figures)

    figures.support_actions_by_type = support_actions_by_type(session, period)

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


def _count_removals(session: Session, period: Period, figures: Figures) -> None:
    """Items removed, those involving a minor, and the median hours from takedown request to
    removal: one pass over ix_stats_content_items_removal on PostgreSQL."""
    removed = within(ContentItem.removed_at, period)
    requested = ContentItem.takedown_requested_at.is_not(None)
    if session.get_bind().dialect.name == "postgresql":
        # The median sorts a year of removals (~175,000 on the benchmark): in memory, not on
        # disk (the default work_mem of 4 MB spills it). For this transaction only.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        # date_part gives double precision, which sorts far faster than extract's numeric.
        waited = ContentItem.removed_at - ContentItem.takedown_requested_at
        seconds = func.date_part("epoch", waited)
        total, minors, timed, median = session.execute(
            select(
                func.count(),
                func.count().filter(ContentItem.involves_minor),
                func.count().filter(requested),
                func.percentile_cont(0.5).within_group(seconds).filter(requested),
            ).where(removed)
        ).one()
        figures.content_removed, figures.content_removed_involving_minors = int(total), int(minors)
        figures.takedown_to_removal_count = int(timed)
        figures.median_hours_takedown_to_removal = (
            round(float(median) / 3600, 1) if median is not None else None
        )
        return
    durations = []
    for removed_at, requested_at, involves_minor in session.execute(
        select(
            ContentItem.removed_at, ContentItem.takedown_requested_at, ContentItem.involves_minor
        ).where(removed)
    ):
        figures.content_removed += 1
        figures.content_removed_involving_minors += 1 if involves_minor else 0
        if removed_at is not None and requested_at is not None:
            durations.append((removed_at - requested_at).total_seconds())
    figures.takedown_to_removal_count = len(durations)
    if durations:
        figures.median_hours_takedown_to_removal = round(statistics.median(durations) / 3600, 1)


def support_actions_by_type(session: Session, period: Period) -> dict[str, int]:
    """The whole UTC days of the period from the daily rollup (kept by the stats consumer of
    the event stream, so it trails the facts by that consumer's delay: well under a second
    when it runs); the hours before the first and after the last whole day from the facts."""
    by_type = dict.fromkeys(SERVICE_TYPES, 0)
    first = utc_day(period.start)
    if day_start(first) < period.start:
        first += timedelta(days=1)
    end = utc_day(period.end)
    if end > first:
        edges = [Period(period.start, day_start(first)), Period(day_start(end), period.end)]
        for service_type, count in rollup.support_actions_by_type(session, first, end).items():
            by_type[service_type] = by_type.get(service_type, 0) + count
    else:
        edges = [period]
    for edge in edges:
        if edge.start >= edge.end:
            continue
        for service_type, count in session.execute(
            select(SupportService.type, func.sum(SupportService.count))
            .where(within(SupportService.delivered_at, edge))
            .group_by(SupportService.type)
        ):
            by_type[service_type] = by_type.get(service_type, 0) + int(count)
    return by_type


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
