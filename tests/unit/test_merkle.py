"""The audit log's Merkle tree: published RFC 6962 / RFC 9162 answers first, then properties."""

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit.canonical import CanonicalizationError, JSONValue, canonical_json
from services.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryTree,
    ProofError,
    Subtree,
    SubtreeHashes,
    completed_subtrees,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "merkle"
TESTDATA = VECTORS / "testdata"

# The eight leaves of the Certificate Transparency reference tests (merkle_tree_test.cc),
# also used by trillian and transparency-dev/merkle (testonly/constants.go).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
# Root of the tree over the first n of CT_LEAVES, for n = 0..8.
CT_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
# Every perfect subtree of the 8-leaf tree, by level then index (testonly/constants.go).
CT_NODES = [
    [
        bytes.fromhex(h)
        for h in (
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        )
    ],
    [
        bytes.fromhex(h)
        for h in (
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        )
    ],
    [
        bytes.fromhex(h)
        for h in (
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        )
    ],
    [bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]
# The compact range (largest subtree first) after each of the 8 appends, as (level, index).
CT_COMPACT = [
    [],
    [(0, 0)],
    [(1, 0)],
    [(1, 0), (0, 2)],
    [(2, 0)],
    [(2, 0), (0, 4)],
    [(2, 0), (1, 2)],
    [(2, 0), (1, 2), (0, 6)],
    [(3, 0)],
]

MAX_PROPERTY_SIZE = 300


def _ct_tree() -> MemoryTree:
    tree = MemoryTree()
    for leaf in CT_LEAVES:
        tree.append(leaf_hash(leaf))
    return tree


def _random_tree(size: int) -> MemoryTree:
    tree = MemoryTree()
    for i in range(size):
        tree.append(leaf_hash(f"entry {i}".encode()))
    return tree


# Read-only after construction, so hypothesis examples can share it.
BIG_TREE = _random_tree(MAX_PROPERTY_SIZE)


# --- Reference: the recursive definitions of RFC 9162 section 2.1, written out literally ---


def _split_point(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = _split_point(len(hashes))
    return node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def _path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split_point(len(hashes))
    if m < k:
        return [*_path(m, hashes[:k]), _mth(hashes[k:])]
    return [*_path(m - k, hashes[k:]), _mth(hashes[:k])]


def _subproof(m: int, hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    if m == len(hashes):
        return [] if complete else [_mth(hashes)]
    k = _split_point(len(hashes))
    if m <= k:
        return [*_subproof(m, hashes[:k], complete), _mth(hashes[k:])]
    return [*_subproof(m - k, hashes[k:], False), _mth(hashes[:k])]


class _CountingStore:
    def __init__(self, inner: SubtreeHashes) -> None:
        self.inner = inner
        self.reads = 0

    def subtree_hash(self, level: int, index: int) -> bytes:
        self.reads += 1
        return self.inner.subtree_hash(level, index)


# --- Published vectors (transparency-dev/merkle testdata) ---


def _vector_files(kind: str) -> list[Any]:
    folder = TESTDATA / kind
    if not folder.is_dir():
        reason = f"Merkle proof vectors not found at {folder}"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="absent")]
    files = sorted(folder.rglob("*.json"))
    return [pytest.param(f, id=str(f.relative_to(TESTDATA))) for f in files]


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in vector["proof"] or []]


@pytest.mark.parametrize("path", _vector_files("inclusion"))
def test_verify_inclusion_matches_published_vector_outcome(path: Path) -> None:
    vector = _load(path)
    args = (
        _b64(vector["leafHash"]),
        vector["leafIdx"],
        vector["treeSize"],
        _proof(vector),
        _b64(vector["root"]),
    )
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _vector_files("consistency"))
def test_verify_consistency_matches_published_vector_outcome(path: Path) -> None:
    vector = _load(path)
    args = (
        vector["size1"],
        vector["size2"],
        _b64(vector["root1"]),
        _b64(vector["root2"]),
        _proof(vector),
    )
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def _happy_paths(kind: str) -> list[Any]:
    return [
        p
        for p in _vector_files(kind)
        if p.values[0] is None or p.values[0].name == "happy-path.json"
    ]


@pytest.mark.parametrize("path", _happy_paths("inclusion"))
def test_inclusion_proof_equals_published_proof_for_reference_tree(path: Path) -> None:
    vector = _load(path)
    tree = _ct_tree()
    assert root(tree, vector["treeSize"]) == _b64(vector["root"])
    assert inclusion_proof(tree, vector["leafIdx"], vector["treeSize"]) == _proof(vector)


