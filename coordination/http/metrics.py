"""Prometheus metrics: requests by route and status, and their latency."""

import os
from time import perf_counter

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import REGISTRY

REQUESTS = Counter(
    "coordination_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
LATENCY = Histogram(
    "coordination_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def route_template() -> str:
    """The matched rule, never the raw path: ids in paths would explode the label space."""
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g.started = perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        route = route_template()
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(request.method, route).observe(perf_counter() - g.get("started", 0.0))
        return response

    app.add_url_rule("/metrics", "metrics", _metrics)


def _metrics() -> Response:
    registry = REGISTRY
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # Several server workers: add up what each process wrote to the shared directory.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
