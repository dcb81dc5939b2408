"""The auditor's export: a directory that `verify` checks with no network and no database.

    entries.jsonl      one entry per line: its leaf fields and `leaf_hash` (hex), by index
    checkpoints.jsonl  one signed checkpoint per line: `note` (log signature and cosignature
                       lines), `witness_keys`, `signed_at`, and `consistency_proof` (hex) from
                       the previous line's checkpoint
    log.vkey           the log's verifier keys (signed-note vkeys), current first, one per line
    range.json         `start`, `end` and `border`: the perfect-subtree hashes (hex) covering
                       the entries before `start`, so a window verifies without the whole log

The window holds the entries from the first at or after `from` up to the first checkpoint that
covers every entry before `to`, and the checkpoints from the last one at or before the start.
"""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.audit.canonical import canonical_json
from services.audit.log import NodeStore, border_nodes, tree_size
from services.audit.merkle import consistency_proof
from services.audit.models import (
    AuditCheckpoint,
    AuditCosignature,
    AuditEntry,
    AuditTreeNode,
    format_time,
)
from services.audit.verify import LogVerificationError, SignedCheckpoint, VerifyResult, verify_log

ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.jsonl"
LOG_KEY = "log.vkey"
RANGE = "range.json"
_BATCH = 2000


@dataclass(frozen=True)
class ExportSummary:
    start: int
    end: int
    checkpoints: int


def entry_record(entry: AuditEntry) -> dict[str, Any]:
    record = entry.document()
    record["leaf_hash"] = entry.leaf_hash
    return record


def entry_line(entry: AuditEntry) -> bytes:
    """One line of `entries.jsonl`: RFC 8785 canonical JSON of the entry and its leaf hash.

    The leaf itself is this line without its `leaf_hash` member, so `verify` hashes the bytes
    as they are (see `services.audit.verify.leaf_hash_of_line`).
    """
    return canonical_json(entry_record(entry)) + b"\n"


def export_log(
    session: Session,
    out: Path,
    log_key: str,
    *,
    at_from: datetime | None = None,
    at_to: datetime | None = None,
) -> ExportSummary:
    size = tree_size(session)
    start = 0
    if at_from is not None:
        first = session.scalar(select(func.min(AuditEntry.index)).where(AuditEntry.at >= at_from))
        start = size if first is None else int(first)
    end = size
    if at_to is not None:
        last = session.scalar(select(func.max(AuditEntry.index)).where(AuditEntry.at < at_to))
        end = start if last is None else max(start, int(last) + 1)
    covering = session.scalar(
        select(func.min(AuditCheckpoint.size)).where(AuditCheckpoint.size >= end)
    )
    end = int(covering) if covering is not None else end
    anchor = session.scalar(
        select(func.max(AuditCheckpoint.size)).where(AuditCheckpoint.size <= start)
    )
    low = int(anchor) if anchor is not None else start
    checkpoints = list(
        session.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.size >= low, AuditCheckpoint.size <= end)
            .order_by(AuditCheckpoint.size)
        )
    )
    out.mkdir(parents=True, exist_ok=True)
    store = NodeStore(session)
    border = [store.subtree_hash(level, index).hex() for level, index in border_nodes(start)]
    (out / RANGE).write_text(
        json.dumps({"start": start, "end": end, "border": border[::-1]}, indent=2) + "\n"
    )
    (out / LOG_KEY).write_text(log_key.strip() + "\n")
    with (out / CHECKPOINTS).open("w") as file:
        for record in checkpoint_records(session, checkpoints, store):
            file.write(json.dumps(record) + "\n")
    with (out / ENTRIES).open("wb") as file:
        for entry in iter_entries(session, start, end):
            file.write(entry_line(entry))
    return ExportSummary(start, end, len(checkpoints))


