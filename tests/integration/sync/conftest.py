"""Fixtures for sync-cycle tests: a migrated database, the emulator over real HTTP, and a
`SyncHarness` that builds the sync the way `syncd sync` does (bootstrap + real client)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.bootstrap import SyncService, build_sync
from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.service.requests import CycleKind, CycleRequest, CycleResult
from syncd.settings import LiveVoxSettings, Settings, SorSettings
from syncd.store.engine import create_engine_for
from syncd.store.migrate import upgrade
from syncd.store.schema import sor_contacts
from tests.conftest import FreshDatabase

SOR_COLUMNS = [c.name for c in sor_contacts.columns]


@pytest.fixture
def engine(fresh_db: FreshDatabase) -> Iterator[Engine]:
    eng = create_engine_for(fresh_db.url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()


class SyncHarness:
    """The emulator, the database and a built sync; `cycle()` runs one like `syncd sync`."""

    def __init__(
        self, engine: Engine, db_url: str, app: Any, base_url: str, profile: Path | None = None
    ) -> None:
        self.engine = engine
        self.db_url = db_url
        self.app = app
        self.base_url = base_url
        self.profile = profile
        self._services: list[SyncService] = []

    @property
    def store(self) -> Any:
        return self.app.state.emulator.store

    @property
    def stats(self) -> Any:
        return self.app.state.emulator.stats

    def settings(self, **sor: Any) -> Settings:
        if self.profile is not None:
            sor.setdefault("profile", self.profile)
        return Settings(
            database_url=self.db_url,
            livevox=LiveVoxSettings(base_url=self.base_url, retry_deadline_seconds=5),
            sor=SorSettings(**sor),
        )

    def build(self, **sor: Any) -> SyncService:
        overrides = sor.pop("deps", {})
        service = build_sync(self.settings(**sor), **overrides)
        self._services.append(service)
        return service

    def close(self) -> None:
        for service in self._services:
            service.close()

    # --- data ---------------------------------------------------------------------------------

    def seed_sor_from_mirror(self) -> None:
        """The SoR starts as a copy of what LiveVox holds (a typical first deployment)."""
        cols = ", ".join(SOR_COLUMNS)
        self.sql(f"INSERT INTO sor.contacts ({cols}) SELECT {cols} FROM livevox.contacts")

    def sql(self, statement: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(statement), params)

    def rows(self, statement: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(statement), params).all())

    def scalar(self, statement: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(statement), params).scalar()

    def sor(self, account: str, column: str) -> Any:
        return self.scalar(f"SELECT {column} FROM sor.contacts WHERE account = :a", a=account)

    def lv(self, account: str) -> dict[str, Any]:
        record = self.store.get(account)
        assert record is not None, f"{account} is not in the emulator"
        return dict(record)


@pytest.fixture
def harness_factory(
    engine: Engine, fresh_db: FreshDatabase
) -> Iterator[Callable[..., SyncHarness]]:
    servers: list[ServerThread] = []
    harnesses: list[SyncHarness] = []

    def make(contacts: int = 40, seed: int = 7, profile: Path | None = None) -> SyncHarness:
        app = create_app(EmulatorConfig(contacts=contacts, seed=seed))
        server = ServerThread(app).start()
        servers.append(server)
        harness = SyncHarness(engine, fresh_db.url, app, server.base_url, profile)
        harnesses.append(harness)
        return harness

    try:
        yield make
    finally:
        for harness in harnesses:
            harness.close()
        for server in servers:
            server.stop()


def cycle(service: SyncService, **request: Any) -> CycleResult:
    """Run one cycle and fail the test on a failed one."""
    result = service.run_cycle(CycleRequest(**request))
    assert result.status.value != "failed", result.messages
    return result


def converge(service: SyncService, rounds: int = 2) -> CycleResult:
    result = cycle(service)
    for _ in range(rounds - 1):
        result = cycle(service)
    return result


def started(harness: SyncHarness, **sor: Any) -> SyncService:
    """A harness whose SoR mirrors LiveVox and whose base is agreed (two cycles)."""
    service = harness.build(**sor)
    cycle(service, kind=CycleKind.FULL)
    harness.seed_sor_from_mirror()
    first = cycle(service)
    assert first.counts["creates"] == first.counts["updates"] == 0
    return service
