"""The pull against the emulator over real HTTP, through the real client (gzip export)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.livevox import ClientConfig, ExportTruncatedError, LiveVoxClient
from syncd.service.pull import PullService

CONTACTS = 300


@pytest.fixture
def emulator() -> Iterator[tuple[Any, str]]:
    app = create_app(EmulatorConfig(contacts=CONTACTS, seed=11))
    with ServerThread(app) as server:
        yield app, server.base_url


@pytest.fixture
def client(emulator: tuple[Any, str]) -> Iterator[LiveVoxClient]:
    _, base_url = emulator
    config = ClientConfig(
        base_url=base_url,
        access_token="demo-token",
        client_name="demo",
        username="admin",
        password="admin",
        retry_deadline=5,
        backoff_base=0.01,
    )
    with LiveVoxClient(config) as lv:
        yield lv


def _scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


def test_emulator_export_lands_in_the_mirror_and_increments_pick_up_edits(
    engine: Engine, emulator: tuple[Any, str], client: LiveVoxClient
) -> None:
    app, _ = emulator
    service = PullService(engine, client)
    reference = service.pull_reference(client)
    assert reference.custom_fields > 0 and reference.groups > 0

    full = service.pull_full()
    assert (full.result.rows_seen, full.result.inserted, full.result.rejected) == (
        CONTACTS,
        CONTACTS,
        0,
    )
    assert _scalar(engine, "SELECT count(*) FROM livevox.contacts") == CONTACTS
    assert _scalar(engine, "SELECT count(*) FROM livevox.contact_phones") >= CONTACTS
    assert full.watermark is not None

    store = app.state.emulator.store
    store.agent_edit("ACC0000007", {"accountBlock": True, "firstName": "Edited"})
    store.agent_edit("ACC0000042", {"phone1Block": True})
    incremental = service.pull_incremental()
    assert incremental.result.updated == 2
    assert incremental.result.inserted == incremental.result.rejected == 0
    edited = _scalar(
        engine,
        "SELECT array_agg(account ORDER BY account) FROM livevox.contacts "
        f"WHERE run_id = {incremental.run_id}",
    )
    assert edited == ["ACC0000007", "ACC0000042"]
    assert _scalar(
        engine, "SELECT account_block FROM livevox.contacts WHERE account = 'ACC0000007'"
    )
    assert _scalar(
        engine,
        "SELECT dnd FROM livevox.contact_phones WHERE account = 'ACC0000042' AND ordinal = 1",
    )
    assert _scalar(engine, "SELECT count(*) FROM livevox.contact_history") == 2

    again = service.pull_incremental()  # the lookback re-reads the edits: nothing new
    assert (again.result.updated, again.result.inserted) == (0, 0)


def test_a_cut_export_rolls_back_and_keeps_the_watermark(
    engine: Engine, emulator: tuple[Any, str], client: LiveVoxClient
) -> None:
    app, _ = emulator
    service = PullService(engine, client)
    first = service.pull_full()
    app.state.emulator.store.agent_edit("ACC0000003", {"firstName": "Lost"})
    app.state.emulator.faults.configure("cut_export=1,cut_export_after=3000")
    with pytest.raises(ExportTruncatedError):
        service.pull_full()
    assert _scalar(engine, "SELECT value FROM syncd.watermarks") == first.watermark
    assert (
        _scalar(engine, "SELECT first_name FROM livevox.contacts WHERE account = 'ACC0000003'")
        != "Lost"
    )
    app.state.emulator.faults.clear()
    assert service.pull_incremental().result.updated == 1
