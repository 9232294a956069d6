"""Time as the emulator sees it: the system clock, or a manual one driven by tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


@runtime_checkable
class AdjustableClock(Clock, Protocol):
    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, when negative)."""
        ...


class SystemClock:
    """Wall-clock time, optionally shifted (the `/_emulator/clock` control route shifts it)."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)


class ManualClock:
    """A clock that only moves when told to: deterministic tests of expiry and day rollover."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def set(self, dt: datetime) -> None:
        with self._lock:
            self._now = _require_aware(dt)


def _require_aware(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("ManualClock needs a timezone-aware datetime")
    return dt.astimezone(UTC)
