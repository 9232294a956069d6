"""Read-only queries behind `syncd status`, `GET /status`, the status page and the gauges.

Everything here reads the database, so every replica reports the same numbers. The queries
are small by construction (indexed lookups, counts over partial indexes, the last N runs);
the one that may scan the mirror (unmanaged contacts) runs under a statement timeout and
reports `None` rather than making `status` slow on a large book.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syncd.store.resync_queue import ResyncRequest, recent_requests
from syncd.store.schema import contacts, runs
from syncd.store.sync_tables import (
    OPEN_OUTBOX_STATES,
    OUTBOX_STATES,
    audit_log,
    base,
    conflicts,
    dead_letters,
    outbox,
)
from syncd.store.watermarks import CONTACTS_WATERMARK, read_watermark

PII_FIELDS: frozenset[str] = frozenset({"ssn", "dateOfBirth"})
"""Field keys whose values are masked whenever the audit log is shown."""
MASK = "***"

# Pull runs keep the loader's counts; `rows_seen` is what the export delivered.
_PULL_KINDS = ("pull_incremental", "pull_full")


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    requested_by: str | None
    counts: dict[str, Any]
    messages: list[str]
    error: str | None

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_seconds": self.duration_seconds,
            "requested_by": self.requested_by,
            "counts": self.counts,
            "messages": self.messages,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What `syncd status` shows, read in one repeatable-read snapshot."""

    at: datetime
    runs: list[RunRow]
    held_runs: list[RunRow]
    watermark: datetime | None
    outbox: dict[str, int]
    dead_letters: dict[str, int]
    """Open dead letters by kind (invalid, rejected, exhausted)."""
    conflicts: dict[str, int]
    """Conflicts not yet applied, by status (open, resolved)."""
    unmanaged_contacts: int | None
    """LiveVox contacts syncd has never agreed with the SoR; None when too slow to count."""
    resync_requests: list[ResyncRequest] = field(default_factory=list)

    @property
    def lag_seconds(self) -> float | None:
        if self.watermark is None:
            return None
        return max(0.0, (self.at - self.watermark).total_seconds())

    @property
    def open_outbox(self) -> int:
        return sum(self.outbox.get(state, 0) for state in OPEN_OUTBOX_STATES)

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "lag_seconds": self.lag_seconds,
            "outbox": self.outbox,
            "dead_letters": self.dead_letters,
            "conflicts": self.conflicts,
            "unmanaged_contacts": self.unmanaged_contacts,
            "runs": [run.as_json() for run in self.runs],
            "held_runs": [run.as_json() for run in self.held_runs],
            "resync_requests": [
                {
                    "id": r.id,
                    "status": r.status,
                    "requested_at": r.requested_at.isoformat(),
                    "requested_by": r.requested_by,
                    "full": r.full,
                    "accounts": len(r.accounts),
                    "since": r.since.isoformat() if r.since else None,
                    "run_id": r.run_id,
                    "error": r.error,
                }
                for r in self.resync_requests
            ],
        }


@dataclass(frozen=True, slots=True)
class Gauges:
    """The database-derived metrics (same on every replica)."""

    outbox_depth: dict[str, int]
    """Open outbox rows (NEW, SENT, FAILED) by state, zero included."""
    dead_letters: int
    lag_seconds: float | None


