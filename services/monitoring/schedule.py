"""The monitoring schedule: once every item of a case is removed, re-check each one every 6
months for 3 years (issue 7)."""

import calendar
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from services.cases.models import Case
from services.content.models import ContentItem
from services.monitoring.models import MonitoringPlan

CHECK_EVERY_MONTHS = 6
MONITOR_FOR_MONTHS = 36
CHECKS_TOTAL = MONITOR_FOR_MONTHS // CHECK_EVERY_MONTHS


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (the month's last day when it has fewer days)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def is_cleared(session: Session, case_id: str) -> bool:
    """The case has content, and every item of it is removed."""
    has_items = exists().where(ContentItem.case_id == case_id)
    not_removed = exists().where(ContentItem.case_id == case_id, ContentItem.status != "removed")
    return bool(session.scalar(select(has_items & ~not_removed)))


def start_monitoring_if_cleared(session: Session, case: Case, now: datetime) -> bool:
    """Move an open or active case whose every item is removed to `monitoring`, and plan the
    re-checks of its items. True if it moved. Callable from any use case that removes items."""
    if case.status not in ("open", "active") or not is_cleared(session, case.id):
        return False
    case.start_monitoring(now)
    items = session.scalars(select(ContentItem).where(ContentItem.case_id == case.id))
    for item in items:
        plan = session.get(MonitoringPlan, item.id)
        if plan is None:
            plan = MonitoringPlan(content_id=item.id, case_id=case.id, owner_org=case.owner_org)
            session.add(plan)
        plan.started_at = now
        plan.next_check_at = add_months(now, CHECK_EVERY_MONTHS)
        plan.checks_done = 0
        plan.last_checked_at = None
        plan.ends_at = add_months(now, MONITOR_FOR_MONTHS)
    return True


def record_check(plan: MonitoringPlan, at: datetime) -> None:
    """One re-check done (nothing found online): the next one is 6 months after it was due."""
    plan.checks_done += 1
    plan.last_checked_at = at
    if plan.checks_done >= CHECKS_TOTAL:
        plan.next_check_at = None
    else:
        plan.next_check_at = add_months(
            plan.started_at, CHECK_EVERY_MONTHS * (plan.checks_done + 1)
        )
