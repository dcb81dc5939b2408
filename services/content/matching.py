"""In-memory index of known content hashes, for spotting re-uploads of a known item.

Matching rule (CONTRACT section 4, Content): an exact SHA-256 match, or a PDQ Hamming
distance of at most MATCH_DISTANCE between two hashes whose quality is both at least
MIN_QUALITY. Low-quality PDQ hashes (flat or tiny pictures) collide with unrelated
pictures, so they are kept but never auto-matched: a false hit would draft a takedown.

Layout: one column per entry in packed, word-major NumPy arrays (PDQ and SHA-256 as 4 uint64
words each; word w of every entry is contiguous). A PDQ query XORs and popcounts the first two
words of every entry, and the last two only for the few entries that are not already more than
MATCH_DISTANCE bits off (unrelated hashes differ in about 64 of those 128 bits), so a query
against a million entries reads about 16 MB: a few milliseconds. Entries grow by doubling and
are removed by moving the last entry into the hole.
"""

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

MATCH_DISTANCE: Final = 31
MIN_QUALITY: Final = 50

HASH_BYTES: Final = 32
_WORDS: Final = HASH_BYTES // 8
_HALF: Final = _WORDS // 2
_NO_QUALITY: Final = -1
_INITIAL_CAPACITY: Final = 1024
# Rows per pass: keeps the XOR temporaries in cache (64k rows x 8 bytes = 512 KiB a word).
_CHUNK_ROWS: Final = 65_536

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_LOWER_HEX = re.compile(r"[0-9a-f]*")
_ANY_HEX = re.compile(r"[0-9a-fA-F]*")
_PDQ_HEX = re.compile(r"[0-9a-fA-F]{64}")

Words = npt.NDArray[np.uint64]
#: A stored item as a database read gives it: id, sha256 hex, pdq hex, pdq quality.
HexRow = tuple[str, str | None, str | None, int | None]


def is_sha256_hex(value: object) -> bool:
    """True for the contract's SHA-256 form: exactly 64 lowercase hex digits."""
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def is_pdq_hex(value: object) -> bool:
    """True for 64 hex digits of either case (PDQ tools differ; compare after `.lower()`)."""
    return isinstance(value, str) and _PDQ_HEX.fullmatch(value) is not None


def is_quality(value: object) -> bool:
    """True for a PDQ quality score: an int from 0 to 100 (bool is refused)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100


def pdq_from_hex(value: str) -> bytes:
    """The 32 bytes of a PDQ hex string; ValueError if it is not 64 hex digits."""
    # Checked first because bytes.fromhex would also accept embedded whitespace.
    if not is_pdq_hex(value):
        raise ValueError("a PDQ hash is 64 hex digits")
    return bytes.fromhex(value)


def pdq_to_hex(value: bytes) -> str:
    """Lowercase hex of a 32-byte PDQ hash."""
    _check_pdq_bytes(value)
    return value.hex()


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two PDQ hex strings."""
    return (int.from_bytes(pdq_from_hex(a_hex)) ^ int.from_bytes(pdq_from_hex(b_hex))).bit_count()


@dataclass(frozen=True, slots=True)
class Entry:
    """One known item's hashes. `quality` belongs to `pdq`; without it the PDQ never matches."""

    item_id: str
    sha256: str | None = None
    pdq: bytes | None = None
    quality: int | None = None


@dataclass(frozen=True, slots=True)
class Match:
    item_id: str
    distance: int


