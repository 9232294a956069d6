"""Serve the admin app with uvicorn in a background thread of the daemon.

Readiness is an event set once uvicorn has bound its socket (or has given up), so the daemon
reports READY=1 only when the admin port really answers. uvicorn's own logging set-up and
access log are off: the daemon's structlog configuration is the only one in the process.
"""

from __future__ import annotations

import threading
from typing import Any

import uvicorn

from syncd.errors import ConfigError, SyncdError


class AdminServerError(SyncdError):
    """The admin HTTP server did not start (port taken, address not local, ...)."""


def parse_bind(bind: str) -> tuple[str, int]:
    """`host:port` (IPv6 as `[::1]:8787`) → (host, port)."""
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"admin_bind must be host:port, got {bind!r}", admin_bind=bind)
    return host.strip("[]"), int(port)


class _NotifyingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[Any] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self._ready.set()


class AdminServer:
    """`AdminServer(app, "127.0.0.1:0").start()`; `.port` is the bound port."""

    def __init__(self, app: Any, bind: str) -> None:
        self.host, self.port = parse_bind(bind)
        self._ready = threading.Event()
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = _NotifyingServer(config, self._ready)
        self._thread = threading.Thread(target=self._serve, name="syncd-admin", daemon=True)
        self._failure: BaseException | None = None

    def _serve(self) -> None:
        try:
            self._server.run()
        except BaseException as exc:  # SystemExit from uvicorn when the bind fails
            self._failure = exc
        finally:
            self._ready.set()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 30.0) -> AdminServer:
        self._thread.start()
        if not self._ready.wait(timeout) or not self._server.started:
            raise AdminServerError(
                f"the admin HTTP server could not listen on {self.host}:{self.port}",
                reason=type(self._failure).__name__ if self._failure else "timeout",
            )
        sockets = [s for server in self._server.servers for s in server.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
