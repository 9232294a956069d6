"""Which outbox drains are alive: one session-level advisory lock per drain.

A drain picks a random token and holds `pg_advisory_lock(OWNER_LOCK_CLASS, token)` on a
dedicated connection for its whole life; the request ids it marks rows SENT with carry the
token (`push-<token hex>-<n>`). Recovery treats a SENT row as a crash leftover only when no
live session holds its token's lock: the drain died (crash, kill -9, lost connection: Postgres
drops the lock with the session), so nobody will finish that row. A SENT row of a live drain
is in flight and is left alone, so concurrent drains never resend each other's rows.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

OWNER_LOCK_CLASS = 0x50555348  # "PUSH"; the two-key lock space never meets the cycle lock's
_REQUEST_ID = re.compile(r"^push-([0-9a-f]{8})-")


class DrainOwner:
    """A live drain: its token and a source of request ids that name it."""

    def __init__(self, token: int) -> None:
        self.token = token
        self._next = 0
        self._lock = threading.Lock()

    def request_id(self) -> str:
        with self._lock:
            self._next += 1
            number = self._next
        return f"push-{self.token:08x}-{number:06d}"


def owner_token(request_id: str | None) -> int | None:
    """The drain token inside a request id (None: not a pusher request id)."""
    match = _REQUEST_ID.match(request_id or "")
    return int(match.group(1), 16) if match else None


@contextmanager
def drain_owner(engine: Engine) -> Iterator[DrainOwner]:
    """Hold a fresh owner lock for the duration of a drain."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        token = _acquire(conn)
        try:
            yield DrainOwner(token)
        finally:
            if not conn.closed and not conn.invalidated:
                with contextlib.suppress(sa.exc.DBAPIError):  # a dead session holds nothing
                    conn.execute(
                        sa.text("SELECT pg_advisory_unlock(:cls, :token)"),
                        {"cls": OWNER_LOCK_CLASS, "token": token},
                    )


def _acquire(conn: Connection) -> int:
    while True:  # a token already held by a live drain is simply drawn again
        token = secrets.randbelow(0x7FFFFFFF) + 1
        got = conn.execute(
            sa.text("SELECT pg_try_advisory_lock(:cls, :token)"),
            {"cls": OWNER_LOCK_CLASS, "token": token},
        ).scalar_one()
        if got:
            return token


def live_tokens(conn: Connection) -> set[int]:
    """Tokens of the drains alive right now, in this database."""
    rows = conn.execute(
        sa.text(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objsubid = 2 AND classid::bigint = :cls "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"cls": OWNER_LOCK_CLASS},
    )
    return {int(r[0]) for r in rows}
