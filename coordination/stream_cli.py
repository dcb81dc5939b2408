"""`coordination relay [--reconcile]` and `coordination consume audit|notifications|stats`
(issues 5, 8): the event-stream workers, for deployments that run them apart from `serve`."""

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import click

from coordination.cli_support import settings
from coordination.config import Settings
from coordination.long_running import freeze_startup_heap


def _kafka_settings() -> Settings:
    config = settings()
    if config.kafka_bootstrap_servers is None:
        raise click.ClickException(
            "KAFKA_BOOTSTRAP_SERVERS is not set (the embedded broker runs only inside `serve`)"
        )
    return config


def _run_until_signalled(worker: Callable[[Settings, threading.Event], None]) -> None:
    config = _kafka_settings()
    from coordination.http.request_log import configure_logging

    configure_logging(config.log_level)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    freeze_startup_heap()
    worker(config, stop)


@click.command()
@click.option(
    "--reconcile",
    is_flag=True,
    help="Republish every kept outbox row whose event the audit trail lacks, then exit.",
)
def relay(reconcile: bool) -> None:
    """Publish the outbox to Kafka until interrupted."""
    from events import workers

    if reconcile:
        count = workers.reconcile(_kafka_settings())
        click.echo(f"republished {count} events")
        return
    _run_until_signalled(workers.run_relay)


@click.command()
@click.argument("name", type=click.Choice(["audit", "notifications", "stats"]))
def consume(name: str) -> None:
    """Run a stream consumer until interrupted."""
    from events import workers

    targets: dict[str, Any] = {
        "audit": workers.run_audit_consumer,
        "notifications": workers.run_notification_consumer,
        "stats": workers.run_stats_consumer,
    }
    _run_until_signalled(targets[name])


def register(main: click.Group) -> None:
    main.add_command(relay)
    main.add_command(consume)
