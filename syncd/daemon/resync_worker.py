"""The daemon's resync worker: LISTEN for new requests, claim them, run their cycles.

One thread holds a dedicated autocommit psycopg connection that LISTENs on the queue's
channel (a trigger NOTIFYs every insert) and on a private wake-up channel used at shutdown.
It drains the queue on every notification and, as a fallback for lost notifications and
for requests re-queued by another replica, every `poll_seconds`. A lost connection is
re-opened after one poll interval; the queue in the database is the truth, so nothing is
lost meanwhile.

The in-process gate is taken *before* a request is claimed, so a request only shows
`running` while its cycle really runs. A cycle skipped because another replica held the
cluster lock, or cut short by shutdown, puts the request back to `pending`; it is retried on
the next poll (here or on another replica).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import psycopg
import structlog
from sqlalchemy.engine import Engine

from syncd.daemon.gate import CycleGate
from syncd.service.requests import CycleKind, CycleRequest, CycleResult, RunStatus
from syncd.store import resync_queue
from syncd.store.engine import libpq_conninfo
from syncd.store.resync_queue import ResyncRequest

_log = structlog.get_logger(__name__)

RunLocked = Callable[[CycleRequest], CycleResult]
"""Run one cycle; the caller already holds the gate."""

_DONE = (RunStatus.SUCCEEDED, RunStatus.DRY_RUN)


def cycle_request_for(request: ResyncRequest) -> CycleRequest:
    return CycleRequest(
        kind=CycleKind.FULL if request.full else CycleKind.INCREMENTAL,
        accounts=request.accounts,
        since=request.since,
        confirm=request.confirm,
        requested_by=f"resync {request.id} by {request.requested_by}",
    )


def outcome_error(result: CycleResult) -> str | None:
    """The text stored on a finished request: None when done, else why not."""
    if result.status in _DONE:
        return None
    detail = "; ".join(result.messages) or "no details"
    if result.status == RunStatus.HELD:
        return f"held by the blast-radius guard: {detail} (queue it again with --confirm)"
    return f"{result.status}: {detail}"


class ResyncWorker:
    def __init__(
        self,
        engine: Engine,
        gate: CycleGate,
        run_locked: RunLocked,
        *,
        poll_seconds: float = 5.0,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.engine = engine
        self._gate = gate
        self._run_locked = run_locked
        self._poll = poll_seconds
        self._stopping = stopping
        self._stop = threading.Event()
        self._wake_channel = f"syncd_wake_{uuid.uuid4().hex}"
        self._thread = threading.Thread(target=self._loop, name="syncd-resync", daemon=True)
        self.listening = threading.Event()
        """Set once the LISTEN is in place (tests wait on it instead of sleeping)."""

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        try:
            with psycopg.connect(self._conninfo(), autocommit=True, connect_timeout=5) as conn:
                conn.execute("SELECT pg_notify(%s, '')", (self._wake_channel,))
        except psycopg.Error:
            pass  # the loop wakes on its poll timeout instead
        self._thread.join(timeout)

    def _conninfo(self) -> str:
        return libpq_conninfo(self.engine.url.render_as_string(hide_password=False))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo(), autocommit=True) as conn:
                    conn.execute(f"LISTEN {resync_queue.RESYNC_CHANNEL}")
                    conn.execute(f"LISTEN {self._wake_channel}")
                    self.listening.set()
                    while not self._stop.is_set():
                        self.drain()
                        # Returns on the first notification or after one poll interval.
                        for _ in conn.notifies(timeout=self._poll, stop_after=1):
                            pass
            except Exception as exc:  # keep serving: the queue waits in the database
                self.listening.clear()
                _log.warning("resync.listener_failed", error=type(exc).__name__)
                self._stop.wait(self._poll)

    def drain(self) -> int:
        """Run pending requests until the queue is empty or a cycle is skipped; return how
        many reached `done` or `failed`."""
        requeued = resync_queue.requeue_orphans(self.engine)
        if requeued:
            _log.warning("resync.requeued_orphans", request_ids=requeued)
        finished = 0
        while not self._stop.is_set():
            with self._gate.hold(wait=True) as entered:
                if not entered:
                    return finished  # the daemon is stopping
                with resync_queue.claim_next(self.engine) as claimed:
                    if claimed is None:
                        return finished
                    request = claimed.request
                    log = _log.bind(request_id=request.id)
                    log.info("resync.started", full=request.full, accounts=len(request.accounts))
                    result = self._run_locked(cycle_request_for(request))
                    if result.status == RunStatus.SKIPPED:
                        claimed.release("waiting: another replica held the cycle lock")
                        log.info("resync.deferred", reason="cycle lock held elsewhere")
                        return finished
                    if result.status == RunStatus.FAILED and self._stopping():
                        # Cut short by shutdown, not a real failure: the next daemon runs it.
                        claimed.release("interrupted by shutdown: it runs again")
                        log.info("resync.deferred", reason="shutdown")
                        return finished
                    error = outcome_error(result)
                    recorded = claimed.finish(
                        "done" if error is None else "failed", run_id=result.run_id, error=error
                    )
                    if not recorded:
                        # Our claim lapsed (lost connection) and the request was re-queued:
                        # it runs again, which a cycle tolerates.
                        log.warning("resync.claim_lost", run_id=result.run_id)
                        continue
                    finished += 1
                    log.info("resync.finished", status=str(result.status), run_id=result.run_id)
        return finished
