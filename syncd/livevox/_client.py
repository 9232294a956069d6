"""``LiveVoxClient``: every Contact API method, with sessions, retries and a rate limit.

The client holds policy; an httpx transport does the I/O (tests pass
``httpx.MockTransport`` or talk to the emulator over a socket). One logical call runs as:

    retry loop (tenacity, per ``_retry``)
      └─ attempt: take a rate-limit token, ensure a session (lazy, serialised login),
                  send; on 401 drop that session, log in again once and replay; map any
                  status the call does not accept to an exception from ``_errors``

Each call gets one ``X-Request-Id`` (reused by its retries, so LiveVox-side logs can tie
them together; a caller names its own with ``request_ids``, see ``_request_ids.py``);
errors carry the reply's request id when it has one, else ours. Logs are structlog events
(``livevox.request``, ``livevox.retry``, ``livevox.login``, ...) naming the endpoint by its
path *template*: no account, token, password or session id ever appears.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from random import Random
from typing import Any, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ValidationError
from tenacity import Retrying, retry_if_exception

from syncd.livevox._batching import batched
from syncd.livevox._config import ClientConfig
from syncd.livevox._endpoints import (
    ACCOUNTS,
    BULK_CREATE,
    BULK_DND,
    BULK_UPDATE,
    CREATE,
    CUSTOM_LIST,
    CUSTOM_READ,
    CUSTOM_UPDATE,
    DELETE,
    EXPORT,
    GROUP_CREATE,
    GROUP_LIST,
    GROUP_READ,
    GROUP_UPDATE,
    LIST,
    LOGIN,
    LOGOUT,
    NOTES_LIST,
    NOTES_READ,
    READ,
    SEARCH,
    UPDATE,
    UPDATE_DND,
    VALIDATE,
    Endpoint,
)
from syncd.livevox._errors import (
    ApiError,
    ClientClosedError,
    ConnectFailedError,
    ContactExistsError,
    InvalidCustomFieldError,
    InvalidDateRangeError,
    InvalidPageError,
    LiveVoxError,
    LoginFailedError,
    NetworkError,
    OutcomeUnknownError,
    PagingError,
    RateLimitedError,
    ResponseFormatError,
    UnknownExportFieldError,
    error_class_for_status,
)
from syncd.livevox._export import ExportStream
from syncd.livevox._fields import ALL_FIELDS, FieldTable, expected_columns, load_field_table
from syncd.livevox._models import (
    AssociatedAccount,
    BatchOutcome,
    BulkResult,
    Contact,
    ContactCreate,
    ContactDnd,
    ContactGroup,
    ContactNote,
    ContactUpdate,
    CreateOutcome,
    CreateResult,
    CustomField,
    CustomFieldUpdate,
    Page,
    PhoneDnd,
    SearchNode,
    SessionInfo,
    SortSpec,
    is_custom_field_key,
    to_epoch_ms,
)
from syncd.livevox._paths import ApiPaths, quote_segment
from syncd.livevox._ratelimit import TokenBucket
from syncd.livevox._request_ids import new_request_id
from syncd.livevox._retry import RetryPolicy, is_retryable, may_have_applied, parse_retry_after
from syncd.livevox._session import SessionHolder

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_APPLIED_COUNT = re.compile(r"(\d+)\D*$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

DateBound = date | datetime | str | int
"""An export range bound: date / datetime (sent as epoch ms), 'CCYY-MM-DD', or epoch ms."""


@dataclass
class _CallState:
    """Book-keeping of one logical call across its attempts."""

    request_id: str
    attempts: int = 0
    retryable: bool = False
    maybe_applied: bool = False  # an earlier attempt may have reached LiveVox and applied


Tolerate = Callable[[httpx.Response, _CallState], bool]


class LiveVoxClient:
    """Typed, thread-safe client for the LiveVox Contact API.

    Use as a context manager (or call ``close``): closing logs the session out. ``transport``,
    ``sleep``, ``clock`` and ``rng`` exist for tests; production passes only the config.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Random | None = None,
        field_table: FieldTable | None = None,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or Random()
        self._paths = ApiPaths(config.api_version)
        self._http = httpx.Client(
            base_url=config.base_url,
            transport=transport,
            timeout=httpx.Timeout(config.timeout),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "syncd-livevox"},
        )
        self._limiter = (
            TokenBucket(config.rate_limit_rps, config.rate_limit_burst, clock=clock, sleep=sleep)
            if config.rate_limit_rps
            else None
        )
        self._session = SessionHolder(self._login_once)
        self.fields = (field_table or load_field_table()).with_labels(
            config.export_label_overrides
        )
        self._log = structlog.get_logger("syncd.livevox")
        self._closed = False

    # --- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> LiveVoxClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Log out (best effort) and release connections. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self.logout()
        finally:
            self._http.close()

    @property
    def logins(self) -> int:
        """How many times this client has logged in (initial login included)."""
        return self._session.logins

    # --- session ----------------------------------------------------------------------

    def login(self) -> SessionInfo:
        """Log in now (normally lazy), replacing any current session."""
        state = _CallState(request_id=new_request_id())
        return self._run(
            LOGIN, self._session.refresh, state, lambda e: is_retryable(e, LOGIN.safety)
        )

    def validate_session(self) -> bool:
        """Whether LiveVox still accepts the current session (False when there is none)."""
        session = self._session.current()
        if session is None:
            return False
        response, _ = self._request(
            VALIDATE,
            path_params={"session": session},
            tolerate=lambda r, s: r.status_code == 404,
        )
        return response.status_code != 404

    def logout(self) -> None:
        """End the current session, if any. Never raises: a failed logout only expires."""
        session = self._session.take()
        if session is None:
            return
        try:
            self._request(
                LOGOUT,
                path_params={"session": session},
                tolerate=lambda r, s: r.status_code in (401, 404),
                single_attempt=True,  # closing must not hang on a LiveVox outage
            )
            self._log.info("livevox.logout")
        except LiveVoxError as exc:
            self._log.warning("livevox.logout_failed", error=type(exc).__name__)

    def _login_once(self) -> SessionInfo:
        state = _CallState(request_id=new_request_id(), attempts=1)
        body = {
            "clientName": self.config.client_name,
            "userName": self.config.username,
            "password": self.config.password.get_secret_value(),
            "agent": False,
        }
        path = self._path(LOGIN)
        response = self._send(LOGIN, path, body=body, session=None, state=state)
        if not response.is_success:
            raise self._error_from(LOGIN, response, state)
        info = self._parse(SessionInfo, self._json(LOGIN, response), LOGIN, response)
        self._log.info(
            "livevox.login",
            user_id=info.user_id,
            client_id=info.client_id,
            days_until_password_expires=info.days_until_password_expires,
        )
        if info.days_until_password_expires is not None and info.days_until_password_expires < 8:
            self._log.warning(
                "livevox.password_expiring", days=info.days_until_password_expires
            )
        return info

    # --- bulk export ------------------------------------------------------------------

    @contextmanager
    def export_contacts(
        self,
        fields: Sequence[str] = (ALL_FIELDS,),
        start: DateBound | None = None,
        end: DateBound | None = None,
    ) -> Iterator[ExportStream]:
        """Open the bulk CSV export (gzip on the wire) as a stream; see ``ExportStream``.

        Opening is retried like any read; once data flows nothing is retried: a cut-off
        stream raises ``ExportTruncatedError`` and the caller starts a new export.
        """
        requested = self._export_fields(fields)
        body: dict[str, Any] = {"exportableFields": list(requested)}
        if start is not None:
            body["startDate"] = _date_bound("start", start, end_of_day=False)
        if end is not None:
            body["endDate"] = _date_bound("end", end, end_of_day=True)
        custom_labels = {f.field: f.label for f in self.list_custom_fields()}
        response, state = self._request(
            EXPORT,
            body=body,
            headers={"Accept-Encoding": "gzip", "Accept": "text/csv, application/json"},
            stream=True,
        )
        try:
            stream = ExportStream(
                response,
                table=self.fields,
                custom_labels=custom_labels,
                expected=expected_columns(self.fields, requested),
                chunk_bytes=self.config.export_chunk_bytes,
            )
            self._log.info(
                "livevox.export_opened",
                columns=len(stream.columns),
                encoding=stream.content_encoding,
                request_id=state.request_id,
            )
            yield stream
            self._log.info(
                "livevox.export_closed",
                bytes_received=stream.bytes_received,
                bytes_decoded=stream.bytes_decoded,
            )
        finally:
            response.close()

    def _export_fields(self, fields: Sequence[str]) -> tuple[str, ...]:
        if isinstance(fields, str):
            fields = (fields,)
        known = set(self.fields.keys)
        for name in fields:
            if name != ALL_FIELDS and name not in known:
                raise UnknownExportFieldError(name)
        if not fields:
            raise UnknownExportFieldError("")
        return tuple(fields)

    # --- contacts: create / delete ----------------------------------------------------

    def create_contact(self, contact: ContactCreate, *, exist_ok: bool = False) -> CreateResult:
        """Create one contact.

        Retried like an idempotent write because a replay is detectable: if a retry meets
        202 "already exists" after an attempt whose reply was lost, that attempt created it
        and the result says ``ALREADY_EXISTS_AFTER_RETRY``. A 202 on the first attempt means
        the contact existed before: ``ContactExistsError``, or ``ALREADY_EXISTS`` with
        ``exist_ok``.
        """
        response, state = self._request(
            CREATE, body={"createContactDetails": contact.to_wire()}
        )
        if response.status_code == 202:
            if state.maybe_applied:
                outcome = CreateOutcome.ALREADY_EXISTS_AFTER_RETRY
                self._log.info("livevox.create_replayed", attempts=state.attempts)
            elif exist_ok:
                outcome = CreateOutcome.ALREADY_EXISTS
            else:
                code, message = _error_body(response.content)
                raise ContactExistsError(
                    endpoint=self._path(CREATE),
                    method=CREATE.method,
                    status=202,
                    code=code,
                    message=message,
                    request_id=_request_id(response, state),
                    attempts=state.attempts,
                )
            return CreateResult(contact.account, outcome, None, state.attempts)
        data = self._json(CREATE, response)
        raw_id = data.get("id")
        try:
            new_id = int(raw_id) if raw_id is not None else None
        except (TypeError, ValueError) as exc:
            raise ResponseFormatError(
                endpoint=self._path(CREATE), status=response.status_code, reason="id not a number"
            ) from exc
        return CreateResult(contact.account, CreateOutcome.CREATED, new_id, state.attempts)

    def bulk_create_contacts(self, contacts: Sequence[ContactCreate]) -> BulkResult:
        """Create many contacts in one request; the result counts what LiveVox created.

        Not idempotent, so retried only when LiveVox provably did not process it (429,
        connection never opened); a lost reply raises ``OutcomeUnknownError``.
        """
        items = list(contacts)
        response, _ = self._request(
            BULK_CREATE,
            body={"createContactDetails": [c.to_wire() for c in items]},
            headers={"Accept-Encoding": "application/json"},
        )
        return self._bulk_result(BULK_CREATE, response, len(items))

    def bulk_create_contacts_batched(
        self, contacts: Iterable[ContactCreate], batch_size: int | None = None
    ) -> list[BatchOutcome[ContactCreate]]:
        """Bulk create in batches of at most ``batch_size`` (config default); per-batch results."""
        size = batch_size or self.config.bulk_create_batch_size
        return self._batched(contacts, size, self.bulk_create_contacts)

    def delete_contact(self, account: str) -> None:
        """Delete a contact. A 404 after an attempt whose reply was lost counts as deleted."""
        self._request(
            DELETE,
            path_params={"account": account},
            tolerate=lambda r, s: r.status_code == 404 and s.maybe_applied,
        )

    # --- contacts: read / list / search -----------------------------------------------

    def read_contact(self, account: str) -> Contact:
        response, _ = self._request(READ, path_params={"account": account})
        data = self._json(READ, response)
        details = data.get("readContactDetails", data)
        return self._parse(Contact, details, READ, response)

    def list_contacts(self, *, offset: int = 0, count: int | None = None) -> Page[Contact]:
        """One page of contacts."""
        response, _ = self._request(LIST, params=self._page_params(offset, count))
        return self._page(LIST, response, ("listContactDetails",), Contact)

    def iter_contacts(self, *, page_size: int | None = None) -> Iterator[Contact]:
        """Every contact, page by page, lazily (follows ``next`` to the end)."""
        return self._iterate(LIST, {}, None, ("listContactDetails",), Contact, page_size)

    def search_contacts(
        self,
        search: SearchNode,
        *,
        sort: Sequence[SortSpec] = (),
        offset: int = 0,
        count: int | None = None,
    ) -> Page[Contact]:
        """One page of contacts matching the search tree."""
        response, _ = self._request(
            SEARCH, params=self._page_params(offset, count), body=_search_body(search, sort)
        )
        return self._page(SEARCH, response, ("findMatchingContactsDetails",), Contact)

    def iter_search_contacts(
        self,
        search: SearchNode,
        *,
        sort: Sequence[SortSpec] = (),
        page_size: int | None = None,
    ) -> Iterator[Contact]:
        """Every contact matching the search, lazily across pages."""
        return self._iterate(
            SEARCH,
            {},
            _search_body(search, sort),
            ("findMatchingContactsDetails",),
            Contact,
            page_size,
        )

    def list_contact_accounts(
        self, contact_id: str | int, *, offset: int = 0, count: int | None = None
    ) -> Page[AssociatedAccount]:
        """One page of the accounts associated with a contact (by its LiveVox id)."""
        response, _ = self._request(
            ACCOUNTS,
            path_params={"contact_id": contact_id},
            params=self._page_params(offset, count),
        )
        return self._page(ACCOUNTS, response, _ACCOUNT_KEYS, AssociatedAccount)

    def iter_contact_accounts(
        self, contact_id: str | int, *, page_size: int | None = None
    ) -> Iterator[AssociatedAccount]:
        return self._iterate(
            ACCOUNTS, {"contact_id": contact_id}, None, _ACCOUNT_KEYS, AssociatedAccount,
            page_size,
        )

    # --- contacts: update -------------------------------------------------------------

    def update_contact(self, update: ContactUpdate) -> None:
        """Update one contact (addressed by ``update.account``); unset fields are untouched."""
        self._request(
            UPDATE,
            path_params={"account": update.account},
            body={"updateContactDetails": update.to_wire()},
        )

    def bulk_update_contacts(self, updates: Sequence[ContactUpdate]) -> BulkResult:
        """Update many contacts; the result counts what LiveVox says it updated."""
        items = list(updates)
        response, _ = self._request(
            BULK_UPDATE, body={"updateContactDetails": [u.to_wire() for u in items]}
        )
        return self._bulk_result(BULK_UPDATE, response, len(items))

    def bulk_update_contacts_batched(
        self, updates: Iterable[ContactUpdate], batch_size: int | None = None
    ) -> list[BatchOutcome[ContactUpdate]]:
        size = batch_size or self.config.bulk_update_batch_size
        return self._batched(updates, size, self.bulk_update_contacts)

    def update_contact_dnd(self, account: str, phones: Sequence[PhoneDnd]) -> None:
        """Set DND / consent on phones of one contact (``PUT .../{account}/dnd``)."""
        self._request(
            UPDATE_DND,
            path_params={"account": account},
            body={"updateContactDND": [p.to_wire() for p in phones]},
        )

    def update_contacts_dnd(self, contacts: Sequence[ContactDnd]) -> BulkResult:
        """Multi-contact DND; ``applied`` is LiveVox's ``updated`` count."""
        items = list(contacts)
        response, _ = self._request(
            BULK_DND, body={"contactDnd": [c.to_wire() for c in items]}
        )
        data = self._json(BULK_DND, response)
        updated = data.get("updated")
        if updated is not None and not isinstance(updated, int):
            raise ResponseFormatError(
                endpoint=self._path(BULK_DND), status=response.status_code,
                reason="'updated' is not an integer",
            )
        return BulkResult(len(items), updated, response.status_code, None)

    def update_contacts_dnd_batched(
        self, contacts: Iterable[ContactDnd], batch_size: int | None = None
    ) -> list[BatchOutcome[ContactDnd]]:
        size = batch_size or self.config.dnd_batch_size
        return self._batched(contacts, size, self.update_contacts_dnd)

    # --- contact groups ---------------------------------------------------------------

    def create_contact_group(self, name: str) -> int:
        """Create a group; returns its id. Not retried on ambiguous failures (names may repeat)."""
        response, _ = self._request(GROUP_CREATE, body={"name": name})
        data = self._json(GROUP_CREATE, response)
        try:
            return int(data["id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ResponseFormatError(
                endpoint=self._path(GROUP_CREATE), status=response.status_code,
                reason="reply has no numeric 'id'",
            ) from exc

    def list_contact_groups(
        self, *, offset: int = 0, count: int | None = None
    ) -> Page[ContactGroup]:
        response, _ = self._request(GROUP_LIST, params=self._page_params(offset, count))
        return self._page(GROUP_LIST, response, ("contactGroup",), ContactGroup)

    def iter_contact_groups(self, *, page_size: int | None = None) -> Iterator[ContactGroup]:
        return self._iterate(GROUP_LIST, {}, None, ("contactGroup",), ContactGroup, page_size)

    def read_contact_group(self, group_id: int) -> ContactGroup:
        response, _ = self._request(GROUP_READ, path_params={"group_id": group_id})
        return self._parse(ContactGroup, self._json(GROUP_READ, response), GROUP_READ, response)

    def update_contact_group(self, group_id: int, name: str) -> None:
        self._request(GROUP_UPDATE, path_params={"group_id": group_id}, body={"name": name})

    # --- notes ------------------------------------------------------------------------

    def list_contact_notes(self, account: str) -> list[ContactNote]:
        response, _ = self._request(NOTES_LIST, path_params={"account": account})
        return self._page(NOTES_LIST, response, ("listContactNotes",), ContactNote).items

    def read_contact_note(self, account: str, note_id: int) -> ContactNote:
        response, _ = self._request(
            NOTES_READ, path_params={"account": account, "note_id": note_id}
        )
        return self._parse(ContactNote, self._json(NOTES_READ, response), NOTES_READ, response)

    # --- custom fields ----------------------------------------------------------------

    def list_custom_fields(self) -> list[CustomField]:
        response, _ = self._request(CUSTOM_LIST)
        return self._page(CUSTOM_LIST, response, ("customFields",), CustomField).items

    def read_custom_field(self, field: str) -> CustomField:
        if not is_custom_field_key(field):
            raise InvalidCustomFieldError(field)
        response, _ = self._request(CUSTOM_READ, path_params={"field": field})
        return self._parse(CustomField, self._json(CUSTOM_READ, response), CUSTOM_READ, response)

    def update_custom_fields(self, updates: Sequence[CustomFieldUpdate]) -> None:
        """Change labels / types / list values of custom fields (values are untouched)."""
        self._request(CUSTOM_UPDATE, body={"customFields": [u.to_wire() for u in updates]})

    # --- paging -----------------------------------------------------------------------

    def _page_params(self, offset: int, count: int | None) -> dict[str, str]:
        size = count if count is not None else self.config.page_size
        if not 1 <= size <= 1000 or offset < 0:  # 1000: LiveVox's hard cap
            raise InvalidPageError(offset=offset, count=size)
        return {"offset": str(offset), "count": str(size)}

    def _page(
        self,
        endpoint: Endpoint,
        response: httpx.Response,
        keys: Sequence[str],
        model: type[M],
    ) -> Page[M]:
        data = self._json(endpoint, response)
        raw_items: Any = []
        for key in keys:
            if data.get(key) is not None:
                raw_items = data[key]
                break
        if not isinstance(raw_items, list):
            raise ResponseFormatError(
                endpoint=self._path(endpoint), status=response.status_code,
                reason=f"{keys[0]} is not a list",
            )
        items = [self._parse(model, item, endpoint, response) for item in raw_items]
        next_link = data.get("next")
        if not isinstance(next_link, str) or not next_link.strip():
            next_link = None
        return Page(items, next_link)

    def _iterate(
        self,
        endpoint: Endpoint,
        path_params: Mapping[str, str | int],
        body: dict[str, Any] | None,
        keys: Sequence[str],
        model: type[M],
        page_size: int | None,
    ) -> Iterator[M]:
        path = self._path(endpoint, path_params)
        params = self._page_params(0, page_size)
        seen = {(path, tuple(sorted(params.items())))}
        pages = 0
        while True:
            response, _ = self._request(endpoint, path=path, params=params, body=body)
            page = self._page(endpoint, response, keys, model)
            pages += 1
            yield from page.items
            if page.next_link is None or not page.items:
                self._log.debug("livevox.paging_done", endpoint=endpoint.name, pages=pages)
                return
            path, params = self._paths.resolve_next(
                page.next_link, default_service=endpoint.service, previous_params=params
            )
            key = (path, tuple(sorted(params.items())))
            if key in seen:
                raise PagingError(endpoint=self._path(endpoint), next_link=page.next_link)
            seen.add(key)

    # --- batching ---------------------------------------------------------------------

    def _batched(
        self,
        items: Iterable[T],
        size: int,
        send: Callable[[Sequence[T]], BulkResult],
    ) -> list[BatchOutcome[T]]:
        outcomes: list[BatchOutcome[T]] = []
        for index, batch in enumerate(batched(items, size)):
            try:
                outcomes.append(BatchOutcome(index, batch, result=send(batch)))
            except LiveVoxError as exc:
                # a failed batch is reported, the others still go out
                outcomes.append(BatchOutcome(index, batch, error=exc))
        return outcomes

    def _bulk_result(
        self, endpoint: Endpoint, response: httpx.Response, requested: int
    ) -> BulkResult:
        if not response.content.strip():  # 204: no body, count unknown
            return BulkResult(requested, None, response.status_code, None)
        data = self._json(endpoint, response)
        message = data.get("message")
        if not isinstance(message, str):
            return BulkResult(requested, None, response.status_code, None)
        match = _APPLIED_COUNT.search(message)
        applied = int(match.group(1)) if match else None
        if applied is None:
            self._log.warning("livevox.bulk_count_missing", endpoint=endpoint.name)
        return BulkResult(requested, applied, response.status_code, message)

    # --- the request machinery --------------------------------------------------------

    def _path(self, endpoint: Endpoint, path_params: Mapping[str, str | int] | None = None) -> str:
        """The request path; without params, the template itself (for logs and errors)."""
        if path_params is None:
            return self._paths.path(endpoint.service, endpoint.template)
        quoted = {k: quote_segment(v) for k, v in path_params.items()}
        return self._paths.path(endpoint.service, endpoint.template.format(**quoted))

    def _request(
        self,
        endpoint: Endpoint,
        *,
        path: str | None = None,
        path_params: Mapping[str, str | int] | None = None,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        tolerate: Tolerate | None = None,
        single_attempt: bool = False,
    ) -> tuple[httpx.Response, _CallState]:
        """One logical call with retries; returns the accepted response and its state."""
        if self._closed and endpoint is not LOGOUT:
            raise ClientClosedError(endpoint.name)
        target = path or self._path(endpoint, path_params or {})
        state = _CallState(request_id=new_request_id())

        def attempt() -> httpx.Response:
            return self._attempt(endpoint, target, params, body, headers, stream, tolerate, state)

        response = self._run(
            endpoint, attempt, state, lambda e: state.retryable and not single_attempt
        )
        return response, state

    def _run(
        self,
        endpoint: Endpoint,
        call: Callable[[], T],
        state: _CallState,
        retryable: Callable[[BaseException], bool],
    ) -> T:
        policy = RetryPolicy(
            self.config,
            clock=self._clock,
            deadline=self._clock() + self.config.retry_deadline,
            rng=self._rng,
        )

        def log_retry(retry_state: Any) -> None:
            error = retry_state.outcome.exception() if retry_state.outcome else None
            self._log.warning(
                "livevox.retry",
                endpoint=endpoint.name,
                attempt=retry_state.attempt_number,
                wait=round(retry_state.upcoming_sleep, 3),
                error=type(error).__name__,
                status=getattr(error, "status", None),
                request_id=state.request_id,
            )

        retrying = Retrying(
            sleep=self._sleep,
            stop=policy.stop,
            wait=policy.wait,
            retry=retry_if_exception(retryable),
            before_sleep=log_retry,
            reraise=True,
        )
        return retrying(call)

    def _attempt(
        self,
        endpoint: Endpoint,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str] | None,
        stream: bool,
        tolerate: Tolerate | None,
        state: _CallState,
    ) -> httpx.Response:
        state.attempts += 1
        state.retryable = False
        session = self._ensure_session(state) if endpoint.authenticated else None
        response = self._send(
            endpoint, path, params=params, body=body, headers=headers,
            session=session, state=state, stream=stream,
        )
        if response.status_code == 401 and session is not None:
            # the session expired or was revoked: log in again once and replay
            response.close()
            dropped = self._session.invalidate(session)
            self._log.info("livevox.relogin", endpoint=endpoint.name, triggered=dropped)
            session = self._ensure_session(state)
            response = self._send(
                endpoint, path, params=params, body=body, headers=headers,
                session=session, state=state, stream=stream,
            )
        if response.is_success or (tolerate is not None and tolerate(response, state)):
            return response
        error = self._error_from(endpoint, response, state)
        state.retryable = is_retryable(error, endpoint.safety)
        state.maybe_applied = state.maybe_applied or may_have_applied(error)
        raise error

    def _ensure_session(self, state: _CallState) -> str:
        try:
            return self._session.ensure()
        except LiveVoxError as exc:
            state.retryable = is_retryable(exc, LOGIN.safety)
            raise

    def _send(
        self,
        endpoint: Endpoint,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        session: str | None,
        state: _CallState,
        stream: bool = False,
    ) -> httpx.Response:
        if self._limiter is not None:
            waited = self._limiter.acquire()
            if waited > 0:
                self._log.debug("livevox.throttled", endpoint=endpoint.name, wait=round(waited, 3))
        request_headers = {
            "LV-Access": self.config.access_token.get_secret_value(),
            "X-Request-Id": state.request_id,
        }
        if session is not None:
            request_headers["LV-Session"] = session
        if headers:
            request_headers.update(headers)
        request = self._http.build_request(
            endpoint.method, path, params=params, json=body, headers=request_headers
        )
        started = time.perf_counter()
        try:
            response = self._http.send(request, stream=stream)
        except httpx.TransportError as exc:
            error = self._network_error(endpoint, exc, state)
            state.retryable = is_retryable(error, endpoint.safety)
            state.maybe_applied = state.maybe_applied or may_have_applied(error)
            self._log.warning(
                "livevox.request_failed",
                endpoint=endpoint.name,
                method=endpoint.method,
                attempt=state.attempts,
                error=type(exc).__name__,
                request_id=state.request_id,
            )
            raise error from exc
        self._log.debug(
            "livevox.request",
            endpoint=endpoint.name,
            method=endpoint.method,
            status=response.status_code,
            attempt=state.attempts,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            request_id=_request_id(response, state),
        )
        return response

    def _network_error(
        self, endpoint: Endpoint, exc: httpx.TransportError, state: _CallState
    ) -> NetworkError:
        cls: type[NetworkError] = (
            ConnectFailedError if isinstance(exc, _NOT_SENT) else OutcomeUnknownError
        )
        return cls(
            endpoint=self._path(endpoint),
            method=endpoint.method,
            request_id=state.request_id,
            reason=type(exc).__name__,
            attempts=state.attempts,
        )

    def _error_from(
        self, endpoint: Endpoint, response: httpx.Response, state: _CallState
    ) -> ApiError:
        try:
            content = response.read()  # streamed replies: the error body is small
        except (httpx.HTTPError, httpx.StreamError):
            content = b""  # the status alone still says what happened
        finally:
            response.close()
        code, message = _error_body(content)
        status = response.status_code
        common: dict[str, Any] = {
            "endpoint": self._path(endpoint),
            "method": endpoint.method,
            "status": status,
            "code": code,
            "message": message,
            "request_id": _request_id(response, state),
            "attempts": state.attempts,
        }
        if endpoint is LOGIN and status in (401, 403):
            return LoginFailedError(**common)
        cls = error_class_for_status(status)
        if cls is RateLimitedError:
            return RateLimitedError(
                retry_after=parse_retry_after(response.headers.get("retry-after")), **common
            )
        return cls(**common)

    def _json(self, endpoint: Endpoint, response: httpx.Response) -> dict[str, Any]:
        if not response.content.strip():
            return {}
        try:
            data = response.json()
        except ValueError as exc:
            raise ResponseFormatError(
                endpoint=self._path(endpoint), status=response.status_code, reason="not JSON"
            ) from exc
        if not isinstance(data, dict):
            raise ResponseFormatError(
                endpoint=self._path(endpoint), status=response.status_code,
                reason="JSON reply is not an object",
            )
        return data

    def _parse(
        self, model: type[M], data: Any, endpoint: Endpoint, response: httpx.Response
    ) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:3])
            raise ResponseFormatError(
                endpoint=self._path(endpoint), status=response.status_code,
                reason=f"{model.__name__} fields invalid: {where}",
            ) from exc


