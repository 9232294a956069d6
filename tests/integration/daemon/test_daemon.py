"""The daemon on a real database, with a cycle function of the test's own (see conftest)."""

from __future__ import annotations

import io
import itertools
import json
import socket
import threading

import httpx
import pytest
import sqlalchemy as sa
import structlog
from pydantic import SecretStr

from syncd.daemon.core import Daemon, DaemonConfig
from syncd.daemon.sdnotify import SystemdNotifier
from syncd.logging import configure_logging
from syncd.service.requests import CycleKind, CycleRequest, CycleResult, RunStatus
from syncd.settings import DaemonSettings
from syncd.store import resync_queue
from syncd.store.engine import create_engine_for
from syncd.store.locks import cycle_lock
from tests.conftest import FreshDatabase
from tests.integration.daemon.conftest import (
    ROWS_PER_PULL,
    RecordingCycle,
    add_outbox_rows,
    make_daemon,
)
from tests.notify import next_message


def test_two_daemons_never_overlap_and_never_push_a_row_twice(
    migrated: sa.Engine, fresh_db: FreshDatabase
) -> None:
    outbox_ids = add_outbox_rows(migrated, 12)
    # Both daemons' first cycles reach the lock together; the winner holds it until the
    # other has tried and failed, so contention is certain, not a matter of timing.
    barrier = threading.Barrier(2, timeout=10)
    loser_tried = threading.Event()

    def before_lock(call: int) -> None:
        if call == 1:
            barrier.wait()

    def inside_lock(call: int, taken: bool) -> None:
        if call != 1:
            return
        if taken:
            assert loser_tried.wait(10)
        else:
            loser_tried.set()

    emptied = threading.Event()
    engines = [create_engine_for(fresh_db.url) for _ in range(2)]
    cycles = [
        RecordingCycle(
            e, f"d{i}", before_lock=before_lock, inside_lock=inside_lock, emptied=emptied
        )
        for i, e in enumerate(engines)
    ]
    daemons = [
        make_daemon(e, c, sync_interval=1, run_at_start=True)
        for e, c in zip(engines, cycles, strict=True)
    ]
    try:
        for daemon in daemons:
            daemon.start()
        assert emptied.wait(30), "the outbox was never drained"
    finally:
        codes = [daemon.shutdown() for daemon in daemons]
        for engine in engines:
            engine.dispose()
    assert codes == [0, 0]

    statuses = [r.status for c in cycles for r in c.results]
    assert RunStatus.FAILED not in statuses
    assert RunStatus.SKIPPED in statuses  # the lock really was contended
    assert all(c.calls >= 1 for c in cycles)
    with migrated.connect() as conn:
        intervals = conn.execute(
            sa.text("SELECT started_at, finished_at FROM public.cycle_log ORDER BY started_at")
        ).all()
        pushed = conn.execute(sa.text("SELECT outbox_id FROM public.pushes")).scalars().all()
    assert all(finished is not None for _, finished in intervals)
    for (_, previous_end), (next_start, _) in itertools.pairwise(intervals):
        assert next_start >= previous_end, "two cycles overlapped"
    assert sorted(pushed) == sorted(outbox_ids)  # every row once, none twice


def test_a_queued_resync_is_run_on_its_notification(migrated: sa.Engine) -> None:
    cycle = RecordingCycle(migrated, "d")
    daemon = make_daemon(migrated, cycle)  # polls once a minute: only NOTIFY is fast enough
    try:
        daemon.start()
        assert daemon.resync.listening.wait(10)
        request_id = resync_queue.enqueue(
            migrated, requested_by="test", accounts=("ACC-1", "ACC-2"), full=False
        )
        request = resync_queue.wait_finished(migrated, request_id, timeout=20, poll_seconds=60)
    finally:
        assert daemon.shutdown() == 0
    assert request is not None and request.status == "done", request
    assert request.run_id == cycle.results[-1].run_id
    assert request.picked_at is not None and request.finished_at is not None
    sent = cycle.requests[-1]
    assert sent.kind == CycleKind.INCREMENTAL
    assert sent.accounts == ("ACC-1", "ACC-2")
    assert sent.requested_by.startswith(f"resync {request_id}")


def test_a_resync_skipped_for_the_cluster_lock_waits_and_runs_later(migrated: sa.Engine) -> None:
    saw_busy = threading.Event()

    def inside_lock(call: int, taken: bool) -> None:
        if not taken:
            saw_busy.set()

    cycle = RecordingCycle(migrated, "d", inside_lock=inside_lock)
    daemon = make_daemon(migrated, cycle, resync_poll_seconds=0.2)
    try:
        with cycle_lock(migrated) as other_replica:
            assert other_replica is not None
            daemon.start()
            request_id = resync_queue.enqueue(migrated, requested_by="test", full=True)
            assert saw_busy.wait(20)
        request = resync_queue.wait_finished(migrated, request_id, timeout=20, poll_seconds=0.2)
    finally:
        assert daemon.shutdown() == 0
    assert request is not None and request.status == "done"
    assert cycle.results[0].status == RunStatus.SKIPPED
    assert cycle.requests[-1].kind == CycleKind.FULL


