"""Run an ASGI app under uvicorn in a background thread (tests, benches, the demo).

The thread signals readiness through an event set after uvicorn has bound its socket, so
callers never poll or sleep; port 0 picks a free port, read back from the bound socket.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import uvicorn


class _NotifyingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        self._ready.set()


class ServerThread:
    """`with ServerThread(app) as server: httpx.get(server.base_url + "/...")`."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._ready = threading.Event()
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self._server = _NotifyingServer(config, self._ready)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(timeout) or not self._server.started:
            raise RuntimeError("emulator server did not start")
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
