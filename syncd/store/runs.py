"""`syncd.runs`: one row per pull (or other job), written outside the job's own transaction.

A run is started and committed before the job's transaction begins, so a job that rolls back
still leaves its run behind, marked `failed` with the error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from syncd.store.schema import runs

RunStatus = Literal["running", "succeeded", "failed", "held", "dry_run", "skipped"]


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    kind: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any] | None
    error: str | None
    requested_by: str | None = None
    messages: list[str] | None = None


class RunRepository:
    """Start and finish runs, each in its own short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, kind: str, *, requested_by: str | None = None) -> int:
        with self.engine.begin() as conn:
            run_id = conn.execute(
                sa.insert(runs)
                .values(kind=kind, status="running", requested_by=requested_by)
                .returning(runs.c.id)
            ).scalar_one()
        return int(run_id)

    def finish(
        self,
        run_id: int,
        status: RunStatus,
        *,
        counts: Mapping[str, Any] | None = None,
        error: str | None = None,
        messages: list[str] | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Mark a run finished; with `conn`, inside that (the job's) transaction."""
        statement = (
            sa.update(runs)
            .where(runs.c.id == run_id)
            .values(
                status=status,
                finished_at=sa.func.clock_timestamp(),
                counts=dict(counts) if counts is not None else None,
                error=error,
                messages=messages,
            )
        )
        if conn is not None:
            conn.execute(statement)
            return
        with self.engine.begin() as own:
            own.execute(statement)

    def abandon_running(self, kind_pattern: str, *, except_id: int, note: str) -> list[int]:
        """Mark `running` runs whose kind matches (SQL LIKE) failed with `note`; their ids.

        Only for a caller that knows no such run can still be alive — a cycle holding the
        cycle lock, for the cycles: a run left `running` then belongs to a process that was
        killed, or whose last write to its run row failed.
        """
        with self.engine.begin() as conn:
            ids = conn.execute(
                sa.update(runs)
                .where(
                    runs.c.status == "running",
                    runs.c.kind.like(kind_pattern),
                    runs.c.id != except_id,
                )
                .values(status="failed", finished_at=sa.func.clock_timestamp(), error=note)
                .returning(runs.c.id)
            ).scalars()
            return sorted(int(i) for i in ids)

    def get(self, run_id: int) -> Run:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).one()
        return Run(**row._asdict())
