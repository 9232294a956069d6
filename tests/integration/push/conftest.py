"""Fixtures for the pusher: a migrated database whose mirror is loaded from an emulator served
over real HTTP, and the real client, whose transport records every request it sends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.livevox import LiveVoxClient
from syncd.service.pull import PullService
from syncd.settings import SyncSettings
from syncd.store.engine import create_engine_for
from syncd.store.migrate import upgrade
from tests.conftest import FreshDatabase
from tests.integration.push.helpers import CONTACTS, Emulator, RecordingTransport, client_config


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    app = create_app(EmulatorConfig(contacts=CONTACTS, seed=11))
    with ServerThread(app) as server:
        yield Emulator(app, server.base_url)


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def client(emulator: Emulator, transport: RecordingTransport) -> Iterator[LiveVoxClient]:
    with LiveVoxClient(client_config(emulator.base_url), transport=transport) as lv:
        yield lv


@pytest.fixture
def engine(fresh_db: FreshDatabase) -> Iterator[Engine]:
    eng = create_engine_for(fresh_db.url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def mirror(engine: Engine, client: LiveVoxClient, emulator: Emulator) -> Engine:
    """The engine, with the mirror loaded from the emulator; request stats start at zero."""
    PullService(engine, client).pull_full()
    emulator.reset_stats()
    return engine


@pytest.fixture
def settings() -> SyncSettings:
    return SyncSettings()
