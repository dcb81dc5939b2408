"""The broker's own delivery latency, the floor under the stream's figures (issue 5).

A plain producer (`acks=all`) and a plain consumer, no database and no service code, on a fresh
embedded broker of their own, at the record rate the stream puts on its broker and for as long.
Latency of a record = when the consumer received it minus when it was sent. Reported overall
and per 10 s window, like the stream's figures, so the two compare window by window: the
embedded broker (in memory) slows down as its topics grow, and no consumer can beat it.
"""

import threading
import time
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from bench.windows import WINDOW_S, percentile, windowed
from events.broker import EmbeddedBroker

TOPIC = "bench.floor"
KEYS = 1000


def broker_floor(
    records_per_s: float, seconds: float, *, partitions: int, fetch_max_wait_ms: int
) -> dict[str, Any]:
    with EmbeddedBroker() as broker:
        servers = broker.bootstrap_servers
        admin = KafkaAdminClient(bootstrap_servers=servers)
        admin.create_topics([NewTopic(TOPIC, partitions, 1)])
        admin.close()
        producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=0)
        consumer = KafkaConsumer(
            bootstrap_servers=servers,
            enable_auto_commit=False,
            fetch_max_wait_ms=fetch_max_wait_ms,
        )
        consumer.assign([TopicPartition(TOPIC, p) for p in range(partitions)])
        consumer.seek_to_beginning()
        received: list[tuple[float, float]] = []  # (sent at, latency in ms)
        done = threading.Event()

        def consume() -> None:
            while not done.is_set():
                for records in consumer.poll(timeout_ms=200).values():
                    now = time.time()
                    for record in records:
                        sent = float(record.value)
                        received.append((sent, (now - sent) * 1000))

        reader = threading.Thread(target=consume)
        reader.start()
        started = time.time()
        sent = 0
        while time.time() - started < seconds:
            delay = started + sent / records_per_s - time.time()
            if delay > 0:
                time.sleep(delay)
            producer.send(TOPIC, key=str(sent % KEYS).encode(), value=repr(time.time()).encode())
            sent += 1
        producer.flush()
        deadline = time.monotonic() + 30
        while len(received) < sent and time.monotonic() < deadline:
            time.sleep(0.1)
        done.set()
        reader.join()
        producer.close()
        consumer.close()
    latencies = [ms for _, ms in received]
    return {
        "records": sent,
        "received": len(received),
        "records_per_s": records_per_s,
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        f"p99_ms_per_{WINDOW_S:g}s": windowed(received, started, seconds),
    }
