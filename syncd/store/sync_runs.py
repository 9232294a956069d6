"""Sync-cycle runs in `syncd.runs`: the plan counts of recent cycles (for the guard's spike
check) and the kind names cycles record."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syncd.domain.guard import PlanCounts

PLAN_COUNT_KEYS = ("creates", "updates", "deactivations", "deletes", "dnd_changes")
"""Keys of `runs.counts` that hold a cycle's plan size by operation."""

SYNC_KINDS = ("sync_incremental", "sync_full")
"""Run kinds of cycles that plan contacts (a reference-only cycle plans nothing)."""


def recent_plan_counts(
    conn: Connection, limit: int = 10, kinds: Sequence[str] = SYNC_KINDS
) -> list[PlanCounts]:
    """Plan sizes of the last succeeded cycles, newest first."""
    rows = conn.execute(
        sa.text(
            "SELECT counts FROM syncd.runs WHERE kind = ANY(:kinds) AND status = 'succeeded' "
            "AND counts IS NOT NULL AND counts ? 'creates' ORDER BY id DESC LIMIT :limit"
        ),
        {"kinds": list(kinds), "limit": limit},
    ).scalars()
    return [PlanCounts(**{k: int(counts.get(k) or 0) for k in PLAN_COUNT_KEYS}) for counts in rows]
