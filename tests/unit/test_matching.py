"""HashIndex: the matching rule (SHA-256 exact, PDQ <= 31 bits at quality >= 50) and upkeep."""

import threading

import numpy as np
import pytest

from services.content import matching
from services.content.matching import (
    MATCH_DISTANCE,
    MIN_QUALITY,
    Entry,
    HashIndex,
    Match,
    hamming,
    is_pdq_hex,
    is_sha256_hex,
    pdq_from_hex,
    pdq_to_hex,
)

SHA_A = "a" * 64
SHA_B = "b" * 64


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20260101)


def random_pdq(rng: np.random.Generator) -> bytes:
    return rng.integers(0, 256, size=32, dtype=np.uint8).tobytes()


def flip_bits(value: bytes, count: int, rng: np.random.Generator) -> bytes:
    """`value` with exactly `count` distinct bits inverted."""
    bits = np.unpackbits(np.frombuffer(value, dtype=np.uint8))
    positions = rng.choice(256, size=count, replace=False)
    bits[positions] ^= 1
    return np.packbits(bits).tobytes()


def naive_distance(a: bytes, b: bytes) -> int:
    return bin(int.from_bytes(a) ^ int.from_bytes(b)).count("1")


def test_match_pdq_31_bits_away_matches_at_threshold(rng: np.random.Generator) -> None:
    known = random_pdq(rng)
    index = HashIndex()
    index.add("item-1", pdq=known, quality=90)

    result = index.match(pdq=flip_bits(known, 31, rng), quality=90)

    assert result == [Match("item-1", 31)]


def test_match_pdq_32_bits_away_finds_nothing(rng: np.random.Generator) -> None:
    known = random_pdq(rng)
    index = HashIndex()
    index.add("item-1", pdq=known, quality=90)

    assert index.match(pdq=flip_bits(known, 32, rng), quality=90) == []


def test_match_pdq_quality_50_on_both_sides_matches(rng: np.random.Generator) -> None:
    known = random_pdq(rng)
    index = HashIndex()
    index.add("item-1", pdq=known, quality=MIN_QUALITY)

    assert index.match(pdq=known, quality=MIN_QUALITY) == [Match("item-1", 0)]


def test_match_pdq_stored_quality_49_never_matches(rng: np.random.Generator) -> None:
    known = random_pdq(rng)
    index = HashIndex()
    index.add("item-1", pdq=known, quality=49)

    assert index.match(pdq=known, quality=100) == []
    assert "item-1" in index


def test_match_pdq_query_quality_49_never_matches(rng: np.random.Generator) -> None:
    known = random_pdq(rng)
    index = HashIndex()
    index.add("item-1", pdq=known, quality=100)

    assert index.match(pdq=known, quality=49) == []


def test_match_pdq_without_quality_never_matches(rng: np.random.Generator) -> None:
    known = random_pdq(rng)
    index = HashIndex()
    index.add("stored-unknown", pdq=known)
    index.add("stored-good", pdq=known, quality=80)

    assert index.match(pdq=known) == []
    assert index.match(pdq=known, quality=80) == [Match("stored-good", 0)]


def test_match_sha256_exact_matches_at_distance_zero() -> None:
    index = HashIndex()
    index.add("video-1", sha256=SHA_A)
    index.add("video-2", sha256=SHA_B)

    assert index.match(sha256=SHA_A) == [Match("video-1", 0)]


def test_match_sha256_differing_in_last_word_finds_nothing() -> None:
    index = HashIndex()
    index.add("video-1", sha256=SHA_A)

    assert index.match(sha256="a" * 63 + "b") == []


def test_match_sha256_matches_when_pdq_quality_is_low(rng: np.random.Generator) -> None:
    index = HashIndex()
    index.add("item-1", sha256=SHA_A, pdq=random_pdq(rng), quality=10)

    assert index.match(sha256=SHA_A, pdq=random_pdq(rng), quality=10) == [Match("item-1", 0)]


