"""Checking a whole log, from an export or from the database, the way an auditor would.

Given the entries (from some start index on), the perfect-subtree hashes covering the entries
before the start (none when it is 0), the signed checkpoints and the log's verifier key, it

- recomputes every leaf (RFC 8785 canonical JSON of the entry) and compares its hash with the
  recorded one, and checks the indexes run without a gap;
- recomputes the root at every checkpoint size and compares it with the signed root;
- checks every checkpoint's log signature and every cosignature on it;
- checks the consistency proof between consecutive checkpoints;

and stops at the first failure, naming the first entry index that is wrong (or the first index
of the range a checkpoint disagrees with). It needs no network and no database.
"""

import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from services.audit.merkle import CompactRange, ProofError, verify_consistency
from services.audit.models import LEAF_FIELDS, compute_leaf_hash, entry_document
from services.audit.note import (
    Checkpoint,
    CosignatureVerifier,
    Ed25519Verifier,
    NoteError,
    NoteSignature,
    open_note,
    verify_cosignature,
)


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint as exported: the note (log signature and cosignature lines), the
    cosigners' verifier keys, and the consistency proof from the previous exported checkpoint."""

    note: str
    witness_keys: Sequence[str] = ()
    consistency_proof: Sequence[bytes] = ()


class LogVerificationError(Exception):
    """The log does not verify; `index` is the first entry index found wrong, if any."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


@dataclass
class VerifyResult:
    entries: int = 0
    checkpoints: int = 0
    cosignatures: int = 0
    first_index: int = 0
    tree_size: int = 0
    root_hash: bytes = b""
    witnesses: set[str] = field(default_factory=set)
    unsigned_tail: int = 0  # entries after the last checkpoint (not yet signed)
    witnessed_size: int = 0  # the largest checkpoint a (trusted) witness cosigned


@dataclass(frozen=True)
class _Head:
    checkpoint: Checkpoint
    proof: Sequence[bytes]


def verify_log(
    lines: Iterable[bytes],
    checkpoints: Sequence[SignedCheckpoint],
    log_key: str,
    *,
    start: int = 0,
    border: Sequence[bytes] = (),
    trusted_witnesses: Sequence[str] | None = None,
    held: Sequence[str] = (),
) -> VerifyResult:
    """Verify a log given as export lines (canonical JSON of each entry with its
    `leaf_hash`, in index order); raises `LogVerificationError` at the first problem.

    `held`: checkpoint notes kept outside the log (by a witness): the log must agree with each,
    so a history rewritten and re-signed by whoever holds the log's key still fails.
    """
    result = VerifyResult(first_index=start)
    verifiers = _log_verifiers(log_key)
    heads = _check_checkpoints(checkpoints, verifiers, trusted_witnesses, result)
    _check_chain(heads)
    result.checkpoints = len(heads)
    signed = {head.checkpoint.size: head.checkpoint.root_hash for head in heads}
    checks = {size: (root_hash, "checkpoint") for size, root_hash in signed.items()}
    for note in held:
        outside = _held_checkpoint(note, verifiers)
        if outside.size in signed:
            if signed[outside.size] != outside.root_hash:
                below = max([size for size in signed if size < outside.size], default=0)
                raise LogVerificationError(
                    f"checkpoint {outside.size} differs from the one a witness holds: the"
                    f" history was rewritten from index {below} to {outside.size - 1} at most",
                    below,
                )
        elif start < outside.size <= max(signed, default=0):
            checks[outside.size] = (outside.root_hash, "witness-held checkpoint")
        else:
            raise LogVerificationError(
                f"a held checkpoint of size {outside.size} cannot be checked against this export"
            )
    pending = sorted((size, *check) for size, check in checks.items() if size > start)
    at_start = [head.checkpoint for head in heads if head.checkpoint.size == start]
    try:
        compact = CompactRange(start, border)
    except ValueError as error:
        raise LogVerificationError(f"bad range hashes at index {start}: {error}", start) from None
    if at_start and start and compact.root() != at_start[0].root_hash:
        raise LogVerificationError(
            f"the hashes before index {start} do not match checkpoint {start}", start
        )
    last_checked = start
    for line in lines:
        compact.append(leaf_hash_of_line(line, compact.size))
        result.entries += 1
        while pending and pending[0][0] == compact.size:
            size, root_hash, what = pending.pop(0)
            if compact.root() != root_hash:
                raise LogVerificationError(
                    f"entries {last_checked} to {compact.size - 1} do not match the root signed"
                    f" in {what} {compact.size}",
                    last_checked,
                )
            last_checked = size
    if pending:
        raise LogVerificationError(
            f"entry {compact.size} is missing: checkpoint {pending[0][0]} covers it",
            compact.size,
        )
    result.tree_size = compact.size
    result.root_hash = compact.root()
    result.unsigned_tail = compact.size - last_checked if heads else compact.size
    return result


def _held_checkpoint(note: str, verifiers: Sequence[Ed25519Verifier]) -> Checkpoint:
    try:
        body, _ = open_note(note, verifiers)
        return Checkpoint.from_note_body(body)
    except NoteError as error:
        raise LogVerificationError(f"a held checkpoint does not verify: {error}") from None


def _log_verifiers(log_keys: str) -> list[Ed25519Verifier]:
    """One verifier key per line: the log's current key, then keys it retired."""
    try:
        return [
            Ed25519Verifier.from_verifier_key(line.strip())
            for line in log_keys.splitlines()
            if line.strip()
        ]
    except (NoteError, ValueError) as error:
        raise LogVerificationError(f"bad log verifier key: {error}") from None


