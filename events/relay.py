"""The outbox relay: publishes committed outbox rows to Kafka as CloudEvents, in write order.

A row is marked published only after the broker acknowledged its record (`acks=all`, with an
idempotent producer), so nothing committed is lost; a relay that dies between the ack and the
mark publishes the row again, and the consumers, idempotent on the event id, absorb that.

* PostgreSQL: each batch is claimed with `FOR UPDATE SKIP LOCKED`, so several relays can run.
* SQLite: one relay; it reads a batch, publishes outside any transaction (SQLite's single
  writer lock must never wait on the broker, or the API would stop accepting writes), then
  marks it.

On both, while there is a backlog the relay goes on at once; while idle it probes every
`poll_interval_s` for an unpublished row (an index-only query on a connection of its own, outside
any transaction). It does not LISTEN: a transaction that NOTIFYs takes a database-wide lock at
commit, which would serialise every write of the API (migration 0009 dropped that trigger).

While the broker is unreachable the relay backs off exponentially (up to `MAX_BACKOFF_S`); the
API keeps writing to the outbox meanwhile.
"""

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient
from kafka.partitioner.default import DefaultPartitioner, murmur2
from sqlalchemy import (
    BigInteger,
    Engine,
    Row,
    delete,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased, sessionmaker

from events import cloudevents, metrics
from events.kafka import KafkaSettings, admin_client, client_config, ensure_topics
from services.audit.models import AuditEntry
from services.clock import Clock, SystemClock
from services.db import one_of
from services.messages import TOPIC_AUDIT, TOPIC_EVENTS
from services.outbox.models import OutboxMessage

log = logging.getLogger("coordination.relay")

MAX_BACKOFF_S = 30.0
TOPIC_CHECK_EVERY_S = 5.0
PURGE_EVERY_S = 600.0
#: An idle relay still returns to its loop this often, for the housekeeping (and to claim any
#: row the probe does not look for, see `PROBE_WINDOW`).
IDLE_ROUND_S = 1.0
#: The probe looks only at positions above the last published one less this many: the rows
#: published before leave dead entries at the start of `ix_outbox_unpublished` until VACUUM
#: (after a drained backlog, hundreds of pages each probe). A row that commits later than this
#: many newer rows were written and published is still claimed, by the next round.
PROBE_WINDOW = 1000
#: Topics whose events the audit trail records: what `reconcile` can check against it.
AUDITED_TOPICS = (TOPIC_EVENTS, TOPIC_AUDIT)
#: The columns a published row needs, read as plain rows: ORM objects cost more than the rest of
#: publishing them.
CLAIMED = (
    OutboxMessage.position,
    OutboxMessage.id,
    OutboxMessage.topic,
    OutboxMessage.key,
    OutboxMessage.type,
    OutboxMessage.subject,
    OutboxMessage.time,
    OutboxMessage.data,
    OutboxMessage.created_at,
    OutboxMessage.actor_org,
    OutboxMessage.actor_client_id,
    OutboxMessage.request_id,
)


_earlier = aliased(OutboxMessage)
#: A claimed row's key's previous unpublished position (NULL for the key's first), read in the
#: claim's own statement (a round trip less per batch). Rows another relay has locked count,
#: though SKIP LOCKED left them out.
PREVIOUS_OF_KEY = (
    select(func.max(_earlier.position))
    .where(
        _earlier.published_at.is_(None),
        _earlier.key == OutboxMessage.key,
        _earlier.position < OutboxMessage.position,
    )
    .scalar_subquery()
    .label("previous_of_key")
)


class PublishFailed(Exception):
    """The broker did not acknowledge a batch in time; nothing of it was marked published."""


@dataclass
class RelayOptions:
    batch_size: int = 500
    # The idle probe's period: the most it adds to commit -> publish. Measured idle cost: ~3 % of
    # a core in the relay and ~1 % in PostgreSQL at 10 ms; ~4.5 % and ~1.5 % at 5 ms.
    poll_interval_s: float = 0.01
    publish_timeout_s: float = 10.0
    retention_days: int = 7


@functools.lru_cache(maxsize=65536)
def _key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


class KeyHashPartitioner(DefaultPartitioner):  # type: ignore[misc]
    """Kafka's default partitioner (murmur2 of the key over all partitions, so other clients
    agree), each key hashed once: the pure-Python murmur2 was a tenth of the relay's CPU."""

    def partition(
        self,
        topic: str,
        key: Any,
        serialized_key: bytes | None,
        value: Any,
        serialized_value: Any,
        cluster: Any,
    ) -> int:
        partitions = cluster.partitions_for_topic(topic)
        if serialized_key is None or not partitions:
            found: int = super().partition(
                topic, key, serialized_key, value, serialized_value, cluster
            )
            return found
        ordered = sorted(partitions)
        partition: int = ordered[_key_hash(serialized_key) % len(ordered)]
        return partition


def make_producer(settings: KafkaSettings) -> KafkaProducer:
    return KafkaProducer(
        **client_config(settings),
        partitioner=KeyHashPartitioner(),
        # Idempotent, acknowledged by all in-sync replicas: set explicitly, since some other
        # settings silently turn idempotence off.
        enable_idempotence=True,
        acks="all",
        # The relay flushes after each batch, which sends at once whatever the linger: a long
        # linger only keeps the sender thread from contending while a batch is being appended.
        linger_ms=1000,
        batch_size=512 * 1024,
        max_block_ms=5000,
        request_timeout_ms=5000,
    )


class Relay:
    def __init__(
        self,
        session_factory: sessionmaker[Any],
        settings: KafkaSettings,
        *,
        options: RelayOptions | None = None,
        clock: Clock | None = None,
        producer_factory: Callable[[KafkaSettings], KafkaProducer] = make_producer,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.options = options or RelayOptions()
        self.clock: Clock = clock or SystemClock()
        self._producer_factory = producer_factory
        self._producer: KafkaProducer | None = None
        self._admin: KafkaAdminClient | None = None
        self._probe: _Probe | None = None
        self._probe_floor = 0
        self._topics_checked_at = 0.0
        self._purged_at = 0.0
        self._measured_at = 0.0
        self.failures = 0
        self.published = 0

    @property
    def engine(self) -> Engine:
        bind = self.session_factory.kw["bind"]
        assert isinstance(bind, Engine)
        return bind

    @property
    def on_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    # ---- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Publish until `stop` is set: soon after a commit, with backoff while Kafka is down."""
        try:
            while not stop.is_set():
                try:
                    published = self.publish_pending()
                    self.failures = 0
                    self._housekeeping()
                    if published < self.options.batch_size:  # else a backlog: go on at once
                        self._wait_for_rows(stop, probe_first=published > 0)
                except Exception as exc:  # the broker or the database is away: back off
                    self.failures += 1
                    self._drop_producer()
                    self._drop_probe()
                    wait = min(MAX_BACKOFF_S, 0.2 * 2 ** min(self.failures, 10))
                    log.warning(
                        "relay publish failed; retrying",
                        extra={"fields": {"error": type(exc).__name__, "retry_in_s": wait}},
                    )
                    stop.wait(wait)
        finally:
            self._drop_probe()
            self.close()

    def _wait_for_rows(self, stop: threading.Event, *, probe_first: bool) -> None:
        """Sleep until an unpublished row is there (or `IDLE_ROUND_S` passed), probing for one
        every `poll_interval_s`.

        `probe_first` after a batch was published: under a steady trickle of writes, rows came
        in meanwhile, and sleeping first would add an interval to each. Not after an empty claim:
        the rows the probe sees may be another relay's, and probing at once would spin."""
        if self._probe is None:
            self._probe = _Probe(self.engine)
            self._probe_floor = max(self._probe_floor, self._probe.last_position() - PROBE_WINDOW)
        deadline = time.monotonic() + IDLE_ROUND_S
        if probe_first and self._probe.pending(self._probe_floor):
            return
        while not stop.wait(self.options.poll_interval_s):
            if self._probe.pending(self._probe_floor) or time.monotonic() > deadline:
                return

    def _drop_probe(self) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None

    def close(self) -> None:
        self._drop_admin()
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None

    def _drop_admin(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()
            except Exception:
                log.debug("closing the admin client", exc_info=True)
            self._admin = None

    # ---- publishing ----------------------------------------------------------------------

    def publish_pending(self) -> int:
        """Publish one batch of unpublished rows in write order; returns how many."""
        pending = (
            select(*CLAIMED)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.position)
            .limit(self.options.batch_size)
        )
        if self.on_postgres:
            # The claim holds until the marks commit; other relays skip these rows.
            with self.session_factory() as session:
                # Core, not the ORM session's execute: plain rows, without its per-row work.
                connection = session.connection()
                claim = pending.add_columns(PREVIOUS_OF_KEY).with_for_update(
                    skip_locked=True, of=OutboxMessage
                )
                rows = self._in_key_order(list(connection.execute(claim)))
                if rows:
                    self._publish(rows)
                    self._mark(session, rows)
                session.commit()
        else:
            with self.session_factory() as session:
                rows = list(session.connection().execute(pending))
                session.rollback()
            if rows:
                self._publish(rows)
                with self.session_factory() as session:
                    self._mark(session, rows)
                    session.commit()
        if rows:
            self._probe_floor = max(self._probe_floor, rows[-1].position - PROBE_WINDOW)
        metrics.PUBLISHED.inc(len(rows))
        self.published += len(rows)
        return len(rows)

    @staticmethod
    def _in_key_order(rows: list[Row[Any]]) -> list[Row[Any]]:
        """Only the rows whose key's earlier unpublished rows are all in this claim, before
        them: another relay may hold some of a key's rows right now (unpublished, yet skipped
        by this claim), at its start or in its middle, and publishing past them would reorder
        a case. Left-out rows are claimed again once the other relay has marked its rows."""
        in_order: set[int] = set()
        for row in rows:
            if row.previous_of_key is None or row.previous_of_key in in_order:
                in_order.add(row.position)
        if len(in_order) == len(rows):
            return rows
        return [row for row in rows if row.position in in_order]

    def reconcile(self) -> int:
        """Republish every kept row whose event the audit trail lacks; returns how many."""
        republished = 0
        after = 0
        while True:
            with self.session_factory() as session:
                rows = list(
                    session.execute(
                        select(*CLAIMED)
                        .where(
                            OutboxMessage.position > after,
                            OutboxMessage.topic.in_(AUDITED_TOPICS),
                            ~exists().where(AuditEntry.event_id == OutboxMessage.id),
                        )
                        .order_by(OutboxMessage.position)
                        .limit(self.options.batch_size)
                    )
                )
            if not rows:
                return republished
            self._publish(rows)
            with self.session_factory() as session:
                self._mark(session, rows)
                session.commit()
            republished += len(rows)
            after = rows[-1].position

    def backlog(self) -> int:
        with self.session_factory() as session:
            count = session.scalar(select(func.count()).where(OutboxMessage.published_at.is_(None)))
        return int(count or 0)

    def purge_published(self) -> int:
        """Delete published rows older than the retention period (CONTRACT section 5)."""
        cutoff = self.clock.now() - timedelta(days=self.options.retention_days)
        with self.session_factory() as session:
            result = session.execute(
                delete(OutboxMessage).where(
                    OutboxMessage.published_at.is_not(None), OutboxMessage.published_at < cutoff
                )
            )
            session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    def _publish(self, rows: Sequence[Row[Any]]) -> None:
        producer = self._ensure_producer()
        futures = [
            producer.send(row.topic, key=row.key.encode(), value=cloudevents.encode(row))
            for row in rows
        ]
        producer.flush(timeout=self.options.publish_timeout_s)
        failed = [f for f in futures if not f.is_done or f.failed()]
        if failed:
            first = failed[0]
            reason = type(first.exception).__name__ if first.is_done else "timeout"
            raise PublishFailed(f"{len(failed)} of {len(rows)} records not acknowledged: {reason}")
        acked = self.clock.now()
        for row in rows:
            metrics.PUBLISH_LATENCY.observe(max(0.0, (acked - row.created_at).total_seconds()))

    def _mark(self, session: Session, rows: Sequence[Row[Any]]) -> None:
        now = self.clock.now()
        positions = [row.position for row in rows]
        # On the Core connection: the session's ORM bulk-update path costs more than the UPDATE.
        session.connection().execute(
            update(OutboxMessage)
            .where(one_of(session, OutboxMessage.position, positions, BigInteger))
            .values(published_at=now, attempts=OutboxMessage.attempts + 1)
        )

    def _ensure_producer(self) -> KafkaProducer:
        if time.monotonic() - self._topics_checked_at > TOPIC_CHECK_EVERY_S:
            # Also after a broker came back empty: recreate the topics before it auto-creates
            # them with its own defaults. On a client kept open: a new one per check cost
            # ~14 ms, a stall of the publishing loop every few seconds.
            if self._admin is None:
                self._admin = admin_client(self.settings)
            ensure_topics(self.settings, self._admin)
            self._topics_checked_at = time.monotonic()
        if self._producer is None:
            self._producer = self._producer_factory(self.settings)
        return self._producer

    def _drop_producer(self) -> None:
        self._topics_checked_at = 0.0
        self._drop_admin()
        if self._producer is not None:
            try:
                self._producer.close(timeout=0)  # fail what is buffered; it is resent anyway
            except Exception:
                log.debug("closing a failed producer", exc_info=True)
            self._producer = None

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._purged_at > PURGE_EVERY_S:
            self._purged_at = now
            self.purge_published()
        if now - self._measured_at > 1.0:
            self._measured_at = now
            metrics.OUTBOX_BACKLOG.set(self.backlog())


class _Probe:
    """Whether an unpublished row exists, asked on a connection of the relay's own, outside any
    transaction: on SQLite a transaction would take the write lock (`BEGIN IMMEDIATE`, see
    services/db.py) and hold up the API's writers; on PostgreSQL it would cost a BEGIN and a
    ROLLBACK per probe. The query reads only the `ix_outbox_unpublished` partial index."""

    SQL = (
        "SELECT position FROM outbox WHERE published_at IS NULL AND position > {floor} "
        "ORDER BY position LIMIT 1"
    )

    def __init__(self, engine: Engine) -> None:
        on_postgres = engine.dialect.name == "postgresql"
        self.sql = self.SQL.format(floor="%(floor)s" if on_postgres else ":floor")
        connection = engine.raw_connection()
        connection.detach()  # never back to the pool, with its autocommit changed
        if on_postgres:
            connection.rollback()  # the pool's ping may have begun a transaction
            connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
        # SQLite: the driver's transaction handling is off (services/db.py), so a bare SELECT
        # runs in autocommit already.
        self.connection = connection

    def pending(self, floor: int) -> bool:
        cursor = self.connection.cursor()
        try:
            cursor.execute(self.sql, {"floor": floor})
            return cursor.fetchone() is not None
        finally:
            cursor.close()

    def last_position(self) -> int:
        cursor = self.connection.cursor()
        try:
            cursor.execute("SELECT max(position) FROM outbox")
            row = cursor.fetchone()
            return int(row[0] or 0) if row else 0
        finally:
            cursor.close()

    def close(self) -> None:
        try:
            # Closed outright, never reset: a detached connection's reset is a ROLLBACK, which on
            # a connection the database dropped only logs a traceback.
            dbapi_connection = self.connection.dbapi_connection
            if dbapi_connection is not None:
                dbapi_connection.close()
        except Exception:
            log.debug("closing the probe connection", exc_info=True)
