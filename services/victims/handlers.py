"""The victim's identity: recorded and read only through the case's data key, erased by
destroying that key.

The plaintext exists only in memory for the length of a request: it is sealed with the case's
AES-GCM data key (bound to the case id), the data key is stored wrapped by the master key, and
erasure overwrites the wrapped key with NULL and deletes the ciphertext. Nothing here logs,
raises or records the identity itself; events carry only the field name `victim.identity`.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.access import policy
from services.actor import Actor
from services.cases.events import CaseUpdated
from services.cases.models import Case
from services.crypto import KeyUnavailable, MasterKeyRing, WrappedKey, open_sealed, seal
from services.errors import Conflict, Gone, NotFound
from services.unit_of_work import UnitOfWork
from services.versioning import check_version
from services.victims.commands import EraseIdentity, RecordIdentity
from services.victims.models import CaseKey, VictimIdentity

PURPOSE = "victim-identity"


@dataclass(frozen=True)
class Identity:
    case_id: str
    fields: dict[str, Any]
    version: int
    updated_at: datetime

    def __repr__(self) -> str:  # never print the identity itself
        return f"Identity(case_id={self.case_id!r}, version={self.version})"


def record_identity(
    cmd: RecordIdentity, uow: UnitOfWork, actor: Actor, keys: MasterKeyRing
) -> Identity:
    with uow:
        now = uow.clock.now()
        case = policy.owned_case(uow.session, actor, cmd.case_id, for_update=True)
        if case.identity_state == "erased":
            raise Conflict("the victim's identity was erased for good; it cannot be recorded again")
        stored = uow.session.get(VictimIdentity, case.id)
        if stored is not None:
            check_version(stored.version, cmd.expected_version)
        data_key = _data_key(uow.session, case.id, keys, now)
        ciphertext = seal(data_key, _encode(cmd.identity), case.id, PURPOSE)
        if stored is None:
            stored = VictimIdentity(
                case_id=case.id, ciphertext=ciphertext, version=1, updated_at=now
            )
            uow.session.add(stored)
        else:
            stored.ciphertext = ciphertext
            stored.version += 1
            stored.updated_at = now
        if case.identity_state != "recorded":
            case.identity_recorded(now)
            _record_change(case)
        uow.commit()
        return Identity(case.id, dict(cmd.identity), stored.version, stored.updated_at)


def read_identity(session: Session, actor: Actor, case_id: str, keys: MasterKeyRing) -> Identity:
    """The identity, for an actor the policy lets read it; otherwise `NotFound`."""
    case = policy.readable_identity_case(session, actor, case_id)
    if case.identity_state == "erased":
        raise Gone("the victim's identity was erased at their request and can never be read")
    stored = session.get(VictimIdentity, case.id)
    key_row = session.get(CaseKey, case.id)
    if stored is None or key_row is None:
        raise NotFound("no victim identity is recorded for this case")
    try:
        data_key = _unwrap(key_row, keys)
        plaintext = open_sealed(data_key, stored.ciphertext, case.id, PURPOSE)
    except KeyUnavailable:
        raise Gone("the victim's identity can no longer be decrypted") from None
    return Identity(case.id, json.loads(plaintext), stored.version, stored.updated_at)


def erase_identity(cmd: EraseIdentity, uow: UnitOfWork, actor: Actor) -> Case:
    """Crypto-shredding: the data key is destroyed, then the ciphertext is deleted too."""
    with uow:
        now = uow.clock.now()
        case = policy.owned_case(uow.session, actor, cmd.case_id, for_update=True)
        if case.identity_state == "erased":
            raise Gone("the victim's identity was already erased")
        stored = uow.session.get(VictimIdentity, case.id)
        if stored is not None:
            check_version(stored.version, cmd.expected_version)
            uow.session.delete(stored)
        key_row = uow.session.get(CaseKey, case.id)
        if key_row is None:
            key_row = CaseKey(case_id=case.id, created_at=now)
            uow.session.add(key_row)
        key_row.wrapped_key = None
        key_row.master_key_id = None
        key_row.destroyed_at = now
        case.identity_erased(now)
        _record_change(case)
        uow.commit()
        return case


@dataclass(frozen=True)
class Rotation:
    current: str
    rewrapped: int
    dropped: tuple[str, ...]


def rotate_master_key(uow: UnitOfWork, path: Path, *, batch: int = 500) -> Rotation:
    """A new master key; every live case key re-wrapped under it; the old keys destroyed.

    After this, no copy of the database taken earlier (a backup) can unwrap any case key:
    identities erased since that backup are gone from it too. Live identities stay readable.
    Run it on a schedule (e.g. daily) so erasure reaches backups within that period.
    """
    old = MasterKeyRing.load_or_create(path)
    new = old.rotated()
    new.save(path)
    rewrapped = 0
    while True:
        with uow:
            rows = uow.session.scalars(
                select(CaseKey)
                .where(CaseKey.wrapped_key.is_not(None), CaseKey.master_key_id != new.current_id)
                .limit(batch)
                .with_for_update()
            ).all()
            for row in rows:
                wrapped = new.wrap(_unwrap(row, new), row.case_id)
                row.master_key_id, row.wrapped_key = wrapped.master_key_id, wrapped.blob
            uow.commit()
        rewrapped += len(rows)
        if len(rows) < batch:
            break
    new.only_current().save(path)
    return Rotation(new.current_id, rewrapped, tuple(sorted(old.key_ids)))


def _data_key(session: Session, case_id: str, keys: MasterKeyRing, now: datetime) -> bytes:
    key_row = session.get(CaseKey, case_id)
    if key_row is None:
        data_key, wrapped = keys.new_data_key(case_id)
        session.add(
            CaseKey(
                case_id=case_id,
                master_key_id=wrapped.master_key_id,
                wrapped_key=wrapped.blob,
                created_at=now,
            )
        )
        return data_key
    return _unwrap(key_row, keys)


def _unwrap(key_row: CaseKey, keys: MasterKeyRing) -> bytes:
    if key_row.wrapped_key is None or key_row.master_key_id is None:
        raise KeyUnavailable("the case key was destroyed")
    return keys.unwrap(WrappedKey(key_row.master_key_id, key_row.wrapped_key), key_row.case_id)


def _encode(identity: dict[str, Any]) -> bytes:
    return json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _record_change(case: Case) -> None:
    case.record(
        CaseUpdated(
            subject=case.id,
            case_id=case.id,
            owner_org=case.owner_org,
            changed=("victim.identity",),
            status=case.status,
            previous_status=case.status,
            age_band=case.age_band,
            is_minor=case.is_minor,
        )
    )
