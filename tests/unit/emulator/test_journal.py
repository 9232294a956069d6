"""The mutation journal: applied changes only, with the request that made them."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from syncd.emulator.journal import Journal

from .conftest import START, RunningEmulator


def _entries(control: httpx.Client, after: int = 0) -> list[dict[str, object]]:
    body = control.get("/_emulator/journal", params={"after": after}).json()
    entries: list[dict[str, object]] = body["entries"]
    return entries


def test_journal_lists_applied_changes_and_not_replays(emu: RunningEmulator) -> None:
    admin = emu.login("admin")
    control = emu.http()
    update = {"updateContactDetails": [{"account": "ACC0000001", "city": "Journal"}]}
    create = {"createContactDetails": [{"account": "NEW1", "city": "New"}]}

    admin.put("/contact/contacts/bulk", json=update, headers={"X-Request-Id": "req-1"})
    admin.put("/contact/contacts/bulk", json=update, headers={"X-Request-Id": "req-1"})  # replay
    admin.post("/contact/contacts/bulk", json=create)
    admin.post("/contact/contacts/bulk", json=create)  # "already exists": skipped
    control.post("/_emulator/contacts/ACC0000002/agent-edit", json={"accountBlock": True})
    admin.delete("/contact/contacts/NEW1")

    entries = _entries(control)
    assert [(e["op"], e["account"], e["field"]) for e in entries] == [
        ("update", "ACC0000001", "city"),
        ("create", "NEW1", None),
        ("update", "ACC0000002", "accountBlock"),
        ("delete", "NEW1", None),
    ]
    first = entries[0]
    assert first["new"] == "Journal" and first["old"] != "Journal"
    assert first["user"] == "admin" and first["request_id"] == "req-1"
    assert first["route"] == "PUT /contact/contacts/bulk"
    assert first["at"] == START.isoformat()
    assert entries[2]["user"] == "agent" and entries[2]["old"] is False
    assert [e["seq"] for e in _entries(control, after=int(str(entries[1]["seq"])))] == [
        entries[2]["seq"],
        entries[3]["seq"],
    ]


def test_the_journal_is_bounded_and_counts_what_fell_off() -> None:
    journal = Journal(max_entries=2)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(3):
        journal.record_put(at, {"account": "A", "x": n}, {"account": "A", "x": n + 1})

    assert [m.new for m in journal.entries()] == [2, 3]
    assert journal.dropped == 1 and journal.last_seq == 3
    journal.clear()
    assert journal.entries() == [] and journal.last_seq == 3
