"""Event-stream benchmarks (issue 5), on PostgreSQL with the embedded broker:

    .venv/bin/python -m bench.stream --database-url postgresql+psycopg://postgres@127.0.0.1/DB

1. `latency`: writes at a fixed rate (default 200/s for 60 s), one referral event per
   transaction through the unit of work; the relay and both consumers run as their own
   processes (`coordination relay`, `coordination consume audit|notifications`), as a
   deployment runs them. Latency of an event = the time its consumer applied it (its
   `processed_events.processed_at`, stamped inside the consumer's transaction) minus the
   commit-side time of its outbox row (`created_at`). Reported p50/p99 per consumer, and the
   relay's share (commit to the broker's acknowledgement). KAFKA_FETCH_MAX_WAIT_MS, if set,
   reaches the consumers. On a server with autovacuum off (the test server), the bench vacuums
   the tables the stream updates in place every 10 s, as autovacuum would in production.
   Each consumer's p99 is also given per 10 s window. After it, `broker_floor`: the embedded
   broker alone (bench/broker_floor.py) at the same record rate for as long, window by
   window, the floor under those figures.
2. `relay`: 100,000 outbox rows inserted in bulk, then one relay drains them to a fresh
   broker: events/s.

The database is migrated to head first; results are printed as JSON.
"""

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import insert, select

from bench.broker_floor import broker_floor
from bench.windows import WINDOW_S, percentile, windowed
from coordination.config import Settings
from coordination.long_running import freeze_startup_heap
from coordination.runtime import Runtime
from events.broker import EmbeddedBroker
from events.relay import Relay, RelayOptions
from migrations import alembic_config
from services.actor import Actor
from services.consumers.models import ProcessedEvent
from services.ids import new_id
from services.outbox.models import OutboxMessage
from services.referrals.events import ReferralRequested

WRITERS = 8
#: Records each write puts on the broker: its event, and the notification the consumer publishes.
RECORDS_PER_WRITE = 2
SENDER = Actor(org="bench-center", org_kind="support_center", client_id="bench-client")


def workers(settings: Settings, broker: EmbeddedBroker) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "COORDINATION_LOG_LEVEL": "WARNING",
    }
    exe = str(Path(sys.executable).with_name("coordination"))
    return [
        subprocess.Popen([exe, *args], env=env)
        for args in (("relay",), ("consume", "audit"), ("consume", "notifications"))
    ]


def write_one(rt: Runtime, n: int) -> str:
    case_id, referral_id = new_id(), new_id()
    with rt.uow(SENDER, request_id=new_id()) as uow:
        uow.announce(
            ReferralRequested(
                subject=referral_id,
                case_id=case_id,
                owner_org=SENDER.org,
                referral_id=referral_id,
                from_org=SENDER.org,
                to_org=f"bench-police-{n % 10}",
                referral_type="investigation",
                status="requested",
            )
        )
        uow.commit()
    return case_id


#: The tables the stream updates in place: each mark, offset and feed head leaves a dead row.
CHURNED = "outbox, consumer_offsets, notification_feeds, audit_tree_state"
VACUUM_EVERY_S = 10.0


def vacuum_until(rt: Runtime, done: threading.Event) -> None:
    """What autovacuum does in production, where it must be on (README): the test server this
    runs on has it off, and without it every relay mark leaves a dead outbox row and index
    entries that the relay's queries wade through, slower minute by minute."""
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if connection.exec_driver_sql("SHOW autovacuum").scalar() == "on":
            return
        while not done.wait(VACUUM_EVERY_S):
            connection.exec_driver_sql(f"VACUUM (ANALYZE) {CHURNED}")


def analyze_churned(rt: Runtime) -> None:
    """After a bulk insert, what autovacuum would do before long: without it the planner keeps
    the outbox's statistics from before the 100,000 rows (and the dead rows of earlier runs)."""
    if rt.engine.dialect.name != "postgresql":
        return
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {CHURNED}")


