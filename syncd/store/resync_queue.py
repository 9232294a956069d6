"""The resync queue (`syncd.resync_requests`): admins enqueue, a daemon claims and finishes.

States: `pending → running → done | failed`; a claimed request goes back to `pending` when
its cycle is skipped (another replica held the cycle lock) or its daemon stops first.

Who is running a request is proved by a session-level advisory lock on the claiming
connection, `(RESYNC_LOCK_CLASS, id)`, taken in the same transaction that marks the row
`running`: a `running` row whose lock anyone else can take belongs to a daemon that died
(kill -9, lost connection) and is put back to `pending` by `requeue_orphans`. No heartbeat
column and no timeout guess are needed, and replicas never steal live work.

A trigger NOTIFYs `RESYNC_CHANNEL` on every insert (migration 0003); `finish` NOTIFYs
`RESYNC_DONE_CHANNEL` with the request id so `syncd resync --wait` needs no polling loop
(it still polls slowly, in case a notification is lost with a connection).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from syncd.store.sync_tables import RESYNC_CHANNEL, resync_requests

RESYNC_DONE_CHANNEL = "syncd_resync_done"
"""NOTIFY channel: payload = id of a request that reached `done` or `failed`."""
RESYNC_LOCK_CLASS = 0x5253  # "RS": first key of the two-int advisory lock per request
_INT4_MAX = 2**31 - 1

ResyncStatus = Literal["pending", "running", "done", "failed"]
FINISHED: tuple[ResyncStatus, ...] = ("done", "failed")

__all__ = [
    "FINISHED",
    "RESYNC_CHANNEL",
    "RESYNC_DONE_CHANNEL",
    "ClaimedResync",
    "ResyncRequest",
    "claim_next",
    "enqueue",
    "get_request",
    "recent_requests",
    "requeue_orphans",
    "wait_finished",
]


@dataclass(frozen=True, slots=True)
class ResyncRequest:
    id: int
    requested_at: datetime
    requested_by: str
    full: bool
    accounts: tuple[str, ...]
    since: datetime | None
    confirm: bool
    status: ResyncStatus
    picked_at: datetime | None
    finished_at: datetime | None
    run_id: int | None
    error: str | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def _request(row: sa.Row[tuple[object, ...]]) -> ResyncRequest:
    data = row._asdict()
    data["accounts"] = tuple(data["accounts"] or ())
    return ResyncRequest(**data)


def _lock_id(request_id: int) -> int:
    # The two-int advisory lock form takes int4 keys; ids stay far below that in practice.
    return request_id % _INT4_MAX


def enqueue(
    engine: Engine,
    *,
    requested_by: str,
    full: bool = False,
    accounts: Sequence[str] = (),
    since: datetime | None = None,
    confirm: bool = False,
) -> int:
    """Queue a request (the trigger announces it to every daemon) and return its id."""
    with engine.begin() as conn:
        request_id = conn.execute(
            sa.insert(resync_requests)
            .values(
                requested_by=requested_by,
                full=full,
                accounts=list(accounts) or None,
                since=since,
                confirm=confirm,
            )
            .returning(resync_requests.c.id)
        ).scalar_one()
    return int(request_id)


def get_request(engine: Engine | Connection, request_id: int) -> ResyncRequest | None:
    query = sa.select(resync_requests).where(resync_requests.c.id == request_id)
    if isinstance(engine, Connection):
        row = engine.execute(query).one_or_none()
    else:
        with engine.connect() as conn:
            row = conn.execute(query).one_or_none()
    return None if row is None else _request(row)


def recent_requests(conn: Connection, limit: int = 10) -> list[ResyncRequest]:
    rows = conn.execute(
        sa.select(resync_requests).order_by(resync_requests.c.id.desc()).limit(limit)
    ).all()
    return [_request(row) for row in rows]


class ClaimedResync:
    """A request this process is running; holds the connection whose lock proves it."""

    def __init__(self, conn: Connection, request: ResyncRequest) -> None:
        self._conn = conn
        self.request = request
        self._open = True

    def _mine(self) -> sa.ColumnElement[bool]:
        # Only while still ours: after a lost connection the request may have been
        # re-queued and claimed by another daemon, which this must not overwrite.
        return sa.and_(
            resync_requests.c.id == self.request.id,
            resync_requests.c.status == "running",
            resync_requests.c.picked_at == self.request.picked_at,
        )

    def finish(
        self, status: Literal["done", "failed"], *, run_id: int | None, error: str | None
    ) -> bool:
        """Record the outcome and announce it on `RESYNC_DONE_CHANNEL` (one transaction);
        False when the request was no longer this claim's."""
        with self._conn.begin():
            updated = self._conn.execute(
                sa.update(resync_requests)
                .where(self._mine())
                .values(
                    status=status,
                    finished_at=sa.func.clock_timestamp(),
                    run_id=run_id,
                    error=None if error is None else error[:2000],
                )
            ).rowcount
            if updated:
                self._conn.execute(
                    sa.select(sa.func.pg_notify(RESYNC_DONE_CHANNEL, str(self.request.id)))
                )
        self._open = False
        return bool(updated)

    def release(self, reason: str) -> bool:
        """Put the request back to `pending` (its cycle did not run here)."""
        with self._conn.begin():
            updated = self._conn.execute(
                sa.update(resync_requests)
                .where(self._mine())
                .values(status="pending", picked_at=None, error=reason[:2000])
            ).rowcount
        self._open = False
        return bool(updated)

    @property
    def open(self) -> bool:
        return self._open


