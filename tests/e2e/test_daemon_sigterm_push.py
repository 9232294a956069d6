"""SIGTERM while the real daemon pushes: `syncd run` as a process (bootstrap, real cycle, real
pusher, real LiveVox client) against the emulator over HTTP and a real database. The signal
goes out when the daemon logs its first pushed batch (an event, not a timer); the drain must
finish the batch in flight and stop, leaving no row SENT, and the next `syncd sync` converges.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.store.engine import create_engine_for
from syncd.store.migrate import upgrade
from tests.conftest import FreshDatabase
from tests.integration.sync.conftest import SyncHarness, started
from tests.notify import next_message

REPO = Path(__file__).resolve().parents[2]
CONTACTS = 120
EDITED = 60
BATCH = 5  # 12 update batches: the signal lands with most of the push still to go


def _edited_accounts(h: SyncHarness) -> list[str]:
    rows = h.rows("SELECT account FROM sor.contacts ORDER BY account LIMIT :n", n=EDITED)
    return [r.account for r in rows]


def test_sigterm_mid_push_leaves_no_sent_row_and_the_next_cycle_converges(
    fresh_db: FreshDatabase, free_port: int, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, notify_path = notify_socket
    engine = create_engine_for(fresh_db.url)
    upgrade(engine)
    app = create_app(EmulatorConfig(contacts=CONTACTS, seed=11))
    with ServerThread(app) as server:
        h = SyncHarness(engine, fresh_db.url, app, server.base_url)
        try:
            started(h)  # mirror pulled, SoR seeded from it, base agreed
        finally:
            h.close()
        accounts = _edited_accounts(h)
        h.sql(
            "UPDATE sor.contacts SET first_name = 'Term' || right(account, 4) "
            "WHERE account = ANY(:a)",
            a=accounts,
        )
        # every API call takes a while, so the push is still in flight when the signal lands
        app.state.emulator.faults.configure("latency_ms=150")

        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "WATCHDOG_"))},
            "SYNCD_DATABASE_URL": fresh_db.url,
            "SYNCD_LIVEVOX_BASE_URL": server.base_url,
            "SYNCD_ADMIN_BIND": f"127.0.0.1:{free_port}",
            "SYNCD_SYNC_INTERVAL": "3600",
            "SYNCD_SYNC_UPDATE_BATCH_SIZE": str(BATCH),
            "SYNCD_SYNC_GUARD_MAX_SHARE": "1.0",  # half the book at once is this test's point
            "SYNCD_SYNC_GUARD_SPIKE_MIN_SHARE": "1.0",
            "NOTIFY_SOCKET": notify_path,
        }
        daemon = subprocess.Popen(
            [sys.executable, "-m", "syncd.cli", "run"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen: list[str] = []
        try:
            assert daemon.stderr is not None
            assert next_message(sock, b"READY=1"), "no READY=1 from syncd run"
            for line in daemon.stderr:  # the start-up cycle pushes: signal at its first batch
                seen.append(line)
                if line.startswith("{") and json.loads(line)["event"] == "push.batch_sent":
                    break
            else:
                raise AssertionError("the daemon never pushed a batch:\n" + "".join(seen)[-3000:])
            daemon.send_signal(signal.SIGTERM)
            _, rest = daemon.communicate(timeout=120)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait(10)
        log = "".join(seen) + rest
        assert daemon.returncode == 0, log[-3000:]
        assert next_message(sock, b"STOPPING=1")
        events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        assert next(e for e in events if e["event"] == "daemon.stopped")["clean"] is True

        with engine.connect() as conn:
            states: dict[str, int] = {
                r.state: r.n
                for r in conn.execute(
                    sa.text("SELECT state, count(*) AS n FROM syncd.outbox GROUP BY state")
                )
            }
            undocumented = conn.execute(
                sa.text(
                    "SELECT count(*) FROM syncd.outbox o WHERE o.state = 'DONE' AND NOT EXISTS "
                    "(SELECT 1 FROM syncd.audit_log a WHERE a.outbox_id = o.id "
                    "AND a.outcome = 'applied')"
                )
            ).scalar_one()
        assert states.get("SENT", 0) == 0, states
        assert set(states) <= {"DONE", "NEW", "FAILED"}, states
        assert sum(states.values()) == EDITED, states
        assert 0 < states.get("DONE", 0) < EDITED, f"the signal did not land mid-push: {states}"
        assert undocumented == 0

        app.state.emulator.faults.configure("latency_ms=0")
        sync = subprocess.run(
            [sys.executable, "-m", "syncd.cli", "sync"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert sync.returncode == 0, sync.stdout + sync.stderr[-3000:]
        for account in accounts:
            assert h.lv(account)["firstName"] == f"Term{account[-4:]}", account
        with engine.connect() as conn:
            open_rows = conn.execute(
                sa.text("SELECT count(*) FROM syncd.outbox WHERE state <> 'DONE'")
            ).scalar_one()
        assert open_rows == 0
    engine.dispose()
