"""At most one cycle at a time in this process, and a clean way to stop starting new ones.

The cluster-wide guarantee is the cycle's advisory lock; this gate is the in-process one, so
two jobs of one daemon (an incremental tick and a resync, say) never even contend for that
lock. Closing the gate (shutdown) refuses every later entry and lets the caller wait for the
cycle in flight, with a bound and an early exit (a second signal).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CycleGate:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._give_up = False

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._busy

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def enter(self, *, wait: bool) -> bool:
        """Take the gate; with `wait`, until it is free (False once it is closed)."""
        with self._cond:
            if wait:
                self._cond.wait_for(lambda: not self._busy or self._closed)
            if self._busy or self._closed:
                return False
            self._busy = True
            return True

    def leave(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    @contextmanager
    def hold(self, *, wait: bool) -> Iterator[bool]:
        """`with gate.hold(wait=...) as entered:`; leaves on exit when it entered."""
        entered = self.enter(wait=wait)
        try:
            yield entered
        finally:
            if entered:
                self.leave()

    def close_and_drain(self, timeout: float | None) -> bool:
        """Refuse new entries; wait for the holder to leave. True when nothing is running."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._busy or self._give_up, timeout)
            return not self._busy

    def wait_idle(self, timeout: float | None) -> bool:
        """Wait until no cycle runs (without closing); True when idle."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy, timeout)

    def give_up(self) -> None:
        """Stop `close_and_drain` waiting (an impatient second signal)."""
        with self._cond:
            self._give_up = True
            self._cond.notify_all()
