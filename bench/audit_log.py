"""Audit log figures: append throughput, `verify` of an export against plain hashlib, and the
latency of inclusion and consistency proofs at 1,000,000 entries.

Standalone, on a scratch SQLite database (or DATABASE_URL=postgresql://... for append and
proofs). Prints one JSON object to stdout, progress to stderr. Figures move with the machine's
load: run on a quiet machine and report medians of a few runs.
    .venv/bin/python bench/audit_log.py [--entries 1000000] [--append 20000] [--proofs 1000]

- append: `services.audit.log.append_entries` in batches of 100, committed per batch;
  entries/s. Through Kafka and the consumer, as deployed: bench/audit_consumer.py.
- verify: a synthetic export of N entries with a signed checkpoint every 100,000 (and
  consistency proofs between them) checked by `verify_export`; against the same run's plain
  `hashlib.sha256` over exactly the leaf bytes (0x00 || leaf) and the node bytes
  (0x01 || left || right) of the same tree, from memory. Target: ratio <= 4.
- proofs: N entries and their perfect-subtree hashes bulk-loaded (what N appends leave
  behind; a database that already holds exactly N is kept, e.g. DATABASE_URL=.../bench_audit_kept,
  so repeated runs skip the load), then `prove_inclusion` / `prove_consistency` at random
  positions through the service functions, one session each as a request has, next to the
  same session around a bare SELECT 1; then the same proofs over HTTP (`coordination serve
  --no-background`, one worker, sequential requests) next to GET /v1/audit/key. p50/p99 in
  ms. Target: p99 <= 5 ms.
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import insert, text
from sqlalchemy.orm import Session, sessionmaker

from migrations import alembic_config
from services.actor import Actor
from services.audit.canonical import canonical_json
from services.audit.export import CHECKPOINTS, ENTRIES, LOG_KEY, RANGE, verify_export
from services.audit.log import EntryDraft, append_entries
from services.audit.merkle import MemoryTree, consistency_proof, leaf_hash, root
from services.audit.models import AuditCheckpoint, AuditEntry, AuditTreeNode, compute_leaf_hash
from services.audit.note import Checkpoint, Ed25519Signer, sign_note
from services.audit.queries import prove_consistency, prove_inclusion
from services.db import make_engine, make_session_factory

CHECKPOINT_EVERY = 100_000
AUDITOR_ORG = "seoul-gender-equality"  # the auditor of `coordination demo`
AUDITOR = Actor(org=AUDITOR_ORG, org_kind="auditor", client_id="bench")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def document(index: int) -> dict[str, Any]:
    return {
        "index": index,
        "at": f"2026-11-30T12:00:00.{index % 1_000_000:06d}Z",
        "org": "seoul-dsc",
        "client_id": "client-0123456789abcdef",
        "action": "case.read",
        "resource": f"/v1/cases/{uuid.UUID(int=index, version=4)}",
        "outcome": "allowed",
        "request_id": f"{index:032x}",
        "case_id": str(uuid.UUID(int=index, version=4)),
        "event_id": str(uuid.UUID(int=index + 2**64, version=4)),
    }


def build_export(directory: Path, size: int) -> list[bytes]:
    """Write a valid export of `size` entries; returns the leaf bytes, for the baseline."""
    signer = Ed25519Signer.generate("bench.example/audit")
    tree = MemoryTree()
    leaves: list[bytes] = []
    with (directory / ENTRIES).open("wb") as file:
        for index in range(size):
            doc = document(index)
            leaf = canonical_json(doc)
            digest = leaf_hash(leaf)
            tree.append(digest)
            leaves.append(leaf)
            doc["leaf_hash"] = digest.hex()
            file.write(canonical_json(doc) + b"\n")
    sizes = [*range(CHECKPOINT_EVERY, size, CHECKPOINT_EVERY), size]
    with (directory / CHECKPOINTS).open("w") as file:
        previous = 0
        for checkpoint_size in sizes:
            body = Checkpoint(signer.name, checkpoint_size, root(tree, checkpoint_size))
            proof = consistency_proof(tree, previous, checkpoint_size) if previous else []
            record = {
                "size": checkpoint_size,
                "note": sign_note(body.to_note_body(), signer),
                "witness_keys": [],
                "consistency_proof": [h.hex() for h in proof],
            }
            file.write(json.dumps(record) + "\n")
            previous = checkpoint_size
    (directory / LOG_KEY).write_text(signer.verifier().verifier_key() + "\n")
    (directory / RANGE).write_text(json.dumps({"start": 0, "end": size, "border": []}))
    return leaves


def hashlib_baseline(leaves: list[bytes]) -> float:
    """Plain hashlib over the same leaf and node bytes: leaf hashes, then the RFC tree folded
    with a stack (the same node hashes the compact range computes)."""
    sha256 = hashlib.sha256
    started = time.perf_counter()
    stack: list[bytes] = []
    for count, leaf in enumerate(leaves, 1):
        stack.append(sha256(b"\x00" + leaf).digest())
        merges = count
        while not merges & 1:
            right = stack.pop()
            stack.append(sha256(b"\x01" + stack.pop() + right).digest())
            merges >>= 1
    result = stack[-1]
    for left in reversed(stack[:-1]):
        result = sha256(b"\x01" + left + result).digest()
    return time.perf_counter() - started


def bench_verify(size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="audit-export-") as scratch:
        directory = Path(scratch)
        log(f"verify: writing an export of {size} entries")
        leaves = build_export(directory, size)
        baseline = min(hashlib_baseline(leaves) for _ in range(2))
        del leaves
        runs = []
        for _ in range(2):
            started = time.perf_counter()
            result = verify_export(directory)
            runs.append(time.perf_counter() - started)
            assert result.entries == size
        verify_s = min(runs)
        return {
            "verify_entries": size,
            "verify_s": round(verify_s, 2),
            "hashlib_baseline_s": round(baseline, 2),
            "verify_ratio_to_hashlib": round(verify_s / baseline, 2),
            "verify_entries_per_s": round(size / verify_s),
        }


def database(url: str | None) -> tuple[str, tempfile.TemporaryDirectory[str] | None]:
    if url:
        return url, None
    scratch = tempfile.TemporaryDirectory(prefix="audit-bench-")
    return f"sqlite:///{scratch.name}/bench.sqlite3", scratch


def bench_append(url: str, count: int) -> dict[str, Any]:
    engine = make_engine(url)
    batch = 100
    per_s = append_batches(make_session_factory(engine), count, batch)
    engine.dispose()
    return {"append_entries": count, "append_batch": batch, "append_per_s": per_s}


def append_batches(sessions: sessionmaker[Session], count: int, batch: int) -> int:
    """Entries/s of `append_entries` called directly, committed every BATCH (no Kafka)."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    for first in range(0, count, batch):
        drafts = [
            EntryDraft(
                at=now,
                org="seoul-dsc",
                client_id="client-0123456789abcdef",
                action="case.read",
                resource=f"/v1/cases/{uuid.uuid4()}",
                outcome="allowed",
                request_id=uuid.uuid4().hex,
                case_id=str(uuid.uuid4()),
                event_id=str(uuid.uuid4()),
            )
            for _ in range(min(batch, count - first))
        ]
        with sessions() as session:
            append_entries(session, drafts)
            session.commit()
    return round(count / (time.perf_counter() - started))


