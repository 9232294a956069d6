"""The spec's DND transition table, cell by cell, on every endpoint that takes a DND value.

The table (sent value x current status → result) is transcribed once below, as the spec
prints it under Update Contact, Update Contact DND and Update Multiple Contacts' DND. For
each endpoint (update, single DND, multi DND, bulk update), each target (the account block
and phone 1's block) and each of the 24 cells, the test puts the contact into the current
status through the control route (an agent's edit), sends the value, and reads the result
back twice: through Read Contact (`accountBlock` / the phone's `phoneBlock`) and as the two
stored bits (permanent, daily) of the control route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.contract.conftest import Emulator, LiveVoxApi, message_count

# Transcribed from the spec (rows: sent value; columns: current status).
SPEC_TABLE = """
                DAILY      PERMANENT  NONE       BOTH
DAILY           DAILY      BOTH       DAILY      BOTH
PERMANENT       BOTH       PERMANENT  PERMANENT  BOTH
NONE            NONE       NONE       NONE       NONE
BOTH            BOTH       BOTH       BOTH       BOTH
DAILY_OFF       NONE       PERMANENT  NONE       PERMANENT
PERMANENT_OFF   DAILY      NONE       NONE       DAILY
"""


def parse_table(text: str) -> dict[tuple[str, str], str]:
    rows = [line.split() for line in text.strip().splitlines()]
    columns = rows[0]
    return {
        (row[0], current): result
        for row in rows[1:]
        for current, result in zip(columns, row[1:], strict=True)
    }


TABLE = parse_table(SPEC_TABLE)
STATUSES = ("DAILY", "PERMANENT", "NONE", "BOTH")
SENT_VALUES = ("DAILY", "PERMANENT", "NONE", "BOTH", "DAILY_OFF", "PERMANENT_OFF")
BITS = {  # status -> (permanent, daily)
    "NONE": (False, False),
    "DAILY": (False, True),
    "PERMANENT": (True, False),
    "BOTH": (True, True),
}
PHONE = "6175550101"


def test_the_transcribed_table_is_complete_and_reads_as_two_independent_bits() -> None:
    """A transcription check: each action sets or clears the permanent and daily bits."""
    assert len(TABLE) == 24
    effect = {  # sent -> (permanent, daily): True set, False clear, None keep
        "DAILY": (None, True),
        "PERMANENT": (True, None),
        "NONE": (False, False),
        "BOTH": (True, True),
        "DAILY_OFF": (None, False),
        "PERMANENT_OFF": (False, None),
    }
    by_bits = {bits: status for status, bits in BITS.items()}
    for (sent, current), result in TABLE.items():
        permanent, daily = BITS[current]
        set_permanent, set_daily = effect[sent]
        permanent = permanent if set_permanent is None else set_permanent
        daily = daily if set_daily is None else set_daily
        assert by_bits[(permanent, daily)] == result, (sent, current)


# -- the four endpoints, as (api, account, sent) -> response, for each target ------------------


def _phone_entry(sent: str) -> dict[str, Any]:
    return {"phone": PHONE, "ordinal": 1, "phoneBlock": sent}


def update_account(api: LiveVoxApi, account: str, sent: str) -> httpx.Response:
    return api.put(
        f"/contact/contacts/{account}", json={"updateContactDetails": {"accountBlock": sent}}
    )


def update_phone(api: LiveVoxApi, account: str, sent: str) -> httpx.Response:
    return api.put(
        f"/contact/contacts/{account}",
        json={"updateContactDetails": {"phone": [_phone_entry(sent)]}},
    )


def single_dnd_account(api: LiveVoxApi, account: str, sent: str) -> httpx.Response:
    # The single-DND body table lists accountBlock after the phone keys; the multi-DND
    # example shows it beside `updateContactDND`, so we send it at the top level here too.
    return api.put(f"/contact/contacts/{account}/dnd", json={"accountBlock": sent})


def single_dnd_phone(api: LiveVoxApi, account: str, sent: str) -> httpx.Response:
    return api.put(
        f"/contact/contacts/{account}/dnd", json={"updateContactDND": [_phone_entry(sent)]}
    )


def multi_dnd_account(api: LiveVoxApi, account: str, sent: str) -> httpx.Response:
    return api.post(
        "/contact/contacts/dnd", json={"contactDnd": [{"account": account, "accountBlock": sent}]}
    )


def multi_dnd_phone(api: LiveVoxApi, account: str, sent: str) -> httpx.Response:
    return api.post(
        "/contact/contacts/dnd",
        json={"contactDnd": [{"account": account, "updateContactDND": [_phone_entry(sent)]}]},
    )


def bulk_update_account(api: LiveVoxApi, account: str, sent: str) -> httpx.Response:
    return api.put(
        "/contact/contacts/bulk",
        json={"updateContactDetails": [{"account": account, "accountBlock": sent}]},
    )


def bulk_update_phone(api: LiveVoxApi, account: str, sent: str) -> httpx.Response:
    return api.put(
        "/contact/contacts/bulk",
        json={"updateContactDetails": [{"account": account, "phone": [_phone_entry(sent)]}]},
    )


Send = Callable[[LiveVoxApi, str, str], httpx.Response]


def _expect_no_content(response: httpx.Response) -> None:
    assert response.status_code == 204, (response.status_code, response.text)


def _expect_updated_one(response: httpx.Response) -> None:
    assert response.status_code == 200, (response.status_code, response.text)
    assert response.json() == {"updated": 1}


def _expect_bulk_one(response: httpx.Response) -> None:
    assert response.status_code == 200, (response.status_code, response.text)
    assert message_count(response.json()) == 1


@dataclass(frozen=True)
class Endpoint:
    name: str
    account: Send
    phone: Send
    expect: Callable[[httpx.Response], None]


ENDPOINTS = (
    Endpoint("update", update_account, update_phone, _expect_no_content),
    Endpoint("single-dnd", single_dnd_account, single_dnd_phone, _expect_no_content),
    Endpoint("multi-dnd", multi_dnd_account, multi_dnd_phone, _expect_updated_one),
    Endpoint("bulk-update", bulk_update_account, bulk_update_phone, _expect_bulk_one),
)
TARGETS = ("account", "phone1")


def _account_for(endpoint: Endpoint, target: str) -> str:
    return f"DND-{endpoint.name}-{target}"


@pytest.fixture(scope="module")
def dnd_contacts(emulator: Emulator, admin: LiveVoxApi) -> Emulator:
    for endpoint in ENDPOINTS:
        for target in TARGETS:
            admin.recreate_contact(
                {
                    "account": _account_for(endpoint, target),
                    "phone": [{"phone": PHONE, "ordinal": 1}],
                }
            )
    return emulator


def _control_keys(target: str) -> tuple[str, str]:
    return (
        ("accountBlock", "accountBlockDaily")
        if target == "account"
        else (
            "phone1Block",
            "phone1BlockDaily",
        )
    )


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("sent", SENT_VALUES)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_dnd_transition(
    endpoint: Endpoint,
    target: str,
    sent: str,
    current: str,
    dnd_contacts: Emulator,
    admin: LiveVoxApi,
) -> None:
    account = _account_for(endpoint, target)
    permanent_key, daily_key = _control_keys(target)
    permanent, daily = BITS[current]
    dnd_contacts.control.agent_edit(account, {permanent_key: permanent, daily_key: daily})
    before = dnd_contacts.control.record(account)
    assert before is not None and (before[permanent_key], before[daily_key]) == BITS[current]

    send = endpoint.account if target == "account" else endpoint.phone
    endpoint.expect(send(admin, account, sent))

    expected = TABLE[(sent, current)]
    contact = admin.read_contact(account)
    if target == "account":
        shown = contact["accountBlock"]
    else:
        shown = {p["ordinal"]: p for p in contact["phone"]}[1]["phoneBlock"]
    after = dnd_contacts.control.record(account)
    assert after is not None
    stored = (after[permanent_key], after[daily_key])
    assert (shown, stored) == (expected, BITS[expected]), (
        f"{sent} on {current} via {endpoint.name}: spec says {expected}, "
        f"read contact shows {shown}, stored bits (permanent, daily) {stored}"
    )
    # The other block is untouched by a value aimed at this one.
    other_permanent, other_daily = _control_keys("phone1" if target == "account" else "account")
    assert (after[other_permanent], after[other_daily]) == (
        before[other_permanent],
        before[other_daily],
    )
