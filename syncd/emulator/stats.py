"""Request counters: every request, by method, route template and status."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "(unmatched)"


class RequestStats:
    """Counts finished requests. A reset starts a new window: requests already in flight
    (the reset request itself included) are not counted in it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self._window = 0

    def begin(self) -> int:
        """The current window; pass it to `record` when the request ends."""
        with self._lock:
            return self._window

    def record(self, method: str, route: str, status: int, window: int | None = None) -> None:
        with self._lock:
            if window is None or window == self._window:
                self._counts[(method, route, status)] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._window += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def count(
        self, method: str | None = None, route: str | None = None, status: int | None = None
    ) -> int:
        """Requests matching every given criterion."""
        with self._lock:
            return sum(
                n
                for (m, r, s), n in self._counts.items()
                if (method is None or m == method)
                and (route is None or r == route)
                and (status is None or s == status)
            )

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            rows = sorted(self._counts.items())
        return {
            "total": sum(n for _, n in rows),
            "requests": [
                {"method": m, "route": r, "status": s, "count": n} for (m, r, s), n in rows
            ],
        }


class RouteTable:
    """Maps a request to its route template (`/contact/contacts/{account}`), in route order.

    Resolved from the path itself rather than from what the router left in the scope, so a
    request answered by the fault middleware (which never reaches the router) still counts
    under its route.
    """

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self._routes = [
            (route.path_regex, route.path, frozenset(route.methods or ()))
            for route in routes
            if isinstance(route, Route | APIRoute)
        ]

    def template(self, method: str, path: str) -> str:
        fallback = None
        for regex, template, methods in self._routes:
            if regex.match(path):
                if method in methods or (method == "HEAD" and "GET" in methods):
                    return template
                fallback = fallback or template
        return fallback or UNMATCHED


class StatsMiddleware:
    """Pure ASGI middleware counting every HTTP request with the status it was answered.

    A request that raised before any response counts as 500; one that ended without any
    response (a dropped connection) as 0.
    """

    def __init__(self, app: ASGIApp, stats: RequestStats, routes: RouteTable) -> None:
        self.app = app
        self.stats = stats
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        template = self.routes.template(scope["method"], scope["path"])
        window = self.stats.begin()
        try:
            await self.app(scope, receive, counting_send)
        except BaseException:
            self.stats.record(scope["method"], template, status or 500, window)
            raise
        self.stats.record(scope["method"], template, status, window)
