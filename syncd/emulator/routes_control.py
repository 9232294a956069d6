"""Control routes for tests, benches and the demo: `/_emulator/...`, outside LiveVox auth."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from .clock import AdjustableClock
from .deps import emulator, json_body
from .errors import ApiError, BadRequest, ContactNotFound, InvalidValue, NotFound
from .faults import FaultSpecError
from .payloads import require_object
from .views import flat_json

router = APIRouter(prefix="/_emulator")

Body = Annotated[Any, Depends(json_body)]


@router.get("/stats")
def get_stats(request: Request) -> Response:
    return JSONResponse(emulator(request).stats.snapshot())


@router.post("/stats/reset")
def reset_stats(request: Request) -> Response:
    emulator(request).stats.reset()
    return Response(status_code=204)


@router.get("/journal")
def get_journal(request: Request, after: int = 0) -> Response:
    """Changes the store applied (see `journal.py`), those with `seq` above `after`."""
    journal = emulator(request).store.journal
    return JSONResponse(
        {
            "last_seq": journal.last_seq,
            "dropped": journal.dropped,
            "entries": [m.as_json() for m in journal.entries(after)],
        }
    )


@router.get("/faults")
def get_faults(request: Request) -> Response:
    return JSONResponse({"spec": emulator(request).faults.spec})


@router.put("/faults")
def put_faults(request: Request, body: Body) -> Response:
    obj = require_object(body, "body")
    spec = obj.get("spec")
    if not isinstance(spec, str):
        raise BadRequest("spec: is required (a string; empty turns faults off)")
    faults = emulator(request).faults
    try:
        faults.configure(spec)
    except FaultSpecError as exc:
        raise BadRequest(str(exc)) from None
    return JSONResponse({"spec": faults.spec})


@router.get("/clock")
def get_clock(request: Request) -> Response:
    return JSONResponse({"now": emulator(request).clock.now().isoformat()})


@router.post("/clock")
def shift_clock(request: Request, body: Body) -> Response:
    obj = require_object(body, "body")
    seconds = obj.get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | Decimal):
        raise BadRequest("advance_seconds: is required (a number)")
    clock = emulator(request).clock
    if not isinstance(clock, AdjustableClock):
        raise ApiError("this emulator's clock cannot be moved", status=409, code=409)
    clock.advance(float(seconds))
    return JSONResponse({"now": clock.now().isoformat()})


@router.get("/contacts/{account}")
def read_record(account: str, request: Request) -> Response:
    record = emulator(request).store.get(account)
    if record is None:
        raise NotFound("No Record Found")
    return JSONResponse(flat_json(record))


@router.post("/contacts/{account}/agent-edit")
def agent_edit(account: str, request: Request, body: Body) -> Response:
    changes = require_object(body, "body")
    try:
        record = emulator(request).store.agent_edit(account, changes)
    except ContactNotFound:
        raise NotFound("No Record Found") from None
    except InvalidValue as exc:
        raise BadRequest(str(exc)) from None
    return JSONResponse(flat_json(record))
