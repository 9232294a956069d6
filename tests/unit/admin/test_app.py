"""The admin app over a fake of its own port (AdminBackend), through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from syncd.admin.app import NO_TOKEN_MESSAGE, create_admin_app
from syncd.admin.backend import Check, Readiness, ResyncOrder
from syncd.admin.metrics import SyncdMetrics
from syncd.store.resync_queue import ResyncRequest
from syncd.store.status_queries import ActivityPoint, StatusReport

TOKEN = "s3cret-admin-token"
NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


class FakeBackend:
    def __init__(self) -> None:
        self.metrics = SyncdMetrics()
        self.ready = True
        self.orders: list[ResyncOrder] = []

    def alive(self) -> bool:
        return True

    def readiness(self) -> Readiness:
        return Readiness([Check("database", True), Check("livevox", self.ready, "login failed")])

    def status(self) -> StatusReport:
        return StatusReport(
            at=NOW,
            runs=[],
            held_runs=[],
            watermark=None,
            outbox={},
            dead_letters={},
            conflicts={},
            unmanaged_contacts=0,
        )

    def activity(self) -> Sequence[ActivityPoint]:
        return []

    def jobs(self) -> list[dict[str, Any]]:
        return [{"id": "incremental", "next_run_time": None}]

    def enqueue_resync(self, order: ResyncOrder) -> int:
        self.orders.append(order)
        return len(self.orders)

    def resync_request(self, request_id: int) -> ResyncRequest | None:
        if request_id != 1:
            return None
        return ResyncRequest(
            id=1, requested_at=NOW, requested_by="http", full=True, accounts=(), since=None,
            confirm=False, status="pending", picked_at=None, finished_at=None, run_id=None,
            error=None,
        )  # fmt: skip


def call(
    backend: FakeBackend,
    token: str | None,
    method: str,
    path: str,
    **kwargs: Any,
) -> httpx.Response:
    app = create_admin_app(backend, SecretStr(token) if token is not None else None)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_and_metrics_need_no_token() -> None:
    backend = FakeBackend()
    assert call(backend, TOKEN, "GET", "/healthz").json() == {"alive": True}
    metrics = call(backend, TOKEN, "GET", "/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "syncd_runs_total" in metrics.text


def test_readyz_is_503_with_the_failing_check() -> None:
    backend = FakeBackend()
    assert call(backend, TOKEN, "GET", "/readyz").status_code == 200
    backend.ready = False
    answer = call(backend, TOKEN, "GET", "/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["livevox"] == {"ok": False, "detail": "login failed"}


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong"), {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/resync"), ("GET", "/status")])
def test_guarded_endpoints_refuse_a_missing_or_wrong_token(
    headers: dict[str, str], method: str, path: str
) -> None:
    backend = FakeBackend()
    answer = call(backend, TOKEN, method, path, headers=headers, json={})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert backend.orders == []


def test_without_a_configured_token_the_guarded_endpoints_are_disabled() -> None:
    backend = FakeBackend()
    for token in (None, ""):
        answer = call(backend, token, "POST", "/resync", headers=bearer("anything"), json={})
        assert answer.status_code == 503
        assert answer.json()["detail"] == NO_TOKEN_MESSAGE
    assert backend.orders == []


def test_resync_with_the_token_is_queued() -> None:
    backend = FakeBackend()
    answer = call(
        backend,
        TOKEN,
        "POST",
        "/resync",
        headers=bearer(TOKEN),
        json={"full": True, "accounts": ["A1", "B2"], "since": "2024-05-01T00:00:00"},
    )
    assert answer.status_code == 202
    assert answer.json() == {"id": 1, "status": "pending"}
    order = backend.orders[0]
    assert order.full and order.accounts == ("A1", "B2")
    assert order.since == datetime(2024, 5, 1, tzinfo=UTC)  # naive means UTC


def test_a_bad_resync_body_is_422() -> None:
    backend = FakeBackend()
    for body in ({"full": "maybe"}, {"accounts": [""]}, {"surprise": 1}):
        answer = call(backend, TOKEN, "POST", "/resync", headers=bearer(TOKEN), json=body)
        assert answer.status_code == 422, body
    assert backend.orders == []


@pytest.mark.parametrize("raw", [b"{", b"[1", b"\xff", b'{"full": tru}'])
def test_a_malformed_body_without_the_token_is_401_not_a_parse_error(raw: bytes) -> None:
    """The token is checked before the body is read: no hint that the body was parsed."""
    backend = FakeBackend()
    json_type = {"Content-Type": "application/json"}
    answer = call(backend, TOKEN, "POST", "/resync", content=raw, headers=json_type)
    assert answer.status_code == 401
    with_token = call(
        backend, TOKEN, "POST", "/resync", content=raw, headers={**json_type, **bearer(TOKEN)}
    )
    assert with_token.status_code == 422
    (error,) = with_token.json()["detail"]
    assert error["type"] == "json_invalid" and error["loc"][0] == "body"
    assert backend.orders == []


def test_an_empty_resync_body_is_an_incremental_resync() -> None:
    backend = FakeBackend()
    answer = call(backend, TOKEN, "POST", "/resync", headers=bearer(TOKEN))
    assert answer.status_code == 202
    (order,) = backend.orders
    assert not order.full and order.accounts == () and order.since is None


def test_the_openapi_document_describes_the_resync_body() -> None:
    app = create_admin_app(FakeBackend(), SecretStr(TOKEN))
    body = app.openapi()["paths"]["/resync"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"full", "accounts", "since", "confirm", "requested_by"}
    assert schema["additionalProperties"] is False


def test_status_and_request_lookup() -> None:
    backend = FakeBackend()
    status = call(backend, TOKEN, "GET", "/status", headers=bearer(TOKEN)).json()
    assert status["unmanaged_contacts"] == 0
    assert status["jobs"] == [{"id": "incremental", "next_run_time": None}]
    assert call(backend, TOKEN, "GET", "/resync/1", headers=bearer(TOKEN)).json()["full"] is True
    assert call(backend, TOKEN, "GET", "/resync/2", headers=bearer(TOKEN)).status_code == 404


def test_status_page_is_html() -> None:
    page = call(FakeBackend(), None, "GET", "/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "syncd" in page.text
