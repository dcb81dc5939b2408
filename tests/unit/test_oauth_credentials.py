"""Client secrets: random, and kept only as a salted scrypt hash."""

from services.clients.credentials import hash_secret, new_secret, verify_secret


def test_secrets_are_random_and_long() -> None:
    secrets = {new_secret() for _ in range(20)}
    assert len(secrets) == 20
    assert all(len(s) >= 43 for s in secrets)


def test_hash_verifies_the_secret_and_nothing_else() -> None:
    stored = hash_secret("correct horse")
    assert verify_secret("correct horse", stored)
    assert not verify_secret("correct horsE", stored)
    assert not verify_secret("", stored)


def test_hash_never_contains_the_secret_and_is_salted() -> None:
    first, second = hash_secret("same secret"), hash_secret("same secret")
    assert first != second
    assert "same secret" not in first
    assert first.startswith("scrypt$16384$8$1$")


def test_corrupt_stored_hash_never_verifies() -> None:
    for stored in ("", "plain", "bcrypt$x$y$z$a$b", "scrypt$x$8$1$AAAA$BBBB"):
        assert not verify_secret("anything", stored)
