"""What a sync cycle is asked to do and what it reports: the contract between the entry
points (CLI, scheduler, admin HTTP, resync queue) and the cycle itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class CycleKind(StrEnum):
    INCREMENTAL = "incremental"
    FULL = "full"
    REFERENCE = "reference"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HELD = "held"  # the blast-radius guard stopped the plan before anything was sent
    DRY_RUN = "dry_run"
    SKIPPED = "skipped"  # another replica held the cycle lock


@dataclass(frozen=True)
class CycleRequest:
    kind: CycleKind = CycleKind.INCREMENTAL
    accounts: tuple[str, ...] = ()
    """Limit the cycle to these accounts (a targeted resync); empty = all."""
    since: datetime | None = None
    """Pull from this instant instead of the watermark (a backfill)."""
    dry_run: bool = False
    confirm: bool = False
    """Send a plan the guard would hold (an admin's explicit go-ahead)."""
    requested_by: str = "schedule"


@dataclass
class CycleResult:
    status: RunStatus
    run_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    """Human-readable notes: guard reasons, errors, what a dry run would do."""

    @property
    def ok(self) -> bool:
        return self.status in (
            RunStatus.SUCCEEDED,
            RunStatus.DRY_RUN,
            RunStatus.SKIPPED,
        )
