"""The daily rollup of support actions, kept by the stats consumer on the real broker, always
equals a recount from the recorded services: after activity over HTTP, for a period cut
inside days, after the whole topic is read again, and run as `coordination consume stats`."""

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete

from coordination.config import Settings
from coordination.runtime import Runtime, runtime
from events.broker import EmbeddedBroker
from events.consumers.stats import StatsConsumer
from services.consumers.models import ConsumerOffset
from services.stats.rollup import recount, rolled_up
from tests.support.seed_story import StoryWorld, story_world
from tests.support.stats_stream import wait_until_rolled_up
from tests.support.stream import make_relay, running, stop_gently, with_broker, worker_process

pytestmark = pytest.mark.kafka

# (days after the start, hour, type, count): several services on one day, days apart, and
# services in the first and last hours of a day.
SERVICES = [
    (0, 0, "consultation", 2),
    (0, 13, "consultation", 3),
    (0, 23, "deletion_support", 7),
    (1, 9, "legal_support", 1),
    (3, 0, "psychological_therapy", 4),
    (3, 23, "consultation", 5),
    (4, 12, "deletion_support", 11),
]


@pytest.fixture
def world(settings: Settings, broker: EmbeddedBroker) -> Iterator[StoryWorld]:
    # A day of its own in the 1600s, where no other test's data falls.
    start = datetime(1600, 1, 1, tzinfo=UTC) + timedelta(days=random.randrange(0, 99 * 365))
    with story_world(settings, start, broker) as world:
        yield world


def record(world: StoryWorld) -> None:
    start = world.clock.at
    case_id = world.open_case("20s")
    for days, hour, service_type, count in SERVICES:
        with world.at(start + timedelta(days=days, hours=hour)):
            world.record_service(case_id, service_type, count)


def expected(start: date) -> dict[tuple[date, str], int]:
    totals: dict[tuple[date, str], int] = {}
    for days, _, service_type, count in SERVICES:
        key = (start + timedelta(days=days), service_type)
        totals[key] = totals.get(key, 0) + count
    return totals


def rollup_and_recount(rt: Runtime, first: date) -> tuple[dict[tuple[date, str], int], ...]:
    end = first + timedelta(days=7)
    with rt.session_factory() as session:
        return rolled_up(session, first, end), recount(session, first, end)


def test_the_rollup_of_activity_over_http_equals_a_recount_and_stays_so_after_a_replay(
    world: StoryWorld, settings: Settings, broker: EmbeddedBroker
) -> None:
    first = world.clock.at.date()
    record(world)
    whole_days = world.stats(world.clock.at, world.clock.at + timedelta(days=7))
    rt = runtime(world.app)

    rollup, facts = rollup_and_recount(rt, first)
    assert rollup == facts == expected(first)
    assert whole_days["support_actions"]["total"] == 33
    assert whole_days["support_actions"]["by_type"]["deletion_support"] == 18

    with rt.session_factory() as session:
        # Forget where it was: the consumer reads the whole topic again from offset 0.
        session.execute(delete(ConsumerOffset).where(ConsumerOffset.consumer == "stats"))
        session.commit()
    replay = StatsConsumer(rt.session_factory, with_broker(settings, broker))
    try:
        while replay.poll_once(timeout_ms=500):
            pass
    finally:
        replay.close()
    assert replay.applied >= len(SERVICES)  # it did read them again
    assert rollup_and_recount(rt, first) == (facts, facts)


def test_a_period_cut_inside_days_counts_its_hours_from_the_services(world: StoryWorld) -> None:
    start = world.clock.at
    record(world)

    # From 12:00 of the first day to 12:00 of the fourth: the first day's 13:00 and 23:00,
    # the second day whole, the fourth day's 00:00; not the first day's 00:00 nor the last
    # day's 23:00.
    stats = world.stats(start + timedelta(hours=12), start + timedelta(days=3, hours=12))
    within_a_day = world.stats(start + timedelta(hours=1), start + timedelta(hours=14))

    assert stats["support_actions"]["by_type"] == {
        "consultation": "<5",
        "deletion_support": 7,
        "legal_support": "<5",
        "psychological_therapy": "<5",
        "investigation_support": 0,
        "medical_support": 0,
    }
    assert stats["support_actions"]["total"] == 3 + 7 + 1 + 4
    assert within_a_day["support_actions"]["total"] == "<5"  # the 13:00 consultation: 3


def test_coordination_consume_stats_keeps_the_rollup(
    settings: Settings, broker: EmbeddedBroker
) -> None:
    start = datetime(1700, 1, 1, tzinfo=UTC) + timedelta(days=random.randrange(0, 99 * 365))
    # A world without the in-process consumer: the command is the only stats consumer here.
    with story_world(settings, start) as world:
        record(world)
        rt = runtime(world.app)
        consumer = worker_process(settings, broker, "consume", "stats")
        try:
            with running(make_relay(rt, with_broker(settings, broker))):
                wait_until_rolled_up(rt, world.services)
        finally:
            errors = stop_gently(consumer)
        rollup, facts = rollup_and_recount(rt, start.date())
    assert rollup == facts == expected(start.date()), errors
