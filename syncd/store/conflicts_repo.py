"""`syncd.conflicts`: fields a `manual` policy left for an admin, and their resolution.

An admin resolves an open conflict (`syncd conflicts resolve ID --use sor|livevox|value`);
the next cycle re-plans the contact, carries the resolution out and marks it `applied`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syncd.store.errors import StoreError
from syncd.store.sync_tables import conflicts

RESOLUTIONS = ("sor", "livevox", "value")


class ConflictNotFoundError(StoreError):
    """No conflict has this id."""


class ConflictNotOpenError(StoreError):
    """The conflict was already applied; it cannot be resolved again."""


@dataclass(frozen=True, slots=True)
class ConflictRow:
    id: int
    account: str
    field: str
    base_value: Any
    mirror_value: Any
    sor_value: Any
    status: str
    resolution: str | None
    resolved_value: Any
    resolved_by: str | None
    detected_at: datetime
    resolved_at: datetime | None
    run_id: int | None = None


def _row(record: Any) -> ConflictRow:
    return ConflictRow(**record._asdict())


def list_conflicts(
    conn: Connection,
    *,
    statuses: Sequence[str] = ("open", "resolved"),
    account: str | None = None,
    limit: int = 100,
) -> list[ConflictRow]:
    query = sa.select(conflicts).where(conflicts.c.status.in_(list(statuses)))
    if account is not None:
        query = query.where(conflicts.c.account == account)
    query = query.order_by(conflicts.c.id).limit(limit)
    return [_row(r) for r in conn.execute(query)]


def get_conflict(conn: Connection, conflict_id: int) -> ConflictRow:
    record = conn.execute(sa.select(conflicts).where(conflicts.c.id == conflict_id)).one_or_none()
    if record is None:
        raise ConflictNotFoundError(f"no conflict {conflict_id}", id=conflict_id)
    return _row(record)


def resolve_conflict(
    conn: Connection, conflict_id: int, *, use: str, value: Any = None, by: str
) -> ConflictRow:
    """Record an admin's resolution (the next cycle applies it). `value` is canonical and
    only used with `use="value"`; resolving a resolved conflict again replaces the choice."""
    if use not in RESOLUTIONS:
        raise ValueError(f"use must be one of {RESOLUTIONS}")
    current = get_conflict(conn, conflict_id)
    if current.status == "applied":
        raise ConflictNotOpenError(
            f"conflict {conflict_id} was already applied", id=conflict_id
        )
    record = conn.execute(
        sa.update(conflicts)
        .where(conflicts.c.id == conflict_id)
        .values(
            status="resolved",
            resolution=use,
            resolved_value=value if use == "value" else sa.null(),
            resolved_by=by,
            resolved_at=sa.func.now(),
        )
        .returning(*conflicts.c)
    ).one()
    return _row(record)
