"""The session API: login, validate, logout (public LiveVox facts; not in the spec file)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from .deps import emulator, json_body
from .errors import BadRequest, NotFound
from .payloads import require_object
from .sessions import PASSWORD_DAYS

router = APIRouter()

Body = Annotated[Any, Depends(json_body)]


@router.post("/session/login")
def login(request: Request, body: Body) -> Response:
    obj = require_object(body, "body")
    fields = {}
    for key in ("clientName", "userName", "password"):
        value = obj.get(key)
        if not isinstance(value, str):
            raise BadRequest(f"{key}: is required (a string)")
        fields[key] = value
    state = emulator(request)
    session = state.sessions.login(
        token=request.headers.get("LV-Access"),
        client_name=fields["clientName"],
        user_name=fields["userName"],
        password=fields["password"],
    )
    return JSONResponse(
        {
            "sessionId": session.id,
            "userId": session.user.id,
            "clientId": state.sessions.client_id,
            "daysUntilPasswordExpires": PASSWORD_DAYS,
        }
    )


@router.get("/session/validate/{session_id}")
def validate(session_id: str, request: Request) -> Response:
    state = emulator(request)
    session = state.sessions.touch(session_id)
    if session is None:
        raise NotFound("Session is invalid or expired", code=404)
    return JSONResponse(
        {"sessionId": session.id, "userId": session.user.id, "clientId": state.sessions.client_id}
    )


@router.delete("/session/logout/{session_id}")
def logout(session_id: str, request: Request) -> Response:
    if not emulator(request).sessions.logout(session_id):
        raise NotFound("Session is invalid or expired", code=404)
    return Response(status_code=204)
