"""What the stats consumer takes from an event (the service it names) and where a service
counts in the rollup (the UTC day it was delivered)."""

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from events.cloudevents import ReceivedEvent
from events.consumers.stats import service_id
from services.stats.rollup import utc_day


def service_event(**data: Any) -> ReceivedEvent:
    return ReceivedEvent(
        id="e1",
        type="service.recorded",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        subject="s1",
        data={"service_type": "consultation", "count": 3, **data},
    )


def test_an_event_names_its_service() -> None:
    assert service_id(service_event(service_id="s1")) == "s1"


@pytest.mark.parametrize("data", [{}, {"service_id": ""}, {"service_id": 7}])
def test_an_event_without_a_service_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises((KeyError, ValueError)):
        service_id(service_event(**data))


def test_a_service_counts_on_the_utc_day_it_was_delivered() -> None:
    seoul = timezone(timedelta(hours=9))
    # 08:30 in Seoul on 2 March is still 1 March in UTC.
    assert utc_day(datetime(2026, 3, 2, 8, 30, tzinfo=seoul)) == date(2026, 3, 1)
    assert utc_day(datetime(2026, 3, 2, 9, 0, tzinfo=seoul)) == date(2026, 3, 2)
    assert utc_day(datetime(2026, 3, 2, 0, 0, tzinfo=UTC)) == date(2026, 3, 2)