class HashIndex:
    """Known hashes by item id. Thread-safe: one lock serialises writers and readers."""

    def __init__(self, capacity: int = _INITIAL_CAPACITY) -> None:
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._allocate(max(1, capacity))

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def __contains__(self, item_id: object) -> bool:
        with self._lock:
            return item_id in self._rows

    @property
    def nbytes(self) -> int:
        """Bytes held by the packed arrays (capacity included, Python id strings excluded)."""
        with self._lock:
            return sum(array.nbytes for array in self._arrays())

    def add(
        self,
        item_id: str,
        *,
        sha256: str | None = None,
        pdq: bytes | None = None,
        quality: int | None = None,
    ) -> None:
        """Insert an item, or replace the hashes of one already present."""
        self.add_many([Entry(item_id, sha256, pdq, quality)])

    def add_many(self, entries: Iterable[Entry]) -> None:
        """Bulk load (e.g. at start-up): all or nothing, under a single lock."""
        batch = list(entries)
        for entry in batch:
            _check_entry(entry)
        with self._lock:
            # New ids are appended in one vectorised step (a million rows in about a second);
            # an id already present, or repeated in the batch, is replaced row by row, in order.
            fresh: list[Entry] = []
            pending: set[str] = set()
            for entry in batch:
                if entry.item_id in self._rows or entry.item_id in pending:
                    self._append(fresh)
                    fresh, pending = [], set()
                    self._put(entry)
                else:
                    fresh.append(entry)
                    pending.add(entry.item_id)
            self._append(fresh)

    def add_hex_rows(self, rows: Sequence[HexRow]) -> None:
        """Bulk load of stored rows `(item_id, sha256 hex, pdq hex, quality)`, as a database
        read gives them: checked as a whole and decoded in one step, several times faster than
        `add_many` for a million rows. All or nothing, like `add_many` (which it falls back to
        when an id is already present or repeated)."""
        ids = [row[0] for row in rows]
        if len(set(ids)) != len(ids) or any(item_id in self._rows for item_id in ids):
            self.add_many(
                Entry(i, sha, pdq_from_hex(pdq) if pdq is not None else None, quality)
                for i, sha, pdq, quality in rows
            )
            return
        zero = "0" * (2 * HASH_BYTES)
        sha_hex = "".join(zero if row[1] is None else row[1] for row in rows)
        pdq_hex = "".join(zero if row[2] is None else row[2] for row in rows)
        has_sha = [row[1] is not None for row in rows]
        has_pdq = [row[2] is not None for row in rows]
        qualities = [_NO_QUALITY if row[2] is None or row[3] is None else row[3] for row in rows]
        _check_hex_rows(rows, sha_hex, pdq_hex, has_sha, has_pdq)
        with self._lock:
            self._append_packed(
                ids, bytes.fromhex(sha_hex), has_sha, bytes.fromhex(pdq_hex), has_pdq, qualities
            )

    def remove(self, item_id: str) -> bool:
        """Forget an item; False if it was not there."""
        with self._lock:
            row = self._rows.pop(item_id, None)
            if row is None:
                return False
            last = len(self._ids) - 1
            last_id = self._ids.pop()
            if row != last:
                self._move_row(last, row)
                self._ids[row] = last_id
                self._rows[last_id] = row
            return True

    def match(
        self,
        sha256: str | None = None,
        pdq: bytes | None = None,
        quality: int | None = None,
    ) -> list[Match]:
        """Known items matching the query, closest first; an item appears once, at its best."""
        if sha256 is not None and not is_sha256_hex(sha256):
            raise ValueError("sha256 must be 64 lowercase hex digits")
        if pdq is not None:
            _check_pdq_bytes(pdq)
        if quality is not None and not is_quality(quality):
            raise ValueError("quality must be an int from 0 to 100")
        with self._lock:
            best: dict[str, int] = {}
            if sha256 is not None:
                for row in self._sha_rows(_words(bytes.fromhex(sha256))):
                    best[self._ids[row]] = 0
            if pdq is not None and quality is not None and quality >= MIN_QUALITY:
                rows, distances = self._pdq_rows(_words(pdq))
                for row, distance in zip(rows.tolist(), distances.tolist(), strict=True):
                    item_id = self._ids[row]
                    best[item_id] = min(distance, best.get(item_id, distance))
        return sorted(
            (Match(item_id, distance) for item_id, distance in best.items()),
            key=lambda match: (match.distance, match.item_id),
        )

    # Internals below run with the lock held.

    def _allocate(self, capacity: int) -> None:
        # Word-major: word w of every row is contiguous, so a pass over one word reads only
        # a quarter of the hashes' memory.
        self._sha: Words = np.zeros((_WORDS, capacity), dtype=np.uint64)
        self._has_sha = np.zeros(capacity, dtype=np.bool_)
        self._pdq: Words = np.zeros((_WORDS, capacity), dtype=np.uint64)
        self._has_pdq = np.zeros(capacity, dtype=np.bool_)
        self._quality = np.full(capacity, _NO_QUALITY, dtype=np.int8)

    def _capacity(self) -> int:
        return int(self._has_sha.shape[0])

    def _arrays(self) -> tuple[npt.NDArray[Any], ...]:
        return (self._sha, self._has_sha, self._pdq, self._has_pdq, self._quality)

    def _grow(self) -> None:
        size = len(self._ids)
        old = self._arrays()
        self._allocate(2 * self._capacity())
        for source, target in zip(old, self._arrays(), strict=True):
            target[..., :size] = source[..., :size]

    def _put(self, entry: Entry) -> None:
        row = self._rows.get(entry.item_id)
        if row is None:
            if len(self._ids) == self._capacity():
                self._grow()
            row = len(self._ids)
            self._ids.append(entry.item_id)
            self._rows[entry.item_id] = row
        self._has_sha[row] = entry.sha256 is not None
        self._sha[:, row] = _words(bytes.fromhex(entry.sha256)) if entry.sha256 else 0
        self._has_pdq[row] = entry.pdq is not None
        self._pdq[:, row] = _words(entry.pdq) if entry.pdq is not None else 0
        # Stored quality only gates matching; a PDQ without one can never qualify.
        quality = entry.quality if entry.pdq is not None else None
        self._quality[row] = _NO_QUALITY if quality is None else quality

    def _append(self, entries: list[Entry]) -> None:
        zero = bytes(HASH_BYTES)
        self._append_packed(
            [entry.item_id for entry in entries],
            b"".join(bytes.fromhex(e.sha256) if e.sha256 else zero for e in entries),
            [e.sha256 is not None for e in entries],
            b"".join(e.pdq if e.pdq is not None else zero for e in entries),
            [e.pdq is not None for e in entries],
            [
                e.quality if e.pdq is not None and e.quality is not None else _NO_QUALITY
                for e in entries
            ],
        )

    def _append_packed(
        self,
        ids: list[str],
        shas: bytes,
        has_sha: list[bool],
        pdqs: bytes,
        has_pdq: list[bool],
        qualities: list[int],
    ) -> None:
        """Append new ids (none present) with their hashes packed back to back."""
        if not ids:
            return
        start, count = len(self._ids), len(ids)
        while self._capacity() < start + count:
            self._grow()
        rows = slice(start, start + count)
        self._sha[:, rows] = np.frombuffer(shas, dtype=np.uint64).reshape(count, _WORDS).T
        self._has_sha[rows] = has_sha
        self._pdq[:, rows] = np.frombuffer(pdqs, dtype=np.uint64).reshape(count, _WORDS).T
        self._has_pdq[rows] = has_pdq
        self._quality[rows] = qualities
        self._rows.update(zip(ids, range(start, start + count), strict=True))
        self._ids.extend(ids)

    def _move_row(self, source: int, target: int) -> None:
        for array in self._arrays():
            array[..., target] = array[..., source]

    def _sha_rows(self, query: Words) -> list[int]:
        size = len(self._ids)
        # One word narrows a million rows to (almost surely) the true hits; then check all four.
        candidates = np.flatnonzero((self._sha[0, :size] == query[0]) & self._has_sha[:size])
        exact = (self._sha[:, candidates] == query[:, np.newaxis]).all(axis=0)
        rows: list[int] = candidates[exact].tolist()
        return rows

    def _pdq_rows(self, query: Words) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint16]]:
        size = len(self._ids)
        found_rows: list[npt.NDArray[np.intp]] = []
        found_distances: list[npt.NDArray[np.uint16]] = []
        for start in range(0, size, _CHUNK_ROWS):
            stop = min(size, start + _CHUNK_ROWS)
            # Half the bits first: a row already more than MATCH_DISTANCE off on them cannot
            # match, and for unrelated hashes (about 64 of 128 bits off) that is nearly all.
            partial = _distances(self._pdq[:_HALF, start:stop], query[:_HALF])
            maybe = np.flatnonzero(partial <= MATCH_DISTANCE)
            if not maybe.size:
                continue
            rows = maybe + start
            distances = partial[maybe] + _distances(self._pdq[_HALF:, rows], query[_HALF:])
            eligible = (distances <= MATCH_DISTANCE) & (self._quality[rows] >= MIN_QUALITY)
            if eligible.any():
                found_rows.append(rows[eligible])
                found_distances.append(distances[eligible])
        if not found_rows:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.uint16)
        return np.concatenate(found_rows), np.concatenate(found_distances)


