"""The audit consumer on the real broker: one entry per event, exactly once, through broker
outages, replays, a broker that lost its data, and records it cannot read."""

from typing import Any

import pytest
from kafka import KafkaProducer
from sqlalchemy import delete, select

from coordination.config import Settings
from coordination.runtime import Runtime
from events.broker import EmbeddedBroker
from services.audit.models import AuditEntry
from services.consumers.models import ConsumerOffset
from services.messages import TOPIC_DEADLETTER, TOPIC_EVENTS
from tests.conftest import unique
from tests.support.stream import (
    ACTOR,
    TopicReader,
    all_audited,
    audit_counts,
    make_audit_consumer,
    make_relay,
    running,
    wait_for,
    with_broker,
    write_case_events,
)

pytestmark = pytest.mark.kafka


def test_audit_consumer_records_each_event_once_with_who_and_when(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker
) -> None:
    kafka = with_broker(settings, broker)
    case = unique("case")
    ids = write_case_events(rt, case, 3)
    consumer = make_audit_consumer(rt, kafka, unique("audit"))
    with running(make_relay(rt, kafka)), running(consumer):
        wait_for(lambda: all_audited(rt, ids), what="audit entries")
    assert audit_counts(rt, ids) == dict.fromkeys(ids, 1)
    with rt.session_factory() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.event_id.in_(ids)).order_by(AuditEntry.index)
        ).all()
    assert [e.event_id for e in entries] == ids
    assert {(e.action, e.outcome, e.org, e.client_id, e.case_id) for e in entries} == {
        ("case.updated", "allowed", ACTOR.org, ACTOR.client_id, case)
    }
    assert all(e.resource == f"case/{case}" for e in entries)


def test_replaying_the_topic_from_offset_zero_adds_nothing(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker
) -> None:
    kafka = with_broker(settings, broker)
    ids = write_case_events(rt, unique("case"), 3)
    name = unique("audit")
    with running(make_relay(rt, kafka)), running(make_audit_consumer(rt, kafka, name)):
        wait_for(lambda: all_audited(rt, ids), what="audit entries")
    before = trail(rt)
    with rt.session_factory() as session:
        # Forget the offsets: the consumer starts again from offset 0 of every partition.
        session.execute(delete(ConsumerOffset).where(ConsumerOffset.consumer == name))
        session.commit()
    replay = make_audit_consumer(rt, kafka, name)
    while replay.poll_once(timeout_ms=500):
        pass
    replay.close()
    assert replay.applied >= len(ids)  # it did read the stream again
    assert audit_counts(rt, ids) == dict.fromkeys(ids, 1)
    after = trail(rt)
    # Every entry that was there is there unchanged; the replay added none for those events
    # (it may add entries for other tests' events no audit consumer had read yet).
    assert {event_id: after[event_id] for event_id in before} == before
    assert len(after) - len(before) == len(set(after) - set(before))


def trail(rt: Runtime) -> dict[str, tuple[int, str]]:
    with rt.session_factory() as session:
        rows = session.execute(select(AuditEntry.event_id, AuditEntry.index, AuditEntry.leaf_hash))
        return {event_id: (index, leaf) for event_id, index, leaf in rows}


def test_broker_paused_during_writes_loses_nothing_and_doubles_nothing(
    rt: Runtime, settings: Settings, own_broker: EmbeddedBroker
) -> None:
    kafka = with_broker(settings, own_broker)
    case = unique("case")
    relay = make_relay(rt, kafka, publish_timeout_s=1.0)
    with running(relay), running(make_audit_consumer(rt, kafka, unique("audit"))):
        ids = write_case_events(rt, case, 3)
        wait_for(lambda: all_audited(rt, ids), what="first audit entries")
        own_broker.pause()
        try:
            ids += write_case_events(rt, case, 6)
        finally:
            own_broker.resume()
        ids += write_case_events(rt, case, 2)
        wait_for(lambda: all_audited(rt, ids), timeout=90, what="every audit entry")
    assert audit_counts(rt, ids) == dict.fromkeys(ids, 1)


def test_emptied_broker_is_repaired_by_reconcile_and_consumer_restarts_from_zero(
    rt: Runtime, settings: Settings, own_broker: EmbeddedBroker
) -> None:
    kafka = with_broker(settings, own_broker)
    case = unique("case")
    name = unique("audit")
    relay = make_relay(rt, kafka)
    with running(make_audit_consumer(rt, kafka, name)):
        seen = write_case_events(rt, case, 2)
        while relay.publish_pending():
            pass
        wait_for(lambda: all_audited(rt, seen), what="audit entries before the loss")
    # Published but never consumed, then the broker loses everything.
    lost = write_case_events(rt, case, 3)
    while relay.publish_pending():
        pass
    # Clients left connected would reconnect while the broker is down (kafka-python then leaves
    # a failed socket to the garbage collector): close them first.
    relay.close()
    own_broker.restart_empty()
    assert relay.reconcile() >= len(lost)
    relay.close()
    # The consumer's stored offsets are past the end of the recreated topic: it starts over.
    with running(make_audit_consumer(rt, kafka, name)):
        wait_for(lambda: all_audited(rt, lost), timeout=60, what="the lost events audited")
    assert audit_counts(rt, seen + lost) == dict.fromkeys(seen + lost, 1)


def test_unreadable_record_goes_to_deadletter_and_consumer_carries_on(
    rt: Runtime, settings: Settings, own_broker: EmbeddedBroker
) -> None:
    # A broker of its own: other tests read coordination.events as a well-formed stream.
    broker = own_broker
    kafka = with_broker(settings, broker)
    consumer = make_audit_consumer(rt, kafka, unique("audit"))
    consumer.poll_once(timeout_ms=100)  # topics exist, consumer assigned
    marker = unique("garbage").encode()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    producer.send(TOPIC_EVENTS, key=marker, value=b"not a cloudevent " + marker).get(timeout=10)
    producer.close()
    ids = write_case_events(rt, unique("case"), 1)
    dead = TopicReader(broker, TOPIC_DEADLETTER)
    with running(make_relay(rt, kafka)), running(consumer):
        wait_for(lambda: all_audited(rt, ids), what="the good event audited")
        wait_for(
            lambda: any(r.key == marker for r in dead.poll()), what="the bad record dead-lettered"
        )
    dead.close()


def test_an_event_that_cannot_be_applied_is_deadlettered_alone(
    rt: Runtime, settings: Settings, own_broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    kafka = with_broker(settings, own_broker)
    ids = write_case_events(rt, unique("case"), 3)  # one case: one partition, one batch
    relay = make_relay(rt, kafka)
    while relay.publish_pending():
        pass
    relay.close()
    consumer = make_audit_consumer(rt, kafka, unique("audit"))
    apply = consumer.apply

    def failing_apply(session: Any, event: Any, topic: str) -> Any:
        if event.id == ids[1]:
            raise ValueError("cannot be applied")
        return apply(session, event, topic)

    monkeypatch.setattr(consumer, "apply", failing_apply)
    good = [ids[0], ids[2]]
    try:
        wait_for(
            lambda: consumer.poll_once(timeout_ms=200) >= 0 and all_audited(rt, good),
            what="the other events of the batch audited",
        )
    finally:
        consumer.close()
    assert audit_counts(rt, ids) == dict.fromkeys(good, 1)
    with TopicReader(own_broker, TOPIC_DEADLETTER) as dead:
        [record] = dead.wait_for_ids([ids[1]])
    assert dict(record.headers)["reason"] == b"ValueError"
