"""The monitoring schedule's arithmetic: calendar months, six re-checks over three years."""

from datetime import UTC, datetime

import pytest

from services.monitoring.models import MonitoringPlan
from services.monitoring.schedule import CHECKS_TOTAL, add_months, record_check


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 15, 9, 30, tzinfo=UTC), 6, datetime(2026, 7, 15, 9, 30, tzinfo=UTC)),
        (datetime(2026, 8, 31, tzinfo=UTC), 6, datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2027, 8, 31, tzinfo=UTC), 6, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 12, 1, tzinfo=UTC), 36, datetime(2029, 12, 1, tzinfo=UTC)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_last_of_the_month(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start, months) == expected


def test_record_check_plans_every_6_months_from_the_start_then_stops() -> None:
    start = datetime(2026, 8, 31, tzinfo=UTC)
    plan = MonitoringPlan(
        content_id="c",
        case_id="k",
        owner_org="o",
        started_at=start,
        next_check_at=add_months(start, 6),
        checks_done=0,
        ends_at=add_months(start, 36),
    )
    planned = []
    for _ in range(CHECKS_TOTAL):
        assert plan.next_check_at is not None
        planned.append(plan.next_check_at)
        record_check(plan, plan.next_check_at)

    assert CHECKS_TOTAL == 6
    assert planned == [add_months(start, 6 * n) for n in range(1, 7)]
    assert planned[-1] == plan.ends_at
    assert plan.next_check_at is None
    assert plan.checks_done == 6
