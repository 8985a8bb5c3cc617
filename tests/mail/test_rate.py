"""The token bucket, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import pytest

from scheduler.mail.rate import TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_steady_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(10.0, capacity=3, time_source=time)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)


def test_tokens_refill_up_to_capacity() -> None:
    time = FakeTime()
    bucket = TokenBucket(2.0, capacity=2, time_source=time)
    bucket.reserve()
    bucket.reserve()
    time.now += 60
    assert [bucket.reserve() for _ in range(2)] == [0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.5)


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)