def checkpoint_records(
    session: Session, checkpoints: list[AuditCheckpoint], store: NodeStore
) -> Iterator[dict[str, Any]]:
    previous: AuditCheckpoint | None = None
    for checkpoint in checkpoints:
        cosignatures = list(
            session.scalars(
                select(AuditCosignature)
                .where(AuditCosignature.checkpoint_size == checkpoint.size)
                .order_by(AuditCosignature.id)
            )
        )
        proof: list[str] = []
        if previous is not None and previous.size:
            proof = [h.hex() for h in consistency_proof(store, previous.size, checkpoint.size)]
        yield {
            "size": checkpoint.size,
            "signed_at": format_time(checkpoint.signed_at),
            "note": checkpoint.note + "".join(c.line for c in cosignatures),
            "witness_keys": [c.verifier_key for c in cosignatures],
            "consistency_proof": proof,
        }
        previous = checkpoint


def iter_entries(session: Session, start: int, end: int | None = None) -> Iterator[AuditEntry]:
    """Entries from `start` in index order, read in batches (bounded memory)."""
    after = start - 1
    while True:
        stmt = select(AuditEntry).where(AuditEntry.index > after)
        if end is not None:
            stmt = stmt.where(AuditEntry.index < end)
        batch = list(session.scalars(stmt.order_by(AuditEntry.index).limit(_BATCH)))
        if not batch:
            return
        yield from batch
        after = batch[-1].index
        session.expunge_all()


def _signed(record: dict[str, Any]) -> SignedCheckpoint:
    return SignedCheckpoint(
        note=record["note"],
        witness_keys=tuple(record.get("witness_keys", ())),
        consistency_proof=tuple(bytes.fromhex(h) for h in record.get("consistency_proof", ())),
    )


def verify_export(
    directory: Path, trusted_witnesses: list[str] | None = None, held: Sequence[str] = ()
) -> VerifyResult:
    """Verify an export directory; raises `LogVerificationError` naming the first bad index."""
    try:
        log_key = (directory / LOG_KEY).read_text()
        window = json.loads((directory / RANGE).read_text())
        checkpoints = [
            _signed(json.loads(line))
            for line in (directory / CHECKPOINTS).read_text().splitlines()
            if line.strip()
        ]
        start = int(window["start"])
        border = [bytes.fromhex(h) for h in window["border"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LogVerificationError(f"not a readable export: {error}") from None

    def lines() -> Iterator[bytes]:
        with (directory / ENTRIES).open("rb") as file:
            yield from file

    return verify_log(
        lines(),
        checkpoints,
        log_key,
        start=start,
        border=border,
        trusted_witnesses=trusted_witnesses,
        held=held,
    )


def verify_database(
    session: Session,
    log_key: str,
    trusted_witnesses: list[str] | None = None,
    held: Sequence[str] = (),
) -> VerifyResult:
    """Verify the live log from index 0; also checks each entry against its stored leaf node."""
    size = tree_size(session)
    store = NodeStore(session)
    checkpoints = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size)))
    records = [_signed(r) for r in checkpoint_records(session, checkpoints, store)]

    def lines() -> Iterator[bytes]:
        after = -1
        while True:
            rows = session.execute(
                select(AuditEntry, AuditTreeNode.hash)
                .outerjoin(
                    AuditTreeNode,
                    (AuditTreeNode.level == 0) & (AuditTreeNode.index == AuditEntry.index),
                )
                .where(AuditEntry.index > after)
                .order_by(AuditEntry.index)
                .limit(_BATCH)
            ).all()
            if not rows:
                return
            for entry, node in rows:
                if entry.index >= size:
                    raise LogVerificationError(
                        f"entry {entry.index} is beyond the tree ({size} entries)", entry.index
                    )
                if node is None or bytes(node).hex() != entry.leaf_hash:
                    raise LogVerificationError(
                        f"entry {entry.index} does not match the tree's leaf", entry.index
                    )
                yield entry_line(entry)
            after = rows[-1][0].index
            session.expunge_all()

    result = verify_log(lines(), records, log_key, trusted_witnesses=trusted_witnesses, held=held)
    if result.tree_size != size:
        raise LogVerificationError(f"entry {result.tree_size} is missing", result.tree_size)
    return result