def test_a_held_or_failed_resync_says_why(migrated: sa.Engine) -> None:
    answers = iter(
        [
            CycleResult(RunStatus.HELD, run_id=None, messages=["would deactivate 60% of contacts"]),
        ]
    )

    def cycle(request: CycleRequest) -> CycleResult:
        answer = next(answers, None)
        if answer is None:
            raise RuntimeError("LiveVox exploded")
        return answer

    daemon = make_daemon(migrated, cycle)
    try:
        daemon.start()
        held_id = resync_queue.enqueue(migrated, requested_by="test")
        held = resync_queue.wait_finished(migrated, held_id, timeout=20)
        crashed_id = resync_queue.enqueue(migrated, requested_by="test")
        crashed = resync_queue.wait_finished(migrated, crashed_id, timeout=20)
    finally:
        assert daemon.shutdown() == 0
    assert held is not None and held.status == "failed"
    assert held.error is not None and "held by the blast-radius guard" in held.error
    assert "60%" in held.error and "--confirm" in held.error
    assert crashed is not None and crashed.status == "failed"
    assert crashed.error is not None and "RuntimeError: LiveVox exploded" in crashed.error
    text = daemon.metrics.render().decode()
    assert 'syncd_runs_total{kind="incremental",status="failed"} 1.0' in text
    assert 'syncd_runs_total{kind="incremental",status="held"} 1.0' in text


def test_shutdown_lets_the_cycle_in_flight_finish(
    migrated: sa.Engine, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, path = notify_socket
    sock.settimeout(10)
    stop = threading.Event()
    started = threading.Event()

    def cycle(request: CycleRequest) -> CycleResult:
        started.set()
        # A cycle that watches the daemon's stop flag ends after its current batch...
        assert stop.wait(30)
        with migrated.begin() as conn:  # ...and records that batch before returning.
            conn.execute(sa.text("INSERT INTO public.pushes VALUES (1, 'last-batch', 0)"))
        return CycleResult(RunStatus.SUCCEEDED)

    daemon = make_daemon(
        migrated,
        cycle,
        run_at_start=True,
        notifier=SystemdNotifier({"NOTIFY_SOCKET": path}),
        stop_event=stop,
    )
    daemon.start()
    assert next_message(sock, b"READY=1")
    assert started.wait(10)
    assert daemon.shutdown() == 0
    assert next_message(sock, b"STOPPING=1")
    with migrated.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM public.pushes WHERE daemon = 'last-batch'")
            ).scalar_one()
            == 1
        )
    assert 'status="succeeded"' in daemon.metrics.render().decode()


def test_shutdown_gives_up_after_the_grace_period(migrated: sa.Engine) -> None:
    started, release = threading.Event(), threading.Event()

    def stubborn(request: CycleRequest) -> CycleResult:
        started.set()
        release.wait(30)  # ignores the stop flag
        return CycleResult(RunStatus.SUCCEEDED)

    daemon = make_daemon(migrated, stubborn, run_at_start=True, shutdown_grace_seconds=0.2)
    daemon.start()
    try:
        assert started.wait(10)
        assert daemon.shutdown() == 1
    finally:
        release.set()
        assert daemon.wait_idle(30)  # before the database goes away under it


def test_admin_http_metrics_readiness_status_and_resync(migrated: sa.Engine) -> None:
    add_outbox_rows(migrated, 4)
    with migrated.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO syncd.watermarks (name, value) "
                "VALUES ('livevox.contacts.modify_date', now() - interval '90 seconds')"
            )
        )
    cycle = RecordingCycle(migrated, "d")
    probes: list[int] = []
    daemon = make_daemon(
        migrated, cycle, run_at_start=True, admin_bind="127.0.0.1:0", admin_token="tok-123"
    )
    daemon.backend.livevox_probe = lambda: probes.append(1)
    try:
        daemon.start()
        assert daemon.admin is not None
        assert cycle.finished.wait(10)
        with httpx.Client(base_url=daemon.admin.base_url, timeout=10) as http:
            assert http.get("/healthz").status_code == 200
            ready = http.get("/readyz")
            assert ready.status_code == 200, ready.text
            http.get("/readyz")
            assert probes == [1]  # the LiveVox login check is cached

            metrics = http.get("/metrics").text
            assert 'syncd_runs_total{kind="incremental",status="succeeded"} 1.0' in metrics
            assert f"syncd_rows_pulled_total {float(ROWS_PER_PULL)}" in metrics
            assert 'syncd_changes_pushed_total{operation="update",outcome="applied"} 4.0' in metrics
            assert 'syncd_outbox_depth{state="NEW"} 0.0' in metrics
            assert "syncd_dead_letters 0.0" in metrics
            lag = next(
                float(line.split()[1])
                for line in metrics.splitlines()
                if line.startswith("syncd_sync_lag_seconds ")
            )
            assert 89 <= lag < 200

            assert http.post("/resync", json={"full": True}).status_code == 401
            queued = http.post(
                "/resync", json={"full": True}, headers={"Authorization": "Bearer tok-123"}
            )
            assert queued.status_code == 202
            request = resync_queue.wait_finished(migrated, queued.json()["id"], timeout=20)
            assert request is not None and request.status == "done"

            assert http.get("/status").status_code == 401
            status = http.get("/status", headers={"Authorization": "Bearer tok-123"}).json()
            assert {job["id"] for job in status["jobs"]} >= {
                "incremental",
                "full",
                "reference",
                "housekeeping",
            }
            assert status["runs"][0]["status"] == "succeeded"
            assert status["resync_requests"][0]["status"] == "done"

            page = http.get("/")
            assert page.status_code == 200 and "<svg" in page.text
    finally:
        assert daemon.shutdown() == 0


