"""The stream workers as `coordination serve` background workers and CLI commands.

Each is `function(settings, stop)`: it builds its own database engine and Kafka clients and
returns soon after `stop` is set. A worker whose connection broke fails that batch, and retries it
after a backoff on a fresh connection (the pool discards all connections on a disconnect).
"""

import threading
from typing import Protocol

from events.consumers.audit import AuditConsumer
from events.consumers.base import StreamConsumer
from events.consumers.notifications import NotificationConsumer
from events.consumers.stats import StatsConsumer
from events.kafka import KafkaSettings
from events.relay import Relay, RelayOptions
from events.webhooks import WebhookOptions, WebhookSender
from services.db import make_engine, make_session_factory


class WorkerSettings(KafkaSettings, Protocol):
    @property
    def database_url(self) -> str: ...
    @property
    def outbox_retention_days(self) -> int: ...


def run_relay(settings: WorkerSettings, stop: threading.Event) -> None:
    engine = make_engine(settings.database_url)
    try:
        options = RelayOptions(retention_days=settings.outbox_retention_days)
        Relay(make_session_factory(engine), settings, options=options).run(stop)
    finally:
        engine.dispose()


def reconcile(settings: WorkerSettings) -> int:
    engine = make_engine(settings.database_url)
    relay = Relay(make_session_factory(engine), settings)
    try:
        return relay.reconcile()
    finally:
        relay.close()
        engine.dispose()


def run_audit_consumer(settings: WorkerSettings, stop: threading.Event) -> None:
    _run_consumer(AuditConsumer, settings, stop)


def run_stats_consumer(settings: WorkerSettings, stop: threading.Event) -> None:
    _run_consumer(StatsConsumer, settings, stop)


def _run_consumer(
    consumer: type[StreamConsumer], settings: WorkerSettings, stop: threading.Event
) -> None:
    engine = make_engine(settings.database_url)
    try:
        consumer(make_session_factory(engine), settings).run(stop)
    finally:
        engine.dispose()


def run_notification_consumer(settings: WorkerSettings, stop: threading.Event) -> None:
    """The consumer and the webhook sender, each in its own thread."""
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    sender = WebhookSender(session_factory, options=WebhookOptions())
    thread = threading.Thread(target=sender.run, args=(stop,), name="webhooks", daemon=True)
    thread.start()
    try:
        NotificationConsumer(session_factory, settings).run(stop)
    finally:
        stop.set()
        thread.join(timeout=10)
        engine.dispose()
