"""The contact store: overlay over generated contacts, paging, daily DND, agent edits."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from syncd.emulator.clock import ManualClock
from syncd.emulator.dnd import DndAction
from syncd.emulator.errors import ContactExists, ContactNotFound, InvalidValue, PhoneMismatch
from syncd.emulator.fields import load_fields
from syncd.emulator.generator import ContactGenerator
from syncd.emulator.payloads import ContactPatch, PhonePatch
from syncd.emulator.store import CREATED_ID_BASE, ContactStore

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def make_store(count: int = 20, boundary_hour: int = 0) -> tuple[ContactStore, ManualClock]:
    clock = ManualClock(START)
    generator = ContactGenerator(
        seed=2,
        count=count,
        account_prefix="ACC",
        client_id=1001,
        history_end=datetime(2025, 1, 1, tzinfo=UTC),
    )
    return ContactStore(generator, load_fields(), clock, day_boundary_hour=boundary_hour), clock


def test_records_are_full_and_fresh_copies() -> None:
    store, _ = make_store()

    record = store.get("ACC0000003")
    assert record is not None and set(record) == set(load_fields().keys)
    record["firstName"] = "Mallory"
    assert store.get("ACC0000003")["firstName"] != "Mallory"  # type: ignore[index]
    assert store.get("ACC0000021") is None


def test_update_stamps_only_real_changes() -> None:
    store, clock = make_store()
    before = store.get("ACC0000001")
    assert before is not None

    clock.advance(1.2345)
    changed = store.update("ACC0000001", ContactPatch(values={"city": "Reno"}), "admin")
    after = store.get("ACC0000001")
    assert changed and after is not None
    assert after["city"] == "Reno"
    assert after["modifyDate"] == START + timedelta(seconds=1.234)  # kept to the millisecond
    assert after["modifyUser"] == "admin"
    assert after["createDate"] == before["createDate"]

    clock.advance(60)
    assert not store.update("ACC0000001", ContactPatch(values={"city": "Reno"}), "other")
    assert store.get("ACC0000001") == after


def test_create_delete_and_recreate() -> None:
    store, _ = make_store()
    patch = ContactPatch(values={"firstName": "Ann"})

    created = store.create("NEW-1", patch, "superuser")
    assert created["lvAccountId"] == CREATED_ID_BASE
    assert created["createUser"] == created["modifyUser"] == "superuser"
    assert created["active"] is False  # absent "active" defaults to false
    with pytest.raises(ContactExists):
        store.create("NEW-1", patch, "superuser")
    with pytest.raises(ContactExists):
        store.create("ACC0000002", patch, "superuser")

    store.delete("ACC0000002")
    assert store.get("ACC0000002") is None
    with pytest.raises(ContactNotFound):
        store.delete("ACC0000002")
    again = store.create("ACC0000002", patch, "admin")  # a deleted account can come back
    assert again["lvAccountId"] == CREATED_ID_BASE + 1
    assert store.get_by_id(CREATED_ID_BASE + 1)["account"] == "ACC0000002"  # type: ignore[index]
    assert store.count() == 20 - 1 + 2


def test_paging_skips_deleted_and_ends_with_created() -> None:
    store, _ = make_store(count=10)
    for account in ("ACC0000001", "ACC0000004", "ACC0000005", "ACC0000010"):
        store.delete(account)
    store.create("Z1", ContactPatch(), "admin")
    store.create("Z2", ContactPatch(), "admin")

    accounts: list[str] = []
    offset, more = 0, True
    while more:
        page, more = store.page(offset, 3)
        accounts += [r["account"] for r in page]
        offset += 3
    assert accounts == [
        "ACC0000002", "ACC0000003", "ACC0000006", "ACC0000007", "ACC0000008", "ACC0000009",
        "Z1", "Z2",
    ]
    assert store.page(7, 5) == ([store.get("Z2")], False)
    assert store.page(8, 5) == ([], False)


def test_resolve_by_id_account_or_both() -> None:
    store, _ = make_store()
    lv_id = store.get("ACC0000005")["lvAccountId"]  # type: ignore[index]

    assert store.resolve(lv_id=lv_id) == "ACC0000005"
    assert store.resolve(account="ACC0000005") == "ACC0000005"
    assert store.resolve(account="ACC0000005", lv_id=lv_id) == "ACC0000005"
    assert store.resolve(account="ACC0000006", lv_id=lv_id) is None
    assert store.resolve(lv_id=1) is None


def test_dnd_patch_moves_state_by_the_table_and_checks_numbers() -> None:
    store, _ = make_store()
    record = store.get("ACC0000001")
    assert record is not None
    number = record["phone1"]

    store.update(
        "ACC0000001",
        ContactPatch(
            account_block=DndAction.PERMANENT,
            phones=[PhonePatch(ordinal=1, phone=number, block=DndAction.DAILY)],
        ),
        "admin",
        match_phones=True,
    )
    store.update(
        "ACC0000001",
        ContactPatch(account_block=DndAction.DAILY, phones=[PhonePatch(1, number, True)]),
        "admin",
        match_phones=True,
    )
    after = store.get("ACC0000001")
    assert after is not None
    assert (after["accountBlock"], after["accountBlockDaily"]) == (True, True)  # BOTH
    assert after["phone1BlockDaily"] is True

    with pytest.raises(PhoneMismatch):
        store.update(
            "ACC0000001",
            ContactPatch(phones=[PhonePatch(1, "5550001111", block=DndAction.NONE)]),
            "admin",
            match_phones=True,
        )
    # an empty ordinal takes the number
    store.update(
        "ACC0000001",
        ContactPatch(phones=[PhonePatch(9, "5550001111", block=DndAction.PERMANENT)]),
        "admin",
        match_phones=True,
    )
    after = store.get("ACC0000001")
    assert after is not None and (after["phone9"], after["phone9Block"]) == ("5550001111", True)


def test_flags_on_an_empty_ordinal_need_a_number() -> None:
    store, _ = make_store()

    with pytest.raises(InvalidValue, match="no phone stored at ordinal 10"):
        store.update(
            "ACC0000001",
            ContactPatch(phones=[PhonePatch(10, block=DndAction.DAILY, where="phone[0]")]),
            "admin",
        )


def test_daily_dnd_clears_at_the_day_boundary() -> None:
    store, clock = make_store(boundary_hour=6)  # clock starts 12:00 UTC
    store.update("ACC0000001", ContactPatch(account_block=DndAction.BOTH), "admin")
    store.agent_edit("ACC0000002", {"phone1BlockDaily": True, "callAttemptsToday": 3})

    clock.set(START.replace(hour=23))  # same day: nothing clears
    assert store.get("ACC0000001")["accountBlockDaily"] is True  # type: ignore[index]

    clock.set(START + timedelta(days=2))  # two boundaries later, first access
    first = store.get("ACC0000001")
    second = store.get("ACC0000002")
    assert first is not None and second is not None
    boundary = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)
    assert (first["accountBlock"], first["accountBlockDaily"]) == (True, False)
    assert (first["modifyDate"], first["modifyUser"]) == (boundary, "SYSTEM")
    assert (second["phone1BlockDaily"], second["callAttemptsToday"]) == (False, 0)
    assert second["modifyDate"] == boundary


def test_agent_edit_sets_flat_fields_with_their_types() -> None:
    store, _ = make_store()

    record = store.agent_edit(
        "ACC0000004",
        {"accountBlock": "true", "balance": "12.5", "dueDate": "2026-04-01", "COL50": 7},
    )
    assert record["accountBlock"] is True
    assert record["balance"] == Decimal("12.50")
    assert record["dueDate"] == date(2026, 4, 1)
    assert record["COL50"] == "7"
    assert (record["modifyUser"], record["modifyDate"]) == ("agent", START)
    with pytest.raises(InvalidValue, match="unknown field"):
        store.agent_edit("ACC0000004", {"nickname": "x"})
    with pytest.raises(InvalidValue, match="cannot be edited"):
        store.agent_edit("ACC0000004", {"lvAccountId": 5})
    with pytest.raises(ContactNotFound):
        store.agent_edit("NOPE", {"city": "x"})


def test_snapshot_is_isolated_from_later_writes() -> None:
    store, _ = make_store(count=5)
    snapshot = store.snapshot()

    store.update("ACC0000001", ContactPatch(values={"city": "Later"}), "admin")
    store.delete("ACC0000002")
    store.create("NEW", ContactPatch(), "admin")

    records = list(snapshot.records())
    assert [r["account"] for r in records] == [f"ACC000000{i}" for i in range(1, 6)]
    assert records[0]["city"] != "Later"


def test_concurrent_writers_lose_nothing() -> None:
    store, _ = make_store(count=1)

    def create(prefix: str) -> None:
        for i in range(200):
            store.create(f"{prefix}-{i}", ContactPatch(), prefix)

    threads = [threading.Thread(target=create, args=(f"T{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count() == 1 + 800
    ids = {store.get(f"T{n}-{i}")["lvAccountId"] for n in range(4) for i in range(200)}  # type: ignore[index]
    assert len(ids) == 800
