"""What the stats consumer adds for an event: the UTC day and type of a delivered service."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from events.cloudevents import ReceivedEvent
from events.consumers.stats import support_actions


def service_event(delivered_at: str, **data: Any) -> ReceivedEvent:
    return ReceivedEvent(
        id="e1",
        type="service.recorded",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        subject="s1",
        data={"delivered_at": delivered_at, "service_type": "consultation", "count": 3, **data},
    )


def test_a_service_counts_on_the_utc_day_it_was_delivered() -> None:
    # 08:30 in Seoul on 2 March is still 1 March in UTC.
    assert support_actions(service_event("2026-03-02T08:30:00+09:00")) == (
        date(2026, 3, 1),
        "consultation",
    )
    assert support_actions(service_event("2026-03-02T00:00:00Z")) == (
        date(2026, 3, 2),
        "consultation",
    )


def test_a_service_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        support_actions(service_event("2026-03-02T08:30:00"))
