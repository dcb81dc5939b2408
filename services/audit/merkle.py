"""Merkle tree hashing, proofs and verification for the audit log (RFC 9162 / RFC 6962, SHA-256).

Terms used throughout:

- A *perfect subtree* at ``(level, index)`` covers the leaves
  ``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. Once all its
  leaves exist its hash never changes, so a store can write it once and serve it forever.
- Every node of the RFC tree of size ``n`` is either a perfect subtree or lies on the right
  border; a border node is the right-to-left fold of the perfect subtrees that decompose its
  range. Proof generation therefore needs only perfect-subtree lookups: O(log n) of them per
  root, inclusion proof or consistency proof.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

HASH_SIZE = 32

EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof, or the tree heads it is checked against, does not verify."""


def leaf_hash(leaf: bytes) -> bytes:
    """Hash of one log entry: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(_LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


class SubtreeHashes(Protocol):
    """Read access to the hashes of perfect subtrees, e.g. one database row per subtree."""

    def subtree_hash(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree over leaves [index * 2**level, (index + 1) * 2**level).

        Raises ``LookupError`` if that subtree is not complete (yet).
        """
        ...


@dataclass(frozen=True)
class Subtree:
    """A perfect subtree's position and hash, as a store persists it."""

    level: int
    index: int
    hash: bytes


def completed_subtrees(store: SubtreeHashes, size: int, new_leaf_hash: bytes) -> list[Subtree]:
    """The perfect subtrees that appending ``new_leaf_hash`` at index ``size`` completes.

    The first is the leaf itself; then one per level for which the new leaf closes a right
    child. A store that saves all of them holds every node that proofs will ever ask for.
    Costs one lookup per returned parent, O(log n).
    """
    _check_hash(new_leaf_hash, "leaf hash")
    _check_non_negative(size, "size")
    level, index, current = 0, size, new_leaf_hash
    completed = [Subtree(level, index, current)]
    while index & 1:
        current = node_hash(store.subtree_hash(level, index - 1), current)
        level, index = level + 1, index >> 1
        completed.append(Subtree(level, index, current))
    return completed


