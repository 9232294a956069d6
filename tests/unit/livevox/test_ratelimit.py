"""Token bucket: burst, steady rate, refill, arrival order across threads."""

from __future__ import annotations

import threading

import pytest

from syncd.livevox._ratelimit import TokenBucket
from tests.unit.livevox.conftest import FakeClock


def test_burst_then_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 3, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == [0.0, 0.0, 0.0, pytest.approx(0.1), pytest.approx(0.1)]


def test_idle_time_refills_up_to_burst_only() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1, 2, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    bucket.acquire()
    clock.now += 100  # long idle: still only 2 tokens
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_waiters_reserve_successive_slots() -> None:
    clock = FakeClock()
    sleeps: list[float] = []
    bucket = TokenBucket(4, 1, clock=clock, sleep=sleeps.append)  # time never advances
    threads = [threading.Thread(target=bucket.acquire) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(sleeps) == pytest.approx([0.25, 0.5, 0.75, 1.0])


def test_invalid_parameters() -> None:
    clock = FakeClock()
    with pytest.raises(ValueError):
        TokenBucket(0, 1, clock=clock, sleep=clock.sleep)
    with pytest.raises(ValueError):
        TokenBucket(1, 0, clock=clock, sleep=clock.sleep)
