"""Audit log append throughput through the consumer (issue 6), as a deployment runs it:

    .venv/bin/python -m bench.audit_consumer [--events 100000] [--profile DIR]

1. A fresh PostgreSQL database (`bench_audit_consumer`, dropped and created, migrated to head)
   and an embedded broker. `--events` outbox rows (half domain events on `coordination.events`,
   half access records on `coordination.audit`, as the API writes them) are published by the
   relay before the clock starts: the backlog a consumer finds after an outage.
2. `coordination consume audit` and `coordination audit checkpoint --follow` start as their own
   processes. The consumer appends each poll in one transaction (entries, Merkle nodes,
   offsets, dedupe rows); the checkpointer signs the grown tree every second. Throughput =
   entries appended / time from the first appended entry to the last, sampled from
   `audit_tree_state` every 50 ms. Also: how long after the last entry its checkpoint was
   signed, and the CPU each process used (a process near 100 % of a core is the limit). On a
   server without autovacuum (the shared test server) the dedupe tables are ANALYZEd every 3 s
   as autovacuum would (BENCH_ANALYZE_EVERY_S; 0: never).
3. The same run's ceiling without Kafka: `append_entries` called directly with batches of the
   consumer's size, committed per batch, on the same database.

`--profile DIR` also runs py-spy on the consumer while it drains (raw stacks in DIR) and
reports where its samples were. Prints one JSON object; progress goes to stderr.
"""

import argparse
import collections
import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from sqlalchemy import insert, text

from bench.audit_log import append_batches
from coordination.config import Settings
from coordination.runtime import Runtime
from events.broker import EmbeddedBroker
from events.relay import Relay, RelayOptions
from migrations import alembic_config
from services.ids import new_id
from services.outbox.models import OutboxMessage

ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
DATABASE = "bench_audit_consumer"
BATCH = 500  # StreamConsumer's max_records: the most one poll (one transaction) holds
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ANALYZE_EVERY_S = float(os.environ.get("BENCH_ANALYZE_EVERY_S", 3))  # 0: never (see Analyzer)


def log(message: str) -> None:
    print(f"bench: audit consumer: {message}", file=sys.stderr, flush=True)


def fresh_database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
        admin.execute(f"ALTER DATABASE {DATABASE} SET synchronous_commit = off")
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"
    command.upgrade(alembic_config(url), "head")
    return url


def outbox_rows(count: int) -> list[dict[str, Any]]:
    """What `count` API writes and reads leave in the outbox: ids and codes only."""
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        case_id, request_id = str(uuid.uuid4()), uuid.uuid4().hex
        if n % 2:
            topic, kind, subject = "coordination.audit", "access.recorded", request_id
            data = {
                "case_id": case_id,
                "org": "seoul-dsc",
                "client_id": "client-0123456789abcdef",
                "action": "cases.read",
                "resource": f"/v1/cases/{case_id}",
                "outcome": "allowed",
                "status": 200,
                "request_id": request_id,
                "method": "GET",
            }
        else:
            topic, kind, subject = "coordination.events", "referral.requested", new_id()
            data = {
                "case_id": case_id,
                "owner_org": "seoul-dsc",
                "referral_id": subject,
                "from_org": "seoul-dsc",
                "to_org": f"smpa-cyber-{n % 10}",
                "referral_type": "investigation",
                "status": "requested",
            }
        rows.append(
            {
                "id": new_id(),
                "topic": topic,
                "key": case_id,
                "type": f"org.coordination.{kind}",
                "subject": subject,
                "time": now,
                "data": json.dumps(data, separators=(",", ":"), sort_keys=True),
                "created_at": now,
                "actor_org": "seoul-dsc",
                "actor_client_id": "client-0123456789abcdef",
                "request_id": request_id,
            }
        )
    return rows


