"""A stream consumer whose offsets live in the database, next to its effects.

Each poll is applied in ONE database transaction that holds the effects of its records, a
`processed_events` row per event id (so a replayed or duplicated event changes nothing) and the
new offset of each partition (`consumer_offsets`). A crash anywhere leaves either all of it or
none of it, so the consumer never loses and never doubles an effect. Offsets are never committed
to Kafka: the consumer assigns itself every partition and seeks to its stored offsets.

A recreated topic (the broker lost its data) has a new topic id: the consumer then starts that
topic again from offset 0 and lets deduplication absorb what it had already applied. A record
that cannot be applied goes to `coordination.deadletter` and the consumer carries on.
"""

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from sqlalchemy import String, insert, select
from sqlalchemy.orm import Session, sessionmaker

from events import cloudevents, metrics
from events.cloudevents import ReceivedEvent
from events.kafka import KafkaSettings, admin_client, client_config, ensure_topics, topic_ids
from events.relay import make_producer
from services.clock import Clock, SystemClock
from services.consumers.models import ConsumerOffset, ProcessedEvent
from services.db import dialect_insert, one_of
from services.messages import TOPIC_DEADLETTER, DomainEvent
from services.unit_of_work import UnitOfWork

log = logging.getLogger("coordination.consumer")

TOPIC_CHECK_EVERY_S = 3.0
MAX_BACKOFF_S = 30.0
#: Once no record came for this long, fetches wait `IDLE_FETCH_WAIT_MS` instead of the
#: configured (short) wait: an idle `serve` then costs ~9 % of a core instead of ~45 % (its
#: consumers and the embedded broker, which answers a waiting fetch only when its wait is up).
#: The first record after a quiet spell waits up to that long; the wait is short again at once.
IDLE_AFTER_S = 2.0
IDLE_FETCH_WAIT_MS = 500


