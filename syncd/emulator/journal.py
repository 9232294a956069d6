"""The mutation journal: every change the contact store applied, one entry per field.

A sync client may send the same write twice (a retry after a lost reply, a resend after a
crash). Request counters cannot tell whether that did harm; the journal can, because it lists
only what *changed* state: a write that changes nothing (a replay of an idempotent update, a
create refused as "already exists") leaves no entry. Reliability tests read it through
`GET /_emulator/journal` to count duplicate side effects.

Entries: `create` (one per created contact), `update` (one per changed field, with old and new
value; modifyDate/modifyUser bookkeeping is left out), `delete` (one per deleted contact).
Each carries the time, the user the change is stamped with (`agent` for agent edits, `SYSTEM`
for the daily DND rollover), the request that made it (`METHOD path`, None for in-process
calls) and that request's `X-Request-Id`. `JournalMiddleware` makes the request known to the
store through a context variable, so the store needs no request plumbing.

The journal is bounded (`max_entries`, oldest first out; `dropped` counts them), so a
long-running emulator does not grow without limit.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["Journal", "JournalMiddleware", "Mutation"]

DEFAULT_MAX_ENTRIES: Final = 100_000
"""About 25 MB of entries at most: enough for any test, bounded for a long-running emulator."""
# Stamped on every change: journaling them would double every entry without telling anything.
_BOOKKEEPING: Final = frozenset({"modifyDate", "modifyUser"})

_request: contextvars.ContextVar[tuple[str, str | None] | None] = contextvars.ContextVar(
    "emulator_journal_request", default=None
)


@dataclass(frozen=True, slots=True)
class Mutation:
    """One applied change."""

    seq: int
    """Position in the journal (1, 2, ...), never reused, also across `clear`."""
    at: datetime
    op: str
    """`create`, `update` or `delete`."""
    account: str
    field: str | None
    """The changed field key (`update`); None for `create` and `delete`."""
    old: Any
    new: Any
    user: str | None
    route: str | None
    """`METHOD path` of the API request that made the change; None when made in-process."""
    request_id: str | None
    """The request's `X-Request-Id` header, when it had one."""

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "op": self.op,
            "account": self.account,
            "field": self.field,
            "old": _jsonable(self.old),
            "new": _jsonable(self.new),
            "user": self.user,
            "route": self.route,
            "request_id": self.request_id,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class Journal:
    """Thread-safe, bounded list of `Mutation`s."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._entries: deque[Mutation] = deque(maxlen=max_entries)
        self._seq = 0
        self._dropped = 0

    def record_put(
        self, at: datetime, before: Mapping[str, Any] | None, after: Mapping[str, Any]
    ) -> None:
        """Journal a stored record: a `create` when there was none before, else its changes."""
        account = str(after["account"])
        user = after.get("modifyUser")
        if before is None:
            self._append(at, [("create", account, None, None, None)], user)
            return
        changed = [
            ("update", account, key, before.get(key), value)
            for key, value in after.items()
            if key not in _BOOKKEEPING and before.get(key) != value
        ]
        self._append(at, changed, user)

    def record_delete(self, at: datetime, account: str) -> None:
        self._append(at, [("delete", account, None, None, None)], None)

    def _append(
        self,
        at: datetime,
        changes: Iterable[tuple[str, str, str | None, Any, Any]],
        user: str | None,
    ) -> None:
        route, request_id = _request.get() or (None, None)
        with self._lock:
            for op, account, key, old, new in changes:
                if len(self._entries) == self._entries.maxlen:
                    self._dropped += 1
                self._seq += 1
                self._entries.append(
                    Mutation(self._seq, at, op, account, key, old, new, user, route, request_id)
                )

    def entries(self, after: int = 0) -> list[Mutation]:
        """Entries with `seq` greater than `after`, oldest first."""
        with self._lock:
            return [m for m in self._entries if m.seq > after]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    @property
    def dropped(self) -> int:
        """Entries pushed out by the bound since the emulator started (or the last clear)."""
        with self._lock:
            return self._dropped

    def clear(self) -> None:
        """Forget every entry (sequence numbers go on from where they were)."""
        with self._lock:
            self._entries.clear()
            self._dropped = 0


class JournalMiddleware:
    """Pure ASGI middleware: names the request (`METHOD path`, `X-Request-Id`) for the
    journal while it runs. Installed innermost, so it sees unversioned paths and still runs
    when the fault middleware drops the connection after the route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope.get("headers", ()):
            if name.lower() == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        token = _request.set((f"{scope['method']} {scope['path']}", request_id))
        try:
            await self.app(scope, receive, send)
        finally:
            _request.reset(token)
