"""Retries: which failures, for which endpoints, how long, and within which deadline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from syncd.livevox import (
    BadGatewayError,
    BadRequestError,
    ConnectFailedError,
    ContactCreate,
    ContactUpdate,
    GatewayTimeoutError,
    InternalServerError,
    LiveVoxClient,
    OutcomeUnknownError,
    RateLimitedError,
    ServiceUnavailableError,
)
from syncd.livevox._retry import parse_retry_after
from tests.unit.livevox.conftest import FakeClock, FakeLiveVox, json_response

Factory = Callable[..., tuple[LiveVoxClient, FakeLiveVox]]
CONTACT = {"readContactDetails": {"account": "a"}}
OK_BULK = {"message": "Successfully updated contacts 1"}


def script(*answers: httpx.Response | type[Exception]) -> Callable[[httpx.Request], httpx.Response]:
    """Answer requests in order; an exception class is raised as a transport failure."""
    queue: Iterator[httpx.Response | type[Exception]] = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(queue)
        if isinstance(answer, type):
            raise answer("simulated", request=request)  # type: ignore[call-arg]
        return answer

    return handler


def error(status: int, **headers: str) -> httpx.Response:
    return json_response(status, {"code": status, "message": f"status {status}"}, **headers)


def test_429_waits_exactly_retry_after(make_client: Factory, clock: FakeClock) -> None:
    client, fake = make_client(script(error(429, **{"Retry-After": "3"}),
                                      json_response(200, CONTACT)))
    assert client.read_contact("a").account == "a"
    assert clock.sleeps == [3.0]
    assert len(fake.api_requests()) == 2


def test_retry_after_longer_than_backoff_max_is_still_honoured(
    make_client: Factory, clock: FakeClock
) -> None:
    client, _ = make_client(
        script(error(429, **{"Retry-After": "7"}), json_response(200, CONTACT)), backoff_max=1.0
    )
    client.read_contact("a")
    assert clock.sleeps == [7.0]


def test_retry_after_beyond_deadline_gives_up_at_once(
    make_client: Factory, clock: FakeClock
) -> None:
    client, fake = make_client(script(error(429, **{"Retry-After": "120"})), retry_deadline=30)
    with pytest.raises(RateLimitedError) as info:
        client.read_contact("a")
    assert info.value.retry_after == 120.0
    assert clock.sleeps == []
    assert len(fake.api_requests()) == 1


def test_5xx_burst_survived_with_growing_jittered_backoff(
    make_client: Factory, clock: FakeClock
) -> None:
    client, fake = make_client(
        script(error(502), error(503), error(504), json_response(200, CONTACT)),
        backoff_base=0.5, backoff_max=10,
    )
    client.read_contact("a")
    assert len(fake.api_requests()) == 4
    assert len(clock.sleeps) == 3
    for n, wait in enumerate(clock.sleeps):
        assert 0 <= wait <= 0.5 * 2**n


def test_attempts_are_capped_and_the_last_error_is_raised(
    make_client: Factory, clock: FakeClock
) -> None:
    client, fake = make_client(lambda r: error(503), max_attempts=3)
    with pytest.raises(ServiceUnavailableError) as info:
        client.read_contact("a")
    assert info.value.attempts == 3
    assert len(fake.api_requests()) == 3


def test_deadline_stops_retries(make_client: Factory, clock: FakeClock) -> None:
    client, fake = make_client(
        lambda r: error(503), retry_deadline=10, max_attempts=100, backoff_base=1, backoff_max=8
    )
    start = clock.now
    with pytest.raises(ServiceUnavailableError):
        client.read_contact("a")
    assert clock.now - start <= 10
    assert len(fake.api_requests()) < 100


def test_rate_limited_deadline_with_retry_after(make_client: Factory, clock: FakeClock) -> None:
    client, fake = make_client(
        lambda r: error(429, **{"Retry-After": "4"}), retry_deadline=10, max_attempts=100
    )
    with pytest.raises(RateLimitedError):
        client.read_contact("a")
    assert clock.sleeps == [4.0, 4.0]
    assert len(fake.api_requests()) == 3


def test_500_is_retried_for_reads_only(make_client: Factory) -> None:
    client, fake = make_client(script(error(500), json_response(200, CONTACT)))
    client.read_contact("a")
    assert len(fake.api_requests()) == 2
    client, fake = make_client(script(error(500)))
    with pytest.raises(InternalServerError):
        client.update_contact(ContactUpdate(account="a", city="x"))
    assert len(fake.api_requests()) == 1


def test_idempotent_write_retries_gateway_errors_and_lost_replies(make_client: Factory) -> None:
    client, fake = make_client(
        script(error(502), httpx.ReadTimeout, httpx.RemoteProtocolError, json_response(204))
    )
    client.update_contact(ContactUpdate(account="a", city="x"))
    assert len(fake.api_requests()) == 4


@pytest.mark.parametrize(
    ("answer", "raised"),
    [
        (error(502), BadGatewayError),
        (error(503), ServiceUnavailableError),
        (error(504), GatewayTimeoutError),
        (error(500), InternalServerError),
        (httpx.ReadTimeout, OutcomeUnknownError),
        (httpx.RemoteProtocolError, OutcomeUnknownError),
        (httpx.WriteTimeout, OutcomeUnknownError),
    ],
)
def test_non_idempotent_call_is_never_retried_blindly(
    make_client: Factory, answer: httpx.Response | type[Exception], raised: type[Exception]
) -> None:
    client, fake = make_client(script(answer))
    with pytest.raises(raised):
        client.bulk_create_contacts([ContactCreate(account="a")])
    assert len(fake.api_requests()) == 1


@pytest.mark.parametrize(
    "answer", [error(429, **{"Retry-After": "1"}), httpx.ConnectError, httpx.ConnectTimeout]
)
def test_non_idempotent_call_retries_what_was_not_processed(
    make_client: Factory, answer: httpx.Response | type[Exception]
) -> None:
    client, fake = make_client(script(answer, json_response(200, OK_BULK)))
    assert client.bulk_create_contacts([ContactCreate(account="a")]).applied == 1
    assert len(fake.api_requests()) == 2


def test_connection_failures_exhausted_raise_connect_failed(make_client: Factory) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, fake = make_client(refuse, max_attempts=2)
    with pytest.raises(ConnectFailedError) as info:
        client.read_contact("a")
    assert info.value.attempts == 2
    assert len(fake.api_requests()) == 2


def test_terminal_errors_are_not_retried(make_client: Factory) -> None:
    for status in (400, 403, 404, 405, 409):
        client, fake = make_client(lambda r, s=status: error(s))
        with pytest.raises(Exception) as info:
            client.read_contact("a")
        assert getattr(info.value, "status", None) == status
        assert len(fake.api_requests()) == 1


def test_request_id_is_stable_across_retries_and_reported(make_client: Factory) -> None:
    client, fake = make_client(script(error(503), error(503, **{"X-Request-Id": "lv-77"})),
                               max_attempts=2)
    with pytest.raises(ServiceUnavailableError) as info:
        client.read_contact("a")
    ids = {r.headers["X-Request-Id"] for r in fake.api_requests()}
    assert len(ids) == 1
    assert info.value.request_id == "lv-77"
    client, fake = make_client(script(error(400)))
    with pytest.raises(BadRequestError) as info2:
        client.read_contact("a")
    assert info2.value.request_id == fake.api_requests()[0].headers["X-Request-Id"]


def test_parse_retry_after() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-3") == 0.0


def test_client_rate_limit_spaces_requests(make_client: Factory, clock: FakeClock) -> None:
    client, _ = make_client(lambda r: json_response(200, CONTACT),
                            rate_limit_rps=2, rate_limit_burst=1)
    for _ in range(3):
        client.read_contact("a")
    # login + 3 reads = 4 requests, burst 1 at 2/s: three waits of half a second
    assert clock.sleeps == [0.5, 0.5, 0.5]


def test_plain_text_error_body_becomes_the_message(make_client: Factory) -> None:
    client, _ = make_client(lambda r: httpx.Response(400, text="Bad things happened"))
    with pytest.raises(BadRequestError) as info:
        client.read_contact("a")
    assert (info.value.code, info.value.message) == (None, "Bad things happened")