def load_nodes(url: str, size: int) -> None:
    """The entries and subtree rows `size` appends leave behind, bulk-inserted."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    tree = MemoryTree()
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    with sessions() as session:
        offset = session.execute(text("SELECT size FROM audit_tree_state")).scalar_one()
        if offset:
            raise SystemExit("proofs: needs an empty log (use a scratch database)")
        entries: list[dict[str, Any]] = []
        for index in range(size):
            doc = document(index)
            digest = compute_leaf_hash(doc)
            tree.append(bytes.fromhex(digest))
            entries.append({**doc, "at": now, "leaf_hash": digest})
            if len(entries) >= 50_000:
                session.execute(insert(AuditEntry), entries)
                entries = []
        if entries:
            session.execute(insert(AuditEntry), entries)
        for level, hashes in enumerate(tree._levels):
            rows.extend({"level": level, "index": i, "hash": h} for i, h in enumerate(hashes))
            if len(rows) > 200_000:
                session.execute(insert(AuditTreeNode), rows)
                rows = []
        if rows:
            session.execute(insert(AuditTreeNode), rows)
        session.execute(text("UPDATE audit_tree_state SET size = :n"), {"n": size})
        session.add(
            AuditCheckpoint(
                size=size, root_hash=root(tree, size), note="bench\n", signed_at=datetime.now(UTC)
            )
        )
        session.commit()
    engine.dispose()


def kept_size(url: str) -> int:
    """The log size already in the database: a kept 1M-entry database is loaded only once."""
    engine = make_engine(url)
    with engine.connect() as connection:
        size = connection.execute(text("SELECT size FROM audit_tree_state")).scalar_one()
    engine.dispose()
    return int(size)


def percentiles(name: str, timings: list[float]) -> dict[str, float]:
    timings.sort()
    return {
        f"{name}_p50_ms": round(statistics.median(timings), 3),
        f"{name}_p99_ms": round(timings[int(len(timings) * 0.99) - 1], 3),
    }


def bench_proofs(url: str, size: int, count: int) -> dict[str, Any]:
    if kept_size(url) != size:
        log(f"proofs: loading the subtree hashes of {size} entries")
        load_nodes(url, size)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    rng = random.Random(1)
    figures: dict[str, Any] = {"proof_tree_size": size, "proof_requests": count}
    # One session per proof, as a request has: pool checkout (with its socket check), the
    # statements, the rollback. The floor: the same session around a bare SELECT 1.
    for name, call in (
        ("session_select_1", lambda s: s.execute(text("SELECT 1")).scalar_one()),
        ("inclusion", lambda s: prove_inclusion(s, AUDITOR, rng.randrange(size), size)),
        ("consistency", lambda s: prove_consistency(s, rng.randrange(1, size), size)),
        ("inclusion_latest", lambda s: prove_inclusion(s, AUDITOR, rng.randrange(size), None)),
    ):
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            with sessions() as session:
                call(session)
            timings.append((time.perf_counter() - started) * 1000)
        figures.update(percentiles(name, timings))
    engine.dispose()
    return figures


def bench_proofs_http(url: str, size: int, count: int) -> dict[str, Any]:
    """The same proofs as GET requests to `coordination serve` (API only, one worker), one at a
    time on a kept-alive connection, with an auditor's token; the floor is GET /v1/audit/key
    (the same authentication and access record, no proof)."""
    with tempfile.TemporaryDirectory(prefix="audit-http-") as scratch:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "COORDINATION_LOG_LEVEL": "WARNING",
            # One client asks as fast as it can: the per-client limit is not what is measured.
            "COORDINATION_RATE_LIMIT_PER_S": "100000000",
            "COORDINATION_RATE_LIMIT_BURST": "100000000",
        }
        exe = str(Path(sys.executable).with_name("coordination"))

        def cli(*args: str) -> str:
            done = subprocess.run(
                [exe, *args], cwd=scratch, env=env, capture_output=True, text=True, check=True
            )
            return done.stdout

        cli("demo")
        client = json.loads(
            cli("clients", "create", "--org", AUDITOR_ORG, "--scopes", "audit.read")
        )
        port = free_port()
        server = subprocess.Popen(
            [exe, "serve", "--no-background", "--port", str(port), "--workers", "1"],
            cwd=scratch,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            connection = wait_for_server(port)
            token = access_token(connection, client["client_id"], client["client_secret"])
            headers = {"Authorization": f"Bearer {token}"}
            rng = random.Random(2)
            figures: dict[str, Any] = {}
            for name, target in (
                ("http_key", lambda: "/v1/audit/key"),
                (
                    "http_inclusion",
                    lambda: (
                        f"/v1/audit/proofs/inclusion?index={rng.randrange(size)}&tree_size={size}"
                    ),
                ),
                (
                    "http_consistency",
                    lambda: (
                        f"/v1/audit/proofs/consistency?first={rng.randrange(1, size)}&second={size}"
                    ),
                ),
            ):
                timings = []
                for _ in range(count):
                    path = target()
                    started = time.perf_counter()
                    connection.request("GET", path, headers=headers)
                    answer = connection.getresponse()
                    answer.read()
                    timings.append((time.perf_counter() - started) * 1000)
                    if answer.status != 200:
                        raise SystemExit(f"GET {path} answered {answer.status}")
                figures.update(percentiles(name, timings))
            connection.close()
            return figures
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_server(port: int) -> http.client.HTTPConnection:
    deadline = time.monotonic() + 60
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/readyz")
            if connection.getresponse().read() is not None:
                return connection
        except OSError:
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def access_token(connection: http.client.HTTPConnection, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    connection.request(
        "POST",
        "/oauth/token",
        body="grant_type=client_credentials&scope=audit.read",
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    answer = connection.getresponse()
    body = json.loads(answer.read())
    if answer.status != 200:
        raise SystemExit(f"POST /oauth/token answered {answer.status}: {body}")
    token: str = body["access_token"]
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--append", type=int, default=20_000)
    parser.add_argument("--proofs", type=int, default=1000)
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["append", "verify", "proofs", "http"]
    )
    args = parser.parse_args()
    if os.environ.get("DATABASE_URL") and not {"append", "proofs"} & set(args.skip):
        parser.error(
            "with DATABASE_URL, run append and proofs separately (proofs need an empty log)"
        )
    figures: dict[str, Any] = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    if "verify" not in args.skip:
        figures.update(bench_verify(args.entries))
        log(f"verify: {figures}")
    for part in ("append", "proofs"):
        if part in args.skip:
            continue
        url, scratch = database(os.environ.get("DATABASE_URL"))
        figures["database"] = url.split(":", 1)[0]
        command.upgrade(alembic_config(url), "head")
        if part == "append":
            figures.update(bench_append(url, args.append))
        else:
            figures.update(bench_proofs(url, args.entries, args.proofs))
            if "http" not in args.skip:
                figures.update(bench_proofs_http(url, args.entries, args.proofs))
        log(f"{part}: {figures}")
        if scratch is not None:
            scratch.cleanup()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
