"""The emulator's FastAPI app: LiveVox Contact and Session APIs plus `/_emulator` control routes.

Middleware, outermost first: versioned paths (`/contact/v6.0/...`) are rewritten to the
unversioned routes, every request is counted, then faults are injected (API paths only),
then the request is named for the mutation journal.
Errors leave as LiveVox bodies `{"code", "message"}`.
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from . import routes_contacts, routes_control, routes_reference, routes_session
from .clock import Clock, SystemClock
from .config import EmulatorConfig
from .errors import ApiError, InvalidValue
from .faults import FaultMiddleware
from .journal import JournalMiddleware
from .openapi import describe_api
from .state import build_emulator
from .stats import RouteTable, StatsMiddleware

_VERSIONED = re.compile(r"^/(contact|session)/v\d+(?:\.\d+)?(?=/|$)")


class VersionedPathMiddleware:
    """Serve `/contact/v6.0/...` and `/session/v6.0/...` by the unversioned routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            rewritten = _VERSIONED.sub(r"/\1", path, count=1)
            if rewritten != path:
                scope = dict(scope, path=rewritten, raw_path=rewritten.encode())
        await self.app(scope, receive, send)


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _error(exc.status, exc.code, exc.message)

    async def invalid_value(_: Request, exc: Exception) -> JSONResponse:
        return _error(400, 400, str(exc))

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        response = _error(exc.status_code, exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(400, 400, f"{where}: {first.get('msg', 'invalid request')}")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(InvalidValue, invalid_value)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


def create_app(config: EmulatorConfig, clock: Clock | None = None) -> FastAPI:
    """A new emulator; `app.state.emulator` holds its live state (store, faults, clock, stats)."""
    state = build_emulator(config, clock if clock is not None else SystemClock())
    app = FastAPI(
        title="LiveVox Contact API emulator",
        docs_url="/_emulator/docs",
        redoc_url=None,
        openapi_url="/_emulator/openapi.json",
    )
    app.state.emulator = state
    _install_error_handlers(app)
    # custom field and note routes before contact routes: their fixed segments must not be
    # captured by {account}
    routers = (
        routes_session.router,
        routes_reference.router,
        routes_contacts.router,
        routes_control.router,
    )
    for router in routers:
        app.include_router(router)
    describe_api(app)
    route_table = RouteTable(route for router in routers for route in router.routes)
    # added innermost first
    app.add_middleware(JournalMiddleware)
    app.add_middleware(FaultMiddleware, faults=state.faults)
    app.add_middleware(StatsMiddleware, stats=state.stats, routes=route_table)
    app.add_middleware(VersionedPathMiddleware)
    return app
