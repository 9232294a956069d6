"""A million generated contacts cost no memory until they change, and stay addressable."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable

from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.payloads import ContactPatch

from .conftest import START, RunningEmulator


def test_a_million_contacts_use_memory_only_for_changes() -> None:
    tracemalloc.start()
    try:
        app = create_app(EmulatorConfig(contacts=1_000_000, seed=9))
        store = app.state.emulator.store
        for n in range(1, 1001):
            store.update(f"ACC{n * 997:07d}", ContactPatch(values={"city": "Moved"}), "admin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 30 * 1024 * 1024
    assert store.count() == 1_000_000
    assert store.get("ACC1000000")["lvAccountId"] == 1_000_000_000 + 999_999
    assert store.get("ACC0000997")["city"] == "Moved"


def test_paging_and_incremental_export_stay_fast_at_a_million(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    emu = start_emulator(contacts=1_000_000, seed=9)
    admin = emu.login("admin")
    for account in ("ACC0999995", "ACC0999997"):
        assert admin.delete(f"/contact/contacts/{account}").status_code == 204
    admin.put(
        "/contact/contacts/ACC0500000", json={"updateContactDetails": {"city": "Changed"}}
    )

    tail = admin.get("/contact/contacts?count=10&offset=999990").json()
    began = time.perf_counter()
    export = admin.post(
        "/contact/contacts/bulk",
        json={"exportableFields": ["account", "city", "modifyDate"], "startDate": "2026-03-10"},
    )
    elapsed = time.perf_counter() - began

    # 999,998 live contacts: offset 999,990 holds the last eight
    assert [c["account"] for c in tail["listContactDetails"]] == [
        "ACC0999991", "ACC0999992", "ACC0999993", "ACC0999994", "ACC0999996", "ACC0999998",
        "ACC0999999", "ACC1000000",
    ]
    assert "next" not in tail
    stamp = START.strftime("%m/%d/%Y %H:%M:%S")
    assert export.text == f"Account,City,Modify Date\r\nACC0500000,Changed,{stamp}\r\n"
    assert elapsed < 2.0
