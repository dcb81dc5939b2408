"""Stream metrics, exported on the app's `/metrics`: outbox backlog, publish latency, lag."""

from prometheus_client import Gauge, Histogram

OUTBOX_BACKLOG = Gauge(
    "coordination_outbox_backlog",
    "Outbox rows not yet acknowledged by Kafka",
    multiprocess_mode="mostrecent",
)
PUBLISH_LATENCY = Histogram(
    "coordination_outbox_publish_latency_seconds",
    "From the commit of an outbox row to Kafka's acknowledgement of its event",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0),
)
PUBLISHED = Gauge(
    "coordination_outbox_published_total",
    "Events the relay published (since the process started)",
    multiprocess_mode="livesum",
)
CONSUMER_LAG = Gauge(
    "coordination_consumer_lag",
    "Records on Kafka a consumer has not applied yet",
    ["consumer"],
    multiprocess_mode="mostrecent",
)
DEADLETTERED = Gauge(
    "coordination_consumer_deadlettered",
    "Records a consumer sent to the dead-letter topic (since the process started)",
    ["consumer"],
    multiprocess_mode="livesum",
)