@pytest.mark.parametrize("path", _happy_paths("consistency"))
def test_consistency_proof_equals_published_proof_for_reference_tree(path: Path) -> None:
    vector = _load(path)
    tree = _ct_tree()
    assert root(tree, vector["size1"]) == _b64(vector["root1"])
    assert root(tree, vector["size2"]) == _b64(vector["root2"])
    assert consistency_proof(tree, vector["size1"], vector["size2"]) == _proof(vector)


def test_vectors_folder_holds_both_proof_kinds_when_present() -> None:
    if not TESTDATA.is_dir():
        pytest.skip(f"Merkle proof vectors not found at {TESTDATA}")
    assert list((TESTDATA / "inclusion").rglob("*.json"))
    assert list((TESTDATA / "consistency").rglob("*.json"))


# --- Hashing and roots against the RFC 6962 reference data ---


def test_leaf_hash_prefixes_zero_byte() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest() == CT_NODES[0][0]


def test_node_hash_prefixes_one_byte() -> None:
    assert node_hash(CT_NODES[0][0], CT_NODES[0][1]) == CT_NODES[1][0]
    assert node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()


def test_empty_root_is_hash_of_nothing() -> None:
    assert CT_ROOTS[0] == EMPTY_ROOT
    assert root(MemoryTree(), 0) == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(len(CT_ROOTS)))
def test_root_matches_rfc6962_reference_for_each_prefix(size: int) -> None:
    hashes = [leaf_hash(leaf) for leaf in CT_LEAVES[:size]]
    assert root(_ct_tree(), size) == CT_ROOTS[size]
    assert root_from_leaf_hashes(hashes) == CT_ROOTS[size]


def test_memory_tree_stores_every_reference_subtree_hash() -> None:
    tree = _ct_tree()
    for level, hashes in enumerate(CT_NODES):
        for index, expected in enumerate(hashes):
            assert tree.subtree_hash(level, index) == expected


@pytest.mark.parametrize("position", [(0, 8), (1, 4), (3, 1), (4, 0), (-1, 0), (0, -1)])
def test_memory_tree_raises_lookup_error_for_subtree_not_complete(
    position: tuple[int, int],
) -> None:
    with pytest.raises(LookupError):
        _ct_tree().subtree_hash(*position)


def test_compact_range_holds_reference_hashes_after_each_append() -> None:
    compact = CompactRange()
    for size, leaf in enumerate(CT_LEAVES, start=1):
        compact.append(leaf_hash(leaf))
        assert compact.size == size
        assert list(compact.hashes) == [CT_NODES[lv][ix] for lv, ix in CT_COMPACT[size]]
        assert compact.root() == CT_ROOTS[size]


def test_compact_range_resumes_from_saved_state() -> None:
    saved = CompactRange(3, [CT_NODES[1][0], CT_NODES[0][2]])
    for leaf in CT_LEAVES[3:]:
        saved.append(leaf_hash(leaf))
    assert saved.root() == CT_ROOTS[8]


@pytest.mark.parametrize(("size", "count"), [(0, 1), (3, 1), (4, 2), (-1, 0)])
def test_compact_range_rejects_state_not_matching_size(size: int, count: int) -> None:
    with pytest.raises(ValueError, match="size"):
        CompactRange(size, [EMPTY_ROOT] * count)


def test_completed_subtrees_lists_each_level_closed_by_append() -> None:
    tree = _ct_tree()
    seven = MemoryTree()
    for leaf in CT_LEAVES[:7]:
        seven.append(leaf_hash(leaf))
    nodes = completed_subtrees(seven, 7, leaf_hash(CT_LEAVES[7]))
    assert nodes == [
        Subtree(0, 7, CT_NODES[0][7]),
        Subtree(1, 3, CT_NODES[1][3]),
        Subtree(2, 1, CT_NODES[2][1]),
        Subtree(3, 0, CT_NODES[3][0]),
    ]
    assert completed_subtrees(tree, 8, EMPTY_ROOT) == [Subtree(0, 8, EMPTY_ROOT)]


def test_append_rejects_hash_of_wrong_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MemoryTree().append(b"entry bytes, not their hash")


# --- Proof generation against the RFC's recursive definitions ---


@pytest.mark.parametrize("size", range(1, 34))
def test_inclusion_proof_equals_rfc_definition_for_small_trees(size: int) -> None:
    hashes = [BIG_TREE.subtree_hash(0, i) for i in range(size)]
    for index in range(size):
        assert inclusion_proof(BIG_TREE, index, size) == _path(index, hashes)


@pytest.mark.parametrize("second", range(1, 34))
def test_consistency_proof_equals_rfc_definition_for_small_trees(second: int) -> None:
    hashes = [BIG_TREE.subtree_hash(0, i) for i in range(second)]
    assert root(BIG_TREE, second) == _mth(hashes)
    for first in range(1, second + 1):
        expected = _subproof(first, hashes, True)
        assert consistency_proof(BIG_TREE, first, second) == expected