@contextmanager
def claim_next(engine: Engine) -> Iterator[ClaimedResync | None]:
    """Claim the oldest pending request for the duration of the block (None: queue empty).

    Leaving the block with the request neither finished nor released (an exception) puts it
    back to `pending`; closing the connection releases the advisory lock either way.
    """
    with engine.connect() as conn:
        with conn.begin():
            pending = (
                sa.select(resync_requests.c.id)
                .where(resync_requests.c.status == "pending")
                .order_by(resync_requests.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            row = conn.execute(
                sa.update(resync_requests)
                .where(resync_requests.c.id == pending)
                .values(status="running", picked_at=sa.func.clock_timestamp(), error=None)
                .returning(*resync_requests.c)
            ).one_or_none()
            if row is not None:
                # Session-level, taken before the commit makes the row visible as running.
                conn.execute(
                    sa.text("SELECT pg_advisory_lock(:cls, :id)"),
                    {"cls": RESYNC_LOCK_CLASS, "id": _lock_id(int(row.id))},
                )
        if row is None:
            yield None
            return
        claimed = ClaimedResync(conn, _request(row))
        try:
            yield claimed
        finally:
            try:
                if claimed.open:
                    claimed.release("released: the daemon stopped before running it")
                conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:cls, :id)"),
                    {"cls": RESYNC_LOCK_CLASS, "id": _lock_id(claimed.request.id)},
                )
                conn.commit()
            except sa.exc.DBAPIError:
                pass  # the session is gone, and its lock with it


def requeue_orphans(engine: Engine) -> list[int]:
    """Put `running` requests whose claimer is gone back to `pending`; return their ids."""
    requeued: list[int] = []
    with engine.begin() as conn:
        running = conn.execute(
            sa.select(resync_requests.c.id)
            .where(resync_requests.c.status == "running")
            .with_for_update(skip_locked=True)
        ).scalars()
        for request_id in list(running):
            free = conn.execute(
                sa.text("SELECT pg_try_advisory_xact_lock(:cls, :id)"),
                {"cls": RESYNC_LOCK_CLASS, "id": _lock_id(int(request_id))},
            ).scalar_one()
            if free:
                conn.execute(
                    sa.update(resync_requests)
                    .where(resync_requests.c.id == request_id)
                    .values(
                        status="pending",
                        picked_at=None,
                        error="requeued: the daemon running it stopped",
                    )
                )
                requeued.append(int(request_id))
    return requeued


def wait_finished(
    engine: Engine,
    request_id: int,
    *,
    timeout: float,
    poll_seconds: float = 5.0,
    on_tick: Callable[[ResyncRequest | None, float], None] | None = None,
) -> ResyncRequest | None:
    """Wait until the request is `done` or `failed` (or `timeout` passes); return its state.

    LISTENs on `RESYNC_DONE_CHANNEL` before the first look, so a finish between the look
    and the wait is not missed; polls every `poll_seconds` in case a notification is lost.
    """
    import psycopg

    from syncd.store.engine import libpq_conninfo

    started = time.monotonic()
    conninfo = libpq_conninfo(engine.url.render_as_string(hide_password=False))
    with psycopg.connect(conninfo, autocommit=True) as listener:
        listener.execute(f"LISTEN {RESYNC_DONE_CHANNEL}")
        while True:
            request = get_request(engine, request_id)
            waited = time.monotonic() - started
            if on_tick is not None:
                on_tick(request, waited)
            if request is None or request.finished or waited >= timeout:
                return request
            wait = min(poll_seconds, max(0.0, timeout - waited))
            for notice in listener.notifies(timeout=wait):
                if notice.payload == str(request_id):
                    break
