"""What a witness does (C2SP tlog-cosignature): it keeps the last checkpoint it cosigned, and
cosigns a new one only if the log's signature verifies and the log proves the new tree extends
the old one. A log that rewrote its history gets no cosignature, whatever it has signed.

Transport-free: the caller fetches the note and the consistency proof, and posts the result.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.audit.merkle import ProofError, verify_consistency
from services.audit.note import (
    Checkpoint,
    Ed25519Signer,
    Ed25519Verifier,
    NoteError,
    NoteSignature,
    cosign,
    open_note,
)


class WitnessRefusal(Exception):
    """The checkpoint is not cosigned; the message says why."""


@dataclass(frozen=True)
class WitnessState:
    """The last checkpoint this witness accepted from one log, and that log's key."""

    log_key: str
    size: int
    root_hash: bytes
    note: str

    def save(self, path: Path) -> None:
        data = {
            "log_key": self.log_key,
            "size": self.size,
            "root_hash": self.root_hash.hex(),
            "note": self.note,
        }
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(json.dumps(data, indent=2) + "\n")
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> "WitnessState | None":
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        return cls(
            data["log_key"], int(data["size"]), bytes.fromhex(data["root_hash"]), data["note"]
        )


def witness(
    note: str,
    log_key: str,
    state: WitnessState | None,
    fetch_consistency: Callable[[int, int], Sequence[bytes]],
    signer: Ed25519Signer,
    timestamp: int,
) -> tuple[NoteSignature, WitnessState]:
    """Check `note` against the log key and the last accepted state; cosign it.

    `log_key` is the key this witness trusts; once a state exists it must be the same key.
    """
    if state is not None and state.log_key.strip() != log_key.strip():
        raise WitnessRefusal("the log's key changed since the last checkpoint this witness saw")
    try:
        verifier = Ed25519Verifier.from_verifier_key(log_key.strip())
        body, _ = open_note(note, [verifier])
        checkpoint = Checkpoint.from_note_body(body)
    except (NoteError, ValueError) as error:
        raise WitnessRefusal(f"the checkpoint does not verify: {error}") from None
    if checkpoint.origin != verifier.name:
        raise WitnessRefusal("the checkpoint names another origin than the log's key")
    if state is not None:
        if checkpoint.size < state.size:
            raise WitnessRefusal(f"the log went back from size {state.size} to {checkpoint.size}")
        if checkpoint.size == state.size:
            if checkpoint.root_hash != state.root_hash:
                raise WitnessRefusal(f"two different trees of size {state.size}")
        elif state.size > 0:
            proof = fetch_consistency(state.size, checkpoint.size)
            try:
                verify_consistency(
                    state.size, checkpoint.size, state.root_hash, checkpoint.root_hash, proof
                )
            except ProofError as error:
                raise WitnessRefusal(
                    f"size {checkpoint.size} is not consistent with size {state.size}"
                    f" seen before: {error}"
                ) from None
    signature = cosign(body, signer, timestamp)
    return signature, WitnessState(log_key.strip(), checkpoint.size, checkpoint.root_hash, note)
