"""The emulator's OpenAPI document (`/_emulator/openapi.json`), made to say what it answers.

FastAPI's generated document describes a typical FastAPI app, not this one: request bodies are
read raw (`deps.json_body`: strict JSON, LiveVox error bodies) so none is declared, sessions
travel in a header it cannot see, paging is read by hand, and every route claims a `422`
that the emulator never sends (its validation errors are LiveVox `400`s). A client or a
schema-driven fuzzer (schemathesis, in the reliability suite) would test against fiction.

`describe_api(app)` replaces `app.openapi` with the generated document corrected from the
routes themselves (which read a JSON body, which need a session) plus the few facts a route's
code holds (paging parameters, success statuses, the CSV download): every answer a route can
give is declared, errors with the `{"code", "message"}` body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from .deps import json_body

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
}
_ERROR_REF = {"$ref": "#/components/schemas/LiveVoxError"}

_PAGED = frozenset(
    {
        ("get", "/contact/contacts"),
        ("post", "/contact/contacts/search"),
        ("get", "/contact/contactGroups"),
        ("get", "/contact/contacts/{contact_id}/accounts"),
    }
)
"""Routes that read the mandatory `count` and `offset` query parameters (`deps.paging`)."""

_SUCCESS: dict[tuple[str, str], tuple[str, ...]] = {
    ("post", "/contact/contacts/"): ("201", "202"),  # 202: the account already exists
    ("post", "/contact/contactGroups"): ("201",),
    ("put", "/contact/contacts/{account}"): ("204",),
    ("delete", "/contact/contacts/{account}"): ("204",),
    ("put", "/contact/contacts/{account}/dnd"): ("204",),
    ("put", "/contact/contacts/customFields"): ("204",),
    ("put", "/contact/contactGroups/{group_id}"): ("204",),
    ("delete", "/session/logout/{session_id}"): ("204",),
    ("post", "/_emulator/stats/reset"): ("204",),
}
"""Success statuses other than a JSON `200`."""

_CSV_AND_JSON = frozenset({("post", "/contact/contacts/bulk")})
"""One path, two methods: the CSV download (`text/csv`) and bulk create (JSON)."""

_API_ERRORS: tuple[str, ...] = ("400", "401", "403", "404", "429", "500", "502", "503", "504")
"""What a LiveVox API route may answer besides success (429 and 5xx under fault injection)."""
_CONTROL_ERRORS: tuple[str, ...] = ("400", "404", "409")
_SESSION_ERRORS: tuple[str, ...] = ("400", "401", "404", "429", "500", "502", "503", "504")


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _reads_body(route: APIRoute) -> bool:
    return any(call is json_body for call in _calls(route.dependant))


def _needs_session(route: APIRoute) -> bool:
    # `deps.require_roles(...)` returns a closure; its qualified name says where it came from.
    return any(
        getattr(call, "__qualname__", "").startswith("require_roles.")
        for call in _calls(route.dependant)
    )


def _error_responses(codes: tuple[str, ...]) -> dict[str, Any]:
    return {
        code: {
            "description": "LiveVox error body",
            "content": {"application/json": {"schema": _ERROR_REF}},
        }
        for code in codes
    }


def _success_responses(method: str, path: str) -> dict[str, Any]:
    if (method, path) in _CSV_AND_JSON:
        return {
            "200": {
                "description": "CSV download (exportableFields) or bulk create count",
                "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {}},
            }
        }
    codes = _SUCCESS.get((method, path), ("200",))
    return {
        code: (
            {"description": "No content"}
            if code == "204"
            else {"description": "Success", "content": {"application/json": {}}}
        )
        for code in codes
    }


def _paging_parameters() -> list[dict[str, Any]]:
    return [
        {"name": "count", "in": "query", "required": True,
         "schema": {"type": "integer", "minimum": 1}},
        {"name": "offset", "in": "query", "required": True,
         "schema": {"type": "integer", "minimum": 0}},
    ]  # fmt: skip


def _describe(operation: dict[str, Any], path: str, route: APIRoute, method: str) -> None:
    if path.startswith("/_emulator/"):
        errors = _CONTROL_ERRORS
    elif path.startswith("/session/"):
        errors = _SESSION_ERRORS
    else:
        errors = _API_ERRORS
    operation["responses"] = {
        **_success_responses(method, path),
        **_error_responses(errors),
    }
    if _reads_body(route):
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    if (method, path) in _PAGED:
        operation["parameters"] = [*operation.get("parameters", []), *_paging_parameters()]
    if _needs_session(route):
        operation["security"] = [{"LVSession": []}]
    elif path == "/session/login":
        operation["security"] = [{"LVAccess": []}]


def _api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """(path, route) of every API route, included routers' routes too."""
    contexts = getattr(routing, "iter_route_contexts", None)
    if contexts is None:  # FastAPI before routers were included lazily: routes are flat
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path_format, route
        return
    for context in contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            yield context.path_format or route.path_format, route


def build_document(app: FastAPI) -> dict[str, Any]:
    """The corrected OpenAPI document of `app`'s routes."""
    document = get_openapi(title=app.title, version=app.version, routes=app.routes)
    for path, route in _api_routes(app):
        if not route.include_in_schema:
            continue
        item = document["paths"].get(path, {})
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is not None:
                _describe(operation, path, route, method.lower())
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    # No route answers FastAPI's 422 (validation errors are LiveVox 400s): drop its schemas.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["LiveVoxError"] = ERROR_SCHEMA
    components["securitySchemes"] = {
        "LVSession": {"type": "apiKey", "in": "header", "name": "LV-Session"},
        "LVAccess": {"type": "apiKey", "in": "header", "name": "LV-Access"},
    }
    return document


def describe_api(app: FastAPI) -> None:
    """Serve the corrected document (built once, on first request) as the app's OpenAPI."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
