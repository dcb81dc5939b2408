"""Rotating the log's key: older checkpoints verify with the retired keys kept in the key file;
without them the signer refuses to extend a log it cannot check."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from services.audit.checkpoints import (
    InconsistentLogError,
    load_or_create_signer,
    retired_verifiers,
    sign_checkpoint,
)
from services.audit.export import export_log, verify_export
from services.audit.log import EntryDraft, append_entries
from services.audit.models import (
    AuditCheckpoint,
    AuditCosignature,
    AuditEntry,
    AuditTreeNode,
    AuditTreeState,
)
from services.audit.note import Ed25519Signer
from services.clock import SystemClock
from services.db import Base, make_engine, make_session_factory

TABLES = [
    model.__table__
    for model in (AuditEntry, AuditTreeNode, AuditTreeState, AuditCheckpoint, AuditCosignature)
]


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    Base.metadata.create_all(engine, tables=TABLES)  # type: ignore[arg-type]
    opened: Session = make_session_factory(engine)()
    yield opened
    opened.close()
    engine.dispose()


def add(session: Session, count: int) -> None:
    append_entries(
        session,
        [
            EntryDraft(
                at=datetime.now(UTC),
                org="o",
                client_id="c",
                action="case.read",
                resource="/v1/cases/x",
                outcome="allowed",
                request_id=None,
                case_id=None,
                event_id=str(uuid.uuid4()),
            )
            for _ in range(count)
        ],
    )
    session.commit()


def test_rotated_key_extends_the_log_with_the_old_key_retired(
    session: Session, tmp_path: Path
) -> None:
    key_file = tmp_path / "audit-key"
    old = load_or_create_signer(key_file, "example.org/audit")
    add(session, 3)
    sign_checkpoint(session, old, SystemClock())
    session.commit()
    new = Ed25519Signer.generate("example.org/audit")
    add(session, 2)
    with pytest.raises(InconsistentLogError):
        sign_checkpoint(session, new, SystemClock())
    session.rollback()
    key_file.write_text(f"{new.signer_key()}\n{old.verifier().verifier_key()}\n")
    assert load_or_create_signer(key_file, "x").key_id == new.key_id
    retired = retired_verifiers(key_file)
    assert sign_checkpoint(session, new, SystemClock(), retired) is not None
    session.commit()
    keys = "\n".join(v.verifier_key() for v in [new.verifier(), *retired])
    export_log(session, tmp_path / "export", keys)
    assert verify_export(tmp_path / "export").checkpoints == 2