def test_match_item_hit_by_both_hashes_is_reported_once_at_best(rng: np.random.Generator) -> None:
    known = random_pdq(rng)
    index = HashIndex()
    index.add("item-1", sha256=SHA_A, pdq=known, quality=90)

    result = index.match(sha256=SHA_A, pdq=flip_bits(known, 5, rng), quality=90)

    assert result == [Match("item-1", 0)]


def test_match_several_hits_are_sorted_closest_first(rng: np.random.Generator) -> None:
    query = random_pdq(rng)
    index = HashIndex()
    index.add("far", pdq=flip_bits(query, 30, rng), quality=90)
    index.add("near", pdq=flip_bits(query, 3, rng), quality=90)
    index.add("same-sha", sha256=SHA_A)
    index.add("unrelated", pdq=random_pdq(rng), quality=90)

    result = index.match(sha256=SHA_A, pdq=query, quality=90)

    assert result == [Match("same-sha", 0), Match("near", 3), Match("far", 30)]


def test_match_empty_query_finds_nothing(rng: np.random.Generator) -> None:
    index = HashIndex()
    index.add("item-1", sha256=SHA_A, pdq=random_pdq(rng), quality=90)

    assert index.match() == []


def test_remove_item_stops_it_matching(rng: np.random.Generator) -> None:
    known = random_pdq(rng)
    index = HashIndex()
    index.add("item-1", sha256=SHA_A, pdq=known, quality=90)

    assert index.remove("item-1") is True

    assert index.match(sha256=SHA_A, pdq=known, quality=90) == []
    assert len(index) == 0


def test_remove_unknown_item_returns_false() -> None:
    index = HashIndex()
    index.add("item-1", sha256=SHA_A)

    assert index.remove("item-2") is False
    assert len(index) == 1


def test_remove_from_middle_keeps_the_others_matching(rng: np.random.Generator) -> None:
    hashes = {f"item-{n}": random_pdq(rng) for n in range(10)}
    index = HashIndex(capacity=4)
    for item_id, pdq in hashes.items():
        index.add(item_id, pdq=pdq, quality=90)

    index.remove("item-3")
    index.remove("item-0")

    for item_id, pdq in hashes.items():
        expected = [] if item_id in {"item-0", "item-3"} else [Match(item_id, 0)]
        assert index.match(pdq=pdq, quality=90) == expected
    assert len(index) == 8


def test_add_existing_item_replaces_its_hashes(rng: np.random.Generator) -> None:
    old, new = random_pdq(rng), random_pdq(rng)
    index = HashIndex()
    index.add("item-1", sha256=SHA_A, pdq=old, quality=90)

    index.add("item-1", pdq=new, quality=90)

    assert index.match(sha256=SHA_A, pdq=old, quality=90) == []
    assert index.match(pdq=new, quality=90) == [Match("item-1", 0)]
    assert len(index) == 1


def test_add_beyond_capacity_grows_and_keeps_every_entry(rng: np.random.Generator) -> None:
    hashes = [random_pdq(rng) for _ in range(100)]
    index = HashIndex(capacity=1)
    for n, pdq in enumerate(hashes):
        index.add(f"item-{n}", pdq=pdq, quality=90)

    assert len(index) == 100
    assert index.nbytes >= 100 * 64
    for n, pdq in enumerate(hashes):
        assert index.match(pdq=pdq, quality=90) == [Match(f"item-{n}", 0)]


@pytest.mark.parametrize(
    "entry",
    [
        Entry("item-1"),
        Entry("", sha256=SHA_A),
        Entry("item-1", sha256="A" * 64),
        Entry("item-1", sha256="a" * 63),
        Entry("item-1", pdq=bytes(31), quality=90),
        Entry("item-1", pdq=bytes(32), quality=101),
        Entry("item-1", pdq=bytes(32), quality=True),
    ],
)
def test_add_many_invalid_entry_rejects_the_whole_batch(entry: Entry) -> None:
    index = HashIndex()

    with pytest.raises(ValueError, match=r"(?i)item_id|sha256|pdq|quality"):
        index.add_many([Entry("good", sha256=SHA_A), entry])

    assert len(index) == 0


