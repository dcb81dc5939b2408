"""Workers killed with SIGKILL mid-work, then restarted: nothing is lost, and the duplicates a
killed relay leaves on Kafka are absorbed by the consumers (one audit entry per event)."""

import pytest

from coordination.config import Settings
from coordination.runtime import Runtime
from events import cloudevents
from events.broker import EmbeddedBroker
from services.messages import TOPIC_EVENTS
from tests.conftest import unique
from tests.support.stream import (
    TopicReader,
    all_audited,
    audit_counts,
    kill_hard,
    make_audit_consumer,
    make_relay,
    published_count,
    running,
    stop_gently,
    wait_for,
    with_broker,
    worker_process,
    write_many_events,
)

pytestmark = pytest.mark.kafka


def test_relay_killed_mid_publish_loses_nothing_and_duplicates_are_absorbed(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker
) -> None:
    ids = write_many_events(rt, 3000)
    relay = worker_process(settings, broker, "relay")
    try:
        wait_for(lambda: published_count(rt, ids) > 0, timeout=60, what="the relay to start")
    finally:
        kill_hard(relay)
    assert published_count(rt, ids) < len(ids), "killed too late to be mid-publish"
    relay = worker_process(settings, broker, "relay")
    try:
        wait_for(lambda: published_count(rt, ids) == len(ids), timeout=120, what="all published")
    finally:
        assert "Traceback" not in stop_gently(relay)
    reader = TopicReader(broker, TOPIC_EVENTS)
    reader.wait_for_ids(ids, timeout=60)
    reader.close()
    kafka = with_broker(settings, broker)
    with running(make_audit_consumer(rt, kafka, unique("audit"))):
        wait_for(lambda: all_audited(rt, ids), timeout=120, what="every event audited")
    assert audit_counts(rt, ids) == dict.fromkeys(ids, 1)


def test_audit_consumer_killed_mid_batch_leaves_one_entry_per_event(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker
) -> None:
    kafka = with_broker(settings, broker)
    ids = write_many_events(rt, 6000)  # enough that the kill lands while it still consumes
    relay = make_relay(rt, kafka)
    while relay.publish_pending():
        pass
    relay.close()
    consumer = worker_process(settings, broker, "consume", "audit")
    try:
        wait_for(lambda: audit_counts(rt, ids), timeout=60, what="the consumer to start")
    finally:
        kill_hard(consumer)
    assert len(audit_counts(rt, ids)) < len(ids), "killed too late to be mid-stream"
    consumer = worker_process(settings, broker, "consume", "audit")
    try:
        wait_for(lambda: all_audited(rt, ids), timeout=120, what="every event audited")
    finally:
        assert "Traceback" not in stop_gently(consumer)
    assert audit_counts(rt, ids) == dict.fromkeys(ids, 1)
    # The events on Kafka are each there (at least) once; the trail holds each exactly once.
    reader = TopicReader(broker, TOPIC_EVENTS)
    on_kafka = {cloudevents.decode(r.value).id for r in reader.wait_for_ids(ids)}
    reader.close()
    assert on_kafka == set(ids)


def test_relay_reconcile_command_republishes_what_the_trail_lacks(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    ids = write_many_events(rt, 20)
    reader = TopicReader(broker, TOPIC_EVENTS)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("coordination")), "relay", "--reconcile"],
        env={
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    count = int(done.stdout.split()[1])  # "republished N events"
    assert count >= len(ids)
    reader.wait_for_ids(ids)
    reader.close()
    assert published_count(rt, ids) == len(ids)
