"""Reads of the monitoring schedule: the re-checks due for a center."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.actor import Actor
from services.cases.models import Case
from services.content.models import ContentItem
from services.errors import Forbidden
from services.monitoring.models import MonitoringPlan
from services.monitoring.schedule import CHECKS_TOTAL
from services.pagination import Page, PageRequest

MAX_LIMIT = 200


@dataclass(frozen=True)
class DueCheck:
    content_id: str
    case_id: str
    kind: str
    sha256: str
    pdq: str | None
    due_at: datetime
    check_number: int  # 1 to CHECKS_TOTAL
    checks_total: int
    last_checked_at: datetime | None
    monitoring_ends_at: datetime


def due_checks(
    session: Session, actor: Actor, *, until: datetime, page: PageRequest
) -> Page[DueCheck]:
    """The owner center's monitored items whose next re-check is due by `until`, by item id."""
    if actor.org_kind != "support_center":
        raise Forbidden("the monitoring schedule is the owning center's")
    limit = max(1, min(page.limit, MAX_LIMIT))
    stmt = (
        select(MonitoringPlan, ContentItem)
        .join(ContentItem, ContentItem.id == MonitoringPlan.content_id)
        .join(Case, Case.id == MonitoringPlan.case_id)
        .where(
            MonitoringPlan.owner_org == actor.org,
            Case.owner_org == actor.org,
            Case.status == "monitoring",
            MonitoringPlan.next_check_at.is_not(None),
            MonitoringPlan.next_check_at <= until,
        )
        .order_by(MonitoringPlan.content_id)
        .limit(limit + 1)
    )
    if page.after is not None:
        stmt = stmt.where(MonitoringPlan.content_id > page.after)
    rows = list(session.execute(stmt).all())
    more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for plan, item in rows:
        assert plan.next_check_at is not None
        items.append(
            DueCheck(
                content_id=item.id,
                case_id=item.case_id,
                kind=item.kind,
                sha256=item.sha256,
                pdq=item.pdq,
                due_at=plan.next_check_at,
                check_number=plan.checks_done + 1,
                checks_total=CHECKS_TOTAL,
                last_checked_at=plan.last_checked_at,
                monitoring_ends_at=plan.ends_at,
            )
        )
    return Page(items, rows[-1][0].content_id if more and rows else None)
