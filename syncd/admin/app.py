"""The admin HTTP app: health, readiness, metrics, status page, and the token-guarded
`/status` and `/resync` endpoints.

`create_admin_app(backend, token)` builds a FastAPI app over the `AdminBackend` port. The
bearer token is compared in constant time; without a configured token the guarded endpoints
answer 503 with a message saying how to enable them (never "open by default").
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from syncd.admin.backend import AdminBackend, ResyncOrder
from syncd.admin.metrics import CONTENT_TYPE
from syncd.admin.page import render_status_page
from syncd.store.resync_queue import ResyncRequest

NO_TOKEN_MESSAGE = (
    "the admin token is not configured: set SYNCD_ADMIN_TOKEN (or admin_token) to enable "
    "this endpoint"
)


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

    @field_validator("since")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


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


def create_admin_app(backend: AdminBackend, token: SecretStr | None) -> FastAPI:
    app = FastAPI(
        title="syncd admin", docs_url=None, redoc_url=None, openapi_url=None
    )  # no schema pages: nothing here is for browsing but `/`

    def require_token(
        authorization: Annotated[str | None, Header()] = None,
    ) -> None:
        if token is None or not token.get_secret_value():
            raise HTTPException(status_code=503, detail=NO_TOKEN_MESSAGE)
        scheme, _, presented = (authorization or "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), expected
        ):
            raise HTTPException(
                status_code=401,
                detail="missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    guarded = [Depends(require_token)]

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        alive = backend.alive()
        return JSONResponse({"alive": alive}, status_code=200 if alive else 503)

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        readiness = backend.readiness()
        return JSONResponse(readiness.as_json(), status_code=200 if readiness.ready else 503)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(backend.metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/status", dependencies=guarded)
    def status() -> JSONResponse:
        body = backend.status().as_json()
        body["jobs"] = backend.jobs()
        return JSONResponse(body)

    @app.post("/resync", dependencies=guarded, status_code=202)
    def resync(body: ResyncBody) -> dict[str, Any]:
        order = ResyncOrder(
            full=body.full,
            accounts=tuple(body.accounts),
            since=body.since,
            confirm=body.confirm,
            requested_by=body.requested_by,
        )
        request_id = backend.enqueue_resync(order)
        return {"id": request_id, "status": "pending"}

    @app.get("/resync/{request_id}", dependencies=guarded)
    def resync_request(request_id: int) -> dict[str, Any]:
        request = backend.resync_request(request_id)
        if request is None:
            raise HTTPException(status_code=404, detail=f"no resync request {request_id}")
        return request_json(request)

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(render_status_page(backend.status(), backend.activity()))

    return app
