"""Retention of bookkeeping rows that only grow: finished outbox rows, finished resyncs.

Deletes run in bounded batches, each its own short transaction, so housekeeping never holds
long locks next to a running cycle. Open outbox rows (NEW, SENT, FAILED) and DEAD rows
(their dead letters point at them) are never touched; the audit log is append-only and is
not pruned here or anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.store.sync_tables import outbox, resync_requests

PRUNABLE_OUTBOX_STATES = ("DONE", "SUPERSEDED")


@dataclass(frozen=True, slots=True)
class PruneResult:
    outbox_rows: int
    resync_requests: int


def _delete_in_batches(
    engine: Engine, table: sa.Table, where: sa.ColumnElement[bool], batch: int
) -> int:
    total = 0
    while True:
        ids = sa.select(table.c.id).where(where).limit(batch).scalar_subquery()
        with engine.begin() as conn:
            deleted = conn.execute(sa.delete(table).where(table.c.id.in_(ids))).rowcount
        total += deleted
        if deleted < batch:
            return total


def prune(engine: Engine, *, retention: timedelta, batch: int = 10_000) -> PruneResult:
    """Delete DONE/SUPERSEDED outbox rows and finished resync requests older than `retention`."""
    cutoff = sa.func.now() - retention
    outbox_rows = _delete_in_batches(
        engine,
        outbox,
        sa.and_(outbox.c.state.in_(PRUNABLE_OUTBOX_STATES), outbox.c.updated_at < cutoff),
        batch,
    )
    requests = _delete_in_batches(
        engine,
        resync_requests,
        sa.and_(
            resync_requests.c.status.in_(("done", "failed")),
            resync_requests.c.finished_at < cutoff,
        ),
        batch,
    )
    return PruneResult(outbox_rows=outbox_rows, resync_requests=requests)
