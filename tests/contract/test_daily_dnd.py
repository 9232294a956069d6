"""Daily Do-Not-Dial lasts "for the entire day" and is gone after the day boundary.

The spec: DAILY "blocks any dialing to this account for the entire day (Daily Do Not
Dial)". DESIGN.md infers that LiveVox clears it at the end of the client's day; the emulator
does so at `day_boundary_hour` (UTC, default 0) of its clock. The test moves the clock to a
minute before the boundary (still blocked), then past it (daily bits cleared, permanent bits
kept), and checks that an incremental export from the boundary sees the cleared contacts
(our choice: the clear is a change like any other, so a mirror cannot keep a stale flag).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.contract.conftest import Emulator, LiveVoxApi, as_datetime

PHONE = "6175550155"
START = {  # account -> (accountBlock sent at create, phone 1's phoneBlock sent at create)
    "DAY-both": ("BOTH", "DAILY"),
    "DAY-daily": ("DAILY", "BOTH"),
    "DAY-permanent": ("PERMANENT", "PERMANENT"),
}
AFTER_BOUNDARY = {
    "DAY-both": ("PERMANENT", "NONE"),
    "DAY-daily": ("NONE", "PERMANENT"),
    "DAY-permanent": ("PERMANENT", "PERMANENT"),
}


@pytest.fixture(scope="module")
def emulator_config() -> dict[str, Any]:
    return {"contacts": 5, "seed": 5, "day_boundary_hour": 0}


def _blocks(api: LiveVoxApi, account: str) -> tuple[str, str]:
    contact = api.read_contact(account)
    phone = {p["ordinal"]: p for p in contact["phone"]}[1]
    return contact["accountBlock"], phone["phoneBlock"]


def _emulator_now(emulator: Emulator, admin: LiveVoxApi) -> datetime:
    admin.recreate_contact({"account": "DAY-probe"})
    record = emulator.control.record("DAY-probe")
    assert record is not None
    return as_datetime(record["modifyDate"])


def _next_boundary(now: datetime) -> datetime:
    return datetime(now.year, now.month, now.day, tzinfo=now.tzinfo) + timedelta(days=1)


def test_daily_dnd_clears_at_the_day_boundary(emulator: Emulator, admin: LiveVoxApi) -> None:
    now = _emulator_now(emulator, admin)
    if _next_boundary(now) - now < timedelta(minutes=10):  # too close to midnight: skip it
        emulator.control.advance_clock(15 * 60)
    for account, (account_block, phone_block) in START.items():
        admin.recreate_contact(
            {
                "account": account,
                "accountBlock": account_block,
                "phone": [{"phone": PHONE, "ordinal": 1, "phoneBlock": phone_block}],
            }
        )
    now = _emulator_now(emulator, admin)
    boundary = _next_boundary(now)

    emulator.control.advance_clock((boundary - now).total_seconds() - 60)
    emulator.relogin_all()
    for account, blocks in START.items():
        assert _blocks(admin, account) == blocks, f"{account} a minute before the boundary"

    emulator.control.advance_clock(120)
    for account, blocks in AFTER_BOUNDARY.items():
        assert _blocks(admin, account) == blocks, f"{account} after the boundary"

    text = admin.export_csv(
        {
            "exportableFields": ["account", "accountBlockDaily", "phone1BlockDaily"],
            "startDate": boundary.date().isoformat(),
        }
    )
    rows = {row[0]: row[1:] for row in list(csv.reader(io.StringIO(text)))[1:]}
    assert rows.get("DAY-both") == ["false", "false"]
    assert rows.get("DAY-daily") == ["false", "false"]
    assert "DAY-permanent" not in rows  # nothing of it changed at the boundary
