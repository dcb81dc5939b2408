"""Use cases that change the audit side: a witness's cosignature on a checkpoint."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from services.actor import Actor
from services.audit.commands import CosignCheckpoint
from services.audit.models import AuditCheckpoint, AuditCosignature
from services.audit.note import (
    CosignatureVerifier,
    NoteError,
    NoteSignature,
    verify_cosignature,
)
from services.audit.policy import check_may_witness
from services.errors import Conflict, InvalidInput, NotFound
from services.unit_of_work import UnitOfWork

#: A cosignature may not claim a time further ahead of ours than this (clock skew).
MAX_FUTURE_SKEW_S = 300


@dataclass(frozen=True)
class Cosigned:
    cosignature: AuditCosignature
    created: bool  # False: the same line was posted before


def cosign_checkpoint(cmd: CosignCheckpoint, uow: UnitOfWork, actor: Actor) -> Cosigned:
    """Record a witness's cosignature/v1 on a stored checkpoint, once it verifies.

    The same witness key posting the same line again gets the stored one back; another line
    for a checkpoint that key already cosigned is a conflict.
    """
    check_may_witness(actor)
    try:
        verifier = CosignatureVerifier.from_verifier_key(cmd.verifier_key)
    except (NoteError, ValueError):
        raise InvalidInput(
            "not a cosignature/v1 verifier key",
            errors={"verifier_key": ["expected name+keyid+base64(0x04 || Ed25519 key)"]},
        ) from None
    line = cmd.cosignature if cmd.cosignature.endswith("\n") else cmd.cosignature + "\n"
    try:
        signature = NoteSignature.from_line(line)
    except NoteError:
        raise InvalidInput(
            "not a signature line", errors={"cosignature": ["expected '— name base64'"]}
        ) from None
    with uow:
        checkpoint = uow.session.get(AuditCheckpoint, cmd.size)
        if checkpoint is None:
            raise NotFound(f"no signed checkpoint of size {cmd.size}")
        body = checkpoint.note[: checkpoint.note.rfind("\n\n") + 1]
        try:
            timestamp = verify_cosignature(body, signature, verifier)
        except NoteError:
            raise InvalidInput(
                "the cosignature does not verify for this checkpoint and key",
                errors={"cosignature": ["does not verify"]},
            ) from None
        now = uow.clock.now()
        if timestamp > now.timestamp() + MAX_FUTURE_SKEW_S:
            raise InvalidInput(
                "the cosignature is dated in the future",
                errors={"cosignature": ["timestamp ahead of the log's clock"]},
            )
        existing = uow.session.scalars(
            select(AuditCosignature).where(
                AuditCosignature.checkpoint_size == cmd.size,
                AuditCosignature.verifier_key == verifier.verifier_key(),
            )
        ).one_or_none()
        if existing is not None:
            if existing.line == line:
                return Cosigned(existing, created=False)
            raise Conflict("this witness key has already cosigned this checkpoint")
        cosignature = AuditCosignature(
            checkpoint_size=cmd.size,
            witness=verifier.name,
            verifier_key=verifier.verifier_key(),
            line=line,
            cosigned_at=datetime.fromtimestamp(timestamp, UTC),
            org=actor.org,
            received_at=now,
        )
        uow.session.add(cosignature)
        uow.commit()
        return Cosigned(cosignature, created=True)
