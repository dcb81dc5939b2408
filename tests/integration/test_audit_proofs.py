"""Proofs served from the database (one query each) against the same proofs computed node by
node from an in-memory tree over the same leaves, for every index and size up to 70 and for
random ones in a larger log; and what each proof costs in statements."""

import random
import time

import pytest
from sqlalchemy import event, select, text

from coordination.runtime import Runtime
from services.actor import Actor
from services.audit.log import NodeStore, append_entries, tree_size
from services.audit.merkle import (
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    root,
    verify_consistency,
    verify_inclusion,
)
from services.audit.models import AuditEntry
from services.audit.queries import prove_consistency, prove_inclusion
from services.db import make_engine, make_session_factory
from services.errors import NotFound
from tests.integration.test_audit_log import draft

AUDITOR = Actor(org="audit-office", org_kind="auditor", client_id="proof-test")
SMALL = 70
LARGE = 1100


def grow_to(rt: Runtime, size: int) -> MemoryTree:
    """The log grown to at least `size` entries; the same tree rebuilt in memory from its
    stored leaf hashes (the log may hold other tests' entries: any prefix is a tree)."""
    with rt.session_factory() as session:
        missing = size - tree_size(session)
        for start in range(0, max(0, missing), 500):
            append_entries(session, [draft() for _ in range(min(500, missing - start))])
            session.commit()
        tree = MemoryTree()
        for digest in session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.index)):
            tree.append(bytes.fromhex(digest))
    return tree


def check_inclusion(rt: Runtime, tree: MemoryTree, index: int, size: int) -> None:
    with rt.session_factory() as session:
        proof = prove_inclusion(session, AUDITOR, index, size)
    expected_root = root(tree, size)
    assert proof.leaf_hash == tree.subtree_hash(0, index)
    assert proof.root_hash == expected_root
    assert list(proof.path) == inclusion_proof(tree, index, size), (index, size)
    verify_inclusion(proof.leaf_hash, index, size, proof.path, expected_root)


def check_consistency(rt: Runtime, tree: MemoryTree, first: int, second: int) -> None:
    with rt.session_factory() as session:
        proof = prove_consistency(session, first, second)
    assert proof.first_root == root(tree, first)
    assert proof.second_root == root(tree, second)
    assert list(proof.path) == consistency_proof(tree, first, second), (first, second)
    verify_consistency(first, second, proof.first_root, proof.second_root, proof.path)


def test_every_proof_up_to_70_entries_matches_the_memory_tree(rt: Runtime) -> None:
    tree = grow_to(rt, SMALL)
    for size in range(1, SMALL + 1):
        for index in range(size):
            check_inclusion(rt, tree, index, size)
        for first in range(1, size + 1):
            check_consistency(rt, tree, first, size)


def test_random_proofs_in_a_larger_log_match_the_memory_tree(rt: Runtime) -> None:
    tree = grow_to(rt, LARGE)
    rng = random.Random(9162)
    for _ in range(300):
        size = rng.randrange(SMALL, tree.size + 1)
        check_inclusion(rt, tree, rng.randrange(size), size)
        check_consistency(rt, tree, rng.randrange(1, size + 1), size)
    # The edges: the first and last leaf, a power of two and its neighbours.
    for size in (tree.size, 1024, 1023, 1025):
        for index in (0, size - 1, size // 2):
            check_inclusion(rt, tree, index, size)
        for first in (1, size - 1, size, 512):
            check_consistency(rt, tree, first, size)


def test_the_one_query_store_gives_what_node_by_node_reads_give(rt: Runtime) -> None:
    """The previous way (one SELECT per node) and the prefetched store agree on every node a
    proof asks for, and the one query left nothing to read later."""
    tree = grow_to(rt, SMALL)
    with rt.session_factory() as session:
        for size in range(1, SMALL + 1):
            index, first = size // 3, max(1, size // 2)
            prefetched = NodeStore(session)
            prefetched.prefetch_for(
                lambda nodes, i=index, n=size: inclusion_proof(nodes, i, n),
                lambda nodes, f=first, n=size: consistency_proof(nodes, f, n),
            )
            reads = prefetched.reads
            node_by_node = NodeStore(session)
            assert inclusion_proof(prefetched, index, size) == inclusion_proof(
                node_by_node, index, size
            )
            assert consistency_proof(prefetched, first, size) == consistency_proof(
                node_by_node, first, size
            )
            assert prefetched.reads == reads == 1  # nothing was left to read later
    assert tree.size >= SMALL


def test_a_proof_is_one_statement(rt: Runtime) -> None:
    grow_to(rt, SMALL)
    statements: list[str] = []

    def count(*args: object) -> None:
        if not str(args[2]).startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE, from db.py
            statements.append(str(args[2]))

    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        for size in (1, 2, 37, SMALL):
            statements.clear()
            with rt.session_factory() as session:
                prove_inclusion(session, AUDITOR, size - 1, size)
            assert len(statements) == 1, statements
            statements.clear()
            with rt.session_factory() as session:
                prove_consistency(session, 1, size)
            assert len(statements) == 1, statements
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)


def test_a_size_beyond_the_log_is_not_found(rt: Runtime) -> None:
    tree = grow_to(rt, SMALL)
    with rt.session_factory() as session:
        with pytest.raises(NotFound, match=f"has {tree.size} entries"):
            prove_inclusion(session, AUDITOR, 0, tree.size + 1)
        with pytest.raises(NotFound, match=f"has {tree.size} entries"):
            prove_consistency(session, 1, tree.size + 1)
        # Beyond BIGINT: refused before any position is computed or bound.
        with pytest.raises(NotFound, match="no log has more"):
            prove_inclusion(session, AUDITOR, 0, 2**70)
        with pytest.raises(NotFound, match="no log has more"):
            prove_consistency(session, 1, 2**63)


def test_the_connection_a_proof_used_is_transactional_again(rt: Runtime) -> None:
    """On PostgreSQL a proof reads outside a transaction; the next session on the same pooled
    connection must be inside one again (else its writes would commit one by one)."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL proofs read outside a transaction")
    grow_to(rt, 3)
    engine = make_engine(rt.settings.database_url, pool_size=1, max_overflow=0)
    sessions = make_session_factory(engine)
    try:
        with sessions() as session:
            prove_inclusion(session, AUDITOR, 0, 2)
            during = session.execute(text("SELECT now() = statement_timestamp()")).scalar_one()
        with sessions() as session:
            session.execute(text("SELECT 1"))
            time.sleep(0.01)
            # In a transaction, now() is when it began; each statement on its own has both equal.
            after = session.execute(text("SELECT now() < statement_timestamp()")).scalar_one()
    finally:
        engine.dispose()
    assert during is True
    assert after is True
