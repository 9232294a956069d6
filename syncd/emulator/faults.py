"""Seeded, thread-safe fault injection for the emulator's LiveVox API routes.

A fault spec is text, `key=value` pairs joined by commas (`seed=7,rate_limit=0.1,latency_ms=50`),
so it travels unchanged through the CLI (`--faults`), the control route (`PUT /_emulator/faults`)
and test code. `Faults` holds the parsed config and makes every decision from one
`random.Random(seed)` under a lock: a sequential run with the same spec sees the same faults in
the same places, which is what makes a failing reliability test reproducible.

Per API request (`FaultMiddleware`, never for `/_emulator/...`): optional latency first, then
one uniform draw split into drop / rate limit / server error, so each configured share is
exactly its probability (the three may not add up to more than 1). A 429 or 5xx is answered
without running the route, so nothing was applied. A *drop* runs the route and then breaks the
connection in the middle of the reply *(our choice)*: the change is applied but the client
never learns, the harder case for a sync client (a retried create must not duplicate).

The emulator's own code asks `export_cut_after()` once per bulk export and
`should_expire_sessions()` once per authenticated request; `burst=N` closes the window for
all faults after the first N API requests since the spec was configured.
"""

from __future__ import annotations

import asyncio
import enum
import json
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from http import HTTPStatus
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ConnectionDropped",
    "FaultAction",
    "FaultConfig",
    "FaultKind",
    "FaultMiddleware",
    "FaultSpecError",
    "Faults",
    "is_api_path",
]

DEFAULT_CUT_EXPORT_AFTER: Final = 65536
ROTATING_ERROR_STATUSES: Final = (500, 502, 503, 504)
_API_PREFIXES: Final = ("contact", "session")


class FaultSpecError(ValueError):
    """A fault spec the emulator refuses; `key` is the offending key (or segment)."""

    def __init__(self, key: str, reason: str, value: str | None = None) -> None:
        where = key if value is None else f"{key}={value}"
        super().__init__(f"bad fault spec {where!r}: {reason}")
        self.key = key
        self.value = value
        self.reason = reason


class ConnectionDropped(Exception):
    """Raised inside a response to make the server abort the connection (an injected drop).

    Deliberately not an OSError: Starlette turns OSError during streaming into a client
    disconnect, which would hide the fault.
    """


# ---------------------------------------------------------------- the spec


def _fraction(key: str, text: str) -> float:
    number = _number(key, text)
    if not 0.0 <= number <= 1.0:
        raise FaultSpecError(key, "must be a fraction between 0 and 1", text)
    return number


