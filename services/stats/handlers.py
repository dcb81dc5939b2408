"""The statistics of a period, published: counted from the recorded facts, then suppressed."""

from typing import Any

from services.errors import InvalidInput
from services.stats.commands import ReadStatistics
from services.stats.publish import publish, publish_months
from services.stats.queries import Period, count_figures, month_periods
from services.unit_of_work import UnitOfWork

MAX_MONTHS = 120


def read_statistics(query: ReadStatistics, uow: UnitOfWork) -> dict[str, Any]:
    if query.end <= query.start:
        raise InvalidInput("the period is empty", errors={"to": ["must be after from"]})
    period = Period(query.start, query.end)
    months = month_periods(period) if query.by_month else []
    if len(months) > MAX_MONTHS:
        raise InvalidInput(
            "too many months", errors={"group_by": [f"at most {MAX_MONTHS} months per request"]}
        )
    with uow:
        published = publish(count_figures(uow.session, period))
        if query.by_month:
            published["months"] = publish_months(
                [count_figures(uow.session, month) for month in months]
            )
    return published
