"""Group commit: many threads' access records written by one thread, in one transaction per batch.

Every `/v1` request writes an access record; alone, each would be its own transaction and its
own commit (a disk flush on PostgreSQL), as costly as the request's real work. Here a request
hands its record to the process's writer and waits: the writer takes every record pending at
that moment, writes them in one transaction, and then releases each waiting request. So a
request is still answered only after its record is committed (a crash loses nothing that was
answered), while N concurrent requests share one commit.

A batch that fails is written again one record at a time, so one bad record cannot take its
neighbours down with it; each record that still fails raises in the thread that handed it in.
"""

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

#: The most records in one transaction (a burst larger than this takes several commits).
MAX_BATCH = 500
#: How long a request waits for its record before giving up on it (the writer is stuck).
WAIT_TIMEOUT_S = 30.0
#: The thread ends after this long without work (the next write starts another), so an app
#: that is dropped (e.g. in tests) leaves no thread behind for long.
IDLE_EXIT_S = 60.0


@dataclass
class _Pending(Generic[T]):
    item: T
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupCommitWriter(Generic[T]):
    """`write(item)` blocks until `write_batch([..., item, ...])` has committed it.

    WRITE_BATCH writes its items in one transaction, all or none. The thread starts on the
    first write, and again after it ended idle or in a forked child (which does not inherit it).
    """

    def __init__(
        self,
        write_batch: Callable[[Sequence[T]], None],
        *,
        max_batch: int = MAX_BATCH,
        wait_timeout_s: float = WAIT_TIMEOUT_S,
        idle_exit_s: float = IDLE_EXIT_S,
        name: str = "group-commit",
    ) -> None:
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._wait_timeout_s = wait_timeout_s
        self._idle_exit_s = idle_exit_s
        self._name = name
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: list[_Pending[T]] = []
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.batches = 0  # transactions committed (for tests and curiosity)

    def write(self, item: T) -> None:
        """Return once ITEM is committed; raise what writing it raised (or TimeoutError)."""
        pending = _Pending(item)
        with self._lock:
            self._ensure_thread()
            self._pending.append(pending)
            self._wake.notify()
        if not pending.done.wait(self._wait_timeout_s):
            raise TimeoutError(f"not written within {self._wait_timeout_s:g} s")
        if pending.error is not None:
            raise pending.error

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._wake.wait(self._idle_exit_s)
                if not self._pending:
                    self._thread = None  # under the lock: the next write starts a new one
                    return
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
            self._commit(batch)

    def _commit(self, batch: list[_Pending[T]]) -> None:
        try:
            self._write_batch([p.item for p in batch])
            self.batches += 1
        except Exception as exc:  # handed to the waiting threads, which log it
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for pending in batch:  # alone, so only the records that fail are lost
                    self._commit([pending])
                return
        for pending in batch:
            pending.done.set()
