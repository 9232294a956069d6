"""Client-side token bucket shared by every thread using one client.

The bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; each HTTP
attempt takes one. A caller that finds the bucket empty reserves the next token (the level
goes negative) and sleeps outside the lock for exactly the time that token needs to
accrue, so waiting threads are served in arrival order without busy-waiting and without
holding the lock while asleep.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class TokenBucket:
    """``acquire()`` blocks until a request may go out under ``rate``/s with ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._stamp = clock()

    def acquire(self) -> float:
        """Take one token, sleeping if needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait
