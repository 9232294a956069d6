"""What the admin HTTP app asks of the daemon: a port (`AdminBackend`) and its database
implementation (`DatabaseAdminBackend`). The app is tested on a fake of the port; the
implementation on a real database.

Readiness (`/readyz`) is three checks: the database answers and is migrated to the head this
release ships; a LiveVox login works (asked at most once per `livevox_cache_seconds`, so a
probe every few seconds does not hammer LiveVox); and cycles have not been failing, without a
success in between, for longer than `max_failing_seconds`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from syncd.admin.metrics import SyncdMetrics
from syncd.store import resync_queue, status_queries
from syncd.store.migrate import current_revision, head_revision
from syncd.store.resync_queue import ResyncRequest
from syncd.store.schema import runs
from syncd.store.status_queries import ActivityPoint, StatusReport

_log = structlog.get_logger(__name__)

LiveVoxProbe = Callable[[], None]
"""Proves a LiveVox login works; raises when it does not."""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str = "ok"


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: list[Check]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
        }


@dataclass(frozen=True, slots=True)
class ResyncOrder:
    """A resync asked for over HTTP or the CLI."""

    full: bool = False
    accounts: tuple[str, ...] = ()
    since: datetime | None = None
    confirm: bool = False
    requested_by: str = "admin"


class AdminBackend(Protocol):
    metrics: SyncdMetrics

    def alive(self) -> bool: ...

    def readiness(self) -> Readiness: ...

    def status(self) -> StatusReport: ...

    def activity(self) -> Sequence[ActivityPoint]: ...

    def jobs(self) -> list[dict[str, Any]]: ...

    def enqueue_resync(self, order: ResyncOrder) -> int: ...

    def resync_request(self, request_id: int) -> ResyncRequest | None: ...


@dataclass
class _Cached:
    at: float
    check: Check


@dataclass
class DatabaseAdminBackend:
    """The daemon's implementation: queries on `engine`, liveness from the scheduler."""

    engine: Engine
    metrics: SyncdMetrics
    livevox_probe: LiveVoxProbe | None = None
    alive_check: Callable[[], bool] = lambda: True
    jobs_view: Callable[[], list[dict[str, Any]]] = lambda: []
    livevox_cache_seconds: float = 60.0
    max_failing_seconds: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _head: str | None = field(default=None, init=False)
    _livevox: _Cached | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def alive(self) -> bool:
        return self.alive_check()

    def jobs(self) -> list[dict[str, Any]]:
        return self.jobs_view()

    # --- readiness ----------------------------------------------------------------------

    def readiness(self) -> Readiness:
        database = self._database_check()
        checks = [database, self._livevox_check()]
        checks.append(self._cycles_check() if database.ok else Check("cycles", False, "unknown"))
        return Readiness(checks)

    def _database_check(self) -> Check:
        if self._head is None:
            self._head = head_revision()
        try:
            with self.engine.connect() as conn:
                revision = current_revision(conn)
        except sa.exc.SQLAlchemyError as exc:
            return Check("database", False, f"unreachable ({type(exc).__name__})")
        if revision != self._head:
            return Check(
                "database", False, f"at revision {revision or 'none'}, expected {self._head}"
            )
        return Check("database", True)

    def _livevox_check(self) -> Check:
        if self.livevox_probe is None:
            return Check("livevox", True, "not checked")
        with self._lock:
            now = self.clock()
            cached = self._livevox
            if cached is not None and now - cached.at < self.livevox_cache_seconds:
                return cached.check
            try:
                self.livevox_probe()
                check = Check("livevox", True)
            except Exception as exc:  # any failure to log in means not ready
                # The class only: a LiveVox message may echo request details.
                check = Check("livevox", False, f"login failed ({type(exc).__name__})")
                _log.warning("admin.livevox_not_ready", error=type(exc).__name__)
            self._livevox = _Cached(now, check)
            return check

    def _cycles_check(self) -> Check:
        last_good = (
            sa.select(sa.func.coalesce(sa.func.max(runs.c.id), 0))
            .where(runs.c.status.in_(("succeeded", "held", "dry_run")))
            .scalar_subquery()
        )
        query = sa.select(
            sa.func.extract("epoch", sa.func.now() - sa.func.min(runs.c.started_at))
        ).where(runs.c.status == "failed", runs.c.id > last_good)
        try:
            with self.engine.connect() as conn:
                failing_for = conn.execute(query).scalar_one_or_none()
        except sa.exc.SQLAlchemyError as exc:
            return Check("cycles", False, f"unknown ({type(exc).__name__})")
        if failing_for is not None and float(failing_for) > self.max_failing_seconds:
            return Check("cycles", False, f"failing for {float(failing_for):.0f} s")
        return Check("cycles", True)

    # --- status, activity, resync -------------------------------------------------------

    def status(self) -> StatusReport:
        snapshot = self.engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with snapshot as conn, conn.begin():
            return status_queries.read_status(conn)

    def activity(self) -> list[ActivityPoint]:
        with self.engine.connect() as conn:
            return status_queries.activity(conn)

    def enqueue_resync(self, order: ResyncOrder) -> int:
        return resync_queue.enqueue(
            self.engine,
            requested_by=order.requested_by,
            full=order.full,
            accounts=order.accounts,
            since=order.since,
            confirm=order.confirm,
        )

    def resync_request(self, request_id: int) -> ResyncRequest | None:
        return resync_queue.get_request(self.engine, request_id)
