"""The audit log's store: gap-free appends, stored subtree hashes, append-only tables."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from coordination.api.audit.keys import signer_for
from coordination.runtime import Runtime
from services.audit.checkpoints import sign_checkpoint
from services.audit.log import EntryDraft, NodeStore, append_entries, tree_size
from services.audit.merkle import (
    consistency_proof,
    inclusion_proof,
    root,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from services.audit.models import AuditEntry, compute_leaf_hash


def draft(action: str = "case.read", **overrides: object) -> EntryDraft:
    fields: dict[str, object] = {
        "at": datetime.now(UTC),
        "org": "seoul-dsc",
        "client_id": "client-1",
        "action": action,
        "resource": f"/v1/cases/{uuid.uuid4()}",
        "outcome": "allowed",
        "request_id": uuid.uuid4().hex,
        "case_id": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
    }
    fields.update(overrides)
    return EntryDraft(**fields)  # type: ignore[arg-type]


def test_append_assigns_gap_free_indexes_from_the_current_size(rt: Runtime) -> None:
    with rt.session_factory() as session:
        before = tree_size(session)
        entries = append_entries(session, [draft(), draft(), draft()])
        session.commit()
        assert [entry.index for entry in entries] == [before, before + 1, before + 2]
        assert tree_size(session) == before + 3


def test_append_seals_each_leaf_as_canonical_json_of_its_fields(rt: Runtime) -> None:
    with rt.session_factory() as session:
        (entry,) = append_entries(session, [draft(org=None, client_id=None, request_id=None)])
        session.commit()
    with rt.session_factory() as session:
        stored = session.get(AuditEntry, entry.index)
        assert stored is not None
        assert stored.leaf_hash == compute_leaf_hash(stored.document())
        assert stored.document()["org"] is None


def test_append_skips_an_event_already_in_the_log(rt: Runtime) -> None:
    repeated = draft()
    with rt.session_factory() as session:
        first = append_entries(session, [repeated, repeated])
        session.commit()
        again = append_entries(session, [repeated])
        session.commit()
    assert len(first) == 1
    assert again == []


def test_stored_subtrees_give_the_root_and_proofs_of_all_leaves(rt: Runtime) -> None:
    with rt.session_factory() as session:
        append_entries(session, [draft() for _ in range(13)])
        session.commit()
        size = tree_size(session)
        leaves = [
            bytes.fromhex(h)
            for h in session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.index))
        ]
        store = NodeStore(session)
        expected = root_from_leaf_hashes(leaves)
        assert root(store, size) == expected
        index = size - 5
        proof = inclusion_proof(NodeStore(session), index, size)
        verify_inclusion(leaves[index], index, size, proof, expected)
        first = size - 7
        proof = consistency_proof(NodeStore(session), first, size)
        verify_consistency(first, size, root_from_leaf_hashes(leaves[:first]), expected, proof)


def test_proofs_read_a_logarithmic_number_of_nodes(rt: Runtime) -> None:
    with rt.session_factory() as session:
        append_entries(session, [draft() for _ in range(40)])
        session.commit()
        size = tree_size(session)
        bound = 2 * size.bit_length() + 2
        for index in (0, size // 2, size - 1):
            store = NodeStore(session)
            inclusion_proof(store, index, size)
            assert store.reads <= bound
        store = NodeStore(session)
        consistency_proof(store, size // 3, size)
        assert store.reads <= bound


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET outcome = 'denied'",
        "DELETE FROM audit_entries",
        "UPDATE audit_tree_nodes SET level = level",
        "DELETE FROM audit_tree_nodes",
        "UPDATE audit_checkpoints SET note = 'x'",
        "DELETE FROM audit_checkpoints",
    ],
)
def test_database_refuses_changes_to_the_log(rt: Runtime, statement: str) -> None:
    with rt.session_factory() as session:
        append_entries(session, [draft()])
        session.commit()
        sign_checkpoint(session, signer_for(rt.settings), rt.clock)  # a row for every table
        session.commit()
    with rt.engine.connect() as connection:
        with pytest.raises(DatabaseError, match="append-only"):
            connection.execute(text(statement))
        connection.rollback()
    with rt.session_factory() as session:
        last = session.scalar(select(AuditEntry.index).order_by(AuditEntry.index.desc()).limit(1))
        assert last is not None
        assert tree_size(session) == last + 1


def test_append_cuts_values_longer_than_their_column(rt: Runtime) -> None:
    with rt.session_factory() as session:
        (entry,) = append_entries(session, [draft(case_id="x" * 500, resource="/v1/" + "y" * 500)])
        session.commit()
        stored = session.get(AuditEntry, entry.index)
        assert stored is not None
        assert stored.case_id == "x" * 64
        assert len(stored.resource) == 200
        assert stored.leaf_hash == compute_leaf_hash(stored.document())