class MemoryTree:
    """An append-only tree that keeps every perfect subtree hash in memory.

    It is the in-memory twin of the database store, for tests and for rebuilding a tree from an
    exported log. Appending costs O(log n) hashes.
    """

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = []

    @property
    def size(self) -> int:
        return len(self._levels[0]) if self._levels else 0

    def append(self, new_leaf_hash: bytes) -> int:
        """Add a leaf hash; returns its index."""
        index = self.size
        for node in completed_subtrees(self, index, new_leaf_hash):
            if node.level == len(self._levels):
                self._levels.append([])
            self._levels[node.level].append(node.hash)
        return index

    def subtree_hash(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0 or level >= len(self._levels):
            raise KeyError((level, index))
        nodes = self._levels[level]
        if index >= len(nodes):
            raise KeyError((level, index))
        return nodes[index]


class CompactRange:
    """The perfect subtree hashes that cover leaves [0, size): O(log n) memory.

    Suited to checking a whole log while streaming it: append each leaf hash and compare
    ``root()`` with the signed checkpoints on the way. ``CompactRange(size, hashes)`` resumes
    from a saved state.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        _check_non_negative(size, "size")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a range of size {size} has {size.bit_count()} subtree hashes")
        for hash_ in hashes:
            _check_hash(hash_, "subtree hash")
        self._size = size
        # Largest subtree first, as in the binary decomposition of the size.
        self._hashes = list(hashes)

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, new_leaf_hash: bytes) -> None:
        _check_hash(new_leaf_hash, "leaf hash")
        self._hashes.append(new_leaf_hash)
        self._size += 1
        # Each trailing zero bit of the new size is a pair of equal subtrees to merge.
        pending = self._size
        while not pending & 1:
            right = self._hashes.pop()
            left = self._hashes.pop()
            self._hashes.append(node_hash(left, right))
            pending >>= 1

    def root(self) -> bytes:
        return _fold(self._hashes)


def root_from_leaf_hashes(leaf_hashes: Iterable[bytes]) -> bytes:
    """Root of the tree over the given leaf hashes, in order."""
    compact = CompactRange()
    for hash_ in leaf_hashes:
        compact.append(hash_)
    return compact.root()


def root(store: SubtreeHashes, size: int) -> bytes:
    """Root hash of the tree over the first ``size`` leaves of ``store``."""
    _check_non_negative(size, "size")
    return _range_hash(store, 0, size)


def inclusion_proof(store: SubtreeHashes, index: int, size: int) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree of ``size`` leaves (RFC 9162 2.1.3.1)."""
    _check_non_negative(index, "index")
    if index >= size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    siblings: list[tuple[int, int]] = []
    begin, end = 0, size
    while end - begin > 1:
        middle = begin + _split(end - begin)
        if index < middle:
            siblings.append((middle, end))
            end = middle
        else:
            siblings.append((begin, middle))
            begin = middle
    # Collected top-down; the proof lists them from the leaf upwards.
    return [_range_hash(store, b, e) for b, e in reversed(siblings)]


def consistency_proof(store: SubtreeHashes, first: int, second: int) -> list[bytes]:
    """Proof that the tree of ``first`` leaves is a prefix of that of ``second`` (RFC 9162 2.1.4.1).

    ``first`` must be positive: nothing can be proven about the empty tree.
    """
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    siblings: list[tuple[int, int]] = []
    begin, end = 0, second
    # RFC's flag b: the verifier already knows the subtree we stop at only if it is the
    # whole old tree, which is the case until the walk first turns right.
    stop_is_old_root = True
    while first != end:
        middle = begin + _split(end - begin)
        if first <= middle:
            siblings.append((middle, end))
            end = middle
        else:
            siblings.append((begin, middle))
            begin = middle
            stop_is_old_root = False
    proof = [] if stop_is_old_root else [_range_hash(store, begin, end)]
    return proof + [_range_hash(store, b, e) for b, e in reversed(siblings)]


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an audit path, exactly as RFC 9162 section 2.1.3.2; raises ``ProofError``."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    if len(leaf_hash) != HASH_SIZE:
        raise ProofError("leaf hash has the wrong length")
    fn, sn = index, size - 1
    result = leaf_hash
    for sibling in proof:
        if sn == 0:
            raise ProofError("proof is too long")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            fn, sn = _skip_missing_right_siblings(fn, sn)
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof is too short")
    if result != root:
        raise ProofError("calculated root does not match")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check a consistency proof, exactly as RFC 9162 section 2.1.4.2; raises ``ProofError``.

    The RFC covers 0 < first < second. Around it: equal sizes need an empty proof and equal
    roots, and a proof from the empty tree is refused as meaningless (any tree extends it).
    """
    if first > second:
        raise ProofError(f"size {second} is smaller than size {first}")
    if first <= 0:
        raise ProofError("a consistency proof from an empty tree proves nothing")
    if first == second:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if first_root != second_root:
            raise ProofError("equal sizes but different roots")
        return
    if not proof:
        raise ProofError("empty proof")
    path = list(proof)
    if first.bit_count() == 1:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first_result = second_result = path[0]
    for sibling in path[1:]:
        if sn == 0:
            raise ProofError("proof is too long")
        if fn & 1 or fn == sn:
            first_result = node_hash(sibling, first_result)
            second_result = node_hash(sibling, second_result)
            fn, sn = _skip_missing_right_siblings(fn, sn)
        else:
            second_result = node_hash(second_result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof is too short")
    if first_result != first_root:
        raise ProofError("calculated first root does not match")
    if second_result != second_root:
        raise ProofError("calculated second root does not match")


def _skip_missing_right_siblings(fn: int, sn: int) -> tuple[int, int]:
    # A last node with an even index has no right sibling on its level: it moves up
    # unchanged until it is a right child (RFC 9162 step "right-shift ... until").
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def _split(n: int) -> int:
    """Largest power of two smaller than n (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect_subtrees(begin: int, end: int) -> list[tuple[int, int]]:
    """(level, index) of the fewest perfect subtrees covering [begin, end), left to right."""
    nodes: list[tuple[int, int]] = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        if begin:
            level = min(level, (begin & -begin).bit_length() - 1)
        nodes.append((level, begin >> level))
        begin += 1 << level
    return nodes


def _range_hash(store: SubtreeHashes, begin: int, end: int) -> bytes:
    # Only called for ranges that are nodes of the RFC tree: begin is a multiple of a power
    # of two >= end - begin, so the cover shrinks left to right and folding it gives the
    # node's hash.
    return _fold(
        [store.subtree_hash(level, index) for level, index in _perfect_subtrees(begin, end)]
    )


def _fold(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_non_negative(value: int, what: str) -> None:
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
