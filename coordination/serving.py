"""`coordination serve`: the app under a production WSGI server, its background workers, and
the embedded broker when no Kafka is configured.

Three servers are supported, chosen by measurement (see README "Benchmarks" and `bench/run`):
gunicorn with threaded workers (`gthread`), gunicorn with one request per worker process
(`sync`), and granian (a Rust HTTP server with a WSGI interface). `DEFAULT_SERVER` is the one
the measurement chose.

Background workers (the outbox relay, event consumers, ...) run next to the server in ONE
separate process started with `spawn` (never forked from a server with threads and sockets),
each in its own thread. A worker is a "module:function" in `BACKGROUND_WORKERS`; the function
is called as `function(settings, stop)` and must return soon after `stop` (a threading.Event)
is set. Workstreams add their workers to that list.
"""

import importlib
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from coordination.config import Settings
from coordination.long_running import freeze_startup_heap
from events.broker import EmbeddedBroker

SERVERS = ("gthread", "sync", "granian")
# Chosen by bench/run on this project's 2-core machine (README "Benchmarks").
DEFAULT_SERVER = "granian"
# "module:function": a factory that each worker process calls once to build its app.
APP_FACTORY = "coordination.app:serve_app"

# "module:function(settings: Settings, stop: threading.Event) -> None", run by `serve` in its
# background process until it exits. Add yours here (one line each).
BACKGROUND_WORKERS: list[str] = [
    "coordination.sweeper:run_sweeper",  # takedown clock and monitoring (issue 7)
    "coordination.audit_worker:run_checkpointer",  # audit checkpoints (issue 6)
    "events.workers:run_relay",  # outbox to Kafka (issue 5)
    "events.workers:run_audit_consumer",  # Kafka to the audit trail (issue 5)
    "events.workers:run_notification_consumer",  # notifications and webhooks (issue 5)
    "events.workers:run_stats_consumer",  # the daily rollup of support actions (issue 8)
]


def load_target(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return found


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
        return load_target(self.app_factory)()


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


def run_background_workers(targets: list[str]) -> None:
    """The background process: every worker in a thread until SIGTERM/SIGINT, then join them."""
    from coordination.http.request_log import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [
        threading.Thread(target=load_target(t), args=(settings, stop), name=t, daemon=True)
        for t in targets
    ]
    freeze_startup_heap()
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=10)


def start_background(targets: list[str]) -> BaseProcess | None:
    if not targets:
        return None
    process = multiprocessing.get_context("spawn").Process(
        target=run_background_workers, args=(list(targets),), name="coordination-background"
    )
    process.start()
    return process


def stop_background(process: BaseProcess | None) -> None:
    if process is None or not process.is_alive():
        return
    process.terminate()  # SIGTERM: the workers see `stop` and return
    process.join(timeout=15)
    if process.is_alive():
        process.kill()
        process.join()


def run_server(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    server: str = DEFAULT_SERVER,
    app_factory: str = APP_FACTORY,
    background: list[str] | None = None,
) -> None:
    """Serve until stopped. BACKGROUND: worker targets (default `BACKGROUND_WORKERS`)."""
    if server not in SERVERS:
        raise click.ClickException(f"unknown server {server!r}: expected one of {SERVERS}")
    broker = None
    if settings.kafka_bootstrap_servers is None:
        broker = EmbeddedBroker().start()
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
        click.echo(f"embedded broker at {broker.bootstrap_servers} (memory only)", err=True)
    metrics_dir = tempfile.mkdtemp(prefix="coordination-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    background_process = None
    click.echo(
        f"serving on http://{host}:{port} with {server}, {workers} workers x {threads} threads"
        f" (docs at http://{host}:{port}/docs)",
        err=True,
    )
    try:
        background_process = start_background(
            BACKGROUND_WORKERS if background is None else background
        )
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
        stop_background(background_process)
        shutil.rmtree(metrics_dir, ignore_errors=True)
        if broker is not None:
            broker.stop()
        sys.stderr.flush()
