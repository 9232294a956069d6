"""The Contact methods of the spec: create, read, update, delete, bulk, search, DND, accounts.

Route order matters: fixed segments (`bulk`, `search`, `dnd`, `customFields`) are registered
before `/contact/contacts/{account}` so an account parameter never captures them (custom
field routes live in `routes_reference`, which the app includes first).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from .deps import emulator, json_body, paging, require_roles
from .errors import (
    BadRequest,
    ContactExists,
    ContactNotFound,
    InvalidValue,
    NotFound,
    PhoneMismatch,
)
from .export import RowFormatter, csv_text, encode_body, export_rows, parse_export_request
from .payloads import (
    parse_contact_details,
    parse_multi_dnd,
    parse_single_dnd,
    require_list,
    require_object,
)
from .search import SearchError, compile_search, sort_records
from .sessions import DEFAULT_ROLES, MANAGER, SUPERUSER, SYSADMIN, Session
from .views import list_view, read_view, search_view

router = APIRouter()

Writer = Annotated[Session, Depends(require_roles(SYSADMIN, SUPERUSER))]
Reader = Annotated[Session, Depends(require_roles(*DEFAULT_ROLES))]
AccountReader = Annotated[Session, Depends(require_roles(SYSADMIN, SUPERUSER, MANAGER))]
Body = Annotated[Any, Depends(json_body)]

NO_RECORD = "No Record Found"


def _no_content() -> Response:
    return Response(status_code=204)


def _bulk_message(applied: int) -> JSONResponse:
    # The spec's wording, for bulk create as well as bulk update.
    return JSONResponse({"message": f"Successfully updated contacts {applied}"})


def accepts_gzip(header: str | None) -> bool:
    for token in (header or "").split(","):
        coding, _, params = token.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            quality = params.strip().lower()
            return not (quality.startswith("q=") and float(quality[2:] or 0) == 0)
    return False


# -- bulk ------------------------------------------------------------------------------------


@router.post("/contact/contacts/bulk")
def bulk_download_or_create(
    request: Request,
    session: Writer,
    body: Body,
) -> Response:
    """One path, two methods: `exportableFields` asks for the CSV download,
    `createContactDetails` (an array) for bulk create."""
    obj = require_object(body, "body")
    wants_export = "exportableFields" in obj
    wants_create = "createContactDetails" in obj
    if wants_export == wants_create:
        raise BadRequest(
            "body must hold either exportableFields (bulk download) or createContactDetails "
            "(bulk create)"
        )
    if wants_export:
        return _export(request, obj)
    return _bulk_create(request, obj, session)


def _export(request: Request, body: dict[str, Any]) -> Response:
    state = emulator(request)
    export = parse_export_request(body, state.catalog)
    snapshot = state.store.snapshot()
    formatter = RowFormatter(
        state.catalog, state.store.generator, export.keys, state.custom_fields.labels()
    )
    gzip = accepts_gzip(request.headers.get("accept-encoding"))
    stream = encode_body(
        csv_text(formatter.header, export_rows(snapshot, export, formatter)),
        gzip=gzip,
        cut_after=state.faults.export_cut_after(),
    )
    headers = {"Vary": "Accept-Encoding"}
    if gzip:
        headers["Content-Encoding"] = "gzip"
    return StreamingResponse(stream, media_type="text/csv", headers=headers)


def _bulk_create(request: Request, body: dict[str, Any], session: Session) -> Response:
    store = emulator(request).store
    rows = require_list(body["createContactDetails"], "createContactDetails")
    applied = 0
    for i, row in enumerate(rows):
        try:
            details = parse_contact_details(
                row, f"createContactDetails[{i}]", account_required=True
            )
            assert details.account is not None
            store.create(details.account, details.patch, session.user.name)
        except (InvalidValue, ContactExists):
            continue  # invalid rows and duplicates are skipped; the count tells
        applied += 1
    return _bulk_message(applied)


@router.put("/contact/contacts/bulk")
def bulk_update(
    request: Request,
    session: Writer,
    body: Body,
) -> Response:
    """Rows address a contact by `id` (LiveVox id) or `account`; given both, they must agree.
    The spec documents "204" with a message body, which HTTP forbids: we answer 200."""
    store = emulator(request).store
    obj = require_object(body, "body")
    unknown = sorted(set(obj) - {"updateContactDetails"})
    if unknown:
        raise BadRequest(f"{unknown[0]}: unknown field")
    if "updateContactDetails" not in obj:
        raise BadRequest("updateContactDetails: is required")
    rows = require_list(obj["updateContactDetails"], "updateContactDetails")
    applied = 0
    for i, row in enumerate(rows):
        try:
            details = parse_contact_details(
                row, f"updateContactDetails[{i}]", account_required=False, allow_id=True
            )
            account = store.resolve(account=details.account, lv_id=details.lv_id)
            if account is None:
                continue
            store.update(account, details.patch, session.user.name)
        except (InvalidValue, ContactNotFound):
            continue
        applied += 1
    return _bulk_message(applied)


# -- search and multi-contact DND --------------------------------------------------------------


@router.post("/contact/contacts/search")
def find_matching(
    request: Request,
    _: Reader,
    body: Body,
) -> Response:
    state = emulator(request)
    count, offset = paging(request)
    obj = require_object(body, "body")
    unknown = sorted(set(obj) - {"search", "sort"})
    if unknown:
        raise BadRequest(f"{unknown[0]}: unknown field")
    if "search" not in obj:
        raise BadRequest("search: is required")
    tree = require_object(obj["search"], "search")
    sort = obj.get("sort")
    if sort is not None:
        require_list(sort, "sort")
    try:
        predicate = compile_search(tree, today=state.clock.now().date())
        matches = (r for r in state.store.snapshot().records() if predicate(r))
        if sort:
            ordered = sort_records(matches, sort)
            page = ordered[offset : offset + count]
            more = len(ordered) > offset + count
        else:
            # List order is lvAccountId order, the search's default: stop once past the page.
            window = list(itertools.islice(matches, offset, offset + count + 1))
            page, more = window[:count], len(window) > count
    except SearchError as exc:
        raise BadRequest(str(exc)) from None
    result: dict[str, Any] = {"findMatchingContactsDetails": [search_view(r) for r in page]}
    if more:
        result["next"] = f"/contact/contacts/search?offset={offset + count}&count={count}"
    return JSONResponse(result)


@router.post("/contact/contacts/dnd")
def update_many_dnd(
    request: Request,
    session: Writer,
    body: Body,
) -> Response:
    """`updated` counts existing contacts whose entry was applied; an unknown account, or an
    entry naming a number not stored at its ordinal, is not counted (our choice)."""
    store = emulator(request).store
    updated = 0
    for account, patch in parse_multi_dnd(body):
        try:
            store.update(account, patch, session.user.name, match_phones=True)
        except (ContactNotFound, PhoneMismatch, InvalidValue):
            continue
        updated += 1
    return JSONResponse({"updated": updated})


# -- list and create -----------------------------------------------------------------------------


@router.get("/contact/contacts")
def list_contacts(request: Request, _: Reader) -> Response:
    count, offset = paging(request)
    records, more = emulator(request).store.page(offset, count)
    result: dict[str, Any] = {"listContactDetails": [list_view(r) for r in records]}
    if more:
        result["next"] = f"contact/contacts?offset={offset + count}&count={count}"
    return JSONResponse(result)


@router.post("/contact/contacts/", status_code=201)
@router.post("/contact/contacts", status_code=201, include_in_schema=False)
def create_contact(
    request: Request,
    session: Writer,
    body: Body,
) -> Response:
    obj = require_object(body, "body")
    unknown = sorted(set(obj) - {"createContactDetails"})
    if unknown:
        raise BadRequest(f"{unknown[0]}: unknown field")
    if "createContactDetails" not in obj:
        raise BadRequest("createContactDetails: is required")
    details = parse_contact_details(
        obj["createContactDetails"], "createContactDetails", account_required=True
    )
    assert details.account is not None
    try:
        record = emulator(request).store.create(
            details.account, details.patch, session.user.name
        )
    except ContactExists:
        return JSONResponse({"code": 202, "message": "Contact already exists!"}, status_code=202)
    return JSONResponse({"id": str(record["lvAccountId"])}, status_code=201)


# -- one contact ---------------------------------------------------------------------------------


@router.get("/contact/contacts/{account}")
def read_contact(account: str, request: Request, _: Reader) -> Response:
    record = emulator(request).store.get(account)
    if record is None:
        raise NotFound(NO_RECORD)
    return JSONResponse({"readContactDetails": read_view(record)})


@router.put("/contact/contacts/{account}")
def update_contact(
    account: str,
    request: Request,
    session: Writer,
    body: Body,
) -> Response:
    obj = require_object(body, "body")
    unknown = sorted(set(obj) - {"updateContactDetails"})
    if unknown:
        raise BadRequest(f"{unknown[0]}: unknown field")
    raw = obj.get("updateContactDetails")
    details = parse_contact_details(
        {} if raw is None else raw, "updateContactDetails", account_required=False
    )
    if details.account is not None and details.account != account:
        raise BadRequest(
            f"updateContactDetails.account: {details.account!r} does not match the account "
            f"in the path ({account!r})"
        )
    try:
        emulator(request).store.update(account, details.patch, session.user.name)
    except ContactNotFound:
        raise NotFound(NO_RECORD) from None
    return _no_content()


@router.delete("/contact/contacts/{account}")
def delete_contact(account: str, request: Request, _: Writer) -> Response:
    try:
        emulator(request).store.delete(account)
    except ContactNotFound:
        raise NotFound(NO_RECORD) from None
    return _no_content()


@router.put("/contact/contacts/{account}/dnd")
def update_dnd(
    account: str,
    request: Request,
    session: Writer,
    body: Body,
) -> Response:
    patch = parse_single_dnd(body)
    try:
        emulator(request).store.update(account, patch, session.user.name, match_phones=True)
    except ContactNotFound:
        raise NotFound(NO_RECORD) from None
    except PhoneMismatch as exc:
        raise BadRequest(
            f"updateContactDND: phone {exc.sent!r} is not the number stored at ordinal "
            f"{exc.ordinal}"
        ) from None
    return _no_content()


@router.get("/contact/contacts/{contact_id}/accounts")
@router.post("/contact/contacts/{contact_id}/accounts", include_in_schema=False)
def list_accounts(
    contact_id: str, request: Request, _: AccountReader
) -> Response:
    """The spec documents GET and its example uses POST: both are served."""
    count, offset = paging(request)
    accounts = emulator(request).store.associated_accounts(contact_id)
    if accounts is None:
        raise NotFound(NO_RECORD)
    result: dict[str, Any] = {"listAccount": accounts[offset : offset + count]}
    if offset + count < len(accounts):
        result["next"] = (
            f"contact/contacts/{contact_id}/accounts?offset={offset + count}&count={count}"
        )
    return JSONResponse(result)
