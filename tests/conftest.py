"""Shared fixtures: a real Postgres (the machine's, or an embedded pgserver) and the emulator.

`SYNCD_TEST_DATABASE_URL` names a server the tests may create databases on; without it an
embedded pgserver instance is started once per session in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.notify import notify_socket  # noqa: F401  (a shared fixture)


def _server_url() -> Iterator[str]:
    url = os.environ.get("SYNCD_TEST_DATABASE_URL")
    if url:
        yield url
        return
    import pgserver  # imported lazily: only needed without a configured server

    with tempfile.TemporaryDirectory(prefix="syncd-pg-") as data_dir:
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a Postgres server on which tests may create and drop databases."""
    yield from _server_url()


def _with_database(url: str, dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in info.items() if v is not None})


def sqlalchemy_url(conninfo: str) -> str:
    """A psycopg conninfo/URL as an SQLAlchemy URL using the psycopg 3 driver."""
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    host = info.get("host") or "127.0.0.1"
    user = info.get("user") or "postgres"
    password = f":{info['password']}" if info.get("password") else ""
    port = info.get("port") or "5432"
    if str(host).startswith("/"):
        return f"postgresql+psycopg://{user}{password}@/{info['dbname']}?host={host}&port={port}"
    return f"postgresql+psycopg://{user}{password}@{host}:{port}/{info['dbname']}"


class FreshDatabase:
    """A database created for one test (or module) and dropped afterwards."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"syncd_test_{uuid.uuid4().hex[:12]}"
        self.conninfo = _with_database(server_url, self.name)
        self.url = sqlalchemy_url(self.conninfo)

    def create(self) -> FreshDatabase:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        return self

    def drop(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


@pytest.fixture
def fresh_db(pg_server_url: str) -> Iterator[FreshDatabase]:
    """An empty database of its own for one test."""
    db = FreshDatabase(pg_server_url).create()
    try:
        yield db
    finally:
        db.drop()


@pytest.fixture
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
