"""SIGTERM during a cycle, as systemd sends it: a real process, a real signal, a real
notify socket. The process runs the daemon's own `run_until_signalled` around a cycle of the
test's (see `harness_main`), so the timing of "during a cycle" is an event, not a guess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import sqlalchemy as sa

from syncd.store import migrate
from syncd.store.engine import create_engine_for
from tests.conftest import FreshDatabase
from tests.notify import next_message

REPO = Path(__file__).resolve().parents[2]


def harness_main() -> None:
    """The child process: `Daemon.run_until_signalled` with a cycle that announces its
    start, waits for the stop flag (as the real cycle does between batches), then records
    its last batch before returning."""
    from syncd.daemon.core import Daemon, DaemonConfig
    from syncd.logging import configure_logging
    from syncd.service.requests import CycleRequest, CycleResult, RunStatus
    from syncd.settings import DaemonSettings

    configure_logging(level="INFO", json=True)
    engine = create_engine_for(os.environ["HARNESS_DATABASE_URL"])
    stop = threading.Event()

    def cycle(request: CycleRequest) -> CycleResult:
        print("harness.cycle_started", file=sys.stderr, flush=True)
        if not stop.wait(60):
            return CycleResult(RunStatus.FAILED, messages=["never stopped"])
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO public.last_batch VALUES (clock_timestamp())"))
        return CycleResult(RunStatus.SUCCEEDED)

    daemon = Daemon(
        engine=engine,
        cycle=cycle,
        config=DaemonConfig(
            sync_interval=3600,
            admin_bind="127.0.0.1:0",
            daemon=DaemonSettings(run_at_start=True, shutdown_grace_seconds=60),
        ),
        stop_event=stop,
    )
    code = daemon.run_until_signalled()
    engine.dispose()
    sys.exit(code)


def test_sigterm_lets_the_cycle_finish_then_exits_0(
    fresh_db: FreshDatabase, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, path = notify_socket
    engine = create_engine_for(fresh_db.url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE public.last_batch (at timestamptz)"))
    env = {
        **os.environ,
        "HARNESS_DATABASE_URL": fresh_db.url,
        "NOTIFY_SOCKET": path,
        "WATCHDOG_USEC": "200000",
    }
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tests.e2e.test_daemon_sigterm import harness_main; harness_main()",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert next_message(sock, b"READY=1")
        for line in proc.stderr:  # the cycle announces itself: SIGTERM lands mid-cycle
            if line.strip() == "harness.cycle_started":
                break
        else:
            raise AssertionError("the daemon exited before its first cycle")
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, rest

    messages = []
    sock.settimeout(0.5)
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except TimeoutError:
            break
    assert any(m.startswith("WATCHDOG=1") for m in messages)
    assert any(m.startswith("STOPPING=1") for m in messages)

    events = [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert names.index("daemon.signal") < names.index("daemon.stopping")
    assert next(e for e in events if e["event"] == "daemon.stopping")["cycle_in_flight"] is True
    assert next(e for e in events if e["event"] == "daemon.stopped")["clean"] is True
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM public.last_batch")).scalar_one() == 1
    engine.dispose()
