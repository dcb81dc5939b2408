"""`coordination serve`: the app under a production WSGI server, plus the embedded broker.

Three servers are supported, chosen by measurement (see README "Benchmarks" and `bench/run`):
gunicorn with threaded workers (`gthread`, the default), gunicorn with one request per worker
process (`sync`), and granian (a Rust HTTP server with a WSGI interface).
"""

import importlib
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from coordination.config import Settings
from events.broker import EmbeddedBroker

SERVERS = ("gthread", "sync", "granian")
DEFAULT_SERVER = "gthread"
# "module:function": a factory that each worker process calls once to build its app.
APP_FACTORY = "coordination.app:create_app"


def load_factory(target: str) -> Callable[[], Any]:
    module, _, name = target.partition(":")
    factory: Callable[[], Any] = getattr(importlib.import_module(module), name)
    return factory


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], app_factory: str) -> None:
        self.options = options
        self.app_factory = app_factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Each worker builds its own app after the fork, so no database connection is shared.
        return load_factory(self.app_factory)()


def _serve_gunicorn(
    app_factory: str, *, host: str, port: int, workers: int, threads: int, threaded: bool
) -> None:
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread" if threaded else "sync",
            "threads": threads if threaded else 1,
            "accesslog": None,  # the app writes its own JSON request log
            "keepalive": 5,
            "graceful_timeout": 10,
        },
        app_factory,
    ).run()


def _serve_granian(app_factory: str, *, host: str, port: int, workers: int, threads: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        app_factory,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        factory=True,  # each worker process calls the factory, as under gunicorn
        workers=workers,
        blocking_threads=threads,  # the threads that run the (blocking) WSGI app, per worker
        log_access=False,  # the app writes its own JSON request log
        workers_kill_timeout=10,
    ).serve()


def run_server(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    server: str = DEFAULT_SERVER,
    app_factory: str = APP_FACTORY,
) -> None:
    if server not in SERVERS:
        raise click.ClickException(f"unknown server {server!r}: expected one of {SERVERS}")
    broker = None
    if settings.kafka_bootstrap_servers is None:
        broker = EmbeddedBroker().start()
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
        click.echo(f"embedded broker at {broker.bootstrap_servers} (memory only)", err=True)
    metrics_dir = tempfile.mkdtemp(prefix="coordination-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    click.echo(
        f"serving on http://{host}:{port} with {server}, {workers} workers x {threads} threads"
        f" (docs at http://{host}:{port}/docs)",
        err=True,
    )
    try:
        if server == "granian":
            _serve_granian(app_factory, host=host, port=port, workers=workers, threads=threads)
        else:
            _serve_gunicorn(
                app_factory,
                host=host,
                port=port,
                workers=workers,
                threads=threads,
                threaded=server == "gthread",
            )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        if broker is not None:
            broker.stop()
