"""Documented behaviours beyond the examples: duplicates, not found, bulk counts, audit
fields (modifyDate / modifyUser) and the 400 answers for invalid input.

Where the spec shows a body (202 "Contact already exists!", 404 code 203 "No Record Found",
`{"updated": 0}`), the test holds the emulator to it; elsewhere to DESIGN.md's LiveVox error
body `{"code", "message"}`. A "clear message" is one that names what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.contract.conftest import (
    Emulator,
    LiveVoxApi,
    as_datetime,
    assert_error_body,
    message_count,
)

PHONE = "6175550123"


@pytest.fixture(scope="module")
def superuser(emulator: Emulator) -> LiveVoxApi:
    return emulator.api("Superuser")


def _contact(account: str, **extra: Any) -> dict[str, Any]:
    return {"account": account, "phone": [{"phone": PHONE, "ordinal": 1}], **extra}


# -- duplicates and not found ------------------------------------------------------------------


def test_creating_an_existing_account_is_202_already_exists(admin: LiveVoxApi) -> None:
    admin.recreate_contact(_contact("BEH-dup", city="Before"))
    response = admin.post(
        "/contact/contacts/", json={"createContactDetails": _contact("BEH-dup", city="After")}
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"code": 202, "message": "Contact already exists!"}
    assert admin.read_contact("BEH-dup")["city"] == "Before"  # nothing was overwritten


def test_create_without_trailing_slash(admin: LiveVoxApi) -> None:
    admin.ensure_absent("BEH-noslash")
    response = admin.post(
        "/contact/contacts", json={"createContactDetails": {"account": "BEH-noslash"}}
    )
    assert response.status_code == 201, response.text


def test_single_dnd_on_an_unknown_account_is_404_code_203(admin: LiveVoxApi) -> None:
    admin.ensure_absent("BEH-ghost")
    response = admin.put(
        "/contact/contacts/BEH-ghost/dnd",
        json={"updateContactDND": [{"phone": PHONE, "ordinal": 1, "phoneBlock": "DAILY"}]},
    )
    assert response.status_code == 404
    assert response.json() == {"code": 203, "message": "No Record Found"}


def test_updating_an_unknown_group_is_404_code_203(admin: LiveVoxApi) -> None:
    response = admin.put("/contact/contactGroups/987654321", json={"name": "Nobody"})
    body = assert_error_body(response, 404)
    assert body["code"] == 203
    assert "987654321" in body["message"]  # "Contact group with <id> not found"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/contact/contacts/BEH-ghost", None),
        ("PUT", "/contact/contacts/BEH-ghost", {"updateContactDetails": {"city": "X"}}),
        ("DELETE", "/contact/contacts/BEH-ghost", None),
        ("GET", "/contact/contactGroups/987654321", None),
        ("GET", "/contact/contacts/BEH-ghost/notes/", None),
        ("GET", "/contact/contacts/customFields/COL101", None),
    ],
    ids=["read", "update", "delete", "read-group", "notes-of-unknown", "custom-field-101"],
)
def test_unknown_things_are_404(
    admin: LiveVoxApi, method: str, path: str, body: dict[str, Any] | None
) -> None:
    admin.ensure_absent("BEH-ghost")
    response = admin.request(method, path, json=body)
    if path.endswith("COL101"):
        # A field name outside COL1..COL100: refused, as 400 or 404.
        assert response.status_code in (400, 404), response.text
        return
    assert_error_body(response, 404)


def test_reading_an_unknown_note_is_404(admin: LiveVoxApi, emulator: Emulator) -> None:
    admin.recreate_contact({"account": "BEH-nonotes"})
    assert_error_body(admin.get("/contact/contacts/BEH-nonotes/notes/999999999"), 404)


# -- multi DND counts --------------------------------------------------------------------------


def test_multi_dnd_counts_only_existing_accounts(admin: LiveVoxApi) -> None:
    admin.ensure_absent("BEH-ghost")
    admin.recreate_contact(_contact("BEH-real"))
    unknown_only = admin.post(
        "/contact/contacts/dnd",
        json={"contactDnd": [{"account": "BEH-ghost", "accountBlock": "PERMANENT"}]},
    )
    assert unknown_only.status_code == 200
    assert unknown_only.json() == {"updated": 0}
    mixed = admin.post(
        "/contact/contacts/dnd",
        json={
            "contactDnd": [
                {"account": "BEH-ghost", "accountBlock": "PERMANENT"},
                {"account": "BEH-real", "accountBlock": "PERMANENT"},
            ]
        },
    )
    assert mixed.status_code == 200
    assert mixed.json() == {"updated": 1}
    assert admin.read_contact("BEH-real")["accountBlock"] == "PERMANENT"
    assert admin.get("/contact/contacts/BEH-ghost").status_code == 404  # not created by DND


# -- bulk counts -------------------------------------------------------------------------------


def test_bulk_create_message_counts_created_rows(admin: LiveVoxApi, emulator: Emulator) -> None:
    for account in ("BEH-b1", "BEH-b2", "BEH-b3", "BEH-bad"):
        admin.ensure_absent(account)
    admin.recreate_contact(_contact("BEH-bdup"))
    response = admin.post(
        "/contact/contacts/bulk",
        headers={"Accept-Encoding": "application/json"},
        json={
            "createContactDetails": [
                {"account": "BEH-b1"},
                {"account": "BEH-bdup"},  # exists already: not created, not counted
                {"account": "BEH-b2", "person": {"firstName": "Two"}},
                {"account": "BEH-bad", "phone": [{"phone": PHONE, "ordinal": 11}]},  # invalid
                {"account": "BEH-b3"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert message_count(response.json()) == 3
    for account in ("BEH-b1", "BEH-b2", "BEH-b3"):
        assert emulator.control.record(account) is not None, account
    assert emulator.control.record("BEH-bad") is None


def test_bulk_update_message_counts_updated_rows(admin: LiveVoxApi, emulator: Emulator) -> None:
    admin.ensure_absent("BEH-ghost")
    for account in ("BEH-u1", "BEH-u2", "BEH-u3"):
        admin.recreate_contact(_contact(account))
    response = admin.put(
        "/contact/contacts/bulk",
        json={
            "updateContactDetails": [
                {"account": "BEH-u1", "city": "One"},
                {"account": "BEH-ghost", "city": "Nowhere"},  # unknown: skipped
                {"account": "BEH-u2", "accountBlock": "SOMETIMES"},  # invalid: skipped
                {"account": "BEH-u3", "city": "Three"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert message_count(response.json()) == 2
    assert admin.read_contact("BEH-u1")["city"] == "One"
    assert admin.read_contact("BEH-u3")["city"] == "Three"
    assert admin.read_contact("BEH-u2")["accountBlock"] == "NONE"


def test_bulk_update_addresses_rows_by_id_or_account(admin: LiveVoxApi, emulator: Emulator) -> None:
    """The table's mandatory key is the contact `id`; the example uses `account`."""
    for account in ("BEH-id1", "BEH-id2"):
        admin.recreate_contact(_contact(account))
    ids = {}
    for account in ("BEH-id1", "BEH-id2"):
        record = emulator.control.record(account)
        assert record is not None
        ids[account] = int(record["lvAccountId"])
    response = admin.put(
        "/contact/contacts/bulk",
        json={
            "updateContactDetails": [
                {"id": ids["BEH-id1"], "city": "By id"},
                {"id": ids["BEH-id1"], "account": "BEH-id2", "city": "Disagree"},  # skipped
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert message_count(response.json()) == 1
    assert admin.read_contact("BEH-id1")["city"] == "By id"
    assert admin.read_contact("BEH-id2").get("city") in (None, "")


def test_the_contact_id_is_one_id_everywhere(admin: LiveVoxApi, emulator: Emulator) -> None:
    """Create's `id`, search's `id` and the stored lvAccountId name the same contact."""
    admin.ensure_absent("BEH-ids")
    created = admin.create_contact({"account": "BEH-ids"}).json()["id"]
    record = emulator.control.record("BEH-ids")
    assert record is not None
    search = admin.post(
        "/contact/contacts/search?offset=0&count=5",
        json={"search": {"field": "account", "criteria": "BEH-ids", "condition": "EQUALS"}},
    ).json()["findMatchingContactsDetails"]
    assert [c["id"] for c in search] == [int(created)] == [int(record["lvAccountId"])]


# -- modifyDate / modifyUser on every change ---------------------------------------------------

Change = Callable[[LiveVoxApi, str], httpx.Response]

CHANGES: dict[str, Change] = {
    "update": lambda api, a: api.put(
        f"/contact/contacts/{a}", json={"updateContactDetails": {"city": "Changed"}}
    ),
    "update-custom-value": lambda api, a: api.put(
        f"/contact/contacts/{a}",
        json={"updateContactDetails": {"customFields": [{"field": "COL3", "value": "v2"}]}},
    ),
    "single-dnd-phone": lambda api, a: api.put(
        f"/contact/contacts/{a}/dnd",
        json={"updateContactDND": [{"phone": PHONE, "ordinal": 1, "phoneBlock": "DAILY"}]},
    ),
    "single-dnd-account": lambda api, a: api.put(
        f"/contact/contacts/{a}/dnd", json={"accountBlock": "PERMANENT"}
    ),
    "multi-dnd": lambda api, a: api.post(
        "/contact/contacts/dnd", json={"contactDnd": [{"account": a, "accountBlock": "DAILY"}]}
    ),
    "bulk-update": lambda api, a: api.put(
        "/contact/contacts/bulk", json={"updateContactDetails": [{"account": a, "state": "WY"}]}
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_change_sets_modify_date_and_user(
    emulator: Emulator, admin: LiveVoxApi, superuser: LiveVoxApi, change: str
) -> None:
    account = f"BEH-mod-{change}"
    admin.recreate_contact(_contact(account))
    emulator.control.agent_edit(account, {"city": "Agent city"})  # modifyUser becomes "agent"
    before = emulator.control.record(account)
    before_api = admin.read_contact(account)["modifiedDate"]
    assert before is not None and before["modifyUser"] != "superuser"
    emulator.control.advance_clock(5)

    response = CHANGES[change](superuser, account)
    assert response.is_success, (response.status_code, response.text)

    after = emulator.control.record(account)
    assert after is not None
    assert after["modifyUser"] == "superuser"
    assert as_datetime(after["modifyDate"]) > as_datetime(before["modifyDate"])
    assert admin.read_contact(account)["modifiedDate"] > before_api


def test_create_sets_create_and_modify_fields(
    emulator: Emulator, superuser: LiveVoxApi, admin: LiveVoxApi
) -> None:
    admin.ensure_absent("BEH-created")
    superuser.create_contact({"account": "BEH-created"})
    record = emulator.control.record("BEH-created")
    assert record is not None
    assert record["createUser"] == "superuser" and record["modifyUser"] == "superuser"
    assert as_datetime(record["createDate"]) == as_datetime(record["modifyDate"])
    contact = admin.read_contact("BEH-created")
    assert contact["createdDate"] == contact["modifiedDate"]


# -- lenient values, as the spec's own examples write them -------------------------------------


def test_values_written_as_strings_in_the_examples_are_accepted(admin: LiveVoxApi) -> None:
    """The "already exists" example sends "active": "true", "balance": "1000.00",
    "ordinal": "1"; the create example "groupId": "12371" and a custom value 123."""
    admin.ensure_absent("BEH-lenient")
    admin.create_contact(
        {
            "account": "BEH-lenient",
            "active": "true",
            "balance": "1000.00",
            "phone": [{"phone": PHONE, "ordinal": "1", "phoneBlock": "NONE"}],
            "customFields": [{"field": "COL2", "value": 123}],
        }
    )
    contact = admin.read_contact("BEH-lenient")
    assert contact["active"] is True
    assert Decimal(str(contact["balance"])) == Decimal("1000")
    assert [p["ordinal"] for p in contact["phone"]] == [1]
    assert {"field": "COL2", "value": "123"} in (contact.get("customFields") or [])


# -- 400 with a clear message ------------------------------------------------------------------

LONG = "x" * 256


def _message(response: httpx.Response) -> str:
    message: str = assert_error_body(response, 400)["message"]
    return message.lower()


def test_custom_value_of_255_characters_is_accepted(admin: LiveVoxApi, emulator: Emulator) -> None:
    admin.recreate_contact(_contact("BEH-255"))
    response = admin.put(
        "/contact/contacts/BEH-255",
        json={"updateContactDetails": {"customFields": [{"field": "COL4", "value": "y" * 255}]}},
    )
    assert response.status_code == 204, response.text
    record = emulator.control.record("BEH-255")
    assert record is not None and record["COL4"] == "y" * 255


INVALID: dict[str, tuple[str, str, dict[str, Any], tuple[str, ...]]] = {
    # name: (method, path, body, words of which the message must name one)
    "update-custom-value-over-255": (
        "PUT",
        "/contact/contacts/BEH-400",
        {"updateContactDetails": {"customFields": [{"field": "COL4", "value": LONG}]}},
        ("255", "col4", "custom"),
    ),
    "create-custom-value-over-255": (
        "POST",
        "/contact/contacts/",
        {
            "createContactDetails": {
                "account": "BEH-400-new",
                "customFields": [{"field": "COL4", "value": LONG}],
            }
        },
        ("255", "col4", "custom"),
    ),
    "update-ordinal-0": (
        "PUT",
        "/contact/contacts/BEH-400",
        {"updateContactDetails": {"phone": [{"phone": PHONE, "ordinal": 0}]}},
        ("ordinal",),
    ),
    "update-ordinal-11": (
        "PUT",
        "/contact/contacts/BEH-400",
        {"updateContactDetails": {"phone": [{"phone": PHONE, "ordinal": 11}]}},
        ("ordinal",),
    ),
    "create-ordinal-11": (
        "POST",
        "/contact/contacts/",
        {
            "createContactDetails": {
                "account": "BEH-400-new",
                "phone": [{"phone": PHONE, "ordinal": 11}],
            }
        },
        ("ordinal",),
    ),
    "dnd-ordinal-11": (
        "PUT",
        "/contact/contacts/BEH-400/dnd",
        {"updateContactDND": [{"phone": PHONE, "ordinal": 11, "phoneBlock": "DAILY"}]},
        ("ordinal",),
    ),
    "unknown-account-block": (
        "PUT",
        "/contact/contacts/BEH-400",
        {"updateContactDetails": {"accountBlock": "SOMETIMES"}},
        ("accountblock", "sometimes"),
    ),
    "unknown-phone-block": (
        "PUT",
        "/contact/contacts/BEH-400/dnd",
        {"updateContactDND": [{"phone": PHONE, "ordinal": 1, "phoneBlock": "SOMETIMES"}]},
        ("phoneblock", "sometimes"),
    ),
    "unknown-custom-field-data-type": (
        "PUT",
        "/contact/contacts/customFields",
        {"customFields": [{"field": "COL20", "label": "X", "dataType": "COLOUR"}]},
        ("datatype", "colour"),
    ),
    "custom-field-outside-1-100": (
        "PUT",
        "/contact/contacts/customFields",
        {"customFields": [{"field": "COL101", "label": "X"}]},
        ("col101", "field"),
    ),
    "unknown-custom-value-field": (
        "PUT",
        "/contact/contacts/BEH-400",
        {"updateContactDetails": {"customFields": [{"field": "COL0", "value": "x"}]}},
        ("col0", "field"),
    ),
    "unknown-exportable-field": (
        "POST",
        "/contact/contacts/bulk",
        {"exportableFields": ["account", "favouriteColour"]},
        ("favouritecolour",),
    ),
    "create-without-account": (
        "POST",
        "/contact/contacts/",
        {"createContactDetails": {"city": "Nowhere"}},
        ("account",),
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_input_is_400_with_a_clear_message(
    admin: LiveVoxApi, emulator: Emulator, case: str
) -> None:
    admin.recreate_contact(_contact("BEH-400", city="Unchanged"))
    admin.ensure_absent("BEH-400-new")
    method, path, body, words = INVALID[case]
    message = _message(admin.request(method, path, json=body))
    assert any(word in message for word in words), (case, message)
    record = emulator.control.record("BEH-400")
    assert record is not None and record["city"] == "Unchanged"
    assert record["accountBlock"] is False and record["phone1Block"] is False
    assert emulator.control.record("BEH-400-new") is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/contact/contacts/"),
        ("PUT", "/contact/contacts/BEH-400"),
        ("POST", "/contact/contacts/bulk"),
        ("PUT", "/contact/contacts/bulk"),
        ("POST", "/contact/contacts/search?offset=0&count=5"),
        ("PUT", "/contact/contacts/BEH-400/dnd"),
        ("POST", "/contact/contacts/dnd"),
        ("PUT", "/contact/contacts/customFields"),
        ("POST", "/contact/contactGroups"),
    ],
)
def test_malformed_json_is_400(admin: LiveVoxApi, method: str, path: str) -> None:
    admin.recreate_contact(_contact("BEH-400"))
    # The create-existing example's typo, as sent by a client that does not repair it.
    broken = b'{"createContactDetails": {"account": "1246583" "active": "true"}}'
    response = admin.request(
        method, path, content=broken, headers={"Content-Type": "application/json"}
    )
    assert "json" in _message(response)


# -- versioned paths ---------------------------------------------------------------------------


def test_versioned_paths_work_like_plain_ones(admin: LiveVoxApi) -> None:
    admin.ensure_absent("BEH-v6")
    created = admin.post(
        "/contact/v6.0/contacts/", json={"createContactDetails": {"account": "BEH-v6"}}
    )
    assert created.status_code == 201, created.text
    updated = admin.put(
        "/contact/v6.0/contacts/BEH-v6", json={"updateContactDetails": {"city": "Six"}}
    )
    assert updated.status_code == 204, updated.text
    plain = admin.get("/contact/contacts/BEH-v6").json()
    versioned = admin.get("/contact/v6.0/contacts/BEH-v6").json()
    assert plain == versioned and plain["readContactDetails"]["city"] == "Six"
    listed = admin.get("/contact/v6.0/contactGroups?offset=0&count=2")
    assert listed.status_code == 200
    assert admin.delete("/contact/v6.0/contacts/BEH-v6").status_code == 204
    assert admin.get("/contact/contacts/BEH-v6").status_code == 404


# -- delete ------------------------------------------------------------------------------------


def test_a_deleted_contact_is_gone_and_can_be_created_again(admin: LiveVoxApi) -> None:
    admin.recreate_contact(_contact("BEH-del", city="First"))
    assert admin.delete("/contact/contacts/BEH-del").status_code == 204
    assert admin.get("/contact/contacts/BEH-del").status_code == 404
    assert admin.delete("/contact/contacts/BEH-del").status_code == 404
    exported = admin.export_csv({"exportableFields": ["account"]}).splitlines()
    assert "BEH-del" not in exported
    search = admin.search_accounts(
        {"field": "account", "criteria": "BEH-del", "condition": "EQUALS"}
    )
    assert search == []
    admin.create_contact({"account": "BEH-del"})
    assert admin.read_contact("BEH-del").get("city") in (None, "")


# -- custom field definitions ------------------------------------------------------------------


def test_custom_field_list_values_are_a_full_replace(admin: LiveVoxApi) -> None:
    def put(values: list[str]) -> None:
        response = admin.put(
            "/contact/contacts/customFields",
            json={
                "customFields": [
                    {"field": "COL21", "label": "Colour", "dataType": "LIST", "listValues": values}
                ]
            },
        )
        assert response.status_code == 204, response.text

    put(["red", "green", "blue"])
    put(["teal"])
    body = admin.get("/contact/contacts/customFields/COL21").json()
    assert body["listValues"] == ["teal"]
    listed = admin.get("/contact/contacts/customFields").json()["customFields"]
    assert {"field": "COL21", "label": "Colour"}.items() <= next(
        f for f in listed if f["field"] == "COL21"
    ).items()


def test_updating_a_custom_field_keeps_the_values(admin: LiveVoxApi, emulator: Emulator) -> None:
    """ "This will not replace or remove the current values in the custom fields"."""
    admin.recreate_contact(_contact("BEH-cf", customFields=[{"field": "COL22", "value": "kept"}]))
    response = admin.put(
        "/contact/contacts/customFields",
        json={"customFields": [{"field": "COL22", "label": "Renamed", "dataType": "STRING"}]},
    )
    assert response.status_code == 204, response.text
    record = emulator.control.record("BEH-cf")
    assert record is not None and record["COL22"] == "kept"


# -- reads are not changes ---------------------------------------------------------------------


def test_reads_do_not_touch_modify_date(admin: LiveVoxApi, emulator: Emulator) -> None:
    """Incremental export keys on modifyDate: reading a contact must not move it."""
    admin.recreate_contact(_contact("BEH-read-only"))
    before = emulator.control.record("BEH-read-only")
    emulator.control.advance_clock(5)
    admin.read_contact("BEH-read-only")
    admin.get("/contact/contacts?offset=0&count=1000")
    admin.search_accounts({"field": "account", "criteria": "BEH-read-only", "condition": "EQUALS"})
    admin.export_csv({"exportableFields": ["account"]})
    admin.get("/contact/contacts/BEH-read-only/notes/")
    after = emulator.control.record("BEH-read-only")
    assert before is not None and after is not None
    assert (after["modifyDate"], after["modifyUser"]) == (
        before["modifyDate"],
        before["modifyUser"],
    )


# -- notes belong to their account -------------------------------------------------------------


def test_a_note_is_read_through_its_own_account_only(admin: LiveVoxApi) -> None:
    listing = admin.get("/contact/contacts?offset=0&count=1000").json()["listContactDetails"]
    accounts = [c["account"] for c in listing]
    for account in accounts:
        notes = admin.get(f"/contact/contacts/{account}/notes/").json()["listContactNotes"]
        if notes:
            other = next(a for a in accounts if a != account)
            note_id = notes[0]["id"]
            assert admin.get(f"/contact/contacts/{account}/notes/{note_id}").status_code == 200
            assert_error_body(admin.get(f"/contact/contacts/{other}/notes/{note_id}"), 404)
            return
    raise AssertionError("no seeded contact has notes")


# -- methods and routes the spec does not have -------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        # "it does not yet allow you to delete a contact group"
        ("DELETE", "/contact/contactGroups/1", 405),
        # "The Contact Notes APIs allow you to read and list Contact Notes."
        ("POST", "/contact/contacts/BEH-any/notes/", 405),
        ("GET", "/contact/no-such-thing", 404),
    ],
    ids=["delete-group", "create-note", "unknown-route"],
)
def test_what_the_api_lacks_is_refused_with_the_error_body(
    admin: LiveVoxApi, method: str, path: str, status: int
) -> None:
    assert_error_body(admin.request(method, path, json={"note": "x"}), status)


def test_active_defaults_to_false_on_create(admin: LiveVoxApi) -> None:
    """ "if not included property will default to false"."""
    admin.ensure_absent("BEH-inactive")
    admin.create_contact({"account": "BEH-inactive"})
    assert admin.read_contact("BEH-inactive")["active"] is False
