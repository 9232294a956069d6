"""Fixtures of the emulator conformance suite: a live emulator over real HTTP and
session-aware httpx clients, one per LiveVox role.

The suite is a black box. It speaks HTTP to the emulator's LiveVox API and to its
`/_emulator/` control routes, and never imports `syncd.livevox`: the client is written
separately from the same spec, so a misreading shared by client and emulator cannot hide
in code both use.

Every test module gets its own server (module scope), seeded with `emulator_config()`
generated contacts plus the accounts the spec's request examples name (`EXAMPLE_ACCOUNTS`).
A module may override the `emulator_config` fixture to change the data set.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

ACCESS_TOKEN = "demo-token"
CLIENT_NAME = "demo"
DEFAULT_CONTACTS = 60
DEFAULT_SEED = 7


@dataclass(frozen=True)
class User:
    role: str
    user_name: str
    password: str


# The emulator's default users (DESIGN.md, "Emulator defaults"), keyed by role name as the
# spec writes it in its "User Roles" lines.
USERS: dict[str, User] = {
    "Sysadmin": User("Sysadmin", "admin", "admin"),
    "Superuser": User("Superuser", "superuser", "superuser"),
    "Manager": User("Manager", "manager", "manager"),
    "IT User": User("IT User", "ituser", "ituser"),
}
ROLES: tuple[str, ...] = tuple(USERS)


class EmulatorSetupError(RuntimeError):
    """The emulator refused a call that fixture setup needs; the tests cannot run."""

    def __init__(self, what: str, response: httpx.Response) -> None:
        super().__init__(
            f"{what}: {response.request.method} {response.request.url.path} -> "
            f"{response.status_code} {response.text[:300]}"
        )
        self.status_code = response.status_code


class LiveVoxApi:
    """An httpx client logged in as one user; sends `LV-Session` on every call.

    httpx's default `Accept-Encoding` is removed so that a request carries that header only
    when a test means to send it (the export compresses when it sees `gzip`).
    """

    def __init__(self, base_url: str, user: User) -> None:
        self.user = user
        self.http = httpx.Client(
            base_url=base_url, headers={"LV-Access": ACCESS_TOKEN}, timeout=30.0
        )
        del self.http.headers["Accept-Encoding"]

    def login(self) -> LiveVoxApi:
        """Log in (again): needed after the emulator's clock jumps past the idle timeout."""
        self.http.headers.pop("LV-Session", None)
        response = self.http.post("/session/login", json=login_body(self.user))
        if response.status_code != 200:
            raise EmulatorSetupError(f"login as {self.user.user_name}", response)
        self.http.headers["LV-Session"] = response.json()["sessionId"]
        return self

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.put(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.delete(path, **kwargs)

    def close(self) -> None:
        self.http.close()

    # -- helpers used by several modules ---------------------------------------------------

    def create_contact(self, details: dict[str, Any]) -> httpx.Response:
        response = self.post("/contact/contacts/", json={"createContactDetails": details})
        if response.status_code != 201:
            raise EmulatorSetupError(f"create contact {details.get('account')}", response)
        return response

    def recreate_contact(self, details: dict[str, Any]) -> httpx.Response:
        """Delete the account if it exists, then create it with exactly `details`."""
        self.ensure_absent(details["account"])
        return self.create_contact(details)

    def ensure_absent(self, account: str) -> None:
        response = self.delete(f"/contact/contacts/{account}")
        if response.status_code not in (204, 404):
            raise EmulatorSetupError(f"delete contact {account}", response)

    def read_contact(self, account: str) -> dict[str, Any]:
        response = self.get(f"/contact/contacts/{account}")
        if response.status_code != 200:
            raise EmulatorSetupError(f"read contact {account}", response)
        details: dict[str, Any] = response.json()["readContactDetails"]
        return details

    def search_accounts(
        self, tree: dict[str, Any], sort: list[dict[str, str]] | None = None
    ) -> list[str]:
        """Accounts matching `tree`, in the emulator's order (one page of up to 1000)."""
        body: dict[str, Any] = {"search": tree}
        if sort is not None:
            body["sort"] = sort
        response = self.post("/contact/contacts/search?offset=0&count=1000", json=body)
        if response.status_code != 200:
            raise EmulatorSetupError("search", response)
        return [c["account"] for c in response.json().get("findMatchingContactsDetails") or []]

    def export_csv(self, body: dict[str, Any], *, gzip_ok: bool = False) -> str:
        headers = {"Accept-Encoding": "gzip" if gzip_ok else "identity"}
        with self.http.stream(
            "POST", "/contact/contacts/bulk", json=body, headers=headers
        ) as response:
            raw = b"".join(response.iter_raw())
            if response.status_code != 200:
                raise EmulatorSetupError("export", response)
            if response.headers.get("content-encoding") == "gzip":
                raw = gzip.decompress(raw)
        return raw.decode("utf-8")


def login_body(user: User) -> dict[str, Any]:
    return {
        "clientName": CLIENT_NAME,
        "userName": user.user_name,
        "password": user.password,
        "agent": False,
    }


class Control:
    """The emulator's `/_emulator/` control routes (no LiveVox auth)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30.0)

    def record(self, account: str) -> dict[str, Any] | None:
        """The flat stored record (field keys of livevox_fields.csv), None when absent."""
        response = self.http.get(f"/_emulator/contacts/{account}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise EmulatorSetupError(f"control read {account}", response)
        record: dict[str, Any] = response.json()
        return record

    def agent_edit(self, account: str, changes: dict[str, Any]) -> None:
        response = self.http.post(f"/_emulator/contacts/{account}/agent-edit", json=changes)
        if not response.is_success:
            raise EmulatorSetupError(f"agent edit {account}", response)

    def advance_clock(self, seconds: float) -> None:
        response = self.http.post("/_emulator/clock", json={"advance_seconds": seconds})
        if not response.is_success:
            raise EmulatorSetupError("advance clock", response)

    def close(self) -> None:
        self.http.close()


@dataclass
class Emulator:
    base_url: str
    control: Control
    _apis: dict[str, LiveVoxApi] = field(default_factory=dict)

    def api(self, role: str) -> LiveVoxApi:
        """A client logged in as the default user of `role` (one per role and module)."""
        if role not in self._apis:
            self._apis[role] = LiveVoxApi(self.base_url, USERS[role]).login()
        return self._apis[role]

    def relogin_all(self) -> None:
        for api in self._apis.values():
            api.login()

    def anonymous(self) -> httpx.Client:
        """A client with the access token but no session."""
        client = httpx.Client(
            base_url=self.base_url, headers={"LV-Access": ACCESS_TOKEN}, timeout=30.0
        )
        del client.headers["Accept-Encoding"]
        return client

    def close(self) -> None:
        for api in self._apis.values():
            api.close()
        self.control.close()


# The Read Contact example's response for "1234567": the contact it was written against.
READ_EXAMPLE: dict[str, Any] = {
    "account": "1234567",
    "person": {
        "firstName": "james",
        "lastName": "bond",
        "email": "khugft@ghjgh.com",
        "ssn": "5656",
        "zipCode": "454455",
    },
    "guarantor": {"firstName": "jam", "lastName": "bond"},
    "phone": [
        {"phone": "6565556666", "ordinal": 1, "phoneBlock": "DAILY"},
        {"phone": "6564445559", "ordinal": 7, "phoneBlock": "DAILY"},
    ],
    "active": True,
    "balance": 1,
    "accountBlock": "DAILY",
    "accountToSpeak": "KA124",
    "originalAccountNumber": "Oan123",
    "address1": "rttrrt",
    "address2": "uyuyu",
    "city": "trt",
    "state": "ty",
    "amountToSpeak": 1,
}

# Accounts the spec's request examples read, update or address, created before the tests.
# Values come from the examples themselves (the Read Contact example's response for
# "1234567"; the multi-DND example's phone numbers for its two accounts), so replaying an
# example finds the data it was written against.
EXAMPLE_ACCOUNTS: list[dict[str, Any]] = [
    READ_EXAMPLE,
    {"account": "DOC1625198460001", "phone": [{"phone": "6505551234", "ordinal": 1}]},
    {"account": "1246583", "city": "San Francisco"},
    {"account": "123456789"},
    *({"account": f"account{n}"} for n in range(3, 11)),
    {"account": "kavita1234"},
    {"account": "QAKY1"},
    {
        "account": "31576555260000",
        "phone": [
            {"phone": "4565553748", "ordinal": 1},
            {"phone": "9133333331", "ordinal": 2},
            {"phone": "9133342342", "ordinal": 3},
        ],
    },
    {"account": "2q1578628860000", "phone": [{"phone": "4565553748", "ordinal": 1}]},
    # The two search examples: "account STARTS_WITH 10" (more than one page of 5) and the
    # tree whose documented answer is accounts 1000 and 1010 with zip code 10010.
    {"account": "100", "person": {"zipCode": "94105"}},
    {"account": "1000", "person": {"zipCode": "10010"}},
    {"account": "1003", "person": {"firstName": "Mary", "lastName": "Shelley"}},
    {
        "account": "1010",
        "person": {"firstName": "Wilkins", "lastName": "Micawber", "zipCode": "10010"},
    },
    {"account": "10010", "person": {"zipCode": "20001"}},
    {"account": "1011", "person": {"zipCode": "30301"}},
    {"account": "1230", "person": {"zipCode": "10999"}, "balance": 150.0},
]


@pytest.fixture(scope="module")
def emulator_config() -> dict[str, Any]:
    """Keyword arguments of EmulatorConfig for this module's server (override per module)."""
    return {"contacts": DEFAULT_CONTACTS, "seed": DEFAULT_SEED}


@pytest.fixture(scope="module")
def emulator(emulator_config: dict[str, Any]) -> Iterator[Emulator]:
    # Imported here, not at module import: collection must not depend on the emulator.
    from syncd.emulator.app import create_app
    from syncd.emulator.config import EmulatorConfig
    from syncd.emulator.server import ServerThread

    app = create_app(EmulatorConfig(**emulator_config), clock=None)
    with ServerThread(app) as server:
        emu = Emulator(server.base_url, Control(server.base_url))
        try:
            admin = emu.api("Sysadmin")
            for details in EXAMPLE_ACCOUNTS:
                admin.recreate_contact(details)
            yield emu
        finally:
            emu.close()


@pytest.fixture(scope="module")
def api(emulator: Emulator) -> Callable[[str], LiveVoxApi]:
    """`api("Manager")` → a client logged in as that role's default user."""
    return emulator.api


@pytest.fixture(scope="module")
def admin(emulator: Emulator) -> LiveVoxApi:
    return emulator.api("Sysadmin")


# -- small shared helpers ----------------------------------------------------------------------

_MESSAGE_COUNT = re.compile(r"(\d+)\s*$")


def message_count(body: Any) -> int:
    """The trailing number of a bulk reply's message ("Successfully updated contacts 3")."""
    assert isinstance(body, dict), body
    message = body.get("message")
    assert isinstance(message, str), body
    match = _MESSAGE_COUNT.search(message)
    assert match, f"no count at the end of {message!r}"
    return int(match.group(1))


def assert_error_body(response: httpx.Response, status: int) -> dict[str, Any]:
    """`status` with the LiveVox error body `{"code": int, "message": str}`."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("code"), int) and not isinstance(body["code"], bool), body
    assert isinstance(body.get("message"), str) and body["message"], body
    return body


def as_datetime(value: Any) -> datetime:
    """A timestamp as the emulator may render it: epoch ms, ISO 8601, or the CSV format."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = datetime.strptime(text, "%m/%d/%Y %H:%M:%S")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise TypeError(f"not a timestamp: {value!r}")
