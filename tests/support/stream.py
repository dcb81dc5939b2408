"""Helpers for event-stream tests: write events through the outbox, run the relay and the
consumers in threads, and read topics back with a plain Kafka consumer."""

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import select

from coordination.config import Settings
from coordination.runtime import Runtime
from events import cloudevents
from events.broker import EmbeddedBroker
from events.relay import Relay, RelayOptions
from services.actor import Actor
from services.cases.events import CaseUpdated
from services.ids import new_id
from services.outbox.models import OutboxMessage

ACTOR = Actor(org="stream-test-org", org_kind="support_center", client_id="stream-test-client")


def with_broker(settings: Settings, broker: EmbeddedBroker) -> Settings:
    return dataclasses.replace(settings, kafka_bootstrap_servers=broker.bootstrap_servers)


def write_case_events(rt: Runtime, case_id: str, count: int) -> list[str]:
    """`count` committed changes of one case (one transaction each); their event ids in order."""
    ids = []
    for n in range(count):
        request_id = new_id()
        with rt.uow(ACTOR, request_id=request_id) as uow:
            uow.announce(
                CaseUpdated(
                    subject=case_id,
                    case_id=case_id,
                    owner_org=ACTOR.org,
                    changed=("status",),
                    status="active" if n % 2 else "open",
                    previous_status="open" if n % 2 else "active",
                    age_band="20s",
                    is_minor=False,
                )
            )
            uow.commit()
            ids.append(
                uow.session.scalars(
                    select(OutboxMessage.id).where(OutboxMessage.request_id == request_id)
                ).one()
            )
    return ids


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def running(worker: Any) -> Iterator[threading.Event]:
    """Run `worker.run(stop)` in a thread for the duration of the block."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "worker did not stop"


def make_relay(rt: Runtime, settings: Settings, **options: Any) -> Relay:
    return Relay(rt.session_factory, settings, options=RelayOptions(**options))


def event_id(record: Any) -> str | None:
    """The CloudEvent id of a record, or None for a record that is not one of ours."""
    try:
        return cloudevents.decode(record.value).id
    except cloudevents.MalformedEvent:
        return None


class TopicReader:
    """A plain consumer over every partition of a topic, from the beginning."""

    def __init__(self, broker: EmbeddedBroker, topic: str) -> None:
        self.topic = topic
        self.consumer = KafkaConsumer(
            bootstrap_servers=broker.bootstrap_servers,
            enable_auto_commit=False,
            fetch_max_wait_ms=10,
            request_timeout_ms=5000,
        )
        self.records: list[Any] = []
        self._assigned = False

    def _assign(self) -> None:
        partitions = self.consumer.partitions_for_topic(self.topic)
        if not partitions:
            return
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        self._assigned = True

    def poll(self) -> list[Any]:
        if not self._assigned:
            self._assign()
            if not self._assigned:
                return self.records
        for recs in self.consumer.poll(timeout_ms=100).values():
            self.records.extend(recs)
        return self.records

    def events(self) -> list[cloudevents.ReceivedEvent]:
        return [cloudevents.decode(r.value) for r in self.poll()]

    def wait_for_ids(self, ids: list[str], timeout: float = 30.0) -> list[Any]:
        """The records of these events (duplicates included), once each has arrived. On a
        timeout the reader is closed before the error is raised, so no client outlives it."""
        wanted = set(ids)

        def arrived() -> bool:
            return wanted <= {event_id(r) for r in self.poll()}

        try:
            wait_for(arrived, timeout, f"{len(ids)} events on {self.topic}")
        except BaseException:
            self.close()
            raise
        return [r for r in self.records if event_id(r) in wanted]

    def __enter__(self) -> "TopicReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.consumer.close()


def make_audit_consumer(rt: Runtime, settings: Settings, name: str) -> Any:
    """An audit consumer with its own offsets and dedupe rows (a name of the test's own)."""
    from events.consumers.audit import AuditConsumer

    consumer = AuditConsumer(rt.session_factory, settings)
    consumer.name = name
    return consumer


def audit_counts(rt: Runtime, ids: list[str]) -> dict[str, int]:
    """How many audit entries each event id has (absent ids: none)."""
    from sqlalchemy import func

    from services.audit.models import AuditEntry

    with rt.session_factory() as session:
        rows = session.execute(
            select(AuditEntry.event_id, func.count())
            .where(AuditEntry.event_id.in_(ids))
            .group_by(AuditEntry.event_id)
        ).all()
    return {event_id: int(count) for event_id, count in rows}


def all_audited(rt: Runtime, ids: list[str]) -> bool:
    return set(audit_counts(rt, ids)) == set(ids)


def write_referral_event(rt: Runtime, event: Any, actor: Actor | None = None) -> str:
    """Commit one referral event (as the workflow would) and return its event id."""
    request_id = new_id()
    with rt.uow(actor or ACTOR, request_id=request_id) as uow:
        uow.announce(event)
        uow.commit()
        event_id: str = uow.session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.request_id == request_id)
        ).one()
    return event_id


def make_notification_consumer(rt: Runtime, settings: Settings, name: str) -> Any:
    from events.consumers.notifications import NotificationConsumer

    consumer = NotificationConsumer(rt.session_factory, settings)
    consumer.name = name
    return consumer


def assert_valid_cloudevent(value: bytes) -> None:
    """Validate one record value against the JSON Schema of its type (events/schemas)."""
    import json

    from jsonschema import Draft202012Validator

    from events.schemagen import load_schema
    from services.messages import EVENT_TYPE_PREFIX

    event = json.loads(value)
    schema = load_schema(event["type"].removeprefix(EVENT_TYPE_PREFIX))
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(event)


def write_many_events(rt: Runtime, count: int, per_transaction: int = 100) -> list[str]:
    """`count` events over several cases, `per_transaction` per commit; their ids in order."""
    ids: list[str] = []
    case_ids = [f"case-bulk-{new_id()}" for _ in range(5)]
    for start in range(0, count, per_transaction):
        request_id = new_id()
        with rt.uow(ACTOR, request_id=request_id) as uow:
            for n in range(start, min(count, start + per_transaction)):
                case_id = case_ids[n % len(case_ids)]
                uow.announce(
                    CaseUpdated(
                        subject=case_id,
                        case_id=case_id,
                        owner_org=ACTOR.org,
                        changed=("status",),
                        status="active",
                        previous_status="open",
                        age_band="20s",
                        is_minor=False,
                    )
                )
            uow.commit()
            ids.extend(
                uow.session.scalars(
                    select(OutboxMessage.id)
                    .where(OutboxMessage.request_id == request_id)
                    .order_by(OutboxMessage.position)
                )
            )
    return ids


def published_count(rt: Runtime, ids: list[str]) -> int:
    from sqlalchemy import func

    with rt.session_factory() as session:
        count = session.scalar(
            select(func.count()).where(
                OutboxMessage.id.in_(ids), OutboxMessage.published_at.is_not(None)
            )
        )
    return int(count or 0)


def worker_process(settings: Settings, broker: EmbeddedBroker, *args: str) -> Any:
    """`coordination <args>` as a separate process against the test database and broker."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "COORDINATION_LOG_LEVEL": "WARNING",
    }
    command = Path(sys.executable).with_name("coordination")
    return subprocess.Popen(
        [str(command), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_hard(process: Any) -> None:
    import signal

    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    if process.stderr is not None:
        process.stderr.close()


def stop_gently(process: Any) -> str:
    process.terminate()
    try:
        _, err = process.communicate(timeout=30)
    except Exception:
        process.kill()
        _, err = process.communicate()
    return str(err.decode(errors="replace") if err else "")
