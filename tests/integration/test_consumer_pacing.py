"""A consumer fetches with the short configured wait while records flow, and with a long one
once it has been idle a while (so an idle service does not poll the broker dozens of times a
second); a record that ends a quiet spell still arrives, and the wait is short again."""

import pytest

from coordination.config import Settings
from coordination.runtime import Runtime
from events.broker import EmbeddedBroker
from events.consumers import base
from tests.conftest import unique
from tests.support.stream import (
    all_audited,
    make_audit_consumer,
    make_relay,
    running,
    wait_for,
    with_broker,
    write_case_events,
)

pytestmark = pytest.mark.kafka


def fetcher_wait(consumer: base.StreamConsumer) -> int:
    assert consumer._consumer is not None
    wait: int = consumer._consumer._fetcher.config["fetch_max_wait_ms"]
    return wait


def test_fetches_wait_long_only_while_idle(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker
) -> None:
    kafka = with_broker(settings, broker)
    consumer = make_audit_consumer(rt, kafka, unique("audit"))
    relay = make_relay(rt, kafka)
    case_id = unique("case")
    with running(consumer), running(relay):
        first = write_case_events(rt, case_id, 3)
        wait_for(lambda: all_audited(rt, first), timeout=60, what="the first events")
        assert fetcher_wait(consumer) == kafka.kafka_fetch_max_wait_ms
        wait_for(
            lambda: fetcher_wait(consumer) == base.IDLE_FETCH_WAIT_MS, what="the idle fetch wait"
        )
        after_quiet = write_case_events(rt, case_id, 3)
        wait_for(lambda: all_audited(rt, after_quiet), timeout=60, what="events after a lull")
        assert fetcher_wait(consumer) == kafka.kafka_fetch_max_wait_ms