def _number(key: str, text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise FaultSpecError(key, "is not a number", text) from None
    if not math.isfinite(number):
        raise FaultSpecError(key, "must be a finite number", text)
    return number


def _non_negative(key: str, text: str) -> float:
    number = _number(key, text)
    if number < 0:
        raise FaultSpecError(key, "must not be negative", text)
    return number


def _whole(key: str, text: str, minimum: int | None = None) -> int:
    try:
        number = int(text)
    except ValueError:
        raise FaultSpecError(key, "is not a whole number", text) from None
    if minimum is not None and number < minimum:
        raise FaultSpecError(key, f"must be at least {minimum}", text)
    return number


def _server_error(key: str, text: str) -> int:
    status = _whole(key, text)
    if not 500 <= status <= 599:
        raise FaultSpecError(key, "must be a 5xx status code", text)
    return status


_PARSERS: Final[dict[str, Callable[[str, str], Any]]] = {
    "seed": _whole,
    "rate_limit": _fraction,
    "retry_after": _non_negative,
    "error_rate": _fraction,
    "error_status": _server_error,
    "latency_ms": _non_negative,
    "latency_rate": _fraction,
    "drop_rate": _fraction,
    "cut_export": _fraction,
    "cut_export_after": lambda key, text: _whole(key, text, minimum=0),
    "expire_sessions_every": lambda key, text: _whole(key, text, minimum=1),
    "burst": lambda key, text: _whole(key, text, minimum=0),
}


@dataclass(frozen=True)
class FaultConfig:
    """A parsed fault spec; every fault is off by default."""

    seed: int = 0
    rate_limit: float = 0.0
    """Share of API requests answered 429."""
    retry_after: float = 1.0
    """Seconds in the 429's Retry-After header (sent as the integer ceiling)."""
    error_rate: float = 0.0
    """Share of API requests answered 5xx."""
    error_status: int | None = None
    """The 5xx status; None rotates 500, 502, 503, 504."""
    latency_ms: float = 0.0
    latency_rate: float | None = None
    """Share of API requests delayed by latency_ms; None means all of them."""
    drop_rate: float = 0.0
    """Share of API requests whose connection breaks mid-response."""
    cut_export: float = 0.0
    """Share of bulk exports cut off after cut_export_after bytes."""
    cut_export_after: int = DEFAULT_CUT_EXPORT_AFTER
    expire_sessions_every: int | None = None
    """Every Nth authenticated request first invalidates all sessions."""
    burst: int | None = None
    """Faults hit only the first N API requests after configure; None = no limit."""

    @classmethod
    def parse(cls, spec: str) -> FaultConfig:
        values: dict[str, Any] = {}
        for segment in spec.split(","):
            segment = segment.strip()
            if not segment:
                continue
            key, sep, text = (part.strip() for part in segment.partition("="))
            if not sep:
                raise FaultSpecError(segment, "expected key=value")
            parser = _PARSERS.get(key)
            if parser is None:
                known = ", ".join(_PARSERS)
                raise FaultSpecError(key, f"unknown key (known keys: {known})", text)
            if key in values:
                raise FaultSpecError(key, "given more than once", text)
            values[key] = parser(key, text)
        config = cls(**values)
        share = config.drop_rate + config.rate_limit + config.error_rate
        if share > 1.0 + 1e-9:
            raise FaultSpecError(
                "drop_rate+rate_limit+error_rate", "the shares add up to more than 1", f"{share:g}"
            )
        return config

    @property
    def active(self) -> bool:
        defaults = FaultConfig(seed=self.seed)
        return any(getattr(self, f.name) != getattr(defaults, f.name) for f in fields(self))


# ---------------------------------------------------------------- decisions


class FaultKind(enum.Enum):
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    DROP = "drop"


@dataclass(frozen=True)
class FaultAction:
    """What the middleware does to one request instead of (or after) answering it normally."""

    kind: FaultKind
    status: int | None = None  # 429 or 5xx; None for a drop
    retry_after: int | None = None  # whole seconds, for a 429

    def body(self) -> dict[str, Any]:
        """The LiveVox error body `{"code", "message"}` for a 429 or 5xx."""
        status = self.status or 500
        if self.kind is FaultKind.RATE_LIMIT:
            message = f"Too many requests; retry after {self.retry_after} s (emulated fault)"
        else:
            message = f"{HTTPStatus(status).phrase} (emulated fault)"
        return {"code": status, "message": message}


@dataclass
class _State:
    """Everything `configure` resets."""

    config: FaultConfig
    spec: str
    rng: random.Random
    api_requests: int = 0
    authenticated_requests: int = 0
    errors_sent: int = 0
    injected: dict[str, int] = field(default_factory=dict)

    def window_open(self) -> bool:
        burst = self.config.burst
        return burst is None or self.api_requests <= burst

    def count(self, name: str) -> None:
        self.injected[name] = self.injected.get(name, 0) + 1


class Faults:
    """Thread-safe, seeded fault decisions for the emulator. Off until configured."""

    def __init__(self, spec: str = "") -> None:
        self._lock = threading.Lock()
        self._state = self._fresh(spec)

    @staticmethod
    def _fresh(spec: str) -> _State:
        config = FaultConfig.parse(spec)  # raises before anything changes
        return _State(config=config, spec=spec, rng=random.Random(config.seed))

    def configure(self, spec: str) -> None:
        """Replace the whole config (and restart the RNG and counters); "" turns all off."""
        state = self._fresh(spec)
        with self._lock:
            self._state = state

    def clear(self) -> None:
        self.configure("")

    @property
    def spec(self) -> str:
        with self._lock:
            return self._state.spec

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._state.config

    def injected(self) -> dict[str, int]:
        """How many faults of each kind were injected since the last configure."""
        with self._lock:
            return dict(self._state.injected)

    def decide_request(self) -> tuple[float, FaultAction | None]:
        """(seconds of latency, action) for one API request; counts it against `burst`."""
        with self._lock:
            state = self._state
            config = state.config
            state.api_requests += 1
            if not config.active or not state.window_open():
                return 0.0, None
            delay = 0.0
            if config.latency_ms > 0:
                rate = 1.0 if config.latency_rate is None else config.latency_rate
                if state.rng.random() < rate:
                    delay = config.latency_ms / 1000.0
                    state.count("latency")
            action = self._draw_action(state)
            if action is not None:
                state.count(action.kind.value)
            return delay, action

    @staticmethod
    def _draw_action(state: _State) -> FaultAction | None:
        config = state.config
        if config.drop_rate + config.rate_limit + config.error_rate <= 0:
            return None
        # One draw split into consecutive bands keeps each share exactly its probability.
        draw = state.rng.random()
        if draw < config.drop_rate:
            return FaultAction(FaultKind.DROP)
        draw -= config.drop_rate
        if draw < config.rate_limit:
            return FaultAction(
                FaultKind.RATE_LIMIT, status=429, retry_after=math.ceil(config.retry_after)
            )
        draw -= config.rate_limit
        if draw < config.error_rate:
            status = config.error_status
            if status is None:
                status = ROTATING_ERROR_STATUSES[state.errors_sent % len(ROTATING_ERROR_STATUSES)]
            state.errors_sent += 1
            return FaultAction(FaultKind.SERVER_ERROR, status=status)
        return None

    async def before_request(self) -> FaultAction | None:
        """Decide one API request's faults; the latency itself is awaited here."""
        delay, action = self.decide_request()
        if delay > 0:
            await asyncio.sleep(delay)  # the injected latency, not a wait for an event
        return action

    def export_cut_after(self) -> int | None:
        """Once per bulk export: None, or how many bytes to send before cutting it off."""
        with self._lock:
            state = self._state
            config = state.config
            if config.cut_export <= 0 or not state.window_open():
                return None
            if state.rng.random() < config.cut_export:
                state.count("cut_export")
                return config.cut_export_after
            return None

    def should_expire_sessions(self) -> bool:
        """Once per authenticated API request: True when all sessions must be dropped first."""
        with self._lock:
            state = self._state
            every = state.config.expire_sessions_every
            if every is None:
                return False
            state.authenticated_requests += 1
            if state.window_open() and state.authenticated_requests % every == 0:
                state.count("expire_sessions")
                return True
            return False


# ---------------------------------------------------------------- the middleware


def is_api_path(path: str) -> bool:
    """LiveVox API paths (`/contact/...`, `/session/...`), the only ones faults may hit."""
    first = path.lstrip("/").split("/", 1)[0]
    return first in _API_PREFIXES


class FaultMiddleware:
    """Pure ASGI middleware applying `Faults` to LiveVox API requests."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        action = await self.faults.before_request()
        if action is None:
            await self.app(scope, receive, send)
        elif action.kind is FaultKind.DROP:
            cutter = _CuttingSend(send)
            await self.app(scope, receive, cutter)
            # Reached only if the route sent no body: drop anyway.
            raise ConnectionDropped("emulated dropped connection (no body to cut)")
        else:
            await _send_error(send, action)


async def _send_error(send: Send, action: FaultAction) -> None:
    assert action.status is not None
    body = json.dumps(action.body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if action.retry_after is not None:
        headers.append((b"retry-after", str(action.retry_after).encode()))
    await send({"type": "http.response.start", "status": action.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class _CuttingSend:
    """Wraps `send`: passes the route's headers on with a Content-Length larger than what
    follows, sends half of the first body chunk, then raises so the server aborts."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        if message["type"] != "http.response.body" or self._start is None:
            await self._send(message)
            return
        chunk = bytes(message.get("body", b""))
        part = chunk[: len(chunk) // 2]
        declared = len(part) + 1
        headers = []
        for name, value in self._start.get("headers", []):
            if name.lower() == b"content-length":
                declared = max(declared, int(value))
            elif name.lower() != b"transfer-encoding":
                headers.append((name, value))
        headers.append((b"content-length", str(declared).encode()))
        await self._send({**self._start, "headers": headers})
        await self._send({"type": "http.response.body", "body": part, "more_body": True})
        raise ConnectionDropped("emulated dropped connection")
