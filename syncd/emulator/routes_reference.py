"""Custom fields, contact groups and contact notes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from . import coerce
from .deps import emulator, json_body, paging, require_roles
from .errors import BadRequest, NotFound
from .payloads import custom_field_name, parse_custom_field_updates, require_object
from .sessions import DEFAULT_ROLES, IT_USER, MANAGER, SUPERUSER, SYSADMIN, Session
from .views import custom_field_view, group_view, note_summary, note_view

router = APIRouter()

Body = Annotated[Any, Depends(json_body)]
Reader = Annotated[Session, Depends(require_roles(*DEFAULT_ROLES))]
Writer = Annotated[Session, Depends(require_roles(SYSADMIN, SUPERUSER))]
CustomFieldReader = Annotated[
    Session, Depends(require_roles(SYSADMIN, SUPERUSER, MANAGER, IT_USER))
]
CustomFieldWriter = Annotated[Session, Depends(require_roles(SYSADMIN, IT_USER))]


def _int_path(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {value!r}") from None


# -- custom fields (registered before /contact/contacts/{account}) ----------------------------


@router.get("/contact/contacts/customFields")
def list_custom_fields(request: Request, _: CustomFieldReader) -> Response:
    fields = emulator(request).custom_fields.list()
    return JSONResponse({"customFields": [custom_field_view(f) for f in fields]})


@router.put("/contact/contacts/customFields")
def update_custom_fields(request: Request, _: CustomFieldWriter, body: Body) -> Response:
    """Labels, dataType (NUMBER when missing) and listValues (a full replace)."""
    updates = parse_custom_field_updates(body)
    emulator(request).custom_fields.update(updates)
    return Response(status_code=204)


@router.get("/contact/contacts/customFields/{field}")
def read_custom_field(field: str, request: Request, _: CustomFieldReader) -> Response:
    name = custom_field_name(field, "field")
    definition = emulator(request).custom_fields.get(name)
    if definition is None:
        raise NotFound(f"Custom field {name} is not configured")
    return JSONResponse(custom_field_view(definition))


# -- notes ----------------------------------------------------------------------------------


@router.get("/contact/contacts/{account}/notes/")
@router.get("/contact/contacts/{account}/notes", include_in_schema=False)
def list_notes(account: str, request: Request, _: Reader) -> Response:
    notes = emulator(request).store.notes(account)
    if notes is None:
        raise NotFound("No Record Found")
    return JSONResponse({"listContactNotes": [note_summary(n) for n in notes]})


@router.get("/contact/contacts/{account}/notes/{note_id}")
def read_note(account: str, note_id: str, request: Request, _: Reader) -> Response:
    wanted = _int_path(note_id, "note id")
    notes = emulator(request).store.notes(account)
    if notes is None:
        raise NotFound("No Record Found")
    for note in notes:
        if note.id == wanted:
            return JSONResponse(note_view(note))
    raise NotFound(f"Note {wanted} not found for account {account}")


# -- contact groups ---------------------------------------------------------------------------


def _group_name(body: Any) -> str:
    obj = require_object(body, "body")
    unknown = sorted(set(obj) - {"name"})
    if unknown:
        raise BadRequest(f"{unknown[0]}: unknown field")
    name = coerce.to_text("name", obj.get("name"))
    if name is None or not name.strip():
        raise BadRequest("name: is required")
    return name


@router.post("/contact/contactGroups", status_code=201)
@router.post("/contact/contactGroups/", status_code=201, include_in_schema=False)
def create_group(request: Request, session: Writer, body: Body) -> Response:
    state = emulator(request)
    group = state.groups.create(_group_name(body), session.user.name, state.clock.now())
    return JSONResponse({"id": group.id}, status_code=201)


@router.get("/contact/contactGroups")
@router.get("/contact/contactGroups/", include_in_schema=False)
def list_groups(request: Request, _: Reader) -> Response:
    count, offset = paging(request)
    groups, more = emulator(request).groups.page(offset, count)
    result: dict[str, Any] = {"contactGroup": [group_view(g) for g in groups]}
    if more:
        result["next"] = f"contact/contactGroups/?offset={offset + count}&count={count}"
    return JSONResponse(result)


@router.get("/contact/contactGroups/{group_id}")
def read_group(group_id: str, request: Request, _: Reader) -> Response:
    wanted = _int_path(group_id, "id")
    group = emulator(request).groups.get(wanted)
    if group is None:
        raise NotFound(f"Contact group with {wanted} not found")
    return JSONResponse(group_view(group))


@router.put("/contact/contactGroups/{group_id}")
def update_group(group_id: str, request: Request, session: Writer, body: Body) -> Response:
    wanted = _int_path(group_id, "id")
    state = emulator(request)
    name = _group_name(body)
    if state.groups.update(wanted, name, session.user.name, state.clock.now()) is None:
        raise NotFound(f"Contact group with {wanted} not found")
    return Response(status_code=204)
