"""The group-commit writer of access records: every item written exactly once, concurrent
writes sharing transactions, a failing item refused alone, an idle thread ending."""

import threading
import time
from collections import Counter
from collections.abc import Sequence

import pytest

from services.access_records.writer import GroupCommitWriter


class Store:
    """A stand-in transaction: all of a batch or none of it, with a little commit latency."""

    def __init__(self, poison: frozenset[int] = frozenset(), delay_s: float = 0.002) -> None:
        self.written: list[int] = []
        self.batches: list[int] = []
        self.poison = poison
        self.delay_s = delay_s
        self._lock = threading.Lock()

    def write_batch(self, items: Sequence[int]) -> None:
        time.sleep(self.delay_s)
        if self.poison.intersection(items):
            raise RuntimeError("constraint violated")
        with self._lock:
            self.written.extend(items)
            self.batches.append(len(items))


def hammer(writer: GroupCommitWriter[int], threads: int, per_thread: int) -> dict[int, str]:
    """THREADS threads each write PER_THREAD items; returns the items whose write raised."""
    failed: dict[int, str] = {}
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            item = n * per_thread + i
            try:
                writer.write(item)
            except RuntimeError as exc:
                failed[item] = str(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return failed


def test_many_threads_every_item_written_once_in_shared_transactions() -> None:
    store = Store()
    writer = GroupCommitWriter(store.write_batch)
    assert hammer(writer, threads=32, per_thread=25) == {}
    assert sorted(store.written) == list(range(800))
    assert max(Counter(store.written).values()) == 1
    # Concurrent requests share commits: far fewer transactions than records.
    assert len(store.batches) < 400
    assert max(store.batches) > 1


def test_write_returns_only_after_its_batch_committed() -> None:
    store = Store(delay_s=0.05)
    writer = GroupCommitWriter(store.write_batch)
    writer.write(7)
    assert store.written == [7]


def test_a_failing_item_fails_alone_and_raises_in_its_own_thread() -> None:
    store = Store(poison=frozenset({13, 400}))
    writer = GroupCommitWriter(store.write_batch)
    failed = hammer(writer, threads=16, per_thread=50)
    assert failed == {13: "constraint violated", 400: "constraint violated"}
    assert sorted(store.written) == [i for i in range(800) if i not in (13, 400)]
    assert max(Counter(store.written).values()) == 1


def test_a_batch_never_exceeds_the_limit() -> None:
    store = Store(delay_s=0.01)
    writer = GroupCommitWriter(store.write_batch, max_batch=5)
    assert hammer(writer, threads=20, per_thread=5) == {}
    assert sorted(store.written) == list(range(100))
    assert max(store.batches) <= 5


def test_a_stuck_writer_times_out_the_waiting_request() -> None:
    release = threading.Event()
    writer = GroupCommitWriter(lambda items: release.wait(), wait_timeout_s=0.05)
    with pytest.raises(TimeoutError):
        writer.write(1)
    release.set()


def test_the_idle_thread_ends_and_the_next_write_starts_another() -> None:
    store = Store(delay_s=0)
    writer = GroupCommitWriter(store.write_batch, idle_exit_s=0.05, name="idle-test")
    writer.write(1)
    deadline = time.monotonic() + 5
    while any(t.name == "idle-test" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the idle writer thread did not end"
        time.sleep(0.01)
    writer.write(2)
    assert store.written == [1, 2]
