"""Cluster-wide mutual exclusion with Postgres advisory locks.

One sync cycle at a time across every replica: the cycle holds a session-level advisory lock
on a dedicated connection. If that connection dies (network, `pg_terminate_backend`), Postgres
releases the lock and another replica may start, so a holder must call `ensure_held()` before
each irreversible step (a push batch) and stop when it raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from syncd.errors import SyncdError

CYCLE_LOCK_KEY = 0x53594E43  # "SYNC"


class LockLostError(SyncdError):
    """The connection holding the cycle lock is gone; another replica may run now."""


class CycleLock:
    """A held advisory lock; `ensure_held()` proves it still is."""

    def __init__(self, connection: sa.Connection, key: int) -> None:
        self._connection = connection
        self.key = key

    def ensure_held(self) -> None:
        try:
            held = self._connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND objid = :key AND granted"
                ),
                {"key": self.key},
            ).scalar_one()
        except sa.exc.DBAPIError as exc:
            raise LockLostError("lost the database connection holding the cycle lock") from exc
        if not held:
            raise LockLostError("the cycle lock is no longer held", key=self.key)


@contextmanager
def cycle_lock(engine: sa.Engine, *, wait_seconds: float = 0.0) -> Iterator[CycleLock | None]:
    """Yield the held lock, or None when another holder kept it for `wait_seconds`."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if wait_seconds > 0:
            conn.execute(sa.text(f"SET lock_timeout = '{int(wait_seconds * 1000)}ms'"))
            try:
                conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": CYCLE_LOCK_KEY})
                got = True
            except sa.exc.OperationalError:
                got = False  # lock_timeout expired: someone else is running a cycle
        else:
            got = conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": CYCLE_LOCK_KEY}
            ).scalar_one()
        if not got:
            yield None
            return
        try:
            yield CycleLock(conn, CYCLE_LOCK_KEY)
        finally:
            if not conn.closed and not conn.invalidated:
                # A failure means the session is gone, and the lock with it.
                with contextlib.suppress(sa.exc.DBAPIError):
                    conn.execute(
                        sa.text("SELECT pg_advisory_unlock(:key)"), {"key": CYCLE_LOCK_KEY}
                    )
