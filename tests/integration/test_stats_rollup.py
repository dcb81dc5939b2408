"""The daily rollup of support actions, kept by the stats consumer on the real broker, always
equals a recount from the recorded services: after activity over HTTP, for a period cut
inside days, after the whole topic is read again, after the same services' events are
published again under other ids, when events never reach the consumer, run as `coordination
consume stats`, and on a database that held services before the rollup existed (migration
0011, with no consumer run)."""

import dataclasses
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, func, select

from coordination.config import Settings
from coordination.runtime import Runtime, runtime
from events.broker import EmbeddedBroker
from events.consumers.stats import StatsConsumer
from migrations import alembic_config
from services.consumers.models import ConsumerOffset, ProcessedEvent
from services.ids import new_id
from services.messages import EVENT_TYPE_PREFIX
from services.outbox.models import OutboxMessage
from services.stats.rollup import recount, rolled_up
from services.support.events import ServiceRecorded
from tests.support.scratch_database import scratch_database
from tests.support.seed_story import StoryWorld, story_world
from tests.support.stats_stream import stats_stream, unapplied, wait_until_rolled_up
from tests.support.stream import (
    make_relay,
    running,
    stop_gently,
    wait_for,
    with_broker,
    worker_process,
)

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


def expected(start: date, times: int = 1) -> dict[tuple[date, str], int]:
    totals: dict[tuple[date, str], int] = {}
    for days, _, service_type, count in SERVICES:
        key = (start + timedelta(days=days), service_type)
        totals[key] = totals.get(key, 0) + times * count
    return totals


def rollup_and_recount(rt: Runtime, first: date) -> tuple[dict[tuple[date, str], int], ...]:
    """The rollup, the recount of the services it holds (always equal), and of all services
    (equal once the stats consumer has caught up)."""
    end = first + timedelta(days=7)
    with rt.session_factory() as session:
        return (
            rolled_up(session, first, end),
            recount(session, first, end, rolled_up_only=True),
            recount(session, first, end),
        )


def read_the_whole_topic(rt: Runtime, settings: Settings) -> StatsConsumer:
    """The stats consumer, from offset 0, until it has read all the topic holds."""
    with rt.session_factory() as session:
        session.execute(delete(ConsumerOffset).where(ConsumerOffset.consumer == "stats"))
        session.commit()
    consumer = StatsConsumer(rt.session_factory, settings)
    try:
        while consumer.poll_once(timeout_ms=500):
            pass
    finally:
        consumer.close()
    return consumer


def publish_again_under_new_ids(rt: Runtime, service_ids: list[str]) -> list[str]:
    """The `service.recorded` events of these services in the outbox again, each under a new
    CloudEvent id (as a faulty producer would): the relay publishes them. Their new ids."""
    with rt.session_factory() as session:
        copies = [
            {
                column.key: getattr(row, column.key)
                for column in OutboxMessage.__table__.columns
                if column.key not in ("position", "published_at", "attempts")
            }
            | {"id": new_id()}
            for row in session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.type == EVENT_TYPE_PREFIX + ServiceRecorded.type,
                    OutboxMessage.subject.in_(service_ids),
                )
            )
        ]
        session.add_all(OutboxMessage(**copy) for copy in copies)
        session.commit()
    assert len(copies) == len(service_ids)
    return [copy["id"] for copy in copies]


def test_the_rollup_of_activity_over_http_equals_a_recount_and_stays_so_after_a_replay(
    world: StoryWorld, settings: Settings, broker: EmbeddedBroker
) -> None:
    first = world.clock.at.date()
    record(world)
    whole_days = world.stats(world.clock.at, world.clock.at + timedelta(days=7))
    rt = runtime(world.app)

    rollup, _, facts = rollup_and_recount(rt, first)
    assert rollup == facts == expected(first)
    assert whole_days["support_actions"]["total"] == 33
    assert whole_days["support_actions"]["by_type"]["deletion_support"] == 18

    # Forget where it was: the consumer reads the whole topic again from offset 0.
    replay = read_the_whole_topic(rt, with_broker(settings, broker))
    assert replay.applied >= len(SERVICES)  # it did read them again
    assert rollup_and_recount(rt, first) == (facts, facts, facts)


