"""The stream in /readyz (the broker answers or not) and in /metrics (outbox backlog, publish
latency, consumer lag)."""

import dataclasses
from collections.abc import Iterator

import pytest
from flask import Flask

from coordination.app import create_app
from coordination.config import Settings
from coordination.runtime import Runtime, runtime
from events.broker import EmbeddedBroker, free_port
from tests.conftest import unique
from tests.support.stream import (
    all_audited,
    make_audit_consumer,
    make_relay,
    running,
    wait_for,
    with_broker,
    write_case_events,
)

pytestmark = pytest.mark.kafka


@pytest.fixture
def app_with(settings: Settings) -> Iterator[list[Flask]]:
    made: list[Flask] = []
    yield made
    for app in made:
        runtime(app).engine.dispose()


def test_readyz_reports_a_reachable_broker(
    settings: Settings, broker: EmbeddedBroker, app_with: list[Flask]
) -> None:
    app = create_app(with_broker(settings, broker))
    app_with.append(app)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.get_data(as_text=True)


def test_readyz_reports_a_missing_broker(settings: Settings, app_with: list[Flask]) -> None:
    nowhere = dataclasses.replace(settings, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    app = create_app(nowhere)
    app_with.append(app)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "broker" in response.json["detail"]


def test_metrics_export_backlog_publish_latency_and_consumer_lag(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker, app: Flask
) -> None:
    kafka = with_broker(settings, broker)
    ids = write_case_events(rt, unique("case"), 2)
    with running(make_relay(rt, kafka)), running(make_audit_consumer(rt, kafka, unique("audit"))):
        wait_for(lambda: all_audited(rt, ids), what="audit entries")

        def metrics_with_lag() -> str | None:
            body: str = app.test_client().get("/metrics").get_data(as_text=True)
            return body if "coordination_consumer_lag{" in body else None

        text = wait_for(metrics_with_lag, what="consumer lag in /metrics")
    assert "coordination_outbox_backlog " in text
    latency_count = next(
        line
        for line in text.splitlines()
        if line.startswith("coordination_outbox_publish_latency_seconds_count")
    )
    assert float(latency_count.split()[-1]) >= 2
