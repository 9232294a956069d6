"""The admin HTTP app: health, readiness, metrics, status page, and the token-guarded
`/status` and `/resync` endpoints.

`create_admin_app(backend, token)` builds a FastAPI app over the `AdminBackend` port. The
bearer token is compared in constant time; without a configured token the guarded endpoints
answer 503 with a message saying how to enable them (never "open by default").
"""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from syncd.admin.backend import AdminBackend, ResyncOrder
from syncd.admin.metrics import CONTENT_TYPE
from syncd.admin.page import render_status_page
from syncd.store.resync_queue import ResyncRequest

NO_TOKEN_MESSAGE = (
    "the admin token is not configured: set SYNCD_ADMIN_TOKEN (or admin_token) to enable "
    "this endpoint"
)

MAX_ID = 2**63 - 1
"""The largest id a request can have (a bigint): a larger one is a 422, never a query."""


class ResyncBody(BaseModel):
    """Body of `POST /resync` (every field optional: `{}` is an incremental resync)."""

    model_config = ConfigDict(extra="forbid")

    full: bool = False
    accounts: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list, max_length=10_000
    )
    since: datetime | None = None
    confirm: bool = False
    requested_by: str = Field(default="http", max_length=200)

    @field_validator("since", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        # The schema says an ISO 8601 string; pydantic alone would also take a number as
        # epoch seconds, which nobody sending one could have meant.
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError("since must be an ISO 8601 date-time string")
        return value

    @field_validator("since")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        # In UTC, or a time at the edge of the calendar with an offset ("9999-12-31T23:59-05:00")
        # would be stored as one no reader can load (year 10000), breaking /status for good.
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("since is outside the years 1 to 9999 in UTC") from None

    @field_validator("accounts", "requested_by")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # Postgres text cannot hold NUL (JSON spells it "\u0000"): refused here (422), not by
        # the database (500). A lone surrogate ("\udc00") pydantic refuses itself.
        texts = value if isinstance(value, list) else [value]
        if any("\x00" in text for text in texts):
            raise ValueError("must not contain NUL characters")
        return value


class ErrorBody(BaseModel):
    """The body of every error this app answers itself (FastAPI's `HTTPException`)."""

    detail: str


class FieldError(BaseModel):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorBody(BaseModel):
    """The body of a 422: what was wrong and where, never the value sent."""

    detail: list[FieldError]


def _errors(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries: status → description, all with an `ErrorBody`."""
    return {code: {"model": ErrorBody, "description": text} for code, text in described.items()}


# Declared as a security scheme so the OpenAPI document says how to authenticate; the checks
# stay ours (auto_error off): 503 without a configured token, 401 for anything but the token.
# (Module level: the annotation naming it is resolved in the module's namespace.)
_BEARER = HTTPBearer(auto_error=False)

_GUARDED_ERRORS = _errors(
    {401: "missing or wrong bearer token", 503: "the admin token is not configured"}
)


def request_json(request: ResyncRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "status": request.status,
        "requested_at": request.requested_at.isoformat(),
        "requested_by": request.requested_by,
        "full": request.full,
        "accounts": list(request.accounts),
        "since": request.since.isoformat() if request.since else None,
        "confirm": request.confirm,
        "picked_at": request.picked_at.isoformat() if request.picked_at else None,
        "finished_at": request.finished_at.isoformat() if request.finished_at else None,
        "run_id": request.run_id,
        "error": request.error,
    }


def parse_resync_body(raw: bytes) -> ResyncBody:
    """The `POST /resync` body, read by the endpoint itself so that the token is checked first.

    Declared as a parameter, FastAPI would parse the JSON before running the token guard, so a
    caller without the token learnt from a 422 that its malformed body was read. Parsed as
    FastAPI parses (`json.loads`, then the model); errors are FastAPI's own
    (`RequestValidationError`, `loc` starting with "body"). No body is `{}`.
    """
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        position = exc.pos if isinstance(exc, json.JSONDecodeError) else exc.start
        error = {"type": "json_invalid", "loc": ("body", position), "msg": "JSON decode error"}
        raise RequestValidationError([error]) from None
    try:
        return ResyncBody.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


async def _validation_error(_: Request, exc: Exception) -> Response:
    """FastAPI's 422 body without its `input` echo, ASCII-escaped.

    The default echoes what was sent and renders it as UTF-8 JSON without NaN: a body holding
    `NaN`, `Infinity` (which FastAPI's JSON reader accepts) or a lone surrogate escape turned
    the 422 into a 500. `loc` can still name a sent key, hence the escaping.
    """
    assert isinstance(exc, RequestValidationError)
    detail = [{"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    body = json.dumps({"detail": detail}, ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


def create_admin_app(backend: AdminBackend, token: SecretStr | None) -> FastAPI:
    app = FastAPI(
        title="syncd admin", docs_url=None, redoc_url=None, openapi_url=None
    )  # no schema pages: nothing here is for browsing but `/`
    app.add_exception_handler(RequestValidationError, _validation_error)

    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)] = None,
    ) -> None:
        if token is None or not token.get_secret_value():
            raise HTTPException(status_code=503, detail=NO_TOKEN_MESSAGE)
        presented = credentials.credentials if credentials is not None else ""
        expected = token.get_secret_value().encode()
        if credentials is None or not hmac.compare_digest(presented.strip().encode(), expected):
            raise HTTPException(
                status_code=401,
                detail="missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    guarded = [Depends(require_token)]

    @app.get("/healthz", responses={503: {"description": "the scheduler is not alive"}})
    def healthz() -> JSONResponse:
        alive = backend.alive()
        return JSONResponse({"alive": alive}, status_code=200 if alive else 503)

    @app.get("/readyz", responses={503: {"description": "a readiness check fails"}})
    def readyz() -> JSONResponse:
        readiness = backend.readiness()
        return JSONResponse(readiness.as_json(), status_code=200 if readiness.ready else 503)

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    def metrics() -> Response:
        return Response(backend.metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/status", dependencies=guarded, responses=_GUARDED_ERRORS)
    def status() -> JSONResponse:
        body = backend.status().as_json()
        body["jobs"] = backend.jobs()
        return JSONResponse(body)

    @app.post(
        "/resync",
        dependencies=guarded,
        status_code=202,
        responses={
            **_GUARDED_ERRORS,
            422: {
                "model": ValidationErrorBody,
                "description": "the body is not JSON, or not a valid resync request",
            },
        },
        openapi_extra={
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": ResyncBody.model_json_schema()}},
            }
        },
    )
    async def resync(request: Request) -> dict[str, Any]:
        body = parse_resync_body(await request.body())
        order = ResyncOrder(
            full=body.full,
            accounts=tuple(body.accounts),
            since=body.since,
            confirm=body.confirm,
            requested_by=body.requested_by,
        )
        request_id = await run_in_threadpool(backend.enqueue_resync, order)
        return {"id": request_id, "status": "pending"}

    @app.get(
        "/resync/{request_id}",
        dependencies=guarded,
        responses={**_GUARDED_ERRORS, **_errors({404: "no such resync request"})},
    )
    def resync_request(request_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
        request = backend.resync_request(request_id)
        if request is None:
            raise HTTPException(status_code=404, detail=f"no resync request {request_id}")
        return request_json(request)

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(render_status_page(backend.status(), backend.activity()))

    return app
