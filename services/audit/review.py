"""The monthly access review (what Korean privacy rules expect every month), per org:

- `identity_reads`: reads of victim identity (action `victim.read`, allowed);
- `denied`: refused requests;
- `busiest_clients`: the clients with most entries;
- `outside_office_hours`: entries outside 09:00-18:00 Asia/Seoul, Monday to Friday (public
  holidays are not known to the service and count as working days);
- `unusual`: days on which an org's identity reads or denials stand far above its usual day:
  more than `max(3 x median, median + 5)` over the days of the month up to today.

Computed from the entries the actor may read (the policy's filter), streamed in one pass.
"""

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.actor import Actor
from services.audit.models import AuditEntry
from services.audit.policy import entry_filter

SEOUL = ZoneInfo("Asia/Seoul")
OFFICE_START, OFFICE_END = time(9), time(18)
IDENTITY_READ = "victim.read"
TOP_CLIENTS = 5
MAX_SAMPLES = 20


@dataclass
class OrgReview:
    org: str
    entries: int = 0
    identity_reads: int = 0
    denied: int = 0
    outside_office_hours: int = 0
    clients: Counter[str] = field(default_factory=Counter)
    identity_by_day: Counter[date] = field(default_factory=Counter)
    denied_by_day: Counter[date] = field(default_factory=Counter)
    outside_samples: list[int] = field(default_factory=list)  # entry indexes

    def busiest_clients(self) -> list[tuple[str, int]]:
        return self.clients.most_common(TOP_CLIENTS)

    def unusual(self, days: list[date]) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        for kind, by_day in (
            ("identity_reads", self.identity_by_day),
            ("denied", self.denied_by_day),
        ):
            counts = [by_day.get(day, 0) for day in days]
            if not counts:
                continue
            median = statistics.median(counts)
            threshold = max(3 * median, median + 5)
            for day in days:
                if by_day.get(day, 0) > threshold:
                    found.append(
                        {
                            "date": day.isoformat(),
                            "kind": kind,
                            "count": by_day[day],
                            "median": median,
                        }
                    )
        return found


@dataclass(frozen=True)
class MonthlyReview:
    month: str
    start: datetime
    end: datetime
    days: list[date]
    orgs: list[OrgReview]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month `YYYY-MM` in Seoul time, as a UTC [start, end)."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=SEOUL)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=SEOUL)
    return start.astimezone(UTC), end.astimezone(UTC)


def is_office_hours(at: datetime) -> bool:
    local = at.astimezone(SEOUL)
    return local.weekday() < 5 and OFFICE_START <= local.time() < OFFICE_END


def monthly_review(session: Session, actor: Actor, month: str, now: datetime) -> MonthlyReview:
    start, end = month_bounds(month)
    stmt = (
        select(
            AuditEntry.index,
            AuditEntry.at,
            AuditEntry.org,
            AuditEntry.client_id,
            AuditEntry.action,
            AuditEntry.outcome,
        )
        .where(entry_filter(actor), AuditEntry.at >= start, AuditEntry.at < end)
        .order_by(AuditEntry.index)
        .execution_options(yield_per=5000)
    )
    reviews: dict[str, OrgReview] = defaultdict(lambda: OrgReview(""))
    for index, at, org, client_id, action, outcome in session.execute(stmt):
        key = org or "(service)"
        review = reviews[key]
        review.org = key
        review.entries += 1
        day = at.astimezone(SEOUL).date()
        if client_id:
            review.clients[client_id] += 1
        if action == IDENTITY_READ and outcome == "allowed":
            review.identity_reads += 1
            review.identity_by_day[day] += 1
        if outcome == "denied":
            review.denied += 1
            review.denied_by_day[day] += 1
        if not is_office_hours(at):
            review.outside_office_hours += 1
            if len(review.outside_samples) < MAX_SAMPLES:
                review.outside_samples.append(index)
    last_day = min(end, max(now, start + timedelta(seconds=1))).astimezone(SEOUL).date()
    first_day = start.astimezone(SEOUL).date()
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    if end <= now:
        days = [day for day in days if day < end.astimezone(SEOUL).date()]
    return MonthlyReview(month, start, end, days, sorted(reviews.values(), key=lambda r: r.org))