def test_readiness_fails_on_an_unmigrated_database_and_a_failing_login(
    fresh_db: FreshDatabase,
) -> None:
    engine = create_engine_for(fresh_db.url)

    def broken_login() -> None:
        raise RuntimeError("password hunter2 rejected")

    daemon = make_daemon(engine, lambda r: CycleResult(RunStatus.SUCCEEDED))
    daemon.backend.livevox_probe = broken_login
    try:
        readiness = daemon.backend.readiness().as_json()
    finally:
        engine.dispose()
    assert readiness["ready"] is False
    assert "expected" in readiness["checks"]["database"]["detail"]
    assert readiness["checks"]["livevox"]["detail"] == "login failed (RuntimeError)"
    assert "hunter2" not in str(readiness)


def test_readiness_fails_when_cycles_keep_failing(migrated: sa.Engine) -> None:
    with migrated.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO syncd.runs (kind, status, started_at) VALUES "
                "('incremental', 'succeeded', now() - interval '3 hours'), "
                "('incremental', 'failed', now() - interval '2 hours'), "
                "('incremental', 'failed', now() - interval '1 minute')"
            )
        )
    daemon = make_daemon(migrated, lambda r: CycleResult(RunStatus.SUCCEEDED))
    check = {c.name: c for c in daemon.backend.readiness().checks}["cycles"]
    assert not check.ok and check.detail.startswith("failing for")
    with migrated.begin() as conn:
        conn.execute(sa.text("INSERT INTO syncd.runs (kind, status) VALUES ('full', 'succeeded')"))
    assert {c.name: c for c in daemon.backend.readiness().checks}["cycles"].ok


def test_secrets_and_ssns_never_reach_the_daemon_log(
    migrated: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    password, session, ssn, lv_token, admin_token = (
        "pw-Hunter2!",
        "SESSION-5f1e",
        "123-45-6789",
        "lv-access-77",
        "admin-tok-9",
    )
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging(level="INFO", json=True)

    def chatty_cycle(request: CycleRequest) -> CycleResult:
        log = structlog.get_logger("syncd.service")
        log.info(
            "cycle.detail",
            password=password,
            session_id=session,
            headers={"LV-Access": lv_token, "LV-Session": session},
            note=f"contact with ssn {ssn} updated",
        )
        log.debug("livevox.request", endpoint="/contact/contacts/bulk", status=200, elapsed_ms=5)
        raise RuntimeError(f"row for {ssn} refused")

    def failing_login() -> None:
        raise RuntimeError(f"login with {password} refused")

    daemon = Daemon(
        engine=migrated,
        cycle=chatty_cycle,
        config=DaemonConfig(
            sync_interval=3600,
            admin_bind="127.0.0.1:0",
            admin_token=SecretStr(admin_token),
            daemon=DaemonSettings(run_at_start=False, resync_poll_seconds=60),
        ),
        livevox_probe=failing_login,
        notifier=SystemdNotifier({}),
    )
    try:
        daemon.start()
        assert daemon.admin is not None
        with httpx.Client(base_url=daemon.admin.base_url, timeout=10) as http:
            http.get("/readyz")
            http.post("/resync", json={}, headers={"Authorization": f"Bearer {password}"})
            queued = http.post(
                "/resync", json={}, headers={"Authorization": f"Bearer {admin_token}"}
            ).json()
        resync_queue.wait_finished(migrated, queued["id"], timeout=20)
        metrics = daemon.metrics.render().decode()
    finally:
        assert daemon.shutdown() == 0
        structlog.reset_defaults()
    output = stream.getvalue()
    events = [json.loads(line)["event"] for line in output.splitlines()]
    for expected in ("daemon.started", "cycle.detail", "daemon.cycle_crashed", "resync.finished"):
        assert expected in events
    assert "livevox.request" not in events  # DEBUG stays out, yet the histogram saw it:
    assert 'syncd_livevox_request_seconds_count{endpoint="/contact/contacts/bulk"' in metrics
    for secret in (password, session, ssn, lv_token, admin_token):
        assert secret not in output, secret
