"""Audit log figures: append throughput, `verify` of an export against plain hashlib, and the
latency of inclusion and consistency proofs at 1,000,000 entries.

Standalone, on a scratch SQLite database (or DATABASE_URL=postgresql://... for append and
proofs). Prints one JSON object to stdout, progress to stderr. Figures move with the machine's
load: run on a quiet machine and report medians of a few runs.
    .venv/bin/python bench/audit_log.py [--entries 1000000] [--append 20000] [--proofs 1000]

- append: `services.audit.log.append_entries` in batches of 100 (what the audit consumer calls
  per poll), committed per batch; entries/s. (Not through Kafka: that hop is the consumer's.)
- verify: a synthetic export of N entries with a signed checkpoint every 100,000 (and
  consistency proofs between them) checked by `verify_export`; against the same run's plain
  `hashlib.sha256` over exactly the leaf bytes (0x00 || leaf) and the node bytes
  (0x01 || left || right) of the same tree, from memory. Target: ratio <= 4.
- proofs: N perfect-subtree hashes bulk-loaded into `audit_tree_nodes` (what N appends leave
  behind), then `prove_inclusion` / `prove_consistency` at random positions through the
  service functions; p50/p99 in ms. Target: p99 <= 5 ms.
"""

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import insert, text

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
AUDITOR = Actor(org="bench-auditor", org_kind="auditor", client_id="bench")


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
    sessions = make_session_factory(engine)
    batch = 100
    now = datetime.now(UTC)
    started = time.perf_counter()
    for first in range(0, count, batch):
        drafts = [
            EntryDraft(
                at=now,
                org="seoul-dsc",
                client_id="client-1",
                action="case.read",
                resource="/v1/cases/x",
                outcome="allowed",
                request_id=uuid.uuid4().hex,
                case_id=None,
                event_id=str(uuid.uuid4()),
            )
            for _ in range(min(batch, count - first))
        ]
        with sessions() as session:
            append_entries(session, drafts)
            session.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return {"append_entries": count, "append_batch": batch, "append_per_s": round(count / elapsed)}


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


def bench_proofs(url: str, size: int, count: int) -> dict[str, Any]:
    if kept_size(url) != size:
        log(f"proofs: loading the subtree hashes of {size} entries")
        load_nodes(url, size)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    rng = random.Random(1)
    figures: dict[str, Any] = {"proof_tree_size": size, "proof_requests": count}
    for name, call in (
        ("inclusion", lambda s: prove_inclusion(s, AUDITOR, rng.randrange(size), size)),
        ("consistency", lambda s: prove_consistency(s, rng.randrange(1, size), size)),
    ):
        timings = []
        with sessions() as session:
            for _ in range(count):
                started = time.perf_counter()
                call(session)
                timings.append((time.perf_counter() - started) * 1000)
                session.expunge_all()
        timings.sort()
        figures[f"{name}_p50_ms"] = round(statistics.median(timings), 3)
        figures[f"{name}_p99_ms"] = round(timings[int(len(timings) * 0.99) - 1], 3)
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--append", type=int, default=20_000)
    parser.add_argument("--proofs", type=int, default=1000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["append", "verify", "proofs"])
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
        log(f"{part}: {figures}")
        if scratch is not None:
            scratch.cleanup()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
