"""The event stream as the web app sees it: `/readyz` asks the broker, `/metrics` carries the
stream's metrics (outbox backlog, publish latency, consumer lag; written by the workers)."""

from flask import Flask

from coordination.http.basics import add_readiness_check
from coordination.runtime import runtime
from events import metrics  # noqa: F401 - registers the stream metrics for /metrics
from events.health import BrokerProbe


def init_app(app: Flask) -> None:
    settings = runtime(app).settings
    if settings.kafka_bootstrap_servers is not None:
        add_readiness_check(app, BrokerProbe(settings))
