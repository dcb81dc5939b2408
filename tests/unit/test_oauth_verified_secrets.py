"""The per-process memory of secrets that matched: never a shortcut for a wrong secret."""

from coordination.auth.verified import VerifiedSecrets


class Counting:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self, secret: str, stored: str) -> bool:
        self.calls += 1
        return self.answer and secret == "right"


class FakeClock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_matching_secret_is_hashed_once_within_the_ttl() -> None:
    verify = Counting(True)
    memory = VerifiedSecrets()
    assert memory.check("c", "hash1", "right", verify)
    assert memory.check("c", "hash1", "right", verify)
    assert verify.calls == 1


def test_a_wrong_secret_is_always_checked_the_slow_way() -> None:
    verify = Counting(True)
    memory = VerifiedSecrets()
    assert memory.check("c", "hash1", "right", verify)
    for _ in range(3):
        assert not memory.check("c", "hash1", "wrong", verify)
    assert verify.calls == 4


def test_a_rotated_secret_is_checked_again() -> None:
    """Rotation changes the stored hash: the old secret's success no longer counts."""
    memory = VerifiedSecrets()
    assert memory.check("c", "hash1", "right", Counting(True))
    refusing = Counting(False)
    assert not memory.check("c", "hash2", "right", refusing)
    assert refusing.calls == 1


def test_another_client_with_the_same_secret_is_checked() -> None:
    memory = VerifiedSecrets()
    assert memory.check("a", "h", "right", Counting(True))
    refusing = Counting(False)
    assert not memory.check("b", "h", "right", refusing)


def test_memory_expires() -> None:
    clock = FakeClock()
    verify = Counting(True)
    memory = VerifiedSecrets(ttl_s=10, clock=clock)
    memory.check("c", "h", "right", verify)
    clock.now = 11
    memory.check("c", "h", "right", verify)
    assert verify.calls == 2


def test_memory_holds_no_secret() -> None:
    memory = VerifiedSecrets()
    memory.check("client", "stored-hash", "right", Counting(True))
    for mark in memory._seen:
        assert b"right" not in mark
        assert b"client" not in mark
