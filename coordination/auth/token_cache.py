"""Remembers, per process, the access tokens already verified, so that an agency system calling
again with the same token skips the parsing and the ES256 signature check (PyJWT's pure-Python
base64 checks and the signature were most of the cost of an authenticated request).

Only the exact token string is remembered: anything else (one byte changed, padding added) is
verified in full by `verify_access_token`, and only tokens that passed it are remembered. A
remembered token still meets the clock on every use (exp, nbf and iat, with the same leeway as
the full check), and its signing key must still be one this service accepts, so a key taken out
of the key file stops its tokens here too. Bounded: the least recently used go first. Whether
the token was revoked is not remembered here: the guard asks `RefusalCheck` on every request.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from coordination.auth.keys import LEEWAY_S, KeyStore
from coordination.auth.tokens import InvalidToken, unverified_header, verify_access_token
from coordination.config import Settings

#: A few thousand live tokens, about 2 KB each: far more than the agency systems hold at once.
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class _Verified:
    claims: Mapping[str, Any]
    kid: str
    expires: int  # exp
    valid_from: int  # the later of iat and nbf


class VerifiedTokens:
    def __init__(
        self,
        keys: KeyStore,
        settings: Settings,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._settings = settings
        self._max_entries = max_entries
        self._clock = clock
        self._seen: OrderedDict[str, _Verified] = OrderedDict()
        self._lock = threading.Lock()

    def claims(self, token: str) -> Mapping[str, Any]:
        """The claims of a valid access token (read-only: shared by every request that presents
        the same token), or InvalidToken."""
        with self._lock:
            seen = self._seen.get(token)
            if seen is not None:
                self._seen.move_to_end(token)
        if seen is None or self._keys.find(seen.kid) is None:
            return self._verify(token)
        now = self._clock()
        if seen.expires <= now - LEEWAY_S:
            with self._lock:
                self._seen.pop(token, None)
            raise InvalidToken("the token has expired")
        if seen.valid_from > now + LEEWAY_S:
            raise InvalidToken("the token is not valid yet")
        return seen.claims

    def _verify(self, token: str) -> Mapping[str, Any]:
        claims = verify_access_token(self._keys, self._settings, token)
        seen = _Verified(
            claims=claims,
            kid=unverified_header(token)["kid"],
            expires=int(claims["exp"]),
            valid_from=max(int(claims["iat"]), int(claims.get("nbf", claims["iat"]))),
        )
        with self._lock:
            self._seen[token] = seen
            self._seen.move_to_end(token)
            while len(self._seen) > self._max_entries:
                self._seen.popitem(last=False)
        return claims