def latency(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker, rate: float, seconds: float
) -> dict[str, Any]:
    procs = workers(settings, broker)
    done = threading.Event()
    vacuum = threading.Thread(target=vacuum_until, args=(rt, done), daemon=True)
    vacuum.start()
    try:
        write_one(rt, 0)  # warm-up: topics, consumers assigned
        time.sleep(8)
        started = datetime.now(UTC)
        # Several writers, as several API workers would be: one alone cannot commit 200/s on a
        # loaded 2-core machine. Each keeps its share of the rate on its own schedule.
        interval = WRITERS / rate
        t0 = time.perf_counter()
        counts = [0] * WRITERS

        def writer(k: int) -> None:
            n = 0
            while time.perf_counter() - t0 < seconds:
                write_one(rt, k + n * WRITERS)
                n += 1
                counts[k] = n
                delay = t0 + n * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        n = sum(counts)
        achieved = n / (time.perf_counter() - t0)
        deadline = time.monotonic() + 120
        result: dict[str, Any] = {
            "writes": n,
            "achieved_writes_per_s": round(achieved, 1),
            "kafka_fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
        }
        # The relay's share: commit to the broker's acknowledgement (`published_at` is stamped
        # when the relay marks the row, right after the ack).
        with rt.session_factory() as session:
            relayed = session.execute(
                select(OutboxMessage.created_at, OutboxMessage.published_at).where(
                    OutboxMessage.created_at >= started,
                    OutboxMessage.topic == "coordination.events",
                    OutboxMessage.published_at.is_not(None),
                )
            ).all()
        ms = [(published - made).total_seconds() * 1000 for made, published in relayed]
        result["relay"] = {
            "events": len(ms),
            "p50_ms": round(percentile(ms, 0.50), 1),
            "p99_ms": round(percentile(ms, 0.99), 1),
        }
        for consumer in ("audit", "notifications"):
            while True:
                with rt.session_factory() as session:
                    rows = session.execute(
                        select(OutboxMessage.created_at, ProcessedEvent.processed_at)
                        .join(ProcessedEvent, ProcessedEvent.event_id == OutboxMessage.id)
                        .where(
                            ProcessedEvent.consumer == consumer,
                            OutboxMessage.created_at >= started,
                            OutboxMessage.topic == "coordination.events",
                        )
                    ).all()
                if len(rows) >= n or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            samples = [
                (made.timestamp(), (done - made).total_seconds() * 1000) for made, done in rows
            ]
            ms = [latency for _, latency in samples]
            result[consumer] = {
                "events": len(ms),
                "p50_ms": round(percentile(ms, 0.50), 1),
                "p99_ms": round(percentile(ms, 0.99), 1),
                "max_ms": round(max(ms), 1) if ms else None,
                f"p99_ms_per_{WINDOW_S:g}s": windowed(samples, started.timestamp(), seconds),
            }
        # CPU per event of each worker (warm-up and idle included): unlike latency, it hardly
        # depends on what else the machine runs, so runs on a shared machine compare.
        for name, proc in zip(("relay", "audit", "notifications"), procs, strict=True):
            proc.terminate()
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = 0
            cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000
            result.setdefault("worker_cpu_ms_per_event", {})[name] = round(cpu_ms / max(n, 1), 2)
        return result
    finally:
        done.set()
        vacuum.join()
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            if proc.returncode is None:
                proc.wait(timeout=30)


def relay_throughput(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker, rows: int
) -> dict[str, Any]:
    now = datetime.now(UTC)
    data = json.dumps({"case_id": "c", "owner_org": "o", "status": "open", "x": "y" * 150})
    with rt.session_factory() as session:
        for start in range(0, rows, 5000):
            session.execute(
                insert(OutboxMessage),
                [
                    {
                        "id": new_id(),
                        "topic": "coordination.events",
                        "key": f"case-{i % 1000}",
                        "type": "org.coordination.case.updated",
                        "subject": f"case-{i % 1000}",
                        "time": now,
                        "data": data,
                        "created_at": now,
                        "actor_org": "bench",
                        "actor_client_id": "bench",
                        "request_id": "",
                    }
                    for i in range(start, min(rows, start + 5000))
                ],
            )
        session.commit()
    analyze_churned(rt)
    relay = Relay(rt.session_factory, settings, options=RelayOptions(batch_size=2000))
    relay.publish_pending()  # connect and create topics outside the clock
    t0, cpu0 = time.perf_counter(), time.process_time()
    published = 0
    while True:
        count = relay.publish_pending()
        if not count:
            break
        published += count
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    relay.close()
    return {
        "rows": published,
        "seconds": round(elapsed, 2),
        "events_per_s": round(published / elapsed),
        # This process's CPU (the relay and its producer thread): comparable on a busy machine.
        "cpu_ms_per_event": round(cpu * 1000 / max(published, 1), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--only", choices=["latency", "relay"])
    args = parser.parse_args()
    command.upgrade(alembic_config(args.database_url), "head")
    base = Settings.from_env({"DATABASE_URL": args.database_url})
    out: dict[str, Any] = {"database": base.database_url.split("://")[0]}
    for part in ("latency", "relay"):
        if args.only not in (None, part):
            continue
        # Each part on a fresh broker of its own: the embedded broker slows down as its topics
        # grow, and after the latency run the relay's figure would be the broker's.
        with EmbeddedBroker() as broker:
            settings = dataclasses.replace(base, kafka_bootstrap_servers=broker.bootstrap_servers)
            rt = Runtime.build(settings)
            freeze_startup_heap()  # as the API workers do (`serve_app`), the writers' model
            if part == "latency":
                out["commit_to_consumer"] = latency(rt, settings, broker, args.rate, args.seconds)
                # Then, on a broker of its own: the same record rate (each write's event and
                # the notification it causes) for as long, with nothing else running.
                out["broker_floor"] = broker_floor(
                    RECORDS_PER_WRITE * args.rate,
                    args.seconds,
                    partitions=settings.kafka_topic_partitions,
                    fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
                )
            else:
                out["relay_backlog"] = relay_throughput(rt, settings, broker, args.rows)
            rt.engine.dispose()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
