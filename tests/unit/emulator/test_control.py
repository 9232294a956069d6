"""The /_emulator control routes: stats, faults, clock, records and agent edits."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from .conftest import START, RunningEmulator


def test_stats_count_by_method_route_and_status(emu: RunningEmulator) -> None:
    admin = emu.login("admin")
    control = emu.http()
    admin.get("/contact/contacts/ACC0000001")
    admin.get("/contact/contacts/ACC0000002")
    admin.get("/contact/contacts/NOPE")
    admin.get("/no/such/path")
    control.get("/_emulator/faults")

    stats = control.get("/_emulator/stats").json()

    rows = {(r["method"], r["route"], r["status"]): r["count"] for r in stats["requests"]}
    assert rows[("GET", "/contact/contacts/{account}", 200)] == 2
    assert rows[("GET", "/contact/contacts/{account}", 404)] == 1
    assert rows[("POST", "/session/login", 200)] == 1
    assert rows[("GET", "/_emulator/faults", 200)] == 1
    assert rows[("GET", "(unmatched)", 404)] == 1
    assert stats["total"] == 6
    assert control.post("/_emulator/stats/reset").status_code == 204
    assert emu.state.stats.total == 0


def test_fault_answers_are_counted_under_their_route(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    emu = start_emulator(contacts=2)
    admin = emu.login("admin")
    control = emu.http()

    put = control.put("/_emulator/faults", json={"spec": "rate_limit=1,retry_after=2"})
    assert put.json() == {"spec": "rate_limit=1,retry_after=2"}
    limited = admin.get("/contact/contacts/ACC0000001")
    assert control.get("/_emulator/faults").json()["spec"] == "rate_limit=1,retry_after=2"

    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert emu.state.stats.count(route="/contact/contacts/{account}", status=429) == 1
    bad = control.put("/_emulator/faults", json={"spec": "rate_limit=2"})
    assert bad.status_code == 400 and "rate_limit" in bad.json()["message"]
    control.put("/_emulator/faults", json={"spec": ""})
    assert admin.get("/contact/contacts/ACC0000001").status_code == 200


def test_clock_route_moves_the_emulator_clock(emu: RunningEmulator) -> None:
    control = emu.http()

    moved = control.post("/_emulator/clock", json={"advance_seconds": 90.5})

    assert moved.status_code == 200
    assert emu.clock.now() == START.replace(minute=1, second=30, microsecond=500_000)
    assert control.get("/_emulator/clock").json()["now"] == emu.clock.now().isoformat()
    assert control.post("/_emulator/clock", json={"advance_seconds": "soon"}).status_code == 400


def test_agent_edit_and_record_routes(emu: RunningEmulator) -> None:
    control = emu.http()

    edited = control.post(
        "/_emulator/contacts/ACC0000003/agent-edit",
        json={"accountBlock": True, "phone2Block": True, "balance": 12.5},
    )
    record = control.get("/_emulator/contacts/ACC0000003").json()

    assert edited.status_code == 200 and edited.json() == record
    assert record["accountBlock"] is True and record["phone2Block"] is True
    assert record["balance"] == "12.50"
    assert record["modifyUser"] == "agent" and record["modifyDate"] == START.isoformat()
    assert control.get("/_emulator/contacts/NOPE").status_code == 404
    assert control.post("/_emulator/contacts/NOPE/agent-edit", json={}).status_code == 404
    bad = control.post("/_emulator/contacts/ACC0000003/agent-edit", json={"colour": "red"})
    assert bad.status_code == 400 and "colour" in bad.json()["message"]


def test_daily_dnd_set_over_the_api_clears_at_the_boundary(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    emu = start_emulator(contacts=3, day_boundary_hour=5)
    admin = emu.login("admin")
    admin.put(
        "/contact/contacts/ACC0000002",
        json={"updateContactDetails": {"accountBlock": "DAILY"}},
    )
    control = emu.http()

    control.post("/_emulator/clock", json={"advance_seconds": 16 * 3600})  # 04:00 next day
    assert control.get("/_emulator/contacts/ACC0000002").json()["accountBlockDaily"] is True
    control.post("/_emulator/clock", json={"advance_seconds": 3600})  # 05:00
    record = control.get("/_emulator/contacts/ACC0000002").json()
    assert record["accountBlockDaily"] is False
    assert record["modifyDate"] == "2026-03-11T05:00:00+00:00"
    assert record["modifyUser"] == "SYSTEM"
    admin = emu.login("admin")
    export = admin.post(
        "/contact/contacts/bulk",
        json={"exportableFields": ["account", "modifyUser"], "startDate": "2026-03-11"},
    )
    assert export.text == "Account,Modify User\r\nACC0000002,SYSTEM\r\n"


def test_unknown_routes_answer_the_livevox_error_body(emu: RunningEmulator) -> None:
    client: httpx.Client = emu.http()

    response = client.get("/contact/nothing/here")

    assert response.status_code == 404
    assert response.json()["code"] == 404
