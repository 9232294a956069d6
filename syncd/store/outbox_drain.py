"""Outbox queries of the pusher: claim due rows and move them through their states.

A claim is `SELECT ... FOR UPDATE SKIP LOCKED`: several workers (threads or replicas) drain
at once without waiting on, or taking, each other's rows. The claiming transaction also marks
the rows SENT (with the batch's request id) and commits *before* anything goes over the wire,
so once it commits no other claim can match them (their state is no longer NEW or FAILED)
and a crash leaves evidence of what may have been sent.

Every transition out of SENT names the request id the row was sent under; a worker whose row
was meanwhile taken over by a recovery changes nothing (the update matches no row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syncd.store.sync_tables import outbox

DUE_STATES = ("NEW", "FAILED")
FINAL_STATES = ("DONE", "DEAD", "SUPERSEDED")


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One planned change as the pusher reads it."""

    id: int
    run_id: int
    account: str
    operation: str
    payload: dict[str, Any]
    expected: dict[str, Any] | None
    state: str
    attempts: int
    request_id: str | None


_COLUMNS = (
    outbox.c.id,
    outbox.c.run_id,
    outbox.c.account,
    outbox.c.operation,
    outbox.c.payload,
    outbox.c.expected,
    outbox.c.state,
    outbox.c.attempts,
    outbox.c.request_id,
)


def _row(record: Any) -> OutboxRow:
    return OutboxRow(
        id=int(record.id),
        run_id=int(record.run_id),
        account=record.account,
        operation=record.operation,
        payload=dict(record.payload or {}),
        expected=None if record.expected is None else dict(record.expected),
        state=record.state,
        attempts=int(record.attempts),
        request_id=record.request_id,
    )


def claim_due(
    conn: Connection, operation: str, limit: int, now: datetime
) -> list[OutboxRow]:
    """Lock up to `limit` due rows of one operation (oldest due first), skipping locked ones.

    The caller must mark them SENT or close them in the same transaction.
    """
    stmt = (
        sa.select(*_COLUMNS)
        .where(
            outbox.c.state.in_(DUE_STATES),
            outbox.c.operation == operation,
            outbox.c.next_attempt_at <= now,
        )
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_row(r) for r in conn.execute(stmt)]


def claim_sent(conn: Connection) -> list[OutboxRow]:
    """Lock every SENT row no other transaction holds (recovery looks at these)."""
    stmt = (
        sa.select(*_COLUMNS)
        .where(outbox.c.state == "SENT")
        .order_by(outbox.c.id)
        .with_for_update(skip_locked=True)
    )
    return [_row(r) for r in conn.execute(stmt)]


def mark_sent(conn: Connection, ids: Sequence[int], request_id: str) -> None:
    """Claimed rows go out under `request_id`; each attempt counts."""
    if not ids:
        return
    conn.execute(
        sa.update(outbox)
        .where(outbox.c.id.in_(list(ids)))
        .values(
            state="SENT",
            attempts=outbox.c.attempts + 1,
            request_id=request_id,
            updated_at=sa.func.now(),
        )
    )


def close_unsent(conn: Connection, row_id: int, state: str, error: str | None) -> None:
    """A claimed row that is not sent: SUPERSEDED (stale plan), DEAD (invalid) or DONE
    (LiveVox already shows it)."""
    if state not in FINAL_STATES:
        raise ValueError(f"an unsent row cannot become {state}")
    conn.execute(
        sa.update(outbox)
        .where(outbox.c.id == row_id)
        .values(state=state, last_error=error, updated_at=sa.func.now())
    )


def finish_sent(
    conn: Connection,
    row_id: int,
    request_id: str,
    state: str,
    *,
    http_status: int | None = None,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
    attempt_counts: bool = True,
) -> bool:
    """Move a SENT row sent under `request_id` to DONE, FAILED or DEAD; False if it was not
    (`finish_done` does DONE for many rows at once).

    FAILED needs `next_attempt_at` (the backoff); the others ignore it. `attempt_counts`
    False gives back the attempt `mark_sent` counted (a rate-limited send).
    """
    if state not in ("DONE", "FAILED", "DEAD"):
        raise ValueError(f"a sent row cannot become {state}")
    values: dict[str, Any] = {
        "state": state,
        "http_status": http_status,
        "last_error": error,
        "updated_at": sa.func.now(),
    }
    if state == "FAILED":
        if next_attempt_at is None:
            raise ValueError("FAILED needs next_attempt_at")
        values["next_attempt_at"] = next_attempt_at
    if not attempt_counts:
        values["attempts"] = outbox.c.attempts - 1
    result = conn.execute(
        sa.update(outbox)
        .where(
            outbox.c.id == row_id,
            outbox.c.state == "SENT",
            outbox.c.request_id == request_id,
        )
        .values(**values)
    )
    return result.rowcount == 1


def finish_done(
    conn: Connection, ids: Sequence[int], request_id: str, http_status: int | None = None
) -> set[int]:
    """Mark SENT rows sent under `request_id` DONE; returns the ids that were."""
    if not ids:
        return set()
    result = conn.execute(
        sa.update(outbox)
        .where(
            outbox.c.id.in_(list(ids)),
            outbox.c.state == "SENT",
            outbox.c.request_id == request_id,
        )
        .values(state="DONE", http_status=http_status, last_error=None, updated_at=sa.func.now())
        .returning(outbox.c.id)
    )
    return {int(i) for i in result.scalars()}


def requeue_sent(conn: Connection, row_id: int, error: str) -> None:
    """A SENT leftover whose outcome is unknown goes back to NEW, due at once.

    Its `next_attempt_at` stays: it was due when it was claimed, so it is due now — also for
    a drain that only claims rows due when it started — and it keeps its place in the queue.
    """
    conn.execute(
        sa.update(outbox)
        .where(outbox.c.id == row_id, outbox.c.state == "SENT")
        .values(state="NEW", last_error=error, updated_at=sa.func.now())
    )


def finish_leftover_done(conn: Connection, row_id: int) -> None:
    """A SENT leftover the mirror already shows as applied."""
    conn.execute(
        sa.update(outbox)
        .where(outbox.c.id == row_id, outbox.c.state == "SENT")
        .values(state="DONE", last_error=None, updated_at=sa.func.now())
    )
