"""Sessions and roles over HTTP: login, reuse, rolling expiry, validate, logout, 401/403."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from .conftest import RunningEmulator

LOGIN = {"clientName": "demo", "userName": "manager", "password": "manager", "agent": False}


def login(client: httpx.Client, **changes: str) -> httpx.Response:
    return client.post("/session/login", json={**LOGIN, **changes})


def test_login_answers_the_documented_keys_and_reuses_a_live_session(
    emu: RunningEmulator,
) -> None:
    client = emu.http(**{"LV-Access": "demo-token"})

    first = login(client)
    second = login(client)

    assert first.status_code == 200
    assert set(first.json()) == {"sessionId", "userId", "clientId", "daysUntilPasswordExpires"}
    assert first.json()["clientId"] == 1001
    assert second.json()["sessionId"] == first.json()["sessionId"]
    other_user = login(client, userName="admin", password="admin")
    assert other_user.json()["sessionId"] != first.json()["sessionId"]


@pytest.mark.parametrize(
    ("token", "changes"),
    [
        ("wrong-token", {}),
        (None, {}),
        ("demo-token", {"clientName": "other"}),
        ("demo-token", {"userName": "nobody"}),
        ("demo-token", {"password": "guess"}),
    ],
)
def test_bad_credentials_are_401(
    emu: RunningEmulator, token: str | None, changes: dict[str, str]
) -> None:
    client = emu.http(**({"LV-Access": token} if token else {}))

    response = login(client, **changes)

    assert response.status_code == 401
    assert response.json()["code"] == 401 and response.json()["message"]


def test_sessions_expire_after_idle_time_and_use_keeps_them_alive(
    emu: RunningEmulator,
) -> None:
    client = emu.login("manager")
    contacts = "/contact/contacts?count=1&offset=0"

    emu.clock.advance(7000)
    assert client.get(contacts).status_code == 200  # used: the idle timer restarts
    emu.clock.advance(7000)
    assert client.get(contacts).status_code == 200
    emu.clock.advance(7201)
    expired = client.get(contacts)
    assert expired.status_code == 401 and expired.json()["code"] == 401
    # a new login gives a new session
    old = client.headers["LV-Session"]
    assert login(client).json()["sessionId"] != old


def test_validate_and_logout(emu: RunningEmulator) -> None:
    client = emu.login("admin")
    session_id = client.headers["LV-Session"]

    assert client.get(f"/session/validate/{session_id}").status_code == 200
    assert client.delete(f"/session/logout/{session_id}").status_code == 204
    assert client.get(f"/session/validate/{session_id}").status_code == 404
    assert client.delete(f"/session/logout/{session_id}").status_code == 404
    assert client.get("/contact/contacts?count=1&offset=0").status_code == 401


def test_missing_session_is_401_and_wrong_role_is_403(emu: RunningEmulator) -> None:
    anonymous = emu.http(**{"LV-Access": "demo-token"})
    it_user = emu.login("ituser")
    manager = emu.login("manager")

    assert anonymous.get("/contact/contacts?count=1&offset=0").status_code == 401
    forbidden = it_user.get("/contact/contacts?count=1&offset=0")
    assert forbidden.status_code == 403 and forbidden.json()["code"] == 403
    assert it_user.get("/contact/contacts/customFields").status_code == 200
    assert manager.get("/contact/contacts/customFields").status_code == 200
    body = {"customFields": [{"field": "COL40", "label": "Tier"}]}
    assert manager.put("/contact/contacts/customFields", json=body).status_code == 403
    assert it_user.put("/contact/contacts/customFields", json=body).status_code == 204
    assert manager.delete("/contact/contacts/ACC0000001").status_code == 403
    assert manager.get("/contact/contacts/ACC0000001").status_code == 200


def test_versioned_paths_are_served(emu: RunningEmulator) -> None:
    client = emu.http(**{"LV-Access": "demo-token"})
    session = client.post("/session/v6.0/login", json=LOGIN).json()["sessionId"]
    client.headers["LV-Session"] = session

    assert client.get("/contact/v6.0/contacts/ACC0000002").status_code == 200
    assert client.get("/contact/v12.0/contacts?count=2&offset=0").status_code == 200
    assert client.get(f"/session/v6.0/validate/{session}").status_code == 200
    assert emu.state.stats.count(route="/contact/contacts/{account}", status=200) == 1


def test_expire_sessions_fault_drops_every_session(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    emu = start_emulator(contacts=3, faults="expire_sessions_every=3")
    client = emu.login("admin")
    path = "/contact/contacts/ACC0000001"

    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 401]
    client.headers["LV-Session"] = login(client, userName="admin", password="admin").json()[
        "sessionId"
    ]
    assert client.get(path).status_code == 200
