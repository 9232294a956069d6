"""Request ids: the `X-Request-Id` each logical call sends (its retries reuse it).

By default every call gets a random one. A caller that keeps its own id for a piece of work
(the pusher's outbox batch, which the audit log records) names it with `request_ids(base)`:
calls made inside, in the same thread or task, send `base`, then `base.2`, `base.3`, ... (a
batch can take several calls: bisection, a re-login). LiveVox-side logs and the audit log then
tell the same story. A context variable carries it, so concurrent pusher threads sharing one
client each keep their own.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["new_request_id", "request_ids"]

MAX_LENGTH = 200
"""Longest base accepted: an HTTP header value, with room for the call suffix."""


@dataclass
class _Named:
    base: str
    calls: int = 0

    def next(self) -> str:
        self.calls += 1
        return self.base if self.calls == 1 else f"{self.base}.{self.calls}"


_current: contextvars.ContextVar[_Named | None] = contextvars.ContextVar(
    "syncd_livevox_request_ids", default=None
)


@contextmanager
def request_ids(base: str) -> Iterator[None]:
    """Calls inside send `base`, `base.2`, ... as their `X-Request-Id`."""
    if not base or len(base) > MAX_LENGTH or not (base.isascii() and base.isprintable()):
        raise ValueError(f"a request id is 1 to {MAX_LENGTH} printable ASCII characters")
    token = _current.set(_Named(base))
    try:
        yield
    finally:
        _current.reset(token)


def new_request_id() -> str:
    """The next call's request id: the caller's, when one is named, else a random one."""
    named = _current.get()
    return named.next() if named is not None else uuid.uuid4().hex
