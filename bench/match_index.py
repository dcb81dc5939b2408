"""Re-upload matching latency and memory of HashIndex at 100k and 1M known hashes.

Standalone: no database or service. Prints a JSON list to stdout, progress to stderr. The
figures move a lot with the machine's load: run it on a quiet machine, several seeds, and
report the medians.
    .venv/bin/python bench/match_index.py [--queries 200] [--seed 1]
"""

import argparse
import gc
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from services.content.matching import Entry, HashIndex

SCENARIOS = (("match_index_100k", 100_000), ("match_index_1m", 1_000_000))
BATCH = 50_000


def rss_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def random_entries(rng: np.random.Generator, start: int, count: int) -> Iterator[Entry]:
    """Items like production ones: UUID ids, a SHA-256 each, a PDQ with quality 0-100."""
    pdqs = rng.integers(0, 256, size=(count, 32), dtype=np.uint8)
    shas = rng.integers(0, 256, size=(count, 32), dtype=np.uint8)
    qualities = rng.integers(0, 101, size=count).tolist()
    for n in range(count):
        item_id = str(uuid.UUID(int=start + n, version=4))
        yield Entry(item_id, shas[n].tobytes().hex(), pdqs[n].tobytes(), qualities[n])


def build(rng: np.random.Generator, size: int) -> HashIndex:
    index = HashIndex()
    for start in range(0, size, BATCH):
        index.add_many(random_entries(rng, start, min(BATCH, size - start)))
    return index


def near_copy(pdq: bytes, rng: np.random.Generator, bits: int) -> bytes:
    unpacked = np.unpackbits(np.frombuffer(pdq, dtype=np.uint8))
    unpacked[rng.choice(256, size=bits, replace=False)] ^= 1
    return np.packbits(unpacked).tobytes()


def queries(rng: np.random.Generator, count: int, planted: bytes) -> list[tuple[str, bytes]]:
    """Half near-copies (10 bits off) of a planted hash, half random misses."""
    result = []
    for n in range(count):
        pdq = near_copy(planted, rng, 10) if n % 2 else rng.bytes(32)
        result.append((rng.bytes(32).hex(), pdq))
    return result


def time_queries(index: HashIndex, batch: list[tuple[str, bytes]]) -> tuple[list[float], int]:
    """Milliseconds per query, and how many queries found something."""
    timings, hits = [], 0
    for sha256, pdq in batch:
        started = time.perf_counter()
        found = index.match(sha256=sha256, pdq=pdq, quality=90)
        timings.append((time.perf_counter() - started) * 1000)
        hits += bool(found)
    return timings, hits


def run(name: str, size: int, query_count: int, seed: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    gc.collect()
    rss_before = rss_bytes()
    started = time.perf_counter()
    index = build(rng, size)
    gc.collect()
    rss_delta = rss_bytes() - rss_before
    build_seconds = time.perf_counter() - started
    planted = rng.bytes(32)
    index.add("planted", pdq=planted, quality=90)
    batch = queries(rng, query_count, planted)
    time_queries(index, batch[:10])  # warm caches and page in the arrays
    timings, hits = time_queries(index, batch)
    # Half the queries must really hit, or the figures would time a path nobody takes.
    assert hits == query_count // 2, hits
    print(f"{name}: built {size} entries in {build_seconds:.1f}s", file=sys.stderr)
    return {
        "scenario": name,
        "p50_ms": round(float(np.percentile(timings, 50)), 3),
        "p99_ms": round(float(np.percentile(timings, 99)), 3),
        "build_s": round(build_seconds, 2),
        "index_bytes": index.nbytes,
        "rss_delta_bytes": rss_delta,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results = [run(name, size, args.queries, args.seed) for name, size in SCENARIOS]
    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
