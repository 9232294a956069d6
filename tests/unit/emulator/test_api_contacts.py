"""The contact endpoints over HTTP: status codes, bodies, paging and the bulk counts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import START, RunningEmulator

START_MS = int(START.timestamp() * 1000)


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["code"], int) and body["message"]
    message: str = body["message"]
    return message


def create(client: httpx.Client, details: dict[str, Any]) -> httpx.Response:
    return client.post("/contact/contacts/", json={"createContactDetails": details})


def test_create_read_update_delete(emu: RunningEmulator, admin: httpx.Client) -> None:
    created = create(
        admin,
        {
            "account": "C-1",
            "person": {"firstName": "James", "dateOfBirth": 621057600000},
            "phone": [{"phone": "6503517500", "ordinal": 1, "phoneBlock": "DAILY"}],
            "customFields": [{"field": "COL1", "value": 123}],
            "balance": 100.0,
            "accountBlock": "PERMANENT",
        },
    )
    assert created.status_code == 201
    assert isinstance(created.json()["id"], str)
    assert create(admin, {"account": "C-1"}).json() == {
        "code": 202, "message": "Contact already exists!",
    }
    assert admin.post("/contact/contacts", json={"createContactDetails": {"account": "C-2"}}
                      ).status_code == 201

    read = admin.get("/contact/contacts/C-1").json()["readContactDetails"]
    assert read["account"] == "C-1" and read["person"]["firstName"] == "James"
    assert read["phone"] == [{"phone": "6503517500", "ordinal": 1, "phoneBlock": "DAILY",
                              "smsConsent": False, "cellConsent": False}]
    assert read["customFields"] == [{"field": "COL1", "value": "123"}]
    assert (read["balance"], read["accountBlock"], read["active"]) == (100.0, "PERMANENT", False)
    assert read["createdDate"] == read["modifiedDate"] == START_MS

    emu.clock.advance(60)
    update = {"updateContactDetails": {"accountBlock": "DAILY", "city": "Reno"}}
    assert admin.put("/contact/contacts/C-1", json=update).status_code == 204
    read = admin.get("/contact/contacts/C-1").json()["readContactDetails"]
    assert (read["accountBlock"], read["city"]) == ("BOTH", "Reno")
    assert read["modifiedDate"] == START_MS + 60_000
    record = emu.state.store.get("C-1")
    assert record is not None and record["modifyUser"] == "admin"

    assert admin.delete("/contact/contacts/C-1").status_code == 204
    assert "No Record Found" in error(admin.get("/contact/contacts/C-1"), 404)
    assert admin.delete("/contact/contacts/C-1").json()["code"] == 203
    assert admin.put("/contact/contacts/C-1", json=update).json()["code"] == 203


def test_update_rejects_invalid_values_with_a_reason(admin: httpx.Client) -> None:
    def put(details: dict[str, Any]) -> httpx.Response:
        return admin.put("/contact/contacts/ACC0000001", json={"updateContactDetails": details})

    assert "ordinal" in error(put({"phone": [{"phone": "6505551234", "ordinal": 12}]}), 400)
    assert "255" in error(put({"customFields": [{"field": "COL3", "value": "x" * 256}]}), 400)
    assert "accountBlock" in error(put({"accountBlock": "WEEKLY"}), 400)
    assert "does not match" in error(put({"account": "ACC0000002"}), 400)
    wrong_shape = admin.put("/contact/contacts/ACC0000001", json={"updateContactDetails": []})
    assert "expected an object" in error(wrong_shape, 400)
    malformed = admin.put(
        "/contact/contacts/ACC0000001",
        content=b'{"updateContactDetails": {"city": "x",}}',
        headers={"Content-Type": "application/json"},
    )
    assert "malformed JSON" in error(malformed, 400)


def test_list_pages_with_next_and_validates_count_and_offset(
    emu: RunningEmulator, admin: httpx.Client
) -> None:
    first = admin.get("/contact/contacts", params={"count": 10, "offset": 0}).json()
    last = admin.get("/contact/contacts", params={"count": 10, "offset": 20}).json()

    assert [c["account"] for c in first["listContactDetails"]][:2] == ["ACC0000001",
                                                                        "ACC0000002"]
    assert first["next"] == "contact/contacts?offset=10&count=10"
    assert len(last["listContactDetails"]) == 10 and "next" not in last
    assert set(first["listContactDetails"][0]) >= {
        "person", "guarantor", "phone", "account", "active", "balance", "accountBlock",
        "createDate", "modifyDate", "callAttemptsTotal", "dueDate", "groupId",
    }
    for query, name in (
        ("count=10", "offset"),
        ("offset=0", "count"),
        ("count=x&offset=0", "count"),
        ("count=10&offset=-1", "offset"),
        ("count=0&offset=0", "count"),
    ):
        assert name in error(admin.get(f"/contact/contacts?{query}"), 400)
    capped = admin.get("/contact/contacts", params={"count": 5000, "offset": 0}).json()
    assert len(capped["listContactDetails"]) == 30 and "next" not in capped


def test_count_above_1000_is_capped(admin: httpx.Client) -> None:
    rows = [{"account": f"B-{i}"} for i in range(1000)]
    assert admin.post("/contact/contacts/bulk", json={"createContactDetails": rows}).json() == {
        "message": "Successfully updated contacts 1000",
    }

    page = admin.get("/contact/contacts", params={"count": 2000, "offset": 0}).json()
    assert len(page["listContactDetails"]) == 1000
    assert page["next"] == "contact/contacts?offset=1000&count=1000"


def test_bulk_create_counts_only_applied_rows(admin: httpx.Client) -> None:
    rows = [
        {"account": "N-1", "person": {"firstName": "Joe"}},
        {"account": "N-2", "phone": [{"phone": "6505551234", "ordinal": 11}]},  # invalid
        {"account": "ACC0000001"},  # exists
        {"person": {"firstName": "no account"}},  # invalid
        {"account": "N-1"},  # duplicate within the request
        {"account": "N-3", "groupId": "83195", "agentId": "657530671"},
    ]

    response = admin.post(
        "/contact/contacts/bulk",
        json={"createContactDetails": rows},
        headers={"Accept-Encoding": "application/json"},
    )

    assert response.status_code == 200
    assert response.json() == {"message": "Successfully updated contacts 2"}
    assert admin.get("/contact/contacts/N-3").json()["readContactDetails"]["groupId"] == 83195
    assert admin.get("/contact/contacts/N-2").status_code == 404


def test_bulk_update_addresses_rows_by_id_or_account(admin: httpx.Client) -> None:
    lv_id = admin.post(
        "/contact/contacts/search?count=1&offset=0",
        json={"search": {"field": "account", "criteria": "ACC0000002", "condition": "EQUALS"}},
    ).json()["findMatchingContactsDetails"][0]["id"]
    rows = [
        {"account": "ACC0000001", "city": "One"},
        {"id": lv_id, "city": "Two"},
        {"id": lv_id, "account": "ACC0000002", "city": "Two again"},
        {"id": lv_id, "account": "ACC0000003", "city": "mismatch"},  # skipped
        {"account": "NOPE", "city": "unknown"},  # skipped
        {"account": "ACC0000004", "balance": "lots"},  # invalid, skipped
        {"city": "no address"},  # skipped
    ]

    response = admin.put("/contact/contacts/bulk", json={"updateContactDetails": rows})

    assert response.status_code == 200
    assert response.json() == {"message": "Successfully updated contacts 3"}
    cities = [
        admin.get(f"/contact/contacts/ACC000000{n}").json()["readContactDetails"]["city"]
        for n in (1, 2, 3)
    ]
    assert cities[:2] == ["One", "Two again"] and cities[2] != "mismatch"


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("POST", {"something": []}),
        ("POST", {"createContactDetails": {"account": "x"}}),
        ("POST", {"createContactDetails": [], "exportableFields": ["account"]}),
        ("PUT", {"updateContactDetails": {"account": "x"}}),
        ("PUT", []),
    ],
)
def test_bulk_bodies_of_the_wrong_shape_are_400(
    admin: httpx.Client, method: str, body: Any
) -> None:
    error(admin.request(method, "/contact/contacts/bulk", json=body), 400)


def test_single_dnd(admin: httpx.Client, emu: RunningEmulator) -> None:
    record = emu.state.store.get("ACC0000005")
    assert record is not None
    number = record["phone1"]

    ok = admin.put(
        "/contact/contacts/ACC0000005/dnd",
        json={
            "updateContactDND": [
                {"phone": number, "ordinal": 1, "phoneBlock": "BOTH", "smsConsent": True},
                {"phone": "6505550000", "ordinal": "10", "phoneBlock": "DAILY"},
            ],
            "accountBlock": "DAILY",
        },
    )
    assert ok.status_code == 204
    after = emu.state.store.get("ACC0000005")
    assert after is not None
    assert (after["phone1Block"], after["phone1BlockDaily"], after["phone1SmsConsent"]) == (
        True, True, True,
    )
    assert (after["phone10"], after["phone10BlockDaily"], after["accountBlockDaily"]) == (
        "6505550000", True, True,
    )
    mismatch = {"updateContactDND": [{"phone": "6505559999", "ordinal": 1, "phoneBlock": "NONE"}]}
    assert "ordinal 1" in error(admin.put("/contact/contacts/ACC0000005/dnd", json=mismatch), 400)
    missing = admin.put("/contact/contacts/5555555/dnd", json=mismatch)
    assert missing.status_code == 404
    assert missing.json() == {"code": 203, "message": "No Record Found"}


def test_multi_dnd_counts_existing_contacts_updated(
    admin: httpx.Client, emu: RunningEmulator
) -> None:
    phone = emu.state.store.get("ACC0000006")["phone1"]  # type: ignore[index]
    body = {
        "contactDnd": [
            {"account": "ACC0000006", "accountBlock": "DAILY",
             "updateContactDND": [{"phone": phone, "ordinal": "1", "phoneBlock": "PERMANENT"}]},
            {"account": "ACC0000007", "accountBlock": "NONE"},
            {"account": "nyts0", "accountBlock": "NONE"},
            {"account": "ACC0000008",
             "updateContactDND": [{"phone": "6505559999", "ordinal": "1", "phoneBlock": "BOTH"}]},
        ]
    }

    response = admin.post("/contact/contacts/dnd", json=body)

    assert response.status_code == 200 and response.json() == {"updated": 2}
    after = emu.state.store.get("ACC0000006")
    assert after is not None and after["accountBlockDaily"] and after["phone1Block"]
    assert error(admin.post("/contact/contacts/dnd", json={"contactDnd": [
        {"account": "ACC0000006", "accountBlock": "SOMETIMES"}]}), 400)


def test_search_wiring(admin: httpx.Client) -> None:
    tree = {"field": "account", "criteria": "ACC00000", "condition": "STARTS_WITH"}

    first = admin.post("/contact/contacts/search?offset=0&count=5", json={"search": tree}).json()
    assert len(first["findMatchingContactsDetails"]) == 5
    assert first["next"] == "/contact/contacts/search?offset=5&count=5"
    item = first["findMatchingContactsDetails"][0]
    assert [p["ordinal"] for p in item["phone"]] == list(range(1, 11))
    assert {"id", "account", "active", "accountBlock", "createdDate", "modifiedDate"} <= set(item)

    by_desc = admin.post(
        "/contact/contacts/search?offset=0&count=3",
        json={"search": tree, "sort": [{"field": "ACCOUNT", "order": "DESC"}]},
    ).json()["findMatchingContactsDetails"]
    assert [c["account"] for c in by_desc] == ["ACC0000030", "ACC0000029", "ACC0000028"]
    last = admin.post("/contact/contacts/search?offset=28&count=5", json={"search": tree}).json()
    assert len(last["findMatchingContactsDetails"]) == 2 and "next" not in last

    bad_tree = {"search": {"field": "account", "criteria": "1", "condition": "SOUNDS_LIKE"}}
    error(admin.post("/contact/contacts/search?offset=0&count=5", json=bad_tree), 400)
    error(admin.post("/contact/contacts/search?offset=0&count=5", json={"sort": []}), 400)
    error(admin.post("/contact/contacts/search?count=5", json={"search": tree}), 400)


def test_accounts_of_a_contact(admin: httpx.Client, emu: RunningEmulator) -> None:
    generator = emu.state.store.generator
    index = next(i for i in range(30) if len(generator.accounts(i)) == 3)
    contact_id = generator.lv_id(index)

    page = admin.get(f"/contact/contacts/{contact_id}/accounts?offset=0&count=2").json()
    rest = admin.post(f"/contact/contacts/{contact_id}/accounts?offset=2&count=2").json()

    names = [a["name"] for a in page["listAccount"] + rest["listAccount"]]
    assert names == sorted(names) and len(names) == 3
    assert page["next"] == f"contact/contacts/{contact_id}/accounts?offset=2&count=2"
    assert "next" not in rest
    assert admin.get("/contact/contacts/42/accounts?offset=0&count=2").status_code == 404
    error(admin.get(f"/contact/contacts/{contact_id}/accounts"), 400)


def test_fixed_segments_are_not_taken_for_accounts(admin: httpx.Client) -> None:
    assert "customFields" in admin.get("/contact/contacts/customFields").json()
    assert admin.put("/contact/contacts/customFields", json={"customFields": []}).status_code == 204
    read = admin.get("/contact/contacts/customFields/COL1").json()
    assert read["label"] == "Company"
