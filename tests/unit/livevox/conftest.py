"""Fixtures for the LiveVox client unit tests: an httpx.MockTransport fake and a fake clock."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from syncd.livevox import ClientConfig, LiveVoxClient

Handler = Callable[[httpx.Request], httpx.Response]

TOKEN = "tok-SECRET-123"
PASSWORD = "pw-SECRET-456"


@dataclass
class FakeClock:
    """Monotonic clock whose sleep advances time instantly and records each wait."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.append(seconds)
            self.now += seconds


def json_response(status: int, body: Any = None, **headers: str) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class FakeLiveVox:
    """A MockTransport handler: answers session login itself, delegates the rest.

    ``sessions`` lists the ids handed out; requests carrying an id not in ``valid`` get 401.
    """

    handler: Handler
    sessions: list[str] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    requests: list[httpx.Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    login_status: int = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
        path = request.url.path
        if path.endswith("/login") and request.method == "POST":
            if self.login_status != 200:
                return json_response(self.login_status, {"code": 401, "message": "bad login"})
            with self.lock:
                sid = f"SID-SECRET-{len(self.sessions) + 1}"
                self.sessions.append(sid)
                self.valid = {sid}
            return json_response(
                200, {"sessionId": sid, "userId": 7, "clientId": 9, "daysUntilPasswordExpires": 30}
            )
        if "/logout/" in path and request.method == "DELETE":
            with self.lock:
                self.valid.discard(path.rsplit("/", 1)[-1])
            return json_response(204)
        if "/validate/" in path and request.method == "GET":
            alive = path.rsplit("/", 1)[-1] in self.valid
            return json_response(200 if alive else 404, {} if alive else {"code": 404})
        if "/session/" not in path and request.headers.get("LV-Session") not in self.valid:
            return json_response(401, {"code": 401, "message": "session expired"})
        return self.handler(request)

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if "/session/" not in r.url.path]

    def expire_all(self) -> None:
        with self.lock:
            self.valid = set()


def make_config(**overrides: Any) -> ClientConfig:
    values: dict[str, Any] = {
        "base_url": "https://lv.test",
        "access_token": TOKEN,
        "client_name": "demo",
        "username": "admin",
        "password": PASSWORD,
        "retry_deadline": 60.0,
        "max_attempts": 5,
        "backoff_base": 0.1,
        "backoff_max": 2.0,
    }
    values.update(overrides)
    return ClientConfig(**values)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., tuple[LiveVoxClient, FakeLiveVox]]]:
    made: list[LiveVoxClient] = []

    def factory(handler: Handler, **overrides: Any) -> tuple[LiveVoxClient, FakeLiveVox]:
        fake = handler if isinstance(handler, FakeLiveVox) else FakeLiveVox(handler)
        client = LiveVoxClient(
            make_config(**overrides),
            transport=httpx.MockTransport(fake),
            clock=clock,
            sleep=clock.sleep,
        )
        made.append(client)
        return client, fake

    yield factory
    for client in made:
        client.close()


def raw_path(request: httpx.Request) -> str:
    """The path as sent on the wire (percent-encoding kept), without the query."""
    return request.url.raw_path.split(b"?")[0].decode()


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None
