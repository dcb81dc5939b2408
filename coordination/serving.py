"""`coordination serve`: the app under gunicorn, plus the embedded broker in the default setup."""

import os
import tempfile
from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication

from coordination.config import Settings
from events.broker import EmbeddedBroker


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Each worker builds its own app after the fork, so no database connection is shared.
        from coordination.app import create_app

        return create_app()


def run_server(settings: Settings, *, host: str, port: int, workers: int, threads: int) -> None:
    broker = None
    if settings.kafka_bootstrap_servers is None:
        broker = EmbeddedBroker().start()
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
        click.echo(f"embedded broker at {broker.bootstrap_servers} (memory only)", err=True)
    metrics_dir = tempfile.mkdtemp(prefix="coordination-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    click.echo(f"serving on http://{host}:{port} (docs at http://{host}:{port}/docs)", err=True)
    try:
        _Gunicorn(
            {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread" if threads > 1 else "sync",
                "threads": threads,
                "accesslog": None,  # the app writes its own JSON request log
                "keepalive": 5,
                "graceful_timeout": 10,
            }
        ).run()
    finally:
        if broker is not None:
            broker.stop()
