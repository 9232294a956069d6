"""`syncd run`: the daemon (scheduler + resync worker + admin HTTP) until SIGTERM."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from syncd.cli._common import fail
from syncd.errors import SyncdError


def livevox_probe(client: Any) -> Any:
    """Readiness: the current session is still valid, or a fresh login works."""

    def probe() -> None:
        if not client.validate_session():
            client.login()

    return probe


def run() -> None:
    """The daemon: scheduler + admin HTTP, until SIGTERM."""
    from syncd.daemon.core import Daemon, DaemonConfig
    from syncd.logging import configure_logging
    from syncd.settings import load_settings

    configure_logging()
    try:
        settings = load_settings()
        config = DaemonConfig(
            sync_interval=settings.sync_interval,
            admin_bind=settings.admin_bind,
            admin_token=settings.admin_token,
            daemon=settings.daemon,
        )
    except SyncdError as exc:
        fail(exc)
    try:
        from syncd.bootstrap import build_sync
    except ImportError:
        fail(SyncdError("this build has no sync cycle: syncd.bootstrap is missing"), code=1)

    stop = threading.Event()
    try:
        with build_sync(settings, stop=stop) as service:
            daemon = Daemon(
                engine=service.engine,
                cycle=service.run_cycle,
                config=config,
                livevox_probe=livevox_probe(service.client),
                stop_event=stop,  # the cycle watches it: shutdown ends it after its batch
            )
            code = daemon.run_until_signalled()
    except SyncdError as exc:
        fail(exc, code=1)
    if code != 0:
        # A cycle is still running in a worker thread that interpreter exit would wait for;
        # its unsent rows stay in the outbox, so leaving now is safe.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
