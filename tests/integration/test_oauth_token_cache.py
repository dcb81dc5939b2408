"""The per-process memory of verified access tokens (coordination/auth/token_cache.py): what it
skips, and everything it must still refuse."""

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from coordination.auth import token_cache
from coordination.auth.keys import LEEWAY_S, KeyStore
from coordination.auth.token_cache import VerifiedTokens
from coordination.auth.tokens import InvalidToken, issue_access_token
from coordination.config import Settings
from tests.support.agencies import Agencies

PROBE = "/v1/oauth-token-cache-probe"  # routed nowhere: 404 with a good token, 401 without


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "signing.json", 600)
    store.ensure()
    return store


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens verified in full, in order."""
    calls: list[str] = []
    real = token_cache.verify_access_token

    def counting(keys: KeyStore, settings: Settings, token: str) -> dict[str, Any]:
        calls.append(token)
        return real(keys, settings, token)

    monkeypatch.setattr(token_cache, "verify_access_token", counting)
    return calls


def issue(keys: KeyStore, settings: Settings) -> tuple[str, dict[str, Any]]:
    return issue_access_token(
        keys, settings, client_id="client-1", org="org-1", org_kind="police", scope="cases.read"
    )


def altered(token: str, segment: int) -> str:
    """The token with one character of one segment changed (never a padding-only bit)."""
    parts = token.split(".")
    chars = list(parts[segment])
    chars[10] = "A" if chars[10] != "A" else "B"
    parts[segment] = "".join(chars)
    return ".".join(parts)


def refused(call: Callable[[], Any], message: str | None = None) -> None:
    with pytest.raises(InvalidToken, match=message):
        call()


def test_a_token_is_verified_in_full_once_then_remembered(
    keys: KeyStore, settings: Settings, verified: list[str]
) -> None:
    tokens = VerifiedTokens(keys, settings)
    token, claims = issue(keys, settings)
    assert tokens.claims(token)["jti"] == claims["jti"]
    assert tokens.claims(token)["jti"] == claims["jti"]
    assert verified == [token]


def test_a_remembered_token_meets_the_clock_on_every_use(
    keys: KeyStore, settings: Settings, verified: list[str]
) -> None:
    clock = Clock()
    tokens = VerifiedTokens(keys, settings, clock=clock)
    token, claims = issue(keys, settings)
    tokens.claims(token)

    clock.now = claims["exp"] + LEEWAY_S - 1  # within the leeway, as the full check
    assert tokens.claims(token)["jti"] == claims["jti"]
    clock.now = claims["exp"] + LEEWAY_S
    refused(lambda: tokens.claims(token), "expired")
    assert len(verified) == 1  # refused from memory, and forgotten:
    clock.now = time.time()
    tokens.claims(token)
    assert len(verified) == 2

    clock.now = claims["nbf"] - LEEWAY_S - 1
    refused(lambda: tokens.claims(token), "not valid yet")


def test_a_token_not_byte_identical_to_a_remembered_one_is_verified_in_full(
    keys: KeyStore, settings: Settings, verified: list[str]
) -> None:
    tokens = VerifiedTokens(keys, settings)
    token, _ = issue(keys, settings)
    tokens.claims(token)
    others = [altered(token, 2), altered(token, 1), altered(token, 0), token + "."]
    for other in others:
        refused(lambda: tokens.claims(other))  # noqa: B023 (called at once)
        assert tokens.claims(token)  # the genuine one is still good, from memory
    assert verified == [token, *others]


def test_a_key_taken_out_of_the_key_file_stops_its_remembered_tokens(
    keys: KeyStore, settings: Settings
) -> None:
    tokens = VerifiedTokens(keys, settings)
    token, _ = issue(keys, settings)
    tokens.claims(token)
    keys.path.unlink()
    keys.ensure()  # a new key file, without the key that signed the token
    refused(lambda: tokens.claims(token), "not signed by a key of this service")


def test_the_memory_is_bounded_least_recently_used_first(
    keys: KeyStore, settings: Settings, verified: list[str]
) -> None:
    tokens = VerifiedTokens(keys, settings, max_entries=2)
    first, second, third = (issue(keys, settings)[0] for _ in range(3))
    tokens.claims(first)
    tokens.claims(second)
    tokens.claims(first)  # used again: the second is now the oldest
    tokens.claims(third)
    assert verified == [first, second, third]
    tokens.claims(first)
    tokens.claims(third)
    assert len(verified) == 3
    tokens.claims(second)
    assert verified[-1] == second


def test_threads_sharing_the_memory_each_get_their_own_tokens_claims(
    keys: KeyStore, settings: Settings
) -> None:
    tokens = VerifiedTokens(keys, settings, max_entries=3)  # evictions all the time
    issued = [issue(keys, settings) for _ in range(6)]
    failures: list[str] = []

    def work() -> None:
        for i in range(300):
            token, claims = issued[i % len(issued)]
            if tokens.claims(token)["jti"] != claims["jti"]:
                failures.append(claims["jti"])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_the_guard_refuses_a_tampered_copy_of_a_remembered_token(
    client: FlaskClient, agencies: Agencies
) -> None:
    police = agencies.new("police")
    assert police.get(PROBE).status_code == 404
    assert police.get(PROBE).status_code == 404  # now remembered
    for segment in (2, 1):
        forged = {"Authorization": f"Bearer {altered(police.token, segment)}"}
        assert client.get(PROBE, headers=forged).status_code == 401
    assert police.get(PROBE).status_code == 404
