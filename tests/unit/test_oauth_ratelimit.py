"""The token buckets behind the per-client request limit and the failed-authentication limits."""

import pytest

from coordination.auth.ratelimit import TokenBuckets


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_with_the_seconds_to_wait() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(0.5, 2, clock=clock)
    assert buckets.take("a") == 0
    assert buckets.take("a") == 0
    assert buckets.take("a") == 2  # one token comes back every 2 s


def test_tokens_come_back_over_time_up_to_the_burst() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(1.0, 2, clock=clock)
    buckets.take("a")
    buckets.take("a")
    clock.now += 1.0
    assert buckets.take("a") == 0
    assert buckets.take("a") == 1
    clock.now += 100.0
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 1]  # never more than the burst


def test_keys_are_independent() -> None:
    buckets = TokenBuckets(1.0, 1, clock=FakeClock())
    assert buckets.take("a") == 0
    assert buckets.take("a") == 1
    assert buckets.take("b") == 0


def test_wait_does_not_spend_and_spend_never_goes_negative() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(1.0, 1, clock=clock)
    assert buckets.wait("a") == 0
    assert buckets.wait("a") == 0
    for _ in range(5):
        buckets.spend("a")
    assert buckets.wait("a") == 1
    clock.now += 1.0
    assert buckets.wait("a") == 0  # five failures cost no more than emptying the bucket


def test_forgotten_buckets_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import coordination.auth.ratelimit as module

    monkeypatch.setattr(module, "MAX_KEYS", 3)
    buckets = TokenBuckets(1.0, 1, clock=FakeClock())
    for key in "abcde":
        buckets.take(key)
    assert len(buckets._buckets) == 3


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBuckets(rate, burst)
