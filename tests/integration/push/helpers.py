"""Helpers of the pusher tests: a recording HTTP transport, emulator access, and outbox rows
written the way the planner writes them (payload / expected per the sync core contract)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.domain.values import to_canonical
from syncd.livevox import ClientConfig
from syncd.store.field_columns import FIELDS
from syncd.store.schema import runs
from syncd.store.sync_tables import outbox

CONTACTS = 600
_BY_KEY = {f.key: f for f in FIELDS}


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that also keeps (method, path, JSON body) of every request."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str, Any]] = []
        self.on_request: Callable[[str, str], None] | None = None
        """Called with (method, path) before a request goes out (e.g. to set a stop event)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        with self._lock:
            self.requests.append(
                (request.method, request.url.path, json.loads(body) if body else None)
            )
        if self.on_request is not None:
            self.on_request(request.method, request.url.path)
        return super().handle_request(request)

    def bodies(self, method: str, path: str) -> list[Any]:
        with self._lock:
            return [b for m, p, b in self.requests if m == method and p == path]


@dataclass
class Emulator:
    app: Any
    base_url: str

    @property
    def state(self) -> Any:
        return self.app.state.emulator

    def stats(self) -> dict[tuple[str, str], int]:
        """(method, route) -> requests, read over HTTP from `/_emulator/stats`."""
        snapshot = httpx.get(self.base_url + "/_emulator/stats").json()
        counts: dict[tuple[str, str], int] = {}
        for entry in snapshot["requests"]:
            key = (entry["method"], entry["route"])
            counts[key] = counts.get(key, 0) + entry["count"]
        return counts

    def reset_stats(self) -> None:
        httpx.post(self.base_url + "/_emulator/stats/reset").raise_for_status()


def client_config(base_url: str, **overrides: Any) -> ClientConfig:
    values: dict[str, Any] = {
        "base_url": base_url,
        "access_token": "demo-token",
        "client_name": "demo",
        "username": "admin",
        "password": "admin",
        "retry_deadline": 5,
        "backoff_base": 0.001,
        "backoff_max": 0.01,
        "max_attempts": 2,
    }
    values.update(overrides)
    return ClientConfig(**values)


def new_run(engine: Engine, kind: str = "incremental") -> int:
    with engine.begin() as conn:
        run_id = conn.execute(sa.insert(runs).values(kind=kind).returning(runs.c.id))
        return int(run_id.scalar_one())


def add_outbox(engine: Engine, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert outbox rows (account, operation, payload, expected, optional state...)."""
    run_id = new_run(engine, "plan")
    with engine.begin() as conn:
        ids = conn.execute(
            sa.insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True),
            [{"run_id": run_id, **row} for row in rows],
        ).scalars()
        return [int(i) for i in ids]


def mirror_values(engine: Engine, account: str, keys: Sequence[str]) -> dict[str, Any]:
    """Canonical values of a mirror row, as the planner would put them into `expected`."""
    columns = ", ".join(_BY_KEY[k].column for k in keys)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(f"SELECT {columns} FROM livevox.contacts WHERE account = :a"), {"a": account}
        ).one()
    out = {}
    for key, value in zip(keys, row, strict=True):
        spec = _BY_KEY[key]
        is_phone = spec.group == "phone" and key == f"phone{spec.ordinal}"
        out[key] = to_canonical(spec.type, value, phone=is_phone)
    return out


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def states(engine: Engine) -> dict[str, int]:
    return {
        r.state: r.n
        for r in rows(engine, "SELECT state, count(*) AS n FROM syncd.outbox GROUP BY state")
    }


def account(n: int) -> str:
    return f"ACC{n:07d}"
