"""The real thing: `syncd run` as a process (bootstrap, real cycle, real LiveVox client)
against the emulator over HTTP and a real database; `syncd resync` from another process is
executed by it; metrics, readiness and a clean SIGTERM; no secret in its logs."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import sqlalchemy as sa

from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.store import migrate, resync_queue
from syncd.store.engine import create_engine_for
from tests.conftest import FreshDatabase
from tests.notify import next_message

REPO = Path(__file__).resolve().parents[2]
LV_USER, LV_PASSWORD, LV_TOKEN = "syncuser", "Pw-e2e-7f3k", "lv-token-e2e-91"
ADMIN_TOKEN = "admin-token-e2e-42"
SSN_SHAPED = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")


def test_a_cli_resync_is_run_by_the_running_daemon(
    fresh_db: FreshDatabase, free_port: int, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, notify_path = notify_socket
    engine = create_engine_for(fresh_db.url)
    migrate.upgrade(engine)
    emulator_app = create_app(
        EmulatorConfig(
            contacts=25, access_token=LV_TOKEN, users={LV_USER: (LV_PASSWORD, "Sysadmin")}
        )
    )
    sessions: list[str] = []
    manager = emulator_app.state.emulator.sessions
    login = manager.login

    def recording_login(**kwargs: str) -> object:
        session = login(**kwargs)
        sessions.append(session.id)
        return session

    manager.login = recording_login
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "WATCHDOG_"))},
        "SYNCD_DATABASE_URL": fresh_db.url,
        "SYNCD_ADMIN_BIND": f"127.0.0.1:{free_port}",
        "SYNCD_ADMIN_TOKEN": ADMIN_TOKEN,
        "SYNCD_SYNC_INTERVAL": "3600",
        "SYNCD_LIVEVOX_USERNAME": LV_USER,
        "SYNCD_LIVEVOX_PASSWORD": LV_PASSWORD,
        "SYNCD_LIVEVOX_ACCESS_TOKEN": LV_TOKEN,
        "NOTIFY_SOCKET": notify_path,
    }
    with ServerThread(emulator_app) as emulator:
        env["SYNCD_LIVEVOX_BASE_URL"] = emulator.base_url
        daemon = subprocess.Popen(
            [sys.executable, "-m", "syncd.cli", "run"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert next_message(sock, b"READY=1"), "no READY=1 from syncd run"
            resync = subprocess.run(
                [sys.executable, "-m", "syncd.cli", "resync", "--account", "ACC0000003",
                 "--wait", "--timeout", "120"],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
            )  # fmt: skip
            assert resync.returncode == 0, resync.stdout + resync.stderr
            queued, finished = resync.stdout.splitlines()[:2]
            request_id = int(queued.split()[2])
            assert finished.startswith(f"resync request {request_id} done (run ")

            admin = f"http://127.0.0.1:{free_port}"
            metrics = httpx.get(f"{admin}/metrics", timeout=10).text
            ready = httpx.get(f"{admin}/readyz", timeout=30)
            status = httpx.get(
                f"{admin}/status", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
            ).json()
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                _, log = daemon.communicate(timeout=120)
            finally:
                if daemon.poll() is None:
                    daemon.kill()
                    daemon.wait(10)
    assert daemon.returncode == 0, log[-3000:]
    assert next_message(sock, b"STOPPING=1")

    request = resync_queue.get_request(engine, request_id)
    assert request is not None and request.status == "done" and request.run_id is not None
    assert request.picked_at is not None and request.finished_at is not None
    with engine.connect() as conn:
        run = conn.execute(
            sa.text("SELECT kind, status, requested_by FROM syncd.runs WHERE id = :i"),
            {"i": request.run_id},
        ).one()
    engine.dispose()
    assert run.kind == "sync_incremental" and run.status == "succeeded"
    assert run.requested_by.startswith(f"resync {request_id} by cli:")

    assert ready.status_code == 200, ready.text
    assert 'syncd_runs_total{kind="incremental",status="succeeded"} 2.0' in metrics
    pulled = re.search(r"^syncd_rows_pulled_total (\S+)$", metrics, re.MULTILINE)
    assert pulled and float(pulled.group(1)) >= 25  # start-up pull; the resync re-reads a few
    assert re.search(r'livevox_request_seconds_count\{endpoint="[^"]+",status="200"\}', metrics)
    assert status["watermark"] is not None and status["unmanaged_contacts"] == 25

    events = [json.loads(line) for line in log.splitlines()]  # every line is a JSON event
    names = {e["event"] for e in events}
    assert {"daemon.started", "cycle.completed", "resync.finished", "daemon.stopped"} <= names
    assert sessions, "the daemon never logged in"
    for secret in (LV_PASSWORD, LV_TOKEN, ADMIN_TOKEN, *sessions):
        assert secret not in log
    assert not SSN_SHAPED.search(log)
