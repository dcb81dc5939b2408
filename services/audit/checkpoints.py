"""Signed checkpoints: the log's Ed25519 key, signing tree heads, and the loop that keeps every
entry inside a signed checkpoint within seconds.

The key lives in `COORDINATION_AUDIT_KEY_FILE` as a signed-note signer key
(`PRIVATE+KEY+<origin>+<keyid>+<base64>`), created with mode 0600 on first use. Its name is the
checkpoint origin, so the origin never drifts from the key that signs it.

Before signing a new size the signer proves, from the stored subtree hashes, that the new tree
extends the last checkpoint (RFC 9162 consistency); if it does not, it refuses and signs nothing.
"""

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.audit.log import NodeStore, lock_tree, tree_size
from services.audit.merkle import ProofError, consistency_proof, root, verify_consistency
from services.audit.models import AuditCheckpoint
from services.audit.note import (
    Checkpoint,
    Ed25519Signer,
    Ed25519Verifier,
    NoteError,
    open_note,
    sign_note,
)
from services.clock import Clock

log = logging.getLogger(__name__)

#: How often the loop looks for new entries; every entry is signed within about this long.
DEFAULT_INTERVAL_S = 1.0


class InconsistentLogError(RuntimeError):
    """The stored tree does not extend the last signed checkpoint: nothing is signed."""


def origin_for(issuer: str) -> str:
    """The checkpoint origin (and key name) for a service: `<host>[/path]/audit`."""
    parts = urlsplit(issuer)
    return f"{parts.netloc}{parts.path.rstrip('/')}/audit".replace("+", "-")


def load_or_create_signer(path: Path, origin: str) -> Ed25519Signer:
    """The log's signer from its key file, created (mode 0600) if it does not exist yet."""
    try:
        return Ed25519Signer.from_signer_key(path.read_text().split("\n", 1)[0].strip())
    except FileNotFoundError:
        pass
    signer = Ed25519Signer.generate(origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return Ed25519Signer.from_signer_key(path.read_text().split("\n", 1)[0].strip())
    with os.fdopen(fd, "w") as file:
        file.write(signer.signer_key() + "\n")
    return signer


def retired_verifiers(path: Path) -> list[Ed25519Verifier]:
    """Verifier keys of earlier log keys, kept on the key file's later lines after a rotation
    (`PRIVATE+KEY+...` first, then one `name+id+key` per line), so older checkpoints verify."""
    try:
        lines = path.read_text().splitlines()[1:]
    except FileNotFoundError:
        return []
    return [Ed25519Verifier.from_verifier_key(line.strip()) for line in lines if line.strip()]


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)
    ).one_or_none()


def checkpoint_due(session: Session) -> bool:
    """Whether entries exist that no signed checkpoint covers yet."""
    last = latest_checkpoint(session)
    return tree_size(session) > (last.size if last else 0)


def check_checkpoint(stored: AuditCheckpoint, verifiers: Sequence[Ed25519Verifier]) -> Checkpoint:
    """The stored checkpoint's note, its signature and its recorded root, checked together."""
    try:
        body, _ = open_note(stored.note, verifiers)
        checkpoint = Checkpoint.from_note_body(body)
    except NoteError as error:
        raise InconsistentLogError(f"checkpoint {stored.size} does not verify: {error}") from None
    if checkpoint.size != stored.size or checkpoint.root_hash != bytes(stored.root_hash):
        raise InconsistentLogError(f"checkpoint {stored.size} does not match its note")
    return checkpoint


def sign_checkpoint(
    session: Session,
    signer: Ed25519Signer,
    clock: Clock,
    retired: Sequence[Ed25519Verifier] = (),
) -> AuditCheckpoint | None:
    """Sign the current tree if it grew since the last checkpoint; the caller commits.

    Holds the tree lock, so the size signed is exactly what is stored and two signers never
    sign the same size twice. Raises `InconsistentLogError` if the stored tree does not extend
    the last checkpoint.
    """
    size = lock_tree(session).size
    last = latest_checkpoint(session)
    if size == 0 or (last is not None and last.size >= size):
        return None
    store = NodeStore(session)
    # Every node the root and the consistency check need, in one read.
    if last is None:
        store.prefetch_for(lambda nodes: root(nodes, size))
    else:
        last_size = last.size
        store.prefetch_for(
            lambda nodes: root(nodes, size),
            lambda nodes: consistency_proof(nodes, last_size, size),
        )
    new_root = root(store, size)
    if last is not None:
        old = check_checkpoint(last, [signer.verifier(), *retired])
        try:
            verify_consistency(
                old.size, size, old.root_hash, new_root, consistency_proof(store, old.size, size)
            )
        except (ProofError, LookupError) as error:
            raise InconsistentLogError(
                f"the log at size {size} does not extend checkpoint {old.size}: {error}"
            ) from None
    body = Checkpoint(signer.name, size, new_root).to_note_body()
    checkpoint = AuditCheckpoint(
        size=size, root_hash=new_root, note=sign_note(body, signer), signed_at=clock.now()
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


@dataclass
class Checkpointer:
    """Signs a checkpoint whenever the log has grown, every `interval` seconds, until stopped."""

    session_factory: sessionmaker[Any]
    signer: Ed25519Signer
    clock: Clock
    interval: float = DEFAULT_INTERVAL_S
    retired: Sequence[Ed25519Verifier] = ()
    on_signed: Callable[[AuditCheckpoint], None] | None = None

    def step(self) -> AuditCheckpoint | None:
        with self.session_factory() as session:
            if not checkpoint_due(session):
                return None
            checkpoint = sign_checkpoint(session, self.signer, self.clock, self.retired)
            session.commit()
        if checkpoint is not None and self.on_signed is not None:
            self.on_signed(checkpoint)
        return checkpoint

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.step()
            except InconsistentLogError:
                # Refusing is the point: say so loudly, and keep refusing until someone looks.
                log.critical("audit checkpoint refused", exc_info=True)
            except Exception:  # a database outage must not end the loop
                log.exception("audit checkpoint failed; retrying")
            stop.wait(self.interval)
