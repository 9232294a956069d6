"""`syncd.dead_letters`: changes that could not be made (invalid, rejected, exhausted), and
the admin's retry: the letter is closed as `retried` and its contact's SoR hash forgotten, so
the next cycle compares the contact again and plans whatever is still needed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syncd.store.base_repo import invalidate
from syncd.store.sync_tables import dead_letters


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    id: int
    run_id: int | None
    outbox_id: int | None
    account: str | None
    operation: str
    payload: Any
    kind: str
    reason: str
    http_status: int | None
    status: str
    created_at: datetime
    closed_at: datetime | None


def list_dead_letters(
    conn: Connection,
    *,
    statuses: Sequence[str] = ("open",),
    kind: str | None = None,
    account: str | None = None,
    limit: int = 100,
) -> list[DeadLetterRow]:
    query = sa.select(dead_letters).where(dead_letters.c.status.in_(list(statuses)))
    if kind is not None:
        query = query.where(dead_letters.c.kind == kind)
    if account is not None:
        query = query.where(dead_letters.c.account == account)
    query = query.order_by(dead_letters.c.id).limit(limit)
    return [DeadLetterRow(**r._asdict()) for r in conn.execute(query)]


def retry_dead_letters(conn: Connection, ids: Sequence[int] | None = None) -> list[DeadLetterRow]:
    """Close open letters (these ids, or all open ones) as `retried` and mark their contacts
    for a field-by-field comparison in the next cycle. Returns the letters retried."""
    statement = (
        sa.update(dead_letters)
        .where(dead_letters.c.status == "open")
        .values(status="retried", closed_at=sa.func.now())
        .returning(*dead_letters.c)
    )
    if ids is not None:
        statement = statement.where(dead_letters.c.id.in_(list(ids)))
    retried = [DeadLetterRow(**r._asdict()) for r in conn.execute(statement)]
    invalidate(conn, sorted({r.account for r in retried if r.account is not None}))
    return retried