_LEAF_HASH_MEMBER = b',"leaf_hash":"'
_INDEX_MEMBER = b'"index":'
_HEX_SIZE = 64


def leaf_hash_of_line(line: bytes, index: int) -> bytes:
    """The leaf hash of one exported entry line, checked against the line's `leaf_hash`.

    An export line is the RFC 8785 canonical JSON of the entry *with* its `leaf_hash`; in
    canonical (sorted) form that member sits right after `index`, so the leaf bytes are the
    line without it: hashed as they are, without parsing. A line that is not in that form
    (e.g. re-serialised by another tool) is parsed and its leaf rebuilt from its fields.
    """
    line = line.rstrip(b"\r\n")
    cut = line.find(_LEAF_HASH_MEMBER)
    if cut > 0:
        start = cut + len(_LEAF_HASH_MEMBER)
        end = start + _HEX_SIZE
        at = line.rfind(_INDEX_MEMBER, 0, cut)
        if (
            at > 0
            and line[end : end + 1] == b'"'
            and line[at + len(_INDEX_MEMBER) : cut] == (str(index).encode())
        ):
            digest = hashlib.sha256(b"\x00" + line[:cut] + line[end + 1 :]).digest()
            if digest.hex().encode() == line[start:end]:
                return digest
    return _leaf_hash_of_document(line, index)


def _leaf_hash_of_document(line: bytes, index: int) -> bytes:
    try:
        entry = json.loads(line)
        found = entry["index"] if isinstance(entry, dict) else None
    except (ValueError, KeyError):
        raise LogVerificationError(f"entry {index} is malformed", index) from None
    if found != index:
        if isinstance(found, int) and not isinstance(found, bool) and found > index:
            raise LogVerificationError(f"entry {index} is missing", index)
        raise LogVerificationError(f"entry {index}: found index {found!r} in its place", index)
    try:
        document = entry_document(**{name: entry[name] for name in LEAF_FIELDS})
        recomputed = compute_leaf_hash(document)
    except (KeyError, TypeError, ValueError) as error:
        raise LogVerificationError(f"entry {index} is malformed: {error}", index) from None
    if entry.get("leaf_hash") != recomputed:
        raise LogVerificationError(f"entry {index} does not match its leaf hash", index)
    return bytes.fromhex(recomputed)


def _check_checkpoints(
    checkpoints: Sequence[SignedCheckpoint],
    verifiers: Sequence[Ed25519Verifier],
    trusted_witnesses: Sequence[str] | None,
    result: VerifyResult,
) -> list[_Head]:
    heads: list[_Head] = []
    trusted = set(trusted_witnesses or ())
    for exported in checkpoints:
        try:
            body, signed_by = open_note(exported.note, verifiers)
            checkpoint = Checkpoint.from_note_body(body)
        except NoteError as error:
            raise LogVerificationError(f"a checkpoint does not verify: {error}") from None
        if all(checkpoint.origin != signature.name for signature in signed_by):
            raise LogVerificationError(f"checkpoint {checkpoint.size} names another origin")
        cosigned = _check_cosignatures(checkpoint, body, exported, verifiers)
        if cosigned & trusted or (cosigned and not trusted):
            result.witnessed_size = max(result.witnessed_size, checkpoint.size)
        result.cosignatures += len(cosigned)
        result.witnesses |= cosigned
        heads.append(_Head(checkpoint, exported.consistency_proof))
    if trusted and not result.witnessed_size:
        raise LogVerificationError("no checkpoint carries a cosignature from a trusted witness")
    heads.sort(key=lambda head: head.checkpoint.size)
    return heads


def _check_cosignatures(
    checkpoint: Checkpoint,
    body: str,
    exported: SignedCheckpoint,
    log: Sequence[Ed25519Verifier],
) -> set[str]:
    witnesses = {}
    for key in exported.witness_keys:
        try:
            witness = CosignatureVerifier.from_verifier_key(key)
        except (NoteError, ValueError) as error:
            raise LogVerificationError(
                f"checkpoint {checkpoint.size}: bad witness key: {error}"
            ) from None
        witnesses[(witness.name, witness.key_id)] = witness
    verified: set[str] = set()
    for line in _signature_lines(exported.note):
        signature = NoteSignature.from_line(line)
        if any((signature.name, signature.key_id) == (key.name, key.key_id) for key in log):
            continue
        listed = witnesses.get((signature.name, signature.key_id))
        if listed is None:
            raise LogVerificationError(
                f"checkpoint {checkpoint.size}: a cosignature from an unlisted key"
            )
        try:
            verify_cosignature(body, signature, listed)
        except NoteError as error:
            raise LogVerificationError(f"checkpoint {checkpoint.size}: {error}") from None
        verified.add(listed.verifier_key())
    return verified


def _signature_lines(note: str) -> Iterator[str]:
    block = note[note.rfind("\n\n") + 2 :]
    for line in block.split("\n")[:-1]:
        yield line + "\n"


def _check_chain(heads: Sequence[_Head]) -> None:
    for previous, head in itertools.pairwise(heads):
        old, new = previous.checkpoint, head.checkpoint
        if old.size == new.size:
            raise LogVerificationError(f"two checkpoints of size {old.size}")
        try:
            verify_consistency(old.size, new.size, old.root_hash, new.root_hash, head.proof)
        except ProofError as error:
            raise LogVerificationError(
                f"checkpoint {new.size} is not consistent with checkpoint {old.size}: {error}",
                old.size,
            ) from None
