"""`syncd run`: the scheduler, the resync worker and the admin HTTP around one cycle function.

The daemon knows a cycle only as `cycle(request) -> result` (bootstrap's `SyncService`
in production, a function of the test's own in tests), so everything here is tested on a real
database without LiveVox. Jobs:

    incremental   every `sync_interval` s (and once at start)      skip if a cycle is running
    full          cron, nightly by default                         waits for a running cycle
    reference     every `reference_interval_seconds`               skip if a cycle is running
    housekeeping  cron: prune finished outbox rows / resyncs       no cycle, no gate
    watchdog      every WATCHDOG_USEC/2 under systemd              a separate executor

All jobs coalesce missed runs, run one instance at a time and tolerate `misfire_grace_seconds`
of lateness. One cycle at a time in this process (`CycleGate`); the cycle's own advisory lock
makes it one at a time in the cluster, a replica that finds it taken reports `skipped`.

Shutdown (`request_stop`, SIGTERM, SIGINT): STOPPING=1, no new jobs, `stop_event` set (a
cycle that watches it ends after its batch), wait up to `shutdown_grace_seconds` for the
cycle in flight, then stop the resync worker and the admin server. A second signal stops the
wait. `shutdown` returns 0 when nothing was left running, 1 otherwise.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from syncd.admin.app import create_admin_app
from syncd.admin.backend import DatabaseAdminBackend, LiveVoxProbe
from syncd.admin.metrics import SyncdMetrics
from syncd.admin.server import AdminServer
from syncd.daemon import request_tap
from syncd.daemon.gate import CycleGate
from syncd.daemon.resync_worker import ResyncWorker
from syncd.daemon.sdnotify import SystemdNotifier
from syncd.service.requests import CycleKind, CycleRequest, CycleResult, RunStatus
from syncd.settings import DaemonSettings
from syncd.store import housekeeping, status_queries

_log = structlog.get_logger(__name__)

CycleFunction = Callable[[CycleRequest], CycleResult]


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    """The top-level settings the daemon reads, plus its own section."""

    sync_interval: int = 300
    admin_bind: str | None = "127.0.0.1:8787"
    """None: no admin HTTP (tests that do not need it)."""
    admin_token: SecretStr | None = None
    daemon: DaemonSettings = field(default_factory=DaemonSettings)


class Daemon:
    def __init__(
        self,
        *,
        engine: Engine,
        cycle: CycleFunction,
        config: DaemonConfig,
        livevox_probe: LiveVoxProbe | None = None,
        notifier: SystemdNotifier | None = None,
        stop_event: threading.Event | None = None,
        tap_requests: bool = True,
    ) -> None:
        self.engine = engine
        self.config = config
        self.settings = config.daemon
        self.stop_event = stop_event or threading.Event()
        """Set on shutdown; a cycle that can observe it ends after its batch in flight."""
        self.notifier = notifier or SystemdNotifier()
        self._cycle = cycle
        self._gate = CycleGate()
        self._tap_requests = tap_requests
        self._untap: Callable[[], None] | None = None
        self.metrics = SyncdMetrics(
            gauges=self._read_gauges, cache_seconds=self.settings.metrics_cache_seconds
        )
        self._scheduler = BackgroundScheduler(
            timezone=ZoneInfo(self.settings.timezone),
            executors={
                "cycles": ThreadPoolExecutor(max_workers=4),
                "light": ThreadPoolExecutor(max_workers=2),
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self.settings.misfire_grace_seconds,
            },
        )
        self._scheduler.add_listener(self._on_job_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.resync = ResyncWorker(
            engine,
            self._gate,
            self._run_locked,
            poll_seconds=self.settings.resync_poll_seconds,
            stopping=self.stop_event.is_set,
        )
        self.backend = DatabaseAdminBackend(
            engine=engine,
            metrics=self.metrics,
            livevox_probe=livevox_probe,
            alive_check=self._alive,
            jobs_view=self.jobs,
            livevox_cache_seconds=self.settings.readiness_livevox_cache_seconds,
            max_failing_seconds=self.settings.readiness_max_failing_seconds,
        )
        self.admin: AdminServer | None = None
        self._started = False
        self._stopped = False

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the admin HTTP, the resync worker and the scheduler; then READY=1."""
        if self._tap_requests:
            self._untap = request_tap.install(self.metrics.observe_request)
        # APScheduler logs through the standard library; its notable events are re-logged
        # as structured ones by `_on_job_event`, the rest is noise in production logs.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        if self.config.admin_bind is not None:
            app = create_admin_app(self.backend, self.config.admin_token)
            self.admin = AdminServer(app, self.config.admin_bind).start()
        self._add_jobs()
        self._scheduler.start()
        self.resync.start()
        self._started = True
        _log.info(
            "daemon.started",
            admin=self.admin.base_url if self.admin else None,
            sync_interval=self.config.sync_interval,
            full_reconcile_cron=self.settings.full_reconcile_cron,
            watchdog_seconds=self.notifier.watchdog_interval,
            admin_endpoints_guarded=self.config.admin_token is not None,
        )
        self.notifier.ready(status="scheduler running")
        if self.notifier.watchdog_interval:
            self.notifier.watchdog()

    def _add_jobs(self) -> None:
        s = self.settings
        tz = ZoneInfo(s.timezone)
        # Without `next_run_time` the trigger decides (first tick after one interval);
        # passing None would add the job paused.
        first: dict[str, Any] = {"next_run_time": datetime.now(UTC)} if s.run_at_start else {}
        self._scheduler.add_job(
            self._scheduled,
            IntervalTrigger(seconds=self.config.sync_interval, timezone=tz),
            args=[CycleRequest(kind=CycleKind.INCREMENTAL), False],
            id="incremental",
            executor="cycles",
            **first,
        )
        self._scheduler.add_job(
            self._scheduled,
            CronTrigger.from_crontab(s.full_reconcile_cron, timezone=tz),
            args=[CycleRequest(kind=CycleKind.FULL), True],
            id="full",
            executor="cycles",
        )
        self._scheduler.add_job(
            self._scheduled,
            IntervalTrigger(seconds=s.reference_interval_seconds, timezone=tz),
            args=[CycleRequest(kind=CycleKind.REFERENCE), False],
            id="reference",
            executor="cycles",
        )
        self._scheduler.add_job(
            self._housekeeping,
            CronTrigger.from_crontab(s.housekeeping_cron, timezone=tz),
            id="housekeeping",
            executor="cycles",
        )
        if self.notifier.watchdog_interval:
            self._scheduler.add_job(
                self.notifier.watchdog,
                IntervalTrigger(seconds=self.notifier.watchdog_interval, timezone=tz),
                id="watchdog",
                executor="light",
            )

    def request_stop(self) -> None:
        self.stop_event.set()

    def shutdown(self) -> int:
        """Stop as described in the module docstring; 0 when no cycle was left running."""
        if self._stopped:
            return 0
        self._stopped = True
        self.stop_event.set()
        self.notifier.stopping(status="finishing the cycle in flight")
        busy = self._gate.busy
        _log.info("daemon.stopping", cycle_in_flight=busy)
        if self._started:
            self._scheduler.shutdown(wait=False)
        drained = self._gate.close_and_drain(self.settings.shutdown_grace_seconds)
        if not drained:
            _log.error(
                "daemon.stop_timeout",
                grace_seconds=self.settings.shutdown_grace_seconds,
                detail="a cycle is still running; its outbox rows stay pending and are resent",
            )
        if self._started:
            self.resync.stop()
        if self.admin is not None:
            self.admin.stop()
        if self._untap is not None:
            self._untap()
            self._untap = None
        _log.info("daemon.stopped", clean=drained)
        return 0 if drained else 1

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no cycle runs here (e.g. one abandoned by a timed-out shutdown)."""
        return self._gate.wait_idle(timeout)

    def run_until_signalled(self) -> int:
        """`start`, wait for SIGTERM/SIGINT (or `request_stop`), `shutdown`; the exit code."""
        signals = (signal.SIGTERM, signal.SIGINT)
        previous = {sig: signal.getsignal(sig) for sig in signals}

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if self.stop_event.is_set():
                _log.warning("daemon.second_signal", signal=signal.Signals(signum).name)
                self._gate.give_up()
            else:
                _log.info("daemon.signal", signal=signal.Signals(signum).name)
                self.stop_event.set()

        for sig in signals:
            signal.signal(sig, on_signal)
        try:
            self.start()
            self.stop_event.wait()
            return self.shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # --- cycles -------------------------------------------------------------------------

    def run_cycle(self, request: CycleRequest, *, wait: bool = True) -> CycleResult | None:
        """Run one cycle through the gate; None when it did not start (busy or stopping)."""
        with self._gate.hold(wait=wait) as entered:
            if not entered:
                return None
            return self._run_locked(request)

    def _scheduled(self, request: CycleRequest, wait: bool) -> None:
        if self.stop_event.is_set():
            return
        if self.run_cycle(request, wait=wait) is None and not self.stop_event.is_set():
            _log.info("daemon.cycle_not_started", kind=request.kind, reason="a cycle is running")

    def _run_locked(self, request: CycleRequest) -> CycleResult:
        log = _log.bind(kind=str(request.kind), requested_by=request.requested_by)
        before = self._last_run_id()
        started = time.monotonic()
        log.info("daemon.cycle_started")
        try:
            result = self._cycle(request)
        except Exception as exc:  # a job must never die: record, log, and go on
            result = CycleResult(
                status=RunStatus.FAILED, messages=[f"{type(exc).__name__}: {exc}"[:1000]]
            )
            log.error("daemon.cycle_crashed", error=result.messages[0])
        self.metrics.record_run(str(request.kind), str(result.status))
        if result.status != RunStatus.SKIPPED:
            self._record_volume(result, before)
        log.info(
            "daemon.cycle_finished",
            status=str(result.status),
            run_id=result.run_id,
            seconds=round(time.monotonic() - started, 3),
        )
        # Shown by `systemctl status syncd`.
        self.notifier.status(
            f"last cycle: {request.kind} {result.status} at "
            f"{datetime.now(UTC).isoformat(timespec='seconds')}"
        )
        return result

    def _record_volume(self, result: CycleResult, before: int | None) -> None:
        """Rows pulled (the cycle's `pulled` count, else its pull runs' `rows_seen`) and
        changes pushed (its audit rows, one per outbox row, by operation and outcome)."""
        try:
            with self.engine.connect() as conn:
                if "pulled" in result.counts:
                    self.metrics.record_pulled(int(result.counts["pulled"]))
                elif before is not None:
                    self.metrics.record_pulled(status_queries.rows_pulled_since(conn, before))
                if result.run_id is not None:
                    self.metrics.record_pushed(
                        status_queries.changes_pushed_by_run(conn, result.run_id)
                    )
        except Exception as exc:  # metrics must not fail a cycle
            _log.warning("daemon.metrics_not_recorded", error=type(exc).__name__)

    def _last_run_id(self) -> int | None:
        try:
            with self.engine.connect() as conn:
                return status_queries.last_run_id(conn)
        except Exception:
            return None

    # --- other jobs and views -----------------------------------------------------------

    def _housekeeping(self) -> None:
        try:
            pruned = housekeeping.prune(
                self.engine, retention=timedelta(days=self.settings.outbox_retention_days)
            )
        except Exception as exc:
            _log.error("housekeeping.failed", error=type(exc).__name__)
            return
        _log.info(
            "housekeeping.completed",
            outbox_rows=pruned.outbox_rows,
            resync_requests=pruned.resync_requests,
        )

    def _read_gauges(self) -> status_queries.Gauges:
        with self.engine.connect() as conn:
            return status_queries.read_gauges(conn)

    def _alive(self) -> bool:
        return bool(self._scheduler.running) or self.stop_event.is_set()

    def jobs(self) -> list[dict[str, Any]]:
        if not self._scheduler.running:
            return []
        return [
            {
                "id": job.id,
                "next_run_time": job.next_run_time.isoformat() if job.next_run_time else None,
            }
            for job in self._scheduler.get_jobs()
        ]

    def _on_job_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            _log.warning("scheduler.job_missed", job=event.job_id)
        else:
            _log.info("scheduler.job_still_running", job=event.job_id)
