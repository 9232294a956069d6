"""The session API the Contact API stands on (DESIGN.md, "Session API").

Login with `LV-Access` → `sessionId`; the same user and token get the same live session;
validate and logout; a session lives while used at least once per rolling two hours.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.contract.conftest import (
    ACCESS_TOKEN,
    CLIENT_NAME,
    USERS,
    Emulator,
    LiveVoxApi,
    assert_error_body,
    login_body,
)
from tests.contract.shapes import assert_shape

LOGIN_REPLY = {"sessionId": str, "userId": int, "clientId": int, "daysUntilPasswordExpires": int}


@pytest.fixture(scope="module")
def emulator_config() -> dict[str, Any]:
    return {"contacts": 5, "seed": 3}


def _login(
    client: httpx.Client,
    body: dict[str, Any],
    token: str = ACCESS_TOKEN,
    path: str = "/session/login",
) -> httpx.Response:
    return client.post(path, json=body, headers={"LV-Access": token})


@pytest.mark.parametrize("path", ["/session/login", "/session/v6.0/login"])
def test_login_reply(emulator: Emulator, path: str) -> None:
    with emulator.anonymous() as client:
        response = _login(client, login_body(USERS["Manager"]), path=path)
    assert response.status_code == 200, response.text
    assert_shape(response.json(), LOGIN_REPLY)


@pytest.mark.parametrize(
    ("change", "token"),
    [
        ({"password": "wrong"}, ACCESS_TOKEN),
        ({"userName": "nobody"}, ACCESS_TOKEN),
        ({"clientName": CLIENT_NAME + "-other"}, ACCESS_TOKEN),
        ({}, "not-the-token"),
    ],
    ids=["password", "user", "client", "token"],
)
def test_bad_credentials_are_401(emulator: Emulator, change: dict[str, Any], token: str) -> None:
    with emulator.anonymous() as client:
        response = _login(client, {**login_body(USERS["Manager"]), **change}, token=token)
    assert_error_body(response, 401)


def test_the_same_user_gets_the_same_live_session(emulator: Emulator) -> None:
    with emulator.anonymous() as client:
        first = _login(client, login_body(USERS["Superuser"])).json()["sessionId"]
        second = _login(client, login_body(USERS["Superuser"])).json()["sessionId"]
        other = _login(client, login_body(USERS["Manager"])).json()["sessionId"]
    assert first == second != other


def test_validate_and_logout(emulator: Emulator) -> None:
    with emulator.anonymous() as client:
        session = _login(client, login_body(USERS["IT User"])).json()["sessionId"]
        assert client.get(f"/session/validate/{session}").status_code == 200
        assert client.get("/session/validate/not-a-session").status_code == 404
        headers = {"LV-Session": session}
        assert client.get("/contact/contacts/customFields", headers=headers).status_code == 200
        assert client.delete(f"/session/logout/{session}").is_success
        assert client.get(f"/session/validate/{session}").status_code == 404
        response = client.get("/contact/contacts/customFields", headers=headers)
        assert_error_body(response, 401)


def test_session_lives_while_used_within_two_hours(emulator: Emulator) -> None:
    api = LiveVoxApi(emulator.base_url, USERS["Sysadmin"]).login()
    try:
        for _ in range(3):  # 3 x 1h50 of use: idle never reaches two hours
            emulator.control.advance_clock(110 * 60)
            response = api.get("/contact/contacts?offset=0&count=1")
            assert response.status_code == 200, response.text
        emulator.control.advance_clock(2 * 3600 + 60)
        assert_error_body(api.get("/contact/contacts?offset=0&count=1"), 401)
        api.login()  # a fresh login works again
        assert api.get("/contact/contacts?offset=0&count=1").status_code == 200
    finally:
        api.close()
    emulator.relogin_all()


def test_the_session_header_alone_is_enough(emulator: Emulator) -> None:
    """Every call after login carries `LV-Session`; `LV-Access` there is optional."""
    with emulator.anonymous() as client:
        session = _login(client, login_body(USERS["Manager"])).json()["sessionId"]
    with httpx.Client(base_url=emulator.base_url, headers={"LV-Session": session}) as bare:
        assert bare.get("/contact/contacts?offset=0&count=1").status_code == 200
