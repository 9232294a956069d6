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

    def get(self, run_id: int) -> Run:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).one()
        return Run(**row._asdict())
