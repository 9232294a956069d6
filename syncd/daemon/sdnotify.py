"""systemd's notify protocol (`Type=notify`), without a dependency.

A message is one datagram of newline-separated `KEY=value` lines sent to the Unix socket
named by `$NOTIFY_SOCKET` (a leading `@` means the abstract namespace). Without the variable
every call is a no-op, so the daemon runs the same under systemd, in a container or in tests.
The watchdog interval is half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3) recommends,
and only when `$WATCHDOG_PID` is unset or names this process.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import structlog

_log = structlog.get_logger(__name__)


class SystemdNotifier:
    """Send `READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=...` to systemd, if it listens."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_interval = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send one message; False when there is no socket or the send failed."""
        if self.address is None or not lines:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(lines).encode(), self.address)
        except OSError as exc:
            # Never fatal: systemd would notice a missing READY or watchdog itself.
            _log.warning("daemon.sd_notify_failed", error=type(exc).__name__)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str = "") -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def status(self, status: str) -> bool:
        return self.notify(f"STATUS={status}")


def _socket_address(value: str) -> str | None:
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # vsock and other forms are not for a service like this one


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 2 / 1_000_000
