from __future__ import annotations

import socket

import httpx
import pytest
from fastapi import FastAPI

from syncd.admin.server import AdminServer, AdminServerError, parse_bind
from syncd.errors import ConfigError


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, bool]:
        return {"pong": True}

    return app


def test_serves_on_a_free_port_and_stops() -> None:
    server = AdminServer(_app(), "127.0.0.1:0").start()
    try:
        assert server.port != 0
        assert httpx.get(f"{server.base_url}/ping", timeout=5).json() == {"pong": True}
    finally:
        server.stop()


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AdminServerError, match=f"could not listen on 127.0.0.1:{port}"):
            AdminServer(_app(), f"127.0.0.1:{port}").start()


@pytest.mark.parametrize(
    ("bind", "expected"),
    [
        ("127.0.0.1:8787", ("127.0.0.1", 8787)),
        ("[::1]:9", ("::1", 9)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
    ],
)
def test_parse_bind(bind: str, expected: tuple[str, int]) -> None:
    assert parse_bind(bind) == expected


@pytest.mark.parametrize("bind", ["8787", "localhost", ":80", "host:99999", "host:http"])
def test_a_bad_bind_names_the_setting(bind: str) -> None:
    with pytest.raises(ConfigError, match="admin_bind"):
        parse_bind(bind)
