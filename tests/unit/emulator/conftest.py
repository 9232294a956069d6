"""Fixtures for the emulator core's tests: a real emulator over HTTP on a manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from syncd.emulator.app import create_app
from syncd.emulator.clock import ManualClock
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.emulator.state import Emulator

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PASSWORDS = {"admin": "admin", "superuser": "superuser", "manager": "manager", "ituser": "ituser"}


@dataclass
class RunningEmulator:
    """One emulator served on a free port, with its in-process state and manual clock."""

    base_url: str
    state: Emulator
    clock: ManualClock
    _clients: list[httpx.Client] = field(default_factory=list)

    def http(self, **headers: str) -> httpx.Client:
        client = httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0)
        self._clients.append(client)
        return client

    def login(self, user: str = "admin") -> httpx.Client:
        """A client carrying a live session of `user` (LV-Session header)."""
        client = self.http(**{"LV-Access": "demo-token"})
        response = client.post(
            "/session/login",
            json={
                "clientName": "demo",
                "userName": user,
                "password": PASSWORDS[user],
                "agent": False,
            },
        )
        assert response.status_code == 200, response.text
        client.headers["LV-Session"] = response.json()["sessionId"]
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., RunningEmulator]]:
    """`start_emulator(contacts=10, ...)` -> a served emulator; stopped after the test."""
    servers: list[tuple[ServerThread, RunningEmulator]] = []

    def start(**config: Any) -> RunningEmulator:
        clock = ManualClock(START)
        app = create_app(EmulatorConfig(**config), clock)
        server = ServerThread(app).start()
        running = RunningEmulator(server.base_url, app.state.emulator, clock)
        servers.append((server, running))
        return running

    yield start
    for server, running in servers:
        running.close()
        server.stop()


@pytest.fixture
def emu(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    """A small emulator: 30 generated contacts, seed 3."""
    return start_emulator(contacts=30, seed=3)


@pytest.fixture
def admin(emu: RunningEmulator) -> httpx.Client:
    return emu.login("admin")
