"""Who may call what: every endpoint x the four roles, and no session → 401.

The table below is the spec's "User Roles" line of each method, verbatim; where a method has
none, the spec's introduction applies: "the user must belong to either the Sysadmin,
Superuser, or Manager role". Every call is a valid request, so an allowed role gets a 2xx and
a refused one a 403 with the `{code, message}` body — and a refused write leaves no trace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.contract.conftest import ROLES, Emulator, LiveVoxApi, assert_error_body

UNSPECIFIED = "(none: Sysadmin, Superuser, or Manager)"

# endpoint -> the spec's "User Roles" line
ROLE_LINES: dict[str, str] = {
    "bulk-download": "Sysadmin or Superuser",
    "create": "Sysadmin or Superuser",
    "bulk-create": "Sysadmin or Superuser",
    "delete": "Sysadmin or Superuser",
    "search": UNSPECIFIED,
    "list": UNSPECIFIED,
    "read": UNSPECIFIED,
    "update": "Sysadmin or Superuser",
    "bulk-update": "Sysadmin or Superuser",
    "dnd": "Sysadmin or Superuser",
    "multi-dnd": "Sysadmin or Superuser",
    "accounts": "Sysadmin, Superuser, or Manager",
    "group-create": "Sysadmin or Superuser",
    "group-list": UNSPECIFIED,
    "group-read": UNSPECIFIED,
    "group-update": "Sysadmin or Superuser",
    "notes-list": UNSPECIFIED,
    "note-read": UNSPECIFIED,
    "custom-fields-list": "Sysadmin, Superuser, Manager, or IT User",
    "custom-field-read": "Sysadmin, Superuser, Manager, or IT User",
    "custom-field-update": "Sysadmin or IT User",
}


def allowed_roles(line: str) -> frozenset[str]:
    if line == UNSPECIFIED:
        return frozenset({"Sysadmin", "Superuser", "Manager"})
    return frozenset(r for r in ROLES if re.search(rf"\b{re.escape(r)}\b", line))


TARGET = "ROLE-target"
PHONE = "6175550199"


def slug(role: str) -> str:
    return role.replace(" ", "").lower()


@dataclass
class World:
    emulator: Emulator
    admin: LiveVoxApi
    target_id: int
    group_id: int
    notes_account: str
    note_id: int


Call = Callable[[httpx.Client, World, str], httpx.Response]


def _create(client: httpx.Client, world: World, role: str) -> httpx.Response:
    account = f"ROLE-create-{slug(role)}"
    world.admin.ensure_absent(account)
    return client.post("/contact/contacts/", json={"createContactDetails": {"account": account}})


def _bulk_create(client: httpx.Client, world: World, role: str) -> httpx.Response:
    account = f"ROLE-bulk-{slug(role)}"
    world.admin.ensure_absent(account)
    return client.post(
        "/contact/contacts/bulk",
        json={"createContactDetails": [{"account": account}]},
        headers={"Accept-Encoding": "application/json"},
    )


def _delete(client: httpx.Client, world: World, role: str) -> httpx.Response:
    account = f"ROLE-delete-{slug(role)}"
    world.admin.recreate_contact({"account": account})
    return client.delete(f"/contact/contacts/{account}")


CALLS: dict[str, Call] = {
    "bulk-download": lambda c, w, r: c.post(
        "/contact/contacts/bulk",
        json={"exportableFields": ["account"]},
        headers={"Accept-Encoding": "identity"},
    ),
    "create": _create,
    "bulk-create": _bulk_create,
    "delete": _delete,
    "search": lambda c, w, r: c.post(
        "/contact/contacts/search?offset=0&count=5",
        json={"search": {"field": "account", "criteria": TARGET, "condition": "EQUALS"}},
    ),
    "list": lambda c, w, r: c.get("/contact/contacts?offset=0&count=5"),
    "read": lambda c, w, r: c.get(f"/contact/contacts/{TARGET}"),
    "update": lambda c, w, r: c.put(
        f"/contact/contacts/{TARGET}", json={"updateContactDetails": {"city": f"By {r}"}}
    ),
    "bulk-update": lambda c, w, r: c.put(
        "/contact/contacts/bulk",
        json={"updateContactDetails": [{"account": TARGET, "city": f"Bulk by {r}"}]},
    ),
    "dnd": lambda c, w, r: c.put(
        f"/contact/contacts/{TARGET}/dnd",
        json={"updateContactDND": [{"phone": PHONE, "ordinal": 1, "phoneBlock": "NONE"}]},
    ),
    "multi-dnd": lambda c, w, r: c.post(
        "/contact/contacts/dnd",
        json={"contactDnd": [{"account": TARGET, "accountBlock": "NONE"}]},
    ),
    "accounts": lambda c, w, r: c.get(f"/contact/contacts/{w.target_id}/accounts?offset=0&count=5"),
    "group-create": lambda c, w, r: c.post(
        "/contact/contactGroups", json={"name": f"Group of {r}"}
    ),
    "group-list": lambda c, w, r: c.get("/contact/contactGroups?offset=0&count=5"),
    "group-read": lambda c, w, r: c.get(f"/contact/contactGroups/{w.group_id}"),
    "group-update": lambda c, w, r: c.put(
        f"/contact/contactGroups/{w.group_id}", json={"name": f"Renamed by {r}"}
    ),
    "notes-list": lambda c, w, r: c.get(f"/contact/contacts/{w.notes_account}/notes/"),
    "note-read": lambda c, w, r: c.get(f"/contact/contacts/{w.notes_account}/notes/{w.note_id}"),
    "custom-fields-list": lambda c, w, r: c.get("/contact/contacts/customFields"),
    "custom-field-read": lambda c, w, r: c.get("/contact/contacts/customFields/COL1"),
    "custom-field-update": lambda c, w, r: c.put(
        "/contact/contacts/customFields",
        json={"customFields": [{"field": "COL99", "label": f"Set by {r}", "dataType": "STRING"}]},
    ),
}


def test_every_endpoint_has_a_call_and_a_role_line() -> None:
    assert set(CALLS) == set(ROLE_LINES)
    assert len(CALLS) == 21  # the spec's methods, Bulk Contact Download to Update Custom Field


@pytest.fixture(scope="module")
def world(emulator: Emulator, admin: LiveVoxApi) -> World:
    admin.recreate_contact({"account": TARGET, "phone": [{"phone": PHONE, "ordinal": 1}]})
    record = emulator.control.record(TARGET)
    assert record is not None
    created = admin.post("/contact/contactGroups", json={"name": "Role test group"})
    assert created.status_code == 201, created.text
    listing = admin.get("/contact/contacts?offset=0&count=1000").json()["listContactDetails"]
    for contact in listing:
        notes = admin.get(f"/contact/contacts/{contact['account']}/notes/")
        assert notes.status_code == 200, notes.text
        items = notes.json().get("listContactNotes") or []
        if items:
            return World(
                emulator,
                admin,
                int(record["lvAccountId"]),
                created.json()["id"],
                contact["account"],
                items[0]["id"],
            )
    raise AssertionError("no seeded contact has notes")


ROLE_CASES = [(endpoint, role) for endpoint in ROLE_LINES for role in ROLES]


@pytest.mark.parametrize(
    ("endpoint", "role"), ROLE_CASES, ids=[f"{e}-{slug(r)}" for e, r in ROLE_CASES]
)
def test_role(world: World, endpoint: str, role: str) -> None:
    client = world.emulator.api(role).http
    response = CALLS[endpoint](client, world, role)
    if role in allowed_roles(ROLE_LINES[endpoint]):
        assert response.is_success, (response.status_code, response.text[:300])
        return
    assert_error_body(response, 403)
    # A refused write leaves no trace.
    control = world.emulator.control
    if endpoint == "create":
        assert control.record(f"ROLE-create-{slug(role)}") is None
    elif endpoint == "bulk-create":
        assert control.record(f"ROLE-bulk-{slug(role)}") is None
    elif endpoint == "delete":
        assert control.record(f"ROLE-delete-{slug(role)}") is not None
    elif endpoint in ("update", "bulk-update"):
        record = control.record(TARGET)
        assert record is not None and role not in str(record.get("city"))


@pytest.mark.parametrize("endpoint", list(CALLS))
def test_no_session_is_401(world: World, endpoint: str) -> None:
    with world.emulator.anonymous() as client:
        assert_error_body(CALLS[endpoint](client, world, "Sysadmin"), 401)


@pytest.mark.parametrize("endpoint", ["list", "update", "custom-fields-list"])
def test_an_unknown_session_is_401(world: World, endpoint: str) -> None:
    with world.emulator.anonymous() as client:
        client.headers["LV-Session"] = "00000000-not-a-session"
        assert_error_body(CALLS[endpoint](client, world, "Sysadmin"), 401)


def test_versioned_paths_enforce_roles_too(world: World) -> None:
    manager = world.emulator.api("Manager")
    response = manager.put(
        f"/contact/v6.0/contacts/{TARGET}", json={"updateContactDetails": {"city": "v6"}}
    )
    assert_error_body(response, 403)
    assert manager.get(f"/contact/v6.0/contacts/{TARGET}").status_code == 200