def publish_backlog(rt: Runtime, settings: Settings, count: int) -> dict[str, Any]:
    rows = outbox_rows(count)
    with rt.session_factory() as session:
        for start in range(0, count, 5000):
            session.execute(insert(OutboxMessage), rows[start : start + 5000])
        session.commit()
    relay = Relay(rt.session_factory, settings, options=RelayOptions(batch_size=2000))
    started = time.perf_counter()
    published = 0
    while count := relay.publish_pending():
        published += count
    relay.close()
    return {"published": published, "relay_s": round(time.perf_counter() - started, 1)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def sample_sizes(rt: Runtime, target: int, timeout_s: float) -> tuple[float, float, float]:
    """(first entry seen, last entry seen, last entry's checkpoint signed), perf_counter times."""
    first = last = 0.0
    deadline = time.monotonic() + timeout_s
    with rt.engine.connect() as connection:
        while time.monotonic() < deadline:
            size, signed = connection.execute(
                text(
                    "SELECT (SELECT size FROM audit_tree_state),"
                    " (SELECT coalesce(max(size), 0) FROM audit_checkpoints)"
                )
            ).one()
            connection.rollback()
            now = time.perf_counter()
            if size and not first:
                first = now
            if size >= target and not last:
                last = now
            if signed >= target:
                return first, last, now
            time.sleep(0.05)
    raise SystemExit(f"the consumer did not append {target} entries in {timeout_s} s")


class Analyzer(threading.Thread):
    """What autovacuum does while tables grow, for a server that runs without it (like the
    shared test server): ANALYZE the tables the consumer queries every few seconds. Without
    fresh statistics PostgreSQL plans the dedupe lookups (`event_id IN (...500 ids)`) as scans
    of every row so far, and the drain slows as the log grows."""

    def __init__(self, rt: Runtime) -> None:
        super().__init__(daemon=True)
        self.rt = rt
        self.stop = threading.Event()
        self.runs = 0

    def run(self) -> None:
        with self.rt.engine.connect() as connection:
            autovacuum = connection.execute(text("SHOW autovacuum")).scalar_one()
            if autovacuum == "on" or not ANALYZE_EVERY_S:
                return
            connection.rollback()
            while not self.stop.wait(ANALYZE_EVERY_S):
                connection.execute(text("ANALYZE processed_events, audit_entries"))
                connection.commit()
                self.runs += 1


def profile_summary(raw: Path) -> dict[str, Any]:
    """Where the consumer's samples were, as shares of all samples: by innermost frame, and by
    function of ours (events/, services/) anywhere on the stack, counted once per sample."""
    own: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in {re.sub(r":\d+\)$", ")", f) for f in frames}:  # one entry per function
            if "(events/" in frame or "(services/" in frame:
                ours[frame] += count

    def top(counter: collections.Counter[str], n: int) -> list[str]:
        return [f"{100 * k / total:.1f}% {frame}" for frame, k in counter.most_common(n)]

    return {"samples": total, "innermost": top(own, 10), "ours": top(ours, 15)}


def through_consumer(
    rt: Runtime, settings: Settings, count: int, profile: Path | None
) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="audit-consumer-"))
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "COORDINATION_AUDIT_KEY_FILE": str(scratch / "audit-key"),
        "COORDINATION_LOG_LEVEL": "WARNING",
    }
    exe = str(Path(sys.executable).with_name("coordination"))
    checkpointer = subprocess.Popen([exe, "audit", "checkpoint", "--follow"], env=env)
    consumer = subprocess.Popen([exe, "consume", "audit"], env=env)
    spy = None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--pid",
                str(consumer.pid),
                "--rate",
                "50",
                "--format",
                "raw",
                "--output",
                str(profile / "consumer.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    analyzer = Analyzer(rt)
    analyzer.start()
    try:
        first, last, signed = sample_sizes(rt, count, timeout_s=900)
        cpu = {"consumer": cpu_seconds(consumer.pid), "checkpointer": cpu_seconds(checkpointer.pid)}
    finally:
        analyzer.stop.set()
        analyzer.join()
        if spy is not None:
            spy.send_signal(2)  # SIGINT: py-spy writes its output and exits
            spy.wait(timeout=60)
        for proc in (consumer, checkpointer):
            proc.terminate()
        for proc in (consumer, checkpointer):
            proc.wait(timeout=30)
    with rt.session_factory() as session:
        checkpoints = session.execute(text("SELECT count(*) FROM audit_checkpoints")).scalar_one()
    elapsed = last - first
    figures: dict[str, Any] = {
        "analyze_runs": analyzer.runs,
        "entries": count,
        "seconds": round(elapsed, 2),
        "entries_per_s": round(count / elapsed),
        "checkpoints_signed": checkpoints,
        "last_entry_signed_after_s": round(signed - last, 2),
        # Whole-life CPU (start-up included) over the draining time: a rough share of a core.
        "cpu_share_of_drain": {name: round(s / elapsed, 2) for name, s in cpu.items()},
    }
    if profile is not None and (profile / "consumer.txt").exists():
        figures["consumer_profile"] = profile_summary(profile / "consumer.txt")
    return figures


def direct_append(rt: Runtime, count: int) -> dict[str, Any]:
    """The ceiling: `append_entries` in batches of the consumer's size, no Kafka, no offsets."""
    per_s = append_batches(rt.session_factory, count, BATCH)
    return {"entries": count, "batch": BATCH, "entries_per_s": per_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--direct", type=int, default=50_000, help="entries for the ceiling")
    parser.add_argument("--profile", type=Path, help="directory for the py-spy profile")
    args = parser.parse_args()
    url = fresh_database()
    out: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
    }
    with EmbeddedBroker() as broker:
        settings = dataclasses.replace(
            Settings.from_env({"DATABASE_URL": url}),
            kafka_bootstrap_servers=broker.bootstrap_servers,
        )
        rt = Runtime.build(settings)
        log(f"publishing a backlog of {args.events} events")
        out["backlog"] = publish_backlog(rt, settings, args.events)
        log("draining it through `coordination consume audit`")
        out["through_consumer"] = through_consumer(rt, settings, args.events, args.profile)
        log(f"ceiling: {args.direct} entries appended directly")
        out["direct_append"] = direct_append(rt, args.direct)
        out["consumer_to_direct"] = round(
            out["through_consumer"]["entries_per_s"] / out["direct_append"]["entries_per_s"], 2
        )
        rt.engine.dispose()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
