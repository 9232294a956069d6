"""Replay every request example of the LiveVox Contact API document over HTTP.

`spec_examples.txt` holds the 30 `#Request (JSON)` blocks of the document verbatim. Each
test sets up the data its example needs (an account that must exist or must not), applies
the rows of `REPAIRS` that concern it, sends the request text as written (the body's bytes
unchanged, headers as listed except `Host`, which names the document's server), and checks
the documented status and the reply's keys and JSON types (see `shapes.py`), plus the
state change the example stands for where it has one.

Every deviation from the literal text is a row of `REPAIRS`: typos that make a request
unsendable (a missing comma, template braces, a placeholder left in a path) and data
substitutions where an id in the example is assigned by the server or cannot be created
through the API (group ids, notes, a contact's LiveVox id).
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.contract.conftest import (
    READ_EXAMPLE,
    Emulator,
    LiveVoxApi,
    assert_error_body,
    message_count,
)
from tests.contract.shapes import (
    ACCOUNT,
    BULK_MESSAGE,
    CONTACT_GROUP,
    CUSTOM_FIELD,
    LIST_CONTACT,
    NOTE,
    NOTE_SUMMARY,
    READ_CONTACT,
    SEARCH_CONTACT,
    Opt,
    assert_shape,
)

EXAMPLES_FILE = Path(__file__).with_name("spec_examples.txt")


@dataclass(frozen=True)
class SpecExample:
    key: str
    line: int
    title: str
    text: str


@functools.cache
def examples() -> dict[str, SpecExample]:
    """The examples of `spec_examples.txt` by test id, read once (at collection)."""
    found: dict[str, SpecExample] = {}
    current: list[str] | None = None
    head: tuple[str, int, str] | None = None

    def flush() -> None:
        if head is not None and current is not None:
            key, line, title = head
            found[key] = SpecExample(key, line, title, "\n".join(current).strip("\n"))

    for raw in EXAMPLES_FILE.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#") and current is None:
            continue
        if raw.startswith("=== "):
            flush()
            key, line, title = (part.strip() for part in raw[4:].split("|", 2))
            head, current = (key, int(line), title), []
        elif current is not None:
            current.append(raw)
    flush()
    return found


@dataclass(frozen=True)
class Repair:
    """Replace `old` (found exactly once in the example's text) by `new`.

    `new` may name values set up by the test in braces (`{group_id}`), filled in after setup.
    """

    example: str
    old: str
    new: str
    why: str


REPAIRS: tuple[Repair, ...] = (
    Repair(
        "create-existing",
        '"account": "1246583"\n',
        '"account": "1246583",\n',
        'typo: no comma after "account": "1246583", so the body is not JSON',
    ),
    Repair("multi-dnd", "Post /contact", "POST /contact", "typo: method `Post` in lower case"),
    Repair(
        "multi-dnd-missing", "Post /contact", "POST /contact", "typo: method `Post` in lower case"
    ),
    Repair(
        "accounts",
        "/contact/contacts/qa123/:account/accounts",
        "/contact/contacts/{contact_id}/accounts",
        "typo: `:account` is a path template left in the URL (the method line reads "
        "/contact/contacts/{contactId}/accounts); data: qa123 is not a contact id of our data "
        "set, so we use the LiveVox id of a contact with three accounts, which makes the "
        "documented page of two carry a `next` as in the example",
    ),
    Repair(
        "group-list",
        "count={10}&offset={0}",
        "count=10&offset=0",
        "typo: the template's braces `{10}`, `{0}` left in the query",
    ),
    Repair(
        "group-read",
        "/contact/contactGroups/2200",
        "/contact/contactGroups/{client_boa_id}",
        'data: 2200 is the id the document\'s server gave "Client BOA"; ours assigns its own',
    ),
    Repair(
        "group-update",
        "/contact/contactGroups/1234567",
        "/contact/contactGroups/{group_id}",
        "data: group ids are assigned by the server; we update a group created in setup",
    ),
    Repair(
        "notes-list",
        "/contact/contacts/123456/notes/",
        "/contact/contacts/{notes_account}/notes/",
        "data: the API has no method to create notes; we use a seeded contact that has some",
    ),
    Repair(
        "note-read",
        "/contact/contacts/123456/notes/1489384",
        "/contact/contacts/{notes_account}/notes/{note_id}",
        "data: the API has no method to create notes; we read a seeded contact's note",
    ),
)


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes | None


def apply_repairs(example: SpecExample, values: dict[str, Any]) -> str:
    text = example.text
    for repair in REPAIRS:
        if repair.example == example.key:
            text = text.replace(repair.old, repair.new.format_map(values), 1)
    return text


def parse_request(text: str) -> PreparedRequest:
    """Request line, `Name: value` headers, then the body (from the first `{`)."""
    lines = text.splitlines()
    method, target = lines[0].strip().split(None, 1)
    headers: dict[str, str] = {}
    body_lines: list[str] = []
    for index, line in enumerate(lines[1:], start=1):
        stripped = line.strip()
        if stripped.startswith("{") or stripped.startswith("["):
            body_lines = lines[index:]
            break
        if not stripped:
            continue
        name, value = stripped.split(":", 1)
        if name.strip().lower() != "host":  # the document's server, not ours
            headers[name.strip()] = value.strip()
    body_text = "\n".join(body_lines).strip()
    if body_text:
        try:
            json.loads(body_text)
        except json.JSONDecodeError as error:  # a typo REPAIRS does not cover yet
            raise AssertionError(f"example body is not JSON ({error}):\n{body_text}") from error
    return PreparedRequest(
        method, target.strip(), headers, body_text.encode("utf-8") if body_text else None
    )


@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    raw: bytes  # bytes as they came off the wire (still compressed when gzip)

    def json(self) -> Any:
        return json.loads(self.raw)

    def csv_rows(self) -> list[list[str]]:
        data = self.raw
        if self.headers.get("content-encoding") == "gzip":
            data = gzip.decompress(data)
        return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def send(api: LiveVoxApi, request: PreparedRequest) -> Reply:
    built = api.http.build_request(
        request.method, request.target, headers=request.headers, content=request.body
    )
    response = api.http.send(built, stream=True)
    try:
        raw = b"".join(response.iter_raw())
    finally:
        response.close()
    return Reply(response.status_code, response.headers, raw)


# -- per-example setup and checks --------------------------------------------------------------


@dataclass
class Ctx:
    emulator: Emulator
    admin: LiveVoxApi
    values: dict[str, Any] = field(default_factory=dict)

    def exists(self, account: str, **details: Any) -> None:
        if self.emulator.control.record(account) is None:
            self.admin.create_contact({"account": account, **details})

    def absent(self, *accounts: str) -> None:
        for account in accounts:
            self.admin.ensure_absent(account)

    def read(self, account: str) -> dict[str, Any]:
        return self.admin.read_contact(account)

    def phones(self, account: str) -> dict[int, dict[str, Any]]:
        return {int(p["ordinal"]): p for p in self.read(account).get("phone") or []}

    def all_accounts(self) -> list[str]:
        response = self.admin.get("/contact/contacts?offset=0&count=1000")
        assert response.status_code == 200, response.text
        return [c["account"] for c in response.json()["listContactDetails"]]

    def generated_accounts(self) -> list[str]:
        return [a for a in self.all_accounts() if a.startswith("ACC")] or self.all_accounts()


Setup = Callable[[Ctx], None]
Check = Callable[[Ctx, Reply], None]


@dataclass(frozen=True)
class Scenario:
    status: int
    setup: Setup
    check: Check


def _nothing(ctx: Ctx) -> None:
    return None


def _check_csv_header(reply: Reply) -> list[list[str]]:
    assert reply.headers.get("content-type", "").startswith("text/csv"), reply.headers
    rows = reply.csv_rows()
    assert rows[0] == ["Account", "Account Due Date"]
    for row in rows[1:]:
        assert len(row) == 2, row
        assert re.fullmatch(r"(\d\d/\d\d/\d{4})?", row[1]), row
    return rows


def check_export_select(ctx: Ctx, reply: Reply) -> None:
    assert "content-encoding" not in reply.headers  # no Accept-Encoding: gzip was sent
    rows = _check_csv_header(reply)
    assert {row[0] for row in rows[1:]} == set(ctx.all_accounts())


def check_export_gzip(ctx: Ctx, reply: Reply) -> None:
    assert reply.headers.get("content-encoding") == "gzip", reply.headers
    assert reply.raw[:2] == b"\x1f\x8b", "body is not a gzip stream"
    rows = _check_csv_header(reply)
    assert {row[0] for row in rows[1:]} == set(ctx.all_accounts())


def check_export_date_range(ctx: Ctx, reply: Reply) -> None:
    rows = _check_csv_header(reply)
    exported = {row[0] for row in rows[1:]}
    # Accounts created by this suite's setup were modified today, long after 2020-01-13.
    assert "1246583" not in exported and "1234567" not in exported
    assert exported <= set(ctx.all_accounts())


def setup_create(ctx: Ctx) -> None:
    ctx.absent("1234556")


def check_create(ctx: Ctx, reply: Reply) -> None:
    # The table says "id Integer (ID)", the example answers {"id": "3456782"}: either is taken.
    body = reply.json()
    assert_shape(body, {"id": (str, int)})
    assert str(body["id"]).isdigit(), body
    contact = ctx.read("1234556")
    assert contact["person"]["firstName"] == "James"
    assert contact["accountBlock"] == "NONE"  # DAILY_OFF on a new contact (NONE) -> NONE
    assert ctx.phones("1234556")[1]["phone"] == "6503517500"


def setup_create_existing(ctx: Ctx) -> None:
    ctx.exists("1246583")


def check_create_existing(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert body == {"code": 202, "message": "Contact already exists!"}


def setup_bulk_create(ctx: Ctx) -> None:
    ctx.absent("Doc1", "Doc2", "Doc3")


def check_bulk_create(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, BULK_MESSAGE)
    assert message_count(body) == 3
    assert ctx.read("Doc1")["accountBlock"] == "DAILY"
    assert ctx.read("Doc3")["person"]["lastName"] == "Yam"


def setup_delete(ctx: Ctx) -> None:
    ctx.exists("123456789")


def check_delete(ctx: Ctx, reply: Reply) -> None:
    assert reply.raw == b""
    assert ctx.admin.get("/contact/contacts/123456789").status_code == 404


def setup_delete_missing(ctx: Ctx) -> None:
    ctx.absent("123456789")


def check_not_found(ctx: Ctx, reply: Reply) -> None:
    return None  # the document shows no body for this 404


def check_search_single(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, {"findMatchingContactsDetails": [SEARCH_CONTACT], "next": Opt(str)})
    accounts = [c["account"] for c in body["findMatchingContactsDetails"]]
    assert len(accounts) == 5, accounts  # setup holds more than five accounts starting "10"
    assert all(a.startswith("10") for a in accounts), accounts
    assert accounts == sorted(accounts), accounts
    for contact in body["findMatchingContactsDetails"]:
        assert [p["ordinal"] for p in contact["phone"]] == list(range(1, 11))
    assert "offset=5" in (body.get("next") or ""), body.get("next")


def _multi_condition_match(record: dict[str, Any]) -> bool:
    account = str(record.get("account") or "")
    zip_code = str(record.get("zipCode") or "")
    balance = Decimal(str(record.get("balance") or 0))
    left = account.startswith("123") and zip_code.startswith("10") and balance > 100
    right = account.startswith("10") and zip_code.startswith("10")
    return left or right


def check_search_multi(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, {"findMatchingContactsDetails": [SEARCH_CONTACT], "next": Opt(str)})
    found = [c["account"] for c in body["findMatchingContactsDetails"]]
    expected = set()
    for account in ctx.all_accounts():
        record = ctx.emulator.control.record(account)
        if record is not None and _multi_condition_match(record):
            expected.add(account)
    assert {"1000", "1010", "1230"} <= expected  # the setup data, read back by the control
    assert set(found) <= expected, set(found) - expected
    assert len(found) == min(5, len(expected)), found


def check_list_contacts(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, {"listContactDetails": [LIST_CONTACT], "next": Opt(str)})
    assert len(body["listContactDetails"]) == 10
    assert "offset=10" in (body.get("next") or ""), body.get("next")


def setup_read(ctx: Ctx) -> None:
    ctx.admin.recreate_contact(READ_EXAMPLE)


def check_read(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, {"readContactDetails": READ_CONTACT})
    contact = body["readContactDetails"]
    for key in (
        "account",
        "active",
        "accountBlock",
        "accountToSpeak",
        "originalAccountNumber",
        "address1",
        "address2",
        "city",
        "state",
    ):
        assert contact[key] == READ_EXAMPLE[key], key
    assert contact["balance"] == 1 and contact["amountToSpeak"] == 1
    for key, value in READ_EXAMPLE["person"].items():
        assert contact["person"][key] == value, key
    assert contact["guarantor"] == {"firstName": "jam", "lastName": "bond"}
    phones = sorted((p["ordinal"], p["phone"], p["phoneBlock"]) for p in contact["phone"])
    assert phones == [(1, "6565556666", "DAILY"), (7, "6564445559", "DAILY")]


def setup_update(ctx: Ctx) -> None:
    ctx.exists("DOC1625198460001")


def check_update(ctx: Ctx, reply: Reply) -> None:
    assert reply.raw == b""
    contact = ctx.read("DOC1625198460001")
    assert contact["person"]["firstName"] == "Jame"
    assert contact["balance"] == 101
    assert contact["active"] is False
    assert contact["city"] == "San Francisco"
    assert ctx.phones("DOC1625198460001")[1]["phone"] == "6503517501"


def setup_update_missing(ctx: Ctx) -> None:
    ctx.absent("1234567")


BULK_UPDATE_ACCOUNTS = [f"account{n}" for n in range(3, 11)] + ["kavita1234", "QAKY1"]


def setup_bulk_update(ctx: Ctx) -> None:
    for account in BULK_UPDATE_ACCOUNTS:
        ctx.exists(account)


def check_bulk_update(ctx: Ctx, reply: Reply) -> None:
    # The document answers "204 No Content" with a body. A 204 cannot carry one (RFC 9110
    # 15.3.5) and the body is the only way to learn how many rows applied, so the emulator
    # answers 200 with the message: that is what we assert.
    body = reply.json()
    assert_shape(body, BULK_MESSAGE)
    assert message_count(body) == 10
    for account in ("account10", "QAKY1"):
        contact = ctx.read(account)
        assert contact["accountBlock"] == "PERMANENT"
        assert ctx.phones(account)[1]["phoneBlock"] == "PERMANENT"


def setup_dnd(ctx: Ctx) -> None:
    # The DND endpoints address a phone by number and ordinal: start from the number the
    # example names (the update example may have changed phone 1 before).
    ctx.admin.recreate_contact(
        {"account": "DOC1625198460001", "phone": [{"phone": "6505551234", "ordinal": 1}]}
    )


def check_dnd(ctx: Ctx, reply: Reply) -> None:
    assert reply.raw == b""
    phone = ctx.phones("DOC1625198460001")[1]
    assert phone["phoneBlock"] == "BOTH"
    assert phone.get("smsConsent") in (True, None) and phone.get("cellConsent") in (True, None)
    record = ctx.emulator.control.record("DOC1625198460001")
    assert record is not None and record["phone1SmsConsent"] is True
    assert record["phone1CellConsent"] is True


def setup_dnd_missing(ctx: Ctx) -> None:
    ctx.absent("5555555")


def check_dnd_missing(ctx: Ctx, reply: Reply) -> None:
    assert reply.json() == {"code": 203, "message": "No Record Found"}


def setup_multi_dnd(ctx: Ctx) -> None:
    ctx.admin.recreate_contact(
        {
            "account": "31576555260000",
            "phone": [
                {"phone": "4565553748", "ordinal": 1},
                {"phone": "9133333331", "ordinal": 2},
                {"phone": "9133342342", "ordinal": 3},
            ],
        }
    )
    ctx.admin.recreate_contact(
        {"account": "2q1578628860000", "phone": [{"phone": "4565553748", "ordinal": 1}]}
    )


def check_multi_dnd(ctx: Ctx, reply: Reply) -> None:
    assert reply.json() == {"updated": 2}
    assert ctx.read("31576555260000")["accountBlock"] == "DAILY"
    assert {p["phoneBlock"] for p in ctx.phones("31576555260000").values()} == {"NONE"}
    assert ctx.read("2q1578628860000")["accountBlock"] == "NONE"
    assert ctx.phones("2q1578628860000")[1]["phoneBlock"] == "DAILY"


def setup_multi_dnd_missing(ctx: Ctx) -> None:
    ctx.absent("nyts0")


def check_multi_dnd_missing(ctx: Ctx, reply: Reply) -> None:
    assert reply.json() == {"updated": 0}


def _accounts_of(ctx: Ctx, contact_id: int) -> list[dict[str, Any]]:
    response = ctx.admin.get(f"/contact/contacts/{contact_id}/accounts?offset=0&count=1000")
    assert response.status_code == 200, response.text
    accounts: list[dict[str, Any]] = response.json().get("listAccount") or []
    return accounts


def setup_accounts(ctx: Ctx) -> None:
    best: tuple[int, int] | None = None
    for account in ctx.generated_accounts():
        record = ctx.emulator.control.record(account)
        assert record is not None
        contact_id = int(record["lvAccountId"])
        count = len(_accounts_of(ctx, contact_id))
        if best is None or count > best[1]:
            best = (contact_id, count)
        if count >= 3:
            break
    assert best is not None and best[1] > 0, "no generated contact has accounts"
    ctx.values["contact_id"], ctx.values["contact_accounts"] = best


def check_accounts(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, {"listAccount": [ACCOUNT], "next": Opt(str)})
    names = [a["name"] for a in body["listAccount"]]
    assert len(names) == min(2, ctx.values["contact_accounts"])
    assert names == sorted(names), "the document says the list is sorted by name"
    if ctx.values["contact_accounts"] > 2:
        assert "offset=2" in (body.get("next") or ""), body.get("next")
    else:
        assert not body.get("next")


def _read_group(ctx: Ctx, group_id: int) -> dict[str, Any]:
    response = ctx.admin.get(f"/contact/contactGroups/{group_id}")
    assert response.status_code == 200, response.text
    group: dict[str, Any] = response.json()
    return group


def check_group_create(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, {"id": int})
    assert _read_group(ctx, body["id"])["name"] == "Client BOA"


def _create_group(ctx: Ctx, name: str) -> int:
    response = ctx.admin.post("/contact/contactGroups", json={"name": name})
    assert response.status_code == 201, response.text
    group_id: int = response.json()["id"]
    return group_id


def setup_group_list(ctx: Ctx) -> None:
    response = ctx.admin.get("/contact/contactGroups?count=1000&offset=0")
    assert response.status_code == 200, response.text
    for n in range(len(response.json().get("contactGroup") or []), 11):
        _create_group(ctx, f"Group {n}")


def check_group_list(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, {"contactGroup": [CONTACT_GROUP], "next": Opt(str)})
    assert len(body["contactGroup"]) == 10
    assert "offset=10" in (body.get("next") or ""), body.get("next")


def setup_group_read(ctx: Ctx) -> None:
    ctx.values["client_boa_id"] = _create_group(ctx, "Client BOA")


def check_group_read(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, CONTACT_GROUP)
    assert body["id"] == ctx.values["client_boa_id"] and body["name"] == "Client BOA"


def setup_group_update(ctx: Ctx) -> None:
    ctx.values["group_id"] = _create_group(ctx, "Group to rename")


def check_group_update(ctx: Ctx, reply: Reply) -> None:
    assert reply.raw == b""
    assert _read_group(ctx, ctx.values["group_id"])["name"] == "BOA Group Agents"


def check_group_update_missing(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, {"code": int, "message": str})
    assert body["code"] == 203


def setup_notes(ctx: Ctx) -> None:
    for account in ctx.generated_accounts():
        response = ctx.admin.get(f"/contact/contacts/{account}/notes/")
        assert response.status_code == 200, response.text
        notes = response.json().get("listContactNotes") or []
        if notes:
            ctx.values["notes_account"] = account
            ctx.values["note_id"] = notes[0]["id"]
            return
    raise AssertionError("no seeded contact has notes")


def check_notes_list(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, {"listContactNotes": [NOTE_SUMMARY]})
    assert ctx.values["note_id"] in [n["id"] for n in body["listContactNotes"]]


def check_note_read(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, NOTE)
    assert body["id"] == ctx.values["note_id"]


def check_custom_fields_list(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, {"customFields": [CUSTOM_FIELD]})
    assert body["customFields"], "the emulator seeds configured custom fields"
    for item in body["customFields"]:
        assert re.fullmatch(r"COL([1-9]|[1-9][0-9]|100)", item["field"]), item


def setup_custom_field_read(ctx: Ctx) -> None:
    # Configure COL7 as the example's answer shows it (a LIST of three colours).
    response = ctx.admin.put(
        "/contact/contacts/customFields",
        json={
            "customFields": [
                {
                    "field": "COL7",
                    "label": "Test",
                    "dataType": "LIST",
                    "listValues": ["blue", "green", "red"],
                }
            ]
        },
    )
    assert response.status_code == 204, response.text


def check_custom_field_read(ctx: Ctx, reply: Reply) -> None:
    body = reply.json()
    assert_shape(body, CUSTOM_FIELD)
    # The document's answer to "GET .../customFields/COL7" says "field": "COL30": it
    # contradicts its own request, so we hold the reply to the field asked for.
    assert body["field"] == "COL7"
    assert (body["label"], body["dataType"]) == ("Test", "LIST")
    assert body["listValues"] == ["blue", "green", "red"]


def check_custom_field_update(ctx: Ctx, reply: Reply) -> None:
    assert reply.raw == b""
    response = ctx.admin.get("/contact/contacts/customFields/COL11")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["label"] == "Balance Due After Date"
    # "The default is "NUMBER" if the "dataType" field is missing in the request."
    assert body["dataType"] == "NUMBER"


SCENARIOS: dict[str, Scenario] = {
    "export-select": Scenario(200, _nothing, check_export_select),
    "export-gzip": Scenario(200, _nothing, check_export_gzip),
    "export-date-range": Scenario(200, _nothing, check_export_date_range),
    "create": Scenario(201, setup_create, check_create),
    "create-existing": Scenario(202, setup_create_existing, check_create_existing),
    "bulk-create": Scenario(200, setup_bulk_create, check_bulk_create),
    "delete": Scenario(204, setup_delete, check_delete),
    "delete-missing": Scenario(404, setup_delete_missing, check_not_found),
    "search-single-condition": Scenario(200, _nothing, check_search_single),
    "search-multiple-conditions": Scenario(200, _nothing, check_search_multi),
    "list-contacts": Scenario(200, _nothing, check_list_contacts),
    "read-contact": Scenario(200, setup_read, check_read),
    "update-contact": Scenario(204, setup_update, check_update),
    "update-missing": Scenario(404, setup_update_missing, check_not_found),
    "bulk-update": Scenario(200, setup_bulk_update, check_bulk_update),
    "dnd": Scenario(204, setup_dnd, check_dnd),
    "dnd-missing": Scenario(404, setup_dnd_missing, check_dnd_missing),
    "multi-dnd": Scenario(200, setup_multi_dnd, check_multi_dnd),
    "multi-dnd-missing": Scenario(200, setup_multi_dnd_missing, check_multi_dnd_missing),
    "accounts": Scenario(200, setup_accounts, check_accounts),
    "group-create": Scenario(201, _nothing, check_group_create),
    "group-list": Scenario(200, setup_group_list, check_group_list),
    "group-read": Scenario(200, setup_group_read, check_group_read),
    "group-update": Scenario(204, setup_group_update, check_group_update),
    "group-update-missing": Scenario(404, _nothing, check_group_update_missing),
    "notes-list": Scenario(200, setup_notes, check_notes_list),
    "note-read": Scenario(200, setup_notes, check_note_read),
    "custom-fields-list": Scenario(200, _nothing, check_custom_fields_list),
    "custom-field-read": Scenario(200, setup_custom_field_read, check_custom_field_read),
    "custom-field-update": Scenario(204, _nothing, check_custom_field_update),
}


# -- tests -------------------------------------------------------------------------------------


def test_every_request_example_of_the_document_is_here() -> None:
    assert len(examples()) == 30
    assert sorted(examples()) == sorted(SCENARIOS)
    lines = [e.line for e in examples().values()]
    assert lines == sorted(lines), "examples are kept in document order"


@pytest.mark.parametrize("repair", REPAIRS, ids=lambda r: r.example)
def test_every_repair_matches_exactly_one_place(repair: Repair) -> None:
    assert examples()[repair.example].text.count(repair.old) == 1


def test_the_unrepaired_create_existing_example_is_not_json() -> None:
    text = examples()["create-existing"].text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text[text.index("{") :])


@pytest.fixture(scope="module")
def ctx(emulator: Emulator, admin: LiveVoxApi) -> Iterator[Ctx]:
    yield Ctx(emulator, admin)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.function.__name__ == "test_spec_example":
        metafunc.parametrize("key", list(examples()))


def test_spec_example(key: str, ctx: Ctx) -> None:
    example, scenario = examples()[key], SCENARIOS[key]
    ctx.values.clear()
    scenario.setup(ctx)
    request = parse_request(apply_repairs(example, ctx.values))
    reply = send(ctx.admin, request)
    where = f"{example.title} (document line {example.line}): {request.method} {request.target}"
    assert reply.status == scenario.status, (where, reply.status, reply.raw[:500])
    scenario.check(ctx, reply)


def test_not_found_replies_carry_the_error_body(ctx: Ctx) -> None:
    """Where the document shows no 404 body, LiveVox still answers `{code, message}`."""
    ctx.absent("1234567")
    response = ctx.admin.put(
        "/contact/contacts/1234567", json={"updateContactDetails": {"city": "Nowhere"}}
    )
    assert_error_body(response, 404)
