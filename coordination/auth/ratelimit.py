"""Token buckets, kept per process: requests per client on /v1, failed authentications per
client and per address at the token endpoint.

Each server process keeps its own buckets, so with W workers a client can reach W times the
configured rate at most; the limit is there to stop a runaway or hostile client, not to meter.
"""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

#: Buckets kept at most; the least recently used are forgotten first (a forgotten bucket is full).
MAX_KEYS = 50_000


class TokenBuckets:
    def __init__(
        self, rate_per_s: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate_per_s
        self.burst = float(burst)
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        """Spends one token. 0 when allowed, else the whole seconds to wait (for Retry-After)."""
        with self._lock:
            tokens, now = self._level(key)
            if tokens >= 1:
                self._store(key, tokens - 1, now)
                return 0
            self._store(key, tokens, now)
            return self._wait(tokens)

    def wait(self, key: str) -> int:
        """Like `take` without spending: 0 when a token is there, else the seconds to wait."""
        with self._lock:
            tokens, _ = self._level(key)
            return 0 if tokens >= 1 else self._wait(tokens)

    def spend(self, key: str) -> None:
        """Spends a token if one is left (a failed attempt always counts, never goes negative)."""
        with self._lock:
            tokens, now = self._level(key)
            self._store(key, max(tokens - 1, 0.0), now)

    def _level(self, key: str) -> tuple[float, float]:
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate), now

    def _store(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > MAX_KEYS:
            self._buckets.popitem(last=False)

    def _wait(self, tokens: float) -> int:
        return max(1, math.ceil((1 - tokens) / self.rate))