def test_match_invalid_query_raises() -> None:
    index = HashIndex()

    with pytest.raises(ValueError, match="sha256"):
        index.match(sha256="xyz")
    with pytest.raises(ValueError, match="PDQ"):
        index.match(pdq=bytes(16), quality=90)
    with pytest.raises(ValueError, match="quality"):
        index.match(pdq=bytes(32), quality=-1)


def test_match_distances_agree_with_naive_popcount_across_chunks(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks so the few thousand rows span many passes, including a ragged last one.
    monkeypatch.setattr(matching, "_CHUNK_ROWS", 257)
    query = random_pdq(rng)
    stored = [flip_bits(query, int(rng.integers(0, 64)), rng) for _ in range(3000)]
    stored += [random_pdq(rng) for _ in range(1000)]
    index = HashIndex()
    index.add_many(Entry(f"item-{n}", pdq=pdq, quality=90) for n, pdq in enumerate(stored))

    result = {match.item_id: match.distance for match in index.match(pdq=query, quality=90)}

    expected = {
        f"item-{n}": naive_distance(query, pdq)
        for n, pdq in enumerate(stored)
        if naive_distance(query, pdq) <= MATCH_DISTANCE
    }
    assert result == expected
    assert len(expected) > 1000


def test_hamming_agrees_with_naive_popcount(rng: np.random.Generator) -> None:
    for _ in range(2000):
        a, b = random_pdq(rng), random_pdq(rng)
        assert hamming(pdq_to_hex(a), pdq_to_hex(b)) == naive_distance(a, b)


def test_hamming_extremes_identical_and_complement() -> None:
    assert hamming("0" * 64, "0" * 64) == 0
    assert hamming("0" * 64, "F" * 64) == 256


@pytest.mark.parametrize("value", ["A" * 64, "a" * 63, "a" * 65, "g" * 64, "a" * 63 + "\n", 42])
def test_is_sha256_hex_malformed_is_refused(value: object) -> None:
    assert is_sha256_hex(value) is False


def test_is_pdq_hex_either_case_is_accepted() -> None:
    assert is_pdq_hex("ab" * 32)
    assert is_pdq_hex("AB" * 32)
    assert not is_pdq_hex("ab" * 31)


def test_pdq_from_hex_with_whitespace_raises() -> None:
    # bytes.fromhex alone would accept this and yield 32 bytes.
    with pytest.raises(ValueError, match="64 hex digits"):
        pdq_from_hex("ab " * 21 + "a")
    with pytest.raises(ValueError, match="64 hex digits"):
        pdq_from_hex("ab" * 31 + " ab")


def test_pdq_hex_round_trip_is_lowercase() -> None:
    assert pdq_to_hex(pdq_from_hex("AB" * 32)) == "ab" * 32


def test_match_concurrent_with_writer_stays_consistent(rng: np.random.Generator) -> None:
    stable = random_pdq(rng)
    churn = [random_pdq(rng) for _ in range(500)]
    index = HashIndex(capacity=2)
    index.add("stable", pdq=stable, quality=90)
    failures: list[object] = []

    def writer() -> None:
        for n, pdq in enumerate(churn):
            index.add(f"churn-{n}", pdq=pdq, quality=90)
            if n % 2:
                index.remove(f"churn-{n - 1}")

    def reader() -> None:
        for _ in range(300):
            result = index.match(pdq=stable, quality=90)
            if result != [Match("stable", 0)]:
                failures.append(result)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(index) == 1 + 250


def test_add_many_bulk_matches_exactly_like_one_by_one(rng: np.random.Generator) -> None:
    entries = [
        Entry(f"item-{n}", SHA_A if n == 3 else None, random_pdq(rng), int(rng.integers(0, 101)))
        for n in range(3000)
    ]
    bulk, single = HashIndex(capacity=1), HashIndex(capacity=1)
    bulk.add_many(entries)
    for entry in entries:
        single.add(entry.item_id, sha256=entry.sha256, pdq=entry.pdq, quality=entry.quality)

    for entry in entries[::97]:
        assert entry.pdq is not None
        query = flip_bits(entry.pdq, 20, rng)
        assert bulk.match(pdq=query, quality=90) == single.match(pdq=query, quality=90)
    assert bulk.match(sha256=SHA_A) == [Match("item-3", 0)]
    assert len(bulk) == len(single) == 3000


def test_add_many_repeated_or_known_id_keeps_the_last_hashes(rng: np.random.Generator) -> None:
    old, new, other = random_pdq(rng), random_pdq(rng), random_pdq(rng)
    index = HashIndex()
    index.add("known", pdq=old, quality=90)

    index.add_many(
        [
            Entry("twice", pdq=old, quality=90),
            Entry("known", pdq=new, quality=90),
            Entry("twice", pdq=other, quality=90),
        ]
    )

    assert len(index) == 2
    assert index.match(pdq=old, quality=90) == []
    assert index.match(pdq=new, quality=90) == [Match("known", 0)]
    assert index.match(pdq=other, quality=90) == [Match("twice", 0)]


def test_add_hex_rows_matches_exactly_like_add_many(rng: np.random.Generator) -> None:
    rows = [
        (
            f"item-{n}",
            SHA_B if n == 5 else None if n % 3 == 0 else rng.bytes(32).hex(),
            None if n % 7 == 0 and n % 3 else random_pdq(rng).hex(),
            None if n % 11 == 0 else int(rng.integers(0, 101)),
        )
        for n in range(1, 2000)
    ]
    by_hex, by_entry = HashIndex(capacity=1), HashIndex(capacity=1)
    by_hex.add_hex_rows(rows)
    by_entry.add_many(
        Entry(i, sha, pdq_from_hex(pdq) if pdq else None, quality) for i, sha, pdq, quality in rows
    )

    for _, sha, pdq, _ in rows[::41]:
        query = flip_bits(pdq_from_hex(pdq), 12, rng) if pdq else random_pdq(rng)
        assert by_hex.match(sha256=sha, pdq=query, quality=80) == by_entry.match(
            sha256=sha, pdq=query, quality=80
        )
    assert by_hex.match(sha256=SHA_B) == [Match("item-5", 0)]
    assert len(by_hex) == len(by_entry)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (("x", "A" * 64, None, None), "lowercase hex"),
        (("x", "a" * 63, "b" * 65, None), "64 hex digits"),  # lengths that only add up together
        (("x", None, None, None), "a sha256 or a pdq"),
        (("x", None, "g" * 64, 90), "pdq hex"),
        (("x", "a" * 64, "b" * 64, 101), "quality"),
        (("", "a" * 64, None, None), "item_id"),
    ],
)
def test_add_hex_rows_invalid_row_rejects_the_whole_batch(
    bad: tuple[str, str | None, str | None, int | None], why: str
) -> None:
    index = HashIndex()

    with pytest.raises(ValueError, match=why):
        index.add_hex_rows([("good", SHA_A, None, None), bad])

    assert len(index) == 0


def test_add_hex_rows_known_id_is_replaced(rng: np.random.Generator) -> None:
    old, new = random_pdq(rng), random_pdq(rng)
    index = HashIndex()
    index.add("known", pdq=old, quality=90)

    index.add_hex_rows([("known", None, new.hex().upper(), 90), ("other", SHA_A, None, None)])

    assert index.match(pdq=old, quality=90) == []
    assert index.match(pdq=new, quality=90) == [Match("known", 0)]
    assert index.match(sha256=SHA_A) == [Match("other", 0)]
