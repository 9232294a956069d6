"""Retry policy: which failures are retried for which endpoint, how long to wait, when to stop.

Built on tenacity with an injectable clock and sleep so the policy is tested without real
waiting. A call is retried while (a) its failure is retryable for the endpoint's safety class
(``_endpoints.Safety``), (b) attempts remain, and (c) the next wait still ends before the
call's deadline (``retry_deadline`` after it started). Waits are full-jitter exponential
backoff (``random(0, min(max, base * 2**n))``, spreading parallel pusher threads apart),
except after a 429 with ``Retry-After``: then exactly the server's wait, which is honoured
even above ``backoff_max``; if it would overrun the deadline the call stops at once and the
``RateLimitedError`` (carrying ``retry_after``) goes to the caller to requeue.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tenacity import RetryCallState

from syncd.livevox._config import ClientConfig
from syncd.livevox._endpoints import Safety
from syncd.livevox._errors import (
    BadGatewayError,
    ConnectFailedError,
    GatewayTimeoutError,
    InternalServerError,
    OutcomeUnknownError,
    RateLimitedError,
    ServiceUnavailableError,
)

_GATEWAY = BadGatewayError | ServiceUnavailableError | GatewayTimeoutError


def is_retryable(error: BaseException, safety: Safety) -> bool:
    """Whether ``error`` on an endpoint of this safety class may be retried by the client."""
    if isinstance(error, RateLimitedError | ConnectFailedError):
        return True  # LiveVox did not process the request
    if safety is Safety.UNSAFE:
        return False
    if isinstance(error, OutcomeUnknownError | _GATEWAY):
        return True
    return isinstance(error, InternalServerError) and safety is Safety.READ


def may_have_applied(error: BaseException) -> bool:
    """Whether the failed attempt may have reached LiveVox's application and changed state."""
    return isinstance(error, OutcomeUnknownError | InternalServerError | _GATEWAY)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent/bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if seconds == seconds else None  # NaN guard


class RetryPolicy:
    """Tenacity ``wait`` and ``stop`` for one call, bound to the config and a deadline."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        clock: Callable[[], float],
        deadline: float,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self.deadline = deadline
        self._rng = rng or random.Random()

    def wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return error.retry_after
        ceiling = min(
            self._config.backoff_max,
            self._config.backoff_base * 2 ** (state.attempt_number - 1),
        )
        return self._rng.uniform(0, ceiling)

    def stop(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self._config.max_attempts:
            return True
        return self._clock() + (state.upcoming_sleep or 0.0) > self.deadline
