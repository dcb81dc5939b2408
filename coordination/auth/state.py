"""What the auth module keeps per app: the signing keys, the Authlib server, the limiters and
what it remembers of tokens and secrets."""

from dataclasses import dataclass, field
from typing import Any, cast

from flask import Flask, current_app

from coordination.auth.keys import KeyStore
from coordination.auth.ratelimit import TokenBuckets
from coordination.auth.refusals import RefusalCheck
from coordination.auth.token_cache import VerifiedTokens
from coordination.auth.verified import VerifiedSecrets

EXTENSION = "coordination.auth"

#: Failed client authentications allowed: a burst of this many, then one more every few seconds.
#: An address gets more than a client: several agency systems may share one NAT address.
CLIENT_FAILURE_BURST = 10
CLIENT_FAILURE_REFILL_S = 6.0
ADDRESS_FAILURE_BURST = 30
ADDRESS_FAILURE_REFILL_S = 2.0


@dataclass
class AuthState:
    keys: KeyStore
    server: Any  # authlib's AuthorizationServer (untyped)
    requests: TokenBuckets  # per client, on /v1
    client_failures: TokenBuckets  # per claimed client id, at the OAuth endpoints
    address_failures: TokenBuckets  # per remote address, at the OAuth endpoints
    refusal: RefusalCheck  # revoked token or disabled client, once per request
    tokens: VerifiedTokens  # access tokens already verified, by their exact string
    verified_secrets: VerifiedSecrets = field(default_factory=VerifiedSecrets)

    @classmethod
    def build(
        cls,
        keys: KeyStore,
        server: Any,
        refusal: RefusalCheck,
        tokens: VerifiedTokens,
        rate_per_s: float,
        burst: int,
    ) -> "AuthState":
        return cls(
            keys=keys,
            server=server,
            refusal=refusal,
            tokens=tokens,
            requests=TokenBuckets(rate_per_s, burst),
            client_failures=TokenBuckets(1 / CLIENT_FAILURE_REFILL_S, CLIENT_FAILURE_BURST),
            address_failures=TokenBuckets(1 / ADDRESS_FAILURE_REFILL_S, ADDRESS_FAILURE_BURST),
        )


def auth_state(app: Flask | None = None) -> AuthState:
    return cast(AuthState, (app or current_app).extensions[EXTENSION])
