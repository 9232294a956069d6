"""Bad input to the admin HTTP is a 4xx, never a 500, and the OpenAPI document says so.

Regressions found by the reliability suite's fuzzing (`tests/reliability/test_openapi_fuzz.py`):
a NUL in a string reached Postgres (500); a request id beyond bigint reached Postgres (500);
`NaN`, `Infinity` or a lone surrogate escape in the body made the 422 itself unrenderable
(500); a `since` at the calendar's edge with an offset was stored as year 10000 and broke
every later read of the queue (`/status`, `/`, `/resync/{id}`); a number was taken for
`since` as epoch seconds; the document lacked the 401/503/404 answers and the bearer scheme,
and called the Prometheus text JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from syncd.admin.app import create_admin_app
from tests.unit.admin.test_app import TOKEN, FakeBackend, bearer, call

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"requested_by": "ops\\u0000x"}', "must not contain NUL characters"),
        (b'{"accounts": ["A\\u0000"]}', "must not contain NUL characters"),
        (b'{"full": NaN}', "valid boolean"),
        (b'{"accounts": [Infinity]}', "valid string"),
        (b'{"requested_by": "ops\\udc00"}', "unicode string"),
        (b'{"\\udc00": 1}', "unicode string"),
        (b'{"since": "9999-12-31T23:59:59-05:00"}', "outside the years 1 to 9999 in UTC"),
        (b'{"since": "0001-01-01T00:00:00+14:00"}', "outside the years 1 to 9999 in UTC"),
        (b'{"since": 1700000000}', "since must be an ISO 8601 date-time string"),
    ],
)
def test_a_body_the_queue_cannot_hold_is_a_readable_422(raw: bytes, where: str) -> None:
    backend = FakeBackend()
    answer = call(backend, TOKEN, "POST", "/resync", headers={**bearer(TOKEN), **JSON}, content=raw)
    assert answer.status_code == 422, answer.text
    assert answer.content.isascii()
    (detail,) = answer.json()["detail"]
    assert where in detail["msg"]
    assert set(detail) == {"type", "loc", "msg"}  # the input is not echoed
    assert backend.orders == []


def test_since_is_stored_in_utc() -> None:
    backend = FakeBackend()
    body = {"since": "2024-05-01T08:00:00+02:00"}
    answer = call(backend, TOKEN, "POST", "/resync", headers=bearer(TOKEN), json=body)
    assert answer.status_code == 202
    (order,) = backend.orders
    assert order.since is not None and order.since.isoformat() == "2024-05-01T06:00:00+00:00"


@pytest.mark.parametrize("request_id", ["0", "-1", str(2**63), str(2**70)])
def test_a_request_id_outside_bigint_is_a_422(request_id: str) -> None:
    answer = call(FakeBackend(), TOKEN, "GET", f"/resync/{request_id}", headers=bearer(TOKEN))
    assert answer.status_code == 422, answer.text


def _document() -> dict[str, Any]:
    return create_admin_app(FakeBackend(), SecretStr(TOKEN)).openapi()


def test_the_document_declares_the_bearer_scheme_and_every_answer() -> None:
    paths = _document()["paths"]
    for method, path in (("get", "/status"), ("post", "/resync"), ("get", "/resync/{request_id}")):
        operation = paths[path][method]
        assert operation["security"] == [{"HTTPBearer": []}], path
        assert {"401", "503"} <= set(operation["responses"]), path
        assert not [p for p in operation.get("parameters", []) if p["name"] == "authorization"]
    assert "404" in paths["/resync/{request_id}"]["get"]["responses"]
    assert "422" in paths["/resync"]["post"]["responses"]
    assert "503" in paths["/readyz"]["get"]["responses"]
    assert list(paths["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
    request_id = paths["/resync/{request_id}"]["get"]["parameters"][0]["schema"]
    assert (request_id["minimum"], request_id["maximum"]) == (1, 2**63 - 1)


def test_the_token_check_is_unchanged_by_the_bearer_scheme() -> None:
    backend = FakeBackend()
    ok = call(backend, TOKEN, "GET", "/status", headers={"Authorization": f"bearer {TOKEN}"})
    assert ok.status_code == 200
    for header in (f"Bearer {TOKEN}x", "Bearer", f"Token {TOKEN}", ""):
        refused = call(backend, TOKEN, "GET", "/status", headers={"Authorization": header})
        assert refused.status_code == 401, header
        assert refused.headers["www-authenticate"] == "Bearer"
