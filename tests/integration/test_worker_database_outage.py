"""Workers through a database outage: the relay and the audit consumer lose every connection
mid-stream and cannot reconnect for a while; once the database is back they carry on alone, and
each event reaches the audit trail exactly once."""

import dataclasses
import time

import pytest

from coordination.config import Settings
from coordination.runtime import Runtime
from events.broker import EmbeddedBroker
from tests.conftest import unique
from tests.support.stream import (
    all_audited,
    audit_counts,
    published_count,
    stop_gently,
    wait_for,
    worker_process,
    write_case_events,
)
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.kafka


def test_relay_and_audit_consumer_carry_on_after_a_database_outage(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker, proxy: TcpProxy
) -> None:
    behind_proxy = dataclasses.replace(settings, database_url=proxy.through(settings.database_url))
    workers = [
        worker_process(behind_proxy, broker, "relay"),
        worker_process(behind_proxy, broker, "consume", "audit"),
    ]
    case_id = unique("case")
    try:
        before = write_case_events(rt, case_id, 20)
        wait_for(lambda: all_audited(rt, before), timeout=60, what="the stream to flow")
        proxy.cut()
        # The API's own connections are not cut: writes go on while the workers are locked out.
        during = write_case_events(rt, case_id, 20)
        time.sleep(2)  # long enough for each worker to fail and back off at least once
        assert published_count(rt, during) == 0
        proxy.restore()
        after = write_case_events(rt, case_id, 20)
        ids = before + during + after
        wait_for(lambda: all_audited(rt, ids), timeout=120, what="every event audited")
    finally:
        errors = [stop_gently(worker) for worker in workers]
    assert audit_counts(rt, ids) == dict.fromkeys(ids, 1)
    assert not any("Traceback" in err for err in errors), errors
