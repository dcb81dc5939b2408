"""The outbox relay against the real broker: every committed event on Kafka, in case order,
through a broker outage, and back after the broker lost its data (reconcile)."""

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from coordination.config import Settings
from coordination.runtime import Runtime
from events import cloudevents
from events.broker import EmbeddedBroker
from events.kafka import TOPICS
from services.errors import InvalidInput
from services.messages import TOPIC_EVENTS
from services.outbox.models import OutboxMessage
from tests.conftest import unique
from tests.support.stream import (
    TopicReader,
    assert_valid_cloudevent,
    make_relay,
    published_count,
    running,
    wait_for,
    with_broker,
    write_case_events,
)

pytestmark = pytest.mark.kafka


def test_relay_publishes_each_committed_event_once_in_case_order(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker
) -> None:
    case_a, case_b = unique("case"), unique("case")
    ids_a = write_case_events(rt, case_a, 4)
    ids_b = write_case_events(rt, case_b, 3)
    reader = TopicReader(broker, TOPIC_EVENTS)
    with running(make_relay(rt, with_broker(settings, broker))):
        records = reader.wait_for_ids(ids_a + ids_b)
    reader.close()

    received = [cloudevents.decode(r.value).id for r in records]
    assert sorted(received) == sorted(ids_a + ids_b)  # each exactly once
    assert [i for i in received if i in ids_a] == ids_a  # one case's events in order
    for record in records:
        event = cloudevents.decode(record.value)
        assert record.key.decode() == event.case_id
        assert_valid_cloudevent(record.value)
    first = json.loads(records[0].value)
    assert first["specversion"] == "1.0"
    assert first["source"] == "/coordination"
    assert first["type"] == "org.coordination.case.updated"
    assert first["datacontenttype"] == "application/json"
    assert first["subject"] in (case_a, case_b)
    assert first["time"].endswith("Z")
    with rt.session_factory() as session:
        published = session.scalars(
            select(OutboxMessage.published_at).where(OutboxMessage.id.in_(ids_a + ids_b))
        ).all()
    assert all(at is not None for at in published)


def test_an_idle_relay_publishes_a_new_commit_promptly_without_notify(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the probe can wake the relay: its periodic round comes far later than the bound.
    monkeypatch.setattr("events.relay.IDLE_ROUND_S", 120.0)
    if rt.engine.dialect.name == "postgresql":
        with rt.engine.connect() as connection:
            triggers = connection.scalar(
                text("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'outbox'::regclass")
            )
        assert triggers == 0  # a NOTIFY trigger would serialise every write's commit
    case = unique("case")
    with running(make_relay(rt, with_broker(settings, broker))):
        wait_for(lambda: published_count(rt, write_case_events(rt, case, 1)), what="a first row")
        time.sleep(0.5)  # the relay is idle, probing
        for _ in range(3):
            ids = write_case_events(rt, case, 1)
            wait_for(lambda ids=ids: published_count(rt, ids), timeout=10.0, what="the new row")
            time.sleep(0.2)


def test_a_row_below_the_probe_window_is_still_published_by_the_idle_round(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A row that commits after newer rows were published (a long transaction) lies below the
    # probe's floor: the relay's periodic round claims it.
    monkeypatch.setattr("events.relay.PROBE_WINDOW", 0)
    monkeypatch.setattr("events.relay.IDLE_ROUND_S", 0.5)
    late, newer = write_case_events(rt, unique("case"), 2)
    with running(make_relay(rt, with_broker(settings, broker))):
        wait_for(lambda: published_count(rt, [late, newer]) == 2, what="both rows")
        with rt.session_factory() as session:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == late).values(published_at=None)
            )
            session.commit()
        wait_for(lambda: published_count(rt, [late]), timeout=10.0, what="the late row")


def test_relay_delivers_everything_after_broker_pause(
    rt: Runtime, settings: Settings, own_broker: EmbeddedBroker
) -> None:
    case = unique("case")
    kafka = with_broker(settings, own_broker)
    relay = make_relay(rt, kafka, publish_timeout_s=1.0)
    reader = TopicReader(own_broker, TOPIC_EVENTS)
    with running(relay):
        before = write_case_events(rt, case, 3)
        reader.wait_for_ids(before)
        own_broker.pause()
        try:
            during = write_case_events(rt, case, 5)  # the API keeps committing meanwhile
            with rt.session_factory() as session:
                assert (
                    session.scalar(
                        select(OutboxMessage.published_at).where(OutboxMessage.id == during[-1])
                    )
                    is None
                )
        finally:
            own_broker.resume()
        records = reader.wait_for_ids(before + during, timeout=60)
    reader.close()
    received = [cloudevents.decode(r.value).id for r in records]
    assert set(received) == set(before + during)
    # Redelivery may repeat an event, but never reorders the first arrival of each.
    first_seen = list(dict.fromkeys(received))
    assert first_seen == before + during