def test_the_same_services_published_again_under_other_event_ids_add_nothing(
    world: StoryWorld, settings: Settings, broker: EmbeddedBroker
) -> None:
    first = world.clock.at.date()
    record(world)
    world.stats(world.clock.at, world.clock.at + timedelta(days=1))  # waits for the consumer
    rt = runtime(world.app)
    assert rollup_and_recount(rt, first)[0] == expected(first)

    # The stats consumer of the world runs on: it applies the copies (new ids), adding nothing.
    copies = publish_again_under_new_ids(rt, world.services)
    wait_for(lambda: applied(rt, copies), 60, "the stats consumer to apply the copies")
    assert rollup_and_recount(rt, first) == (expected(first),) * 3


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
        rollup, _, facts = rollup_and_recount(rt, start.date())
    assert rollup == facts == expected(start.date()), errors


def test_a_service_whose_event_never_reached_the_consumer_is_rolled_up_when_it_is_idle(
    settings: Settings, broker: EmbeddedBroker
) -> None:
    start = datetime(1900, 1, 1, tzinfo=UTC) + timedelta(days=random.randrange(0, 99 * 365))
    first = start.date()
    with story_world(settings, start) as world:  # no relay, no stats consumer
        record(world)
        rt = runtime(world.app)
        with rt.session_factory() as session:  # the events are lost: never published
            session.execute(
                delete(OutboxMessage).where(
                    OutboxMessage.type == EVENT_TYPE_PREFIX + ServiceRecorded.type,
                    OutboxMessage.subject.in_(world.services),
                )
            )
            session.commit()
        assert rollup_and_recount(rt, first)[:2] == ({}, {})

        read_the_whole_topic(rt, with_broker(settings, broker))
        assert rollup_and_recount(rt, first) == (expected(first),) * 3


def test_services_recorded_before_the_rollup_existed_are_rolled_up_by_the_migration(
    settings: Settings, broker: EmbeddedBroker, tmp_path: Path
) -> None:
    start = datetime(1800, 1, 1, tzinfo=UTC) + timedelta(days=random.randrange(0, 99 * 365))
    first = start.date()
    kafka = with_broker(settings, broker)
    with scratch_database(settings.database_url, tmp_path) as url:
        config = alembic_config(url)
        command.upgrade(config, "head")
        scratch = dataclasses.replace(kafka, database_url=url)
        # Services recorded over HTTP, their events on the topic, no stats consumer running.
        with story_world(scratch, start) as world:
            rt = runtime(world.app)
            with running(make_relay(rt, scratch)):
                record(world)
                wait_for(lambda: unpublished(rt) == 0, 30, "the relay to publish the services")
            before = list(world.services)
            # The database as it was at 0009, holding them: no rollup, no flag. Then upgraded.
            command.downgrade(config, "0009")
            command.upgrade(config, "head")

            assert rollup_and_recount(rt, first) == (expected(first),) * 3

            # The consumer reads the whole topic, these services' events included: nothing.
            reader = read_the_whole_topic(rt, scratch)
            assert unapplied(rt, before) == 0, reader.applied
            assert rollup_and_recount(rt, first) == (expected(first),) * 3

            # Services recorded after the migration: counted by the consumer, once.
            with stats_stream(rt, scratch, broker):
                record(world)  # the same days again
                wait_until_rolled_up(rt, world.services)
            assert len(world.services) == 2 * len(SERVICES)
            assert rollup_and_recount(rt, first) == (expected(first, times=2),) * 3


def unpublished(rt: Runtime) -> int:
    with rt.session_factory() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.published_at.is_(None))
            )
            or 0
        )


def applied(rt: Runtime, event_ids: list[str]) -> bool:
    with rt.session_factory() as session:
        done = session.scalars(
            select(ProcessedEvent.event_id).where(
                ProcessedEvent.consumer == StatsConsumer.name,
                ProcessedEvent.event_id.in_(event_ids),
            )
        ).all()
    return len(done) == len(event_ids)