@pytest.mark.parametrize(("index", "size"), [(0, 0), (3, 3), (-1, 3)])
def test_inclusion_proof_rejects_index_outside_tree(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="index"):
        inclusion_proof(BIG_TREE, index, size)


@pytest.mark.parametrize(("first", "second"), [(0, 5), (6, 5), (0, 0)])
def test_consistency_proof_rejects_sizes_without_proof(first: int, second: int) -> None:
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(BIG_TREE, first, second)


# --- Properties over random sizes ---

sizes = st.integers(min_value=1, max_value=MAX_PROPERTY_SIZE)


@settings(max_examples=200)
@given(size=sizes, data=st.data())
def test_inclusion_proof_verifies_with_logarithmic_length_for_any_size(
    size: int, data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    store = _CountingStore(BIG_TREE)
    proof = inclusion_proof(store, index, size)
    verify_inclusion(BIG_TREE.subtree_hash(0, index), index, size, proof, root(BIG_TREE, size))
    assert len(proof) <= (size - 1).bit_length()
    assert store.reads <= 2 * size.bit_length()


@settings(max_examples=200)
@given(second=sizes, data=st.data())
def test_consistency_proof_verifies_with_logarithmic_length_for_any_sizes(
    second: int, data: st.DataObject
) -> None:
    first = data.draw(st.integers(min_value=1, max_value=second))
    store = _CountingStore(BIG_TREE)
    proof = consistency_proof(store, first, second)
    verify_consistency(first, second, root(BIG_TREE, first), root(BIG_TREE, second), proof)
    assert len(proof) <= (second - 1).bit_length() + 1
    assert store.reads <= 2 * second.bit_length() + 1


def _tamper(proof: list[bytes], data: st.DataObject) -> list[bytes]:
    kinds = ["append", "flip", "drop"] if proof else ["append"]
    kind = data.draw(st.sampled_from(kinds))
    if kind == "append":
        return [*proof, data.draw(st.binary(min_size=32, max_size=32))]
    position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    if kind == "drop":
        return proof[:position] + proof[position + 1 :]
    bit = data.draw(st.integers(min_value=0, max_value=255))
    element = bytearray(proof[position])
    element[bit // 8] ^= 1 << (bit % 8)
    return [*proof[:position], bytes(element), *proof[position + 1 :]]


@settings(max_examples=200)
@given(size=sizes, data=st.data())
def test_inclusion_proof_fails_when_tampered(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    tampered = _tamper(inclusion_proof(BIG_TREE, index, size), data)
    with pytest.raises(ProofError):
        verify_inclusion(
            BIG_TREE.subtree_hash(0, index), index, size, tampered, root(BIG_TREE, size)
        )


@settings(max_examples=200)
@given(second=sizes, data=st.data())
def test_consistency_proof_fails_when_tampered(second: int, data: st.DataObject) -> None:
    first = data.draw(st.integers(min_value=1, max_value=second))
    tampered = _tamper(consistency_proof(BIG_TREE, first, second), data)
    with pytest.raises(ProofError):
        verify_consistency(first, second, root(BIG_TREE, first), root(BIG_TREE, second), tampered)


@settings(max_examples=100)
@given(size=sizes, data=st.data())
def test_inclusion_proof_fails_for_another_index(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    other = data.draw(st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index))
    proof = inclusion_proof(BIG_TREE, index, size)
    with pytest.raises(ProofError):
        verify_inclusion(BIG_TREE.subtree_hash(0, index), other, size, proof, root(BIG_TREE, size))


@given(size=sizes)
def test_compact_range_root_equals_tree_root_at_every_size(size: int) -> None:
    compact = CompactRange()
    for index in range(size):
        compact.append(BIG_TREE.subtree_hash(0, index))
    assert compact.root() == root(BIG_TREE, size)
    assert len(compact.hashes) == size.bit_count()


# --- Leaf bytes: canonical JSON (RFC 8785) ---


def test_canonical_json_sorts_keys_by_utf16_as_rfc8785_example() -> None:
    # RFC 8785 section 3.2.3, the property sorting example.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    )
    assert canonical_json(value) == expected.encode()


def test_canonical_json_is_independent_of_key_order_and_spacing() -> None:
    entry: dict[str, JSONValue] = {
        "index": 7,
        "action": "case.read",
        "outcome": "allowed",
        "org": None,
    }
    reordered = dict(reversed(list(entry.items())))
    assert canonical_json(entry) == canonical_json(reordered)
    assert canonical_json(entry) == (
        b'{"action":"case.read","index":7,"org":null,"outcome":"allowed"}'
    )


@pytest.mark.parametrize("value", [{"n": 2**53}, {"x": float("nan")}, {1: "key"}, {"s": {1}}])
def test_canonical_json_rejects_values_without_exact_form(value: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json(value)