def test_reconcile_republishes_what_an_emptied_broker_lost(
    rt: Runtime, settings: Settings, own_broker: EmbeddedBroker
) -> None:
    case = unique("case")
    kafka = with_broker(settings, own_broker)
    ids = write_case_events(rt, case, 4)
    relay = make_relay(rt, kafka)
    while relay.publish_pending():
        pass
    reader = TopicReader(own_broker, TOPIC_EVENTS)
    reader.wait_for_ids(ids)
    reader.close()

    # Clients left connected would reconnect while the broker is down (kafka-python then leaves
    # a failed socket to the garbage collector): close them first.
    relay.close()
    own_broker.restart_empty()
    assert relay.reconcile() >= len(ids)
    relay.close()
    reader = TopicReader(own_broker, TOPIC_EVENTS)
    reader.wait_for_ids(ids)
    reader.close()


def test_two_relays_on_postgresql_publish_each_event_once_in_case_order(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker
) -> None:
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("several relays need FOR UPDATE SKIP LOCKED (PostgreSQL)")
    kafka = with_broker(settings, broker)
    per_case = [write_case_events(rt, unique("case"), 15) for _ in range(4)]
    ids = [i for case_ids in per_case for i in case_ids]
    reader = TopicReader(broker, TOPIC_EVENTS)
    first, second = make_relay(rt, kafka, batch_size=5), make_relay(rt, kafka, batch_size=5)
    with running(first), running(second):
        records = reader.wait_for_ids(ids)
        # Let any duplicate that is on its way arrive before counting.
        write_case_events(rt, unique("case"), 1)
        for _ in range(5):
            reader.poll()
    reader.close()
    received = [cloudevents.decode(r.value).id for r in reader.records]
    assert sorted(i for i in received if i in set(ids)) == sorted(ids)
    assert len(records) == len(ids)
    for case_ids in per_case:  # each case's events in the order they were committed
        assert [i for i in received if i in set(case_ids)] == case_ids


def test_a_relay_publishes_no_row_past_one_another_relay_holds(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker
) -> None:
    """Another relay holds the middle of a case's rows: this one publishes the case's rows
    before them and leaves the rest, whatever its claim skipped, for after them."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("several relays need FOR UPDATE SKIP LOCKED (PostgreSQL)")
    case = unique("case")
    ids = write_case_events(rt, case, 5)
    relay = make_relay(rt, with_broker(settings, broker))
    with rt.engine.connect() as other_relay:
        other_relay.execute(
            select(OutboxMessage.position)
            .where(OutboxMessage.id.in_(ids[1:3]))
            .with_for_update(skip_locked=True)
        ).all()
        while relay.publish_pending():
            pass
        assert published_ids(rt, ids) == ids[:1]
        other_relay.rollback()
    reader = TopicReader(broker, TOPIC_EVENTS)
    while relay.publish_pending():
        pass
    relay.close()
    records = reader.wait_for_ids(ids)
    reader.close()
    received = [cloudevents.decode(r.value).id for r in records]
    assert [i for i in received if i in ids] == ids


def published_ids(rt: Runtime, ids: list[str]) -> list[str]:
    with rt.session_factory() as session:
        rows = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.published_at.is_not(None))
            .order_by(OutboxMessage.position)
        )
        return list(rows)


def test_topics_are_created_with_the_configured_partitions(
    rt: Runtime, settings: Settings, own_broker: EmbeddedBroker
) -> None:
    from kafka.admin import KafkaAdminClient

    kafka = dataclasses.replace(with_broker(settings, own_broker), kafka_topic_partitions=2)
    ids = write_case_events(rt, unique("case"), 1)
    relay = make_relay(rt, kafka)
    while relay.publish_pending():
        pass
    relay.close()
    admin = KafkaAdminClient(bootstrap_servers=own_broker.bootstrap_servers)
    try:
        described = {t["name"]: t for t in admin.describe_topics(list(TOPICS))}
    finally:
        admin.close()
    assert set(described) == set(TOPICS)
    assert {len(t["partitions"]) for t in described.values()} == {2}
    assert ids


def test_published_rows_are_kept_for_the_retention_period_only(
    rt: Runtime, settings: Settings
) -> None:
    old, recent = write_case_events(rt, unique("case"), 2)
    now = datetime.now(UTC)
    with rt.session_factory() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == old)
            .values(published_at=now - timedelta(days=8))
        )
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == recent)
            .values(published_at=now - timedelta(days=6))
        )
        session.commit()
    relay = make_relay(rt, settings, retention_days=7)
    assert relay.purge_published() >= 1
    with rt.session_factory() as session:
        kept = set(
            session.scalars(select(OutboxMessage.id).where(OutboxMessage.id.in_([old, recent])))
        )
    assert kept == {recent}


def test_an_event_over_64_kib_is_refused_when_written(rt: Runtime) -> None:
    from services.cases.events import CaseUpdated

    case = unique("case")
    huge = CaseUpdated(
        subject=case,
        case_id=case,
        owner_org="o",
        changed=tuple(f"field{n}" for n in range(8000)),
        status="open",
        previous_status="open",
        age_band="20s",
        is_minor=False,
    )
    with rt.uow() as uow:
        uow.announce(huge)
        with pytest.raises(InvalidInput):
            uow.commit()
    with rt.session_factory() as session:
        assert session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == case)) is None