def _distances(block: Words, query: Words) -> npt.NDArray[np.uint16]:
    """Hamming distance, over the words of word-major `block` (words x rows), of each row to
    `query`: XOR, popcount, summed word by word into a uint16 (faster than a `.sum` over a
    rows x words count array, whose short inner reduction has a high per-row overhead)."""
    total: npt.NDArray[np.uint16] = np.bitwise_count(block[0] ^ query[0]).astype(np.uint16)
    for word in range(1, block.shape[0]):
        total += np.bitwise_count(block[word] ^ query[word])
    return total


def _words(value: bytes) -> Words:
    # Byte order is irrelevant: equality and popcount of XOR do not depend on it.
    return np.frombuffer(value, dtype=np.uint64)


def _check_pdq_bytes(value: object) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_BYTES:
        raise ValueError("a PDQ hash is 32 bytes")


def _check_hex_rows(
    rows: Sequence[HexRow], sha_hex: str, pdq_hex: str, has_sha: list[bool], has_pdq: list[bool]
) -> None:
    """What `_check_entry` checks, for a whole batch of stored rows at once."""
    width = 2 * HASH_BYTES
    if any(value is not None and len(value) != width for row in rows for value in row[1:3]):
        raise ValueError("every hash is 64 hex digits")
    if not all(isinstance(row[0], str) and row[0] for row in rows):
        raise ValueError("item_id must be a non-empty string")
    if not all(sha or pdq for sha, pdq in zip(has_sha, has_pdq, strict=True)):
        raise ValueError("an entry needs a sha256 or a pdq")
    if _LOWER_HEX.fullmatch(sha_hex) is None or _ANY_HEX.fullmatch(pdq_hex) is None:
        raise ValueError("sha256 must be lowercase hex, pdq hex")
    if any(row[3] is not None and not is_quality(row[3]) for row in rows):
        raise ValueError("quality must be an int from 0 to 100")


def _check_entry(entry: Entry) -> None:
    if not isinstance(entry.item_id, str) or not entry.item_id:
        raise ValueError("item_id must be a non-empty string")
    if entry.sha256 is None and entry.pdq is None:
        raise ValueError("an entry needs a sha256 or a pdq")
    if entry.sha256 is not None and not is_sha256_hex(entry.sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    if entry.pdq is not None:
        _check_pdq_bytes(entry.pdq)
    if entry.quality is not None and not is_quality(entry.quality):
        raise ValueError("quality must be an int from 0 to 100")