@dataclass(frozen=True, slots=True)
class ActivityPoint:
    """One run on the status page chart."""

    at: datetime
    kind: str
    status: str
    rows_pulled: int
    changes_pushed: int
    lag_seconds: float | None
    """For a pull: its finish time minus the watermark it left behind."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    run_id: int | None
    direction: str
    account: str
    operation: str
    field: str | None
    old_value: str | None
    new_value: str | None
    outcome: str
    http_status: int | None
    attempts: int | None
    error: str | None

    def as_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__slots__}
        data["at"] = self.at.isoformat()
        return data


def _now(conn: Connection) -> datetime:
    value = conn.execute(sa.select(sa.func.now())).scalar_one()
    return value if isinstance(value, datetime) else datetime.now(UTC)


def _run(row: sa.Row[tuple[object, ...]]) -> RunRow:
    return RunRow(
        id=int(row.id),
        kind=str(row.kind),
        status=str(row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        requested_by=row.requested_by,
        counts=dict(row.counts or {}),
        messages=list(row.messages or []),
        error=row.error,
    )


def recent_runs(conn: Connection, limit: int = 10) -> list[RunRow]:
    rows = conn.execute(sa.select(runs).order_by(runs.c.id.desc()).limit(limit)).all()
    return [_run(row) for row in rows]


def held_runs(conn: Connection, limit: int = 5) -> list[RunRow]:
    """Held runs newer than the last run that sent a plan (held plans nobody has released)."""
    last_ok = (
        sa.select(sa.func.coalesce(sa.func.max(runs.c.id), 0))
        .where(runs.c.status == "succeeded", runs.c.kind.not_in((*_PULL_KINDS, "pull_reference")))
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(runs)
        .where(runs.c.status == "held", runs.c.id > last_ok)
        .order_by(runs.c.id.desc())
        .limit(limit)
    ).all()
    return [_run(row) for row in rows]


def outbox_by_state(conn: Connection, states: Sequence[str] = OUTBOX_STATES) -> dict[str, int]:
    counts = dict.fromkeys(states, 0)
    rows = conn.execute(
        sa.select(outbox.c.state, sa.func.count())
        .where(outbox.c.state.in_(states))
        .group_by(outbox.c.state)
    ).all()
    counts.update({str(state): int(n) for state, n in rows})
    return counts


def open_dead_letters(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        sa.select(dead_letters.c.kind, sa.func.count())
        .where(dead_letters.c.status == "open")
        .group_by(dead_letters.c.kind)
    ).all()
    return {str(kind): int(n) for kind, n in rows}


def pending_conflicts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        sa.select(conflicts.c.status, sa.func.count())
        .where(conflicts.c.status != "applied")
        .group_by(conflicts.c.status)
    ).all()
    return {str(status): int(n) for status, n in rows}


def unmanaged_contacts(conn: Connection, timeout_ms: int = 2000) -> int | None:
    """Live mirror contacts without a `base` row; None when the count exceeds `timeout_ms`."""
    query = (
        sa.select(sa.func.count())
        .select_from(contacts)
        .where(
            contacts.c.deleted_at.is_(None),
            ~sa.exists().where(base.c.account == contacts.c.account),
        )
    )
    savepoint = conn.begin_nested()
    try:
        conn.execute(sa.text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
        value = int(conn.execute(query).scalar_one())
    except sa.exc.OperationalError:
        savepoint.rollback()  # query_canceled: a large book; the count is not worth the wait
        return None
    savepoint.commit()
    return value


def read_status(conn: Connection, *, run_limit: int = 10) -> StatusReport:
    """The whole report; call inside a transaction (REPEATABLE READ gives one snapshot)."""
    return StatusReport(
        at=_now(conn),
        runs=recent_runs(conn, run_limit),
        held_runs=held_runs(conn),
        watermark=read_watermark(conn, CONTACTS_WATERMARK),
        outbox=outbox_by_state(conn),
        dead_letters=open_dead_letters(conn),
        conflicts=pending_conflicts(conn),
        unmanaged_contacts=unmanaged_contacts(conn),
        resync_requests=recent_requests(conn, 5),
    )


def read_gauges(conn: Connection) -> Gauges:
    watermark = read_watermark(conn, CONTACTS_WATERMARK)
    lag = None if watermark is None else max(0.0, (_now(conn) - watermark).total_seconds())
    dead = conn.execute(
        sa.select(sa.func.count()).select_from(dead_letters).where(dead_letters.c.status == "open")
    ).scalar_one()
    return Gauges(
        outbox_depth=outbox_by_state(conn, OPEN_OUTBOX_STATES),
        dead_letters=int(dead),
        lag_seconds=lag,
    )


def changes_pushed_by_run(conn: Connection, run_id: int) -> dict[tuple[str, str], int]:
    """Changes a run attempted, by (operation, outcome): one per outbox row, not per field.

    Dry-run previews are not changes sent, so they are left out.
    """
    change = sa.func.coalesce(audit_log.c.outbox_id, -audit_log.c.id)
    rows = conn.execute(
        sa.select(audit_log.c.operation, audit_log.c.outcome, sa.func.count(sa.distinct(change)))
        .where(
            audit_log.c.run_id == run_id,
            audit_log.c.direction == "push",
            audit_log.c.outcome != "dry_run",
        )
        .group_by(audit_log.c.operation, audit_log.c.outcome)
    ).all()
    return {(str(op), str(outcome)): int(n) for op, outcome, n in rows}


def rows_pulled_since(conn: Connection, after_run_id: int) -> int:
    """Rows the exports of pull runs newer than `after_run_id` delivered."""
    value = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(runs.c.counts["rows_seen"].as_integer()), 0)).where(
            runs.c.id > after_run_id, runs.c.kind.in_(_PULL_KINDS)
        )
    ).scalar_one()
    return int(value)


def last_run_id(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(runs.c.id), 0))).scalar_one())


def activity(conn: Connection, *, limit: int = 200) -> list[ActivityPoint]:
    """The last `limit` finished runs, oldest first, for the status page chart.

    Lag per pull: the run's finish time minus the watermark after it, reconstructed as the
    running maximum of the pulls' `max_modify_date` (the watermark only moves forward).
    """
    recent = (
        sa.select(runs)
        .where(runs.c.finished_at.is_not(None), runs.c.status != "skipped")
        .order_by(runs.c.id.desc())
        .limit(limit)
        .subquery()
    )
    pushed = (
        sa.select(
            audit_log.c.run_id,
            sa.func.count(
                sa.distinct(sa.func.coalesce(audit_log.c.outbox_id, -audit_log.c.id))
            ).label("pushed"),
        )
        .where(
            audit_log.c.run_id.in_(sa.select(recent.c.id)),
            audit_log.c.direction == "push",
            audit_log.c.outcome != "dry_run",
        )
        .group_by(audit_log.c.run_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(
            recent.c.id,
            recent.c.kind,
            recent.c.status,
            recent.c.finished_at,
            recent.c.counts,
            sa.func.coalesce(pushed.c.pushed, 0).label("pushed"),
        )
        .select_from(recent.outerjoin(pushed, pushed.c.run_id == recent.c.id))
        .order_by(recent.c.id)
    ).all()
    points: list[ActivityPoint] = []
    watermark: datetime | None = None
    for row in rows:
        counts = row.counts or {}
        lag = None
        if row.kind in _PULL_KINDS and row.status == "succeeded":
            seen = _parse_time(counts.get("max_modify_date"))
            if seen is not None and (watermark is None or seen > watermark):
                watermark = seen
            if watermark is not None:
                lag = max(0.0, (row.finished_at - watermark).total_seconds())
        points.append(
            ActivityPoint(
                at=row.finished_at,
                kind=str(row.kind),
                status=str(row.status),
                rows_pulled=int(counts.get("rows_seen", 0) or 0) if row.kind in _PULL_KINDS else 0,
                changes_pushed=int(row.pushed),
                lag_seconds=lag,
            )
        )
    return points


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_audit(
    conn: Connection,
    *,
    account: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Audit rows, newest first, with SSN and date-of-birth values masked."""
    query = sa.select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
    if account is not None:
        query = query.where(audit_log.c.account == account)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    entries: list[AuditEntry] = []
    for row in conn.execute(query.limit(limit)).all():
        data = row._asdict()
        data.pop("outbox_id", None)
        data.pop("request_id", None)
        if data["field"] in PII_FIELDS:
            data["old_value"] = None if data["old_value"] is None else MASK
            data["new_value"] = None if data["new_value"] is None else MASK
        entries.append(AuditEntry(**data))
    return entries
