"""Sessions: lazy login, headers, one re-login on 401 and replay, one login at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest

from syncd.livevox import (
    ClientClosedError,
    Contact,
    LiveVoxClient,
    LoginFailedError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from tests.unit.livevox.conftest import FakeLiveVox, json_response

Factory = Callable[..., tuple[LiveVoxClient, FakeLiveVox]]
CONTACT = {"readContactDetails": {"account": "a"}}


def test_login_is_lazy_and_reused(make_client: Factory) -> None:
    client, fake = make_client(lambda r: json_response(200, CONTACT))
    assert fake.requests == [] and client.logins == 0
    assert isinstance(client.read_contact("a"), Contact)
    client.read_contact("a")
    assert client.logins == 1
    assert [r.url.path for r in fake.requests] == [
        "/session/login", "/contact/contacts/a", "/contact/contacts/a"
    ]
    assert fake.requests[0].headers["LV-Access"] == "tok-SECRET-123"
    assert "LV-Session" not in fake.requests[0].headers


def test_expired_session_relogs_once_and_replays(make_client: Factory) -> None:
    client, fake = make_client(lambda r: json_response(200, CONTACT))
    client.read_contact("a")
    fake.expire_all()
    client.read_contact("a")
    assert client.logins == 2
    sessions = [r.headers.get("LV-Session") for r in fake.api_requests()]
    assert sessions == ["SID-SECRET-1", "SID-SECRET-1", "SID-SECRET-2"]


def test_second_401_after_relogin_is_unauthorized(make_client: Factory) -> None:
    client, fake = make_client(lambda r: json_response(401, {"code": 401, "message": "no"}))
    with pytest.raises(UnauthorizedError) as info:
        client.read_contact("a")
    assert client.logins == 2
    assert len(fake.api_requests()) == 2  # original + one replay, no retry loop
    assert info.value.status == 401 and info.value.code == 401


def test_refused_login_is_terminal_and_names_no_secret(make_client: Factory) -> None:
    fake = FakeLiveVox(lambda r: json_response(200, CONTACT), login_status=401)
    client, _ = make_client(fake)
    with pytest.raises(LoginFailedError) as info:
        client.read_contact("a")
    assert len(fake.requests) == 1
    for secret in ("tok-SECRET-123", "pw-SECRET-456"):
        assert secret not in str(info.value)
        assert secret not in repr(client.config)


def test_transient_login_failure_is_retried(make_client: Factory) -> None:
    answers = iter([json_response(503, {"code": 503, "message": "down"})])

    class Flaky(FakeLiveVox):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/login"):
                nxt = next(answers, None)
                if nxt is not None:
                    self.requests.append(request)
                    return nxt
            return super().__call__(request)

    client, fake = make_client(Flaky(lambda r: json_response(200, CONTACT)))
    assert client.read_contact("a").account == "a"
    assert [r.url.path for r in fake.requests] == [
        "/session/login", "/session/login", "/contact/contacts/a"
    ]


def test_explicit_login_validate_and_logout_on_close(make_client: Factory) -> None:
    client, fake = make_client(lambda r: json_response(200, CONTACT))
    assert client.validate_session() is False
    info = client.login()
    assert info.user_id == 7 and "SID-SECRET" not in repr(info)
    assert client.validate_session() is True
    fake.expire_all()
    assert client.validate_session() is False
    client.login()
    client.close()
    logout = fake.requests[-1]
    assert (logout.method, logout.url.path) == ("DELETE", "/session/logout/SID-SECRET-2")
    client.close()  # idempotent
    with pytest.raises(ClientClosedError):
        client.read_contact("a")


def test_failed_logout_does_not_raise(make_client: Factory) -> None:
    class NoLogout(FakeLiveVox):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            if "/logout/" in request.url.path:
                return json_response(403, {"code": 403, "message": "nope"})
            return super().__call__(request)

    client, _ = make_client(NoLogout(lambda r: json_response(200, CONTACT)))
    client.read_contact("a")
    client.close()


def test_threads_meeting_the_same_expiry_cause_one_relogin(make_client: Factory) -> None:
    threads_n = 8
    expired = threading.Event()
    expired.set()
    # every thread reaches LiveVox with the old session; the last one to arrive ends the
    # expiry, then all get their 401 at once and race to log in again
    barrier = threading.Barrier(threads_n, action=expired.clear, timeout=10)

    def handler(request: httpx.Request) -> httpx.Response:
        if expired.is_set() and request.headers["LV-Session"] == "SID-SECRET-1":
            barrier.wait()
            return json_response(401, {"code": 401, "message": "expired"})
        return json_response(200, CONTACT)

    client, fake = make_client(handler, max_attempts=1)
    client.login()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            client.read_contact("a")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert client.logins == 2  # the explicit login and exactly one re-login
    assert len(fake.sessions) == 2
    assert len(fake.api_requests()) == 2 * threads_n


def test_no_session_is_shared_before_login_completes(make_client: Factory) -> None:
    gate = threading.Event()

    class SlowLogin(FakeLiveVox):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/login"):
                gate.wait(10)
            return super().__call__(request)

    client, fake = make_client(SlowLogin(lambda r: json_response(200, CONTACT)))
    results: list[str] = []

    def work() -> None:
        results.append(client.read_contact("a").account)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert results == ["a"] * 4
    assert client.logins == 1 and len(fake.sessions) == 1


def test_relogin_with_service_error_raises_transient(make_client: Factory) -> None:
    client, fake = make_client(lambda r: json_response(200, CONTACT), max_attempts=1)
    client.read_contact("a")
    fake.expire_all()
    fake.login_status = 503
    with pytest.raises(ServiceUnavailableError):
        client.read_contact("a")


def test_close_during_an_outage_tries_logout_once(make_client: Factory) -> None:
    class Down(FakeLiveVox):
        down = False

        def __call__(self, request: httpx.Request) -> httpx.Response:
            if self.down:
                self.requests.append(request)
                raise httpx.ConnectError("refused", request=request)
            return super().__call__(request)

    fake = Down(lambda r: json_response(200, CONTACT))
    client, _ = make_client(fake)
    client.read_contact("a")
    fake.down = True
    client.close()
    assert [r.method for r in fake.requests[-1:]] == ["DELETE"]
    assert sum(r.method == "DELETE" for r in fake.requests) == 1
