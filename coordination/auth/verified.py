"""Remembers, per process and for a few minutes, that a client secret matched its stored hash.

Checking a secret against its scrypt hash costs tens of milliseconds and 16 MiB on purpose (a
stolen table must be slow to attack), which would bound the token endpoint to a few dozen
tokens per second per core. A client that asks again with the same secret skips the hash:
what is kept is an HMAC, under a random key of this process, of (client id, stored hash,
secret). Nothing of it is stored anywhere, it dies with the process, and it stops matching the
moment the secret is rotated (the stored hash changes). Only successes are remembered, so a
guess is always checked the slow way.
"""

import hashlib
import hmac
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

TTL_S = 300.0
MAX_ENTRIES = 10_000


class VerifiedSecrets:
    def __init__(
        self, *, ttl_s: float = TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._key = os.urandom(32)
        self._ttl_s = ttl_s
        self._clock = clock
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def check(
        self, client_id: str, stored: str, secret: str, verify: Callable[[str, str], bool]
    ) -> bool:
        mark = hmac.new(
            self._key, b"\0".join(v.encode() for v in (client_id, stored, secret)), hashlib.sha256
        ).digest()
        now = self._clock()
        with self._lock:
            expires = self._seen.get(mark)
            if expires is not None and expires > now:
                return True
        if not verify(secret, stored):
            return False
        with self._lock:
            self._seen[mark] = now + self._ttl_s
            self._seen.move_to_end(mark)
            while len(self._seen) > MAX_ENTRIES:
                self._seen.popitem(last=False)
        return True