class StreamConsumer:
    """Subclasses set `name` and `topics` and implement `apply`."""

    name: str = ""
    topics: tuple[str, ...] = ()

    def __init__(
        self,
        session_factory: sessionmaker[Any],
        settings: KafkaSettings,
        *,
        clock: Clock | None = None,
        max_records: int = 500,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.max_records = max_records
        self._consumer: KafkaConsumer | None = None
        self._admin: KafkaAdminClient | None = None
        self._producer: KafkaProducer | None = None
        self._topic_ids: dict[str, str] = {}
        self._checked_at = 0.0
        self._records_at = 0.0
        self.applied = 0

    # ---- what a subclass does ------------------------------------------------------------

    def apply(self, session: Session, event: ReceivedEvent, topic: str) -> Sequence[DomainEvent]:
        """Apply one event in `session`; return the events it causes (written to the outbox)."""
        raise NotImplementedError

    def start_batch(self) -> None:
        """Called before each batch (also after a failed one)."""

    def finish_batch(self, session: Session) -> Sequence[DomainEvent]:
        """Called once per batch, after every record was applied and before the commit; returns
        the events the batch causes, besides those `apply` returned."""
        return ()

    # ---- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        failures = 0
        try:
            while not stop.is_set():
                try:
                    self.poll_once(timeout_ms=200)
                    failures = 0
                except Exception as exc:
                    failures += 1
                    wait = min(MAX_BACKOFF_S, 0.2 * 2 ** min(failures, 10))
                    log.warning(
                        "consumer failed; retrying",
                        extra={
                            "fields": {
                                "consumer": self.name,
                                "error": type(exc).__name__,
                                "retry_in_s": wait,
                            }
                        },
                    )
                    self.close()
                    stop.wait(wait)
        finally:
            self.close()

    def poll_once(self, timeout_ms: int = 200) -> int:
        """Apply what one poll returns, in one transaction; returns how many records it held."""
        consumer = self._ensure_consumer()
        self._check_topics(consumer)
        batch = consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        records = [(tp, record) for tp, recs in batch.items() for record in recs]
        self._pace_fetches(consumer, busy=bool(records))
        if not records:
            return 0
        self._apply_batch(records)
        return len(records)

    def fetch_wait_ms(self) -> int:
        """How long the next fetch may wait at the broker: short while records flow."""
        if time.monotonic() - self._records_at < IDLE_AFTER_S:
            return self.settings.kafka_fetch_max_wait_ms
        return max(IDLE_FETCH_WAIT_MS, self.settings.kafka_fetch_max_wait_ms)

    def _pace_fetches(self, consumer: KafkaConsumer, *, busy: bool) -> None:
        if busy:
            self._records_at = time.monotonic()
        # kafka-python reads the wait from its fetcher's settings for every request, and has no
        # public way to change it on a running consumer; without that attribute (another
        # version) the configured wait simply stays.
        config = getattr(getattr(consumer, "_fetcher", None), "config", None)
        if isinstance(config, dict):
            config["fetch_max_wait_ms"] = self.fetch_wait_ms()

    def close(self) -> None:
        for closable in (self._consumer, self._admin, self._producer):
            if closable is not None:
                try:
                    closable.close()
                except Exception:
                    log.debug("closing a kafka client", exc_info=True)
        self._consumer = self._admin = self._producer = None
        self._topic_ids = {}
        self._checked_at = 0.0

    # ---- applying a batch ----------------------------------------------------------------

    def _apply_batch(self, records: Sequence[tuple[TopicPartition, Any]]) -> None:
        next_offsets: dict[TopicPartition, int] = {}
        todo: list[tuple[str, Any, ReceivedEvent]] = []
        for tp, record in records:
            next_offsets[tp] = record.offset + 1
            try:
                todo.append((tp.topic, record, cloudevents.decode(record.value)))
            except cloudevents.MalformedEvent as exc:
                self._deadletter(tp.topic, record, str(exc))
        try:
            # The fast path: the whole batch in one transaction, with no savepoint round trips.
            self._commit_batch(todo, next_offsets, one_by_one=False)
        except Exception:
            if not todo:
                raise
            # Should any event fail, start again one event at a time, each in a savepoint, to
            # dead-letter only that one. (A database that is away fails again here: backoff.)
            self._commit_batch(todo, next_offsets, one_by_one=True)
        self.applied += len(records)

    def _commit_batch(
        self,
        todo: list[tuple[str, Any, ReceivedEvent]],
        next_offsets: dict[TopicPartition, int],
        *,
        one_by_one: bool,
    ) -> None:
        uow = UnitOfWork(self.session_factory, self.clock)
        with uow:
            session = uow.session
            todo = self._fresh(session, todo)
            if todo and one_by_one:
                for topic, record, event in todo:
                    self._apply_one(uow, topic, record, event)
            elif todo:
                for caused_event in self._apply_all(uow, todo):
                    uow.announce(caused_event)
            self._store_offsets(session, next_offsets)
            uow.commit()

    def _fresh(
        self, session: Session, todo: list[tuple[str, Any, ReceivedEvent]]
    ) -> list[tuple[str, Any, ReceivedEvent]]:
        """Drop the events applied before (a duplicate or a replay), and repeats in the batch."""
        done = set(
            session.scalars(
                select(ProcessedEvent.event_id).where(
                    ProcessedEvent.consumer == self.name,
                    one_of(
                        session,
                        ProcessedEvent.event_id,
                        list({event.id for _, _, event in todo}),
                        String,
                    ),
                )
            )
        )
        fresh = []
        for item in todo:
            if item[2].id not in done:
                done.add(item[2].id)
                fresh.append(item)
        return fresh

    def _apply_all(
        self, uow: UnitOfWork, todo: list[tuple[str, Any, ReceivedEvent]]
    ) -> list[DomainEvent]:
        session = uow.session
        caused: list[DomainEvent] = []
        self.start_batch()
        for topic, _, event in todo:
            caused.extend(self.apply(session, event, topic))
        caused.extend(self.finish_batch(session))
        at = now(uow)
        session.flush()
        # One executemany, not an ORM object per event: the batch's bookkeeping in a round trip.
        session.execute(
            insert(ProcessedEvent),
            [
                {"consumer": self.name, "event_id": event.id, "processed_at": at}
                for *_, event in todo
            ],
        )
        return caused

    def _apply_one(self, uow: UnitOfWork, topic: str, record: Any, event: ReceivedEvent) -> None:
        savepoint = uow.session.begin_nested()
        try:
            caused = self._apply_all(uow, [(topic, record, event)])
        except Exception as exc:
            savepoint.rollback()
            log.warning(
                "event could not be applied; dead-lettered",
                extra={
                    "fields": {
                        "consumer": self.name,
                        "event_id": event.id,
                        "error": type(exc).__name__,
                    }
                },
            )
            self._deadletter(topic, record, type(exc).__name__)
            return
        savepoint.commit()
        for caused_event in caused:
            uow.announce(caused_event)

    def _store_offsets(self, session: Session, next_offsets: dict[TopicPartition, int]) -> None:
        """Upsert every partition's offset in one statement (no read of the rows first)."""
        if not next_offsets:
            return
        upsert = dialect_insert(session, ConsumerOffset)
        session.execute(
            upsert.on_conflict_do_update(
                index_elements=["consumer", "topic", "partition"],
                set_={
                    "next_offset": upsert.excluded.next_offset,
                    "topic_id": upsert.excluded.topic_id,
                },
            ),
            [
                {
                    "consumer": self.name,
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "next_offset": offset,
                    "topic_id": self._topic_ids.get(tp.topic, ""),
                }
                for tp, offset in next_offsets.items()
            ],
        )

    def _deadletter(self, topic: str, record: Any, reason: str) -> None:
        if self._producer is None:
            self._producer = make_producer(self.settings)
        headers = [
            ("consumer", self.name.encode()),
            ("source-topic", topic.encode()),
            ("source-partition", str(record.partition).encode()),
            ("source-offset", str(record.offset).encode()),
            ("reason", reason[:200].encode()),
        ]
        future = self._producer.send(
            TOPIC_DEADLETTER, key=record.key, value=record.value, headers=headers
        )
        future.get(timeout=10)
        metrics.DEADLETTERED.labels(self.name).inc()

    # ---- assignment and offsets ----------------------------------------------------------

    def _ensure_consumer(self) -> KafkaConsumer:
        if self._consumer is not None:
            return self._consumer
        ensure_topics(self.settings)
        self._admin = admin_client(self.settings)
        consumer = KafkaConsumer(
            **client_config(self.settings),
            group_id=None,  # offsets live in the database, not in a consumer group
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
            max_poll_records=self.max_records,
            request_timeout_ms=5000,
        )
        self._consumer = consumer
        self._assign(consumer)
        return consumer

    def _assign(self, consumer: KafkaConsumer) -> None:
        assert self._admin is not None
        self._topic_ids = topic_ids(self._admin, list(self.topics))
        partitions = [
            TopicPartition(topic, p)
            for topic in self.topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        with self.session_factory() as session:
            stored = {
                (row.topic, row.partition): row
                for row in session.scalars(
                    select(ConsumerOffset).where(ConsumerOffset.consumer == self.name)
                )
            }
        ends = consumer.end_offsets(partitions) if partitions else {}
        for tp in partitions:
            row = stored.get((tp.topic, tp.partition))
            offset = 0 if row is None else row.next_offset
            current_id = self._topic_ids.get(tp.topic, "")
            if row is not None and row.topic_id and current_id and row.topic_id != current_id:
                offset = 0  # the topic was recreated: start again; dedupe absorbs the rest
            elif ends.get(tp, 0) == 0 and offset > 0:
                offset = 0  # past the end of an empty partition
            consumer.seek(tp, offset)
        self._checked_at = time.monotonic()

    def _check_topics(self, consumer: KafkaConsumer) -> None:
        """Every few seconds: a recreated topic (new id, or more partitions) means reassigning."""
        if time.monotonic() - self._checked_at < TOPIC_CHECK_EVERY_S:
            return
        assert self._admin is not None
        self._checked_at = time.monotonic()
        current = topic_ids(self._admin, list(self.topics))
        assigned = consumer.assignment()
        partitions = {
            TopicPartition(topic, p)
            for topic in self.topics
            for p in consumer.partitions_for_topic(topic) or ()
        }
        if current != self._topic_ids or partitions != assigned:
            if len(current) < len(self.topics):
                ensure_topics(self.settings, self._admin)
            consumer.poll(timeout_ms=0)  # refresh metadata before reassigning
            self._assign(consumer)
        self._report_lag(consumer)

    def _report_lag(self, consumer: KafkaConsumer) -> None:
        assigned = list(consumer.assignment())
        if not assigned:
            return
        ends = consumer.end_offsets(assigned)
        lag = sum(max(0, ends[tp] - consumer.position(tp)) for tp in assigned if tp in ends)
        metrics.CONSUMER_LAG.labels(self.name).set(lag)


def now(uow: UnitOfWork) -> datetime:
    return uow.clock.now()