_ACCOUNT_KEYS = ("listAccounts", "listAccount")


def _search_body(search: SearchNode, sort: Sequence[SortSpec]) -> dict[str, Any]:
    body: dict[str, Any] = {"search": search.to_wire()}
    if sort:
        body["sort"] = [s.to_wire() for s in sort]
    return body


def _request_id(response: httpx.Response, state: _CallState) -> str:
    return response.headers.get("x-request-id") or state.request_id


def _error_body(content: bytes) -> tuple[int | None, str | None]:
    """(code, message) from a LiveVox error body; a plain text body becomes the message."""
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return None, None
    try:
        data = json.loads(text)
    except ValueError:
        return None, text[:500]
    if not isinstance(data, dict):
        return None, text[:500]
    raw_code = data.get("code")
    code: int | None
    try:
        code = int(raw_code) if raw_code is not None else None
    except (TypeError, ValueError):
        code = None
    message = data.get("message")
    return code, (str(message) if message is not None else None)


def _date_bound(name: str, value: DateBound, *, end_of_day: bool) -> int | str:
    """An export bound as LiveVox takes it: epoch ms, or the 'CCYY-MM-DD' text as given.

    A plain ``date`` as *end* means the whole day (its last millisecond, UTC) *(our
    choice)*, matching what the 'CCYY-MM-DD' form means for an inclusive end.
    """
    if isinstance(value, bool):
        raise InvalidDateRangeError(name, "a boolean is not a date")
    if isinstance(value, str):
        text = value.strip()
        if not _ISO_DAY.match(text):
            raise InvalidDateRangeError(name, "text must be 'CCYY-MM-DD'")
        try:
            date.fromisoformat(text)
        except ValueError as exc:
            raise InvalidDateRangeError(name, "not a calendar date") from exc
        return text
    if isinstance(value, datetime | int):
        return to_epoch_ms(value)
    if isinstance(value, date):
        if end_of_day:
            last = datetime.combine(value, dtime.min, tzinfo=UTC) + timedelta(days=1)
            return to_epoch_ms(last) - 1
        return to_epoch_ms(value)
    raise InvalidDateRangeError(name, f"unsupported type {type(value).__name__}")
