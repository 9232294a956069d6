"""Exceptions raised by the LiveVox client.

Callers decide what to do by *class*, never by parsing messages: every concrete error also
derives from one of two markers, ``TransientError`` (the same call may succeed later: retry,
requeue, restart the export) or ``TerminalError`` (retrying the same request cannot help: fix
the input, the config or the permissions). The client has already spent its own retry
budget before a ``TransientError`` reaches the caller.

    LiveVoxError
    ├── TransientError  (marker)
    ├── TerminalError   (marker)
    ├── ClientValidationError [terminal]         bad input caught before any request
    │   ├── CustomFieldValueTooLongError           custom value over 255 characters
    │   ├── InvalidCustomFieldError                field name not COL1..COL100
    │   ├── PhoneOrdinalOutOfRangeError            phone ordinal outside 1..10
    │   ├── InvalidDateRangeError                  export start/end not a date
    │   ├── InvalidPageError                       count outside 1..1000 or negative offset
    │   └── UnknownExportFieldError                export field not in the field table
    ├── ApiError                                  LiveVox answered with an error status
    │   ├── BadRequestError (400) [terminal]
    │   ├── UnauthorizedError (401) [terminal]     still 401 after one re-login
    │   ├── LoginFailedError (401/403 on login) [terminal]
    │   ├── ForbiddenError (403) [terminal]        role not permitted
    │   ├── NotFoundError (404, code 203) [terminal]
    │   ├── MethodNotAllowedError (405) [terminal]
    │   ├── ConflictError (409) [terminal]
    │   │   └── ContactExistsError (202 "already exists" on a first create attempt)
    │   ├── RateLimitedError (429) [transient]     carries retry_after
    │   ├── ServerError (5xx) [transient]
    │   │   ├── InternalServerError (500)
    │   │   ├── BadGatewayError (502)
    │   │   ├── ServiceUnavailableError (503)
    │   │   └── GatewayTimeoutError (504)
    │   └── UnexpectedStatusError [terminal]       any other status
    ├── NetworkError [transient]                  no complete HTTP reply
    │   ├── ConnectFailedError                     never reached LiveVox: nothing applied
    │   └── OutcomeUnknownError                    sent, reply lost: may have been applied
    ├── ClientClosedError [terminal]              the client was closed
    ├── FieldTableError [terminal]                field data file or label overrides invalid
    ├── ResponseFormatError [terminal]            reply does not match the spec's shape
    ├── PagingError [terminal]                    `next` does not advance
    └── ExportError
        ├── ExportTruncatedError [transient]       stream cut off: restart the export
        ├── ExportCorruptError [transient]         gzip data invalid
        ├── ExportConsumedError [terminal]         the single-pass stream was read twice
        ├── ExportHeaderError [terminal]
        │   ├── UnknownExportColumnError           a header maps to no field
        │   └── AmbiguousExportColumnError         a header maps to several fields
        └── ExportRowError [terminal]              iter_rows: a value does not parse

Error messages never contain the access token, password, session id or field values (an
export value may be an SSN); they name the endpoint, status and LiveVox's own message.
"""

from __future__ import annotations

from typing import ClassVar


class LiveVoxError(Exception):
    """Base of every error raised by ``syncd.livevox``."""


class TransientError(LiveVoxError):
    """Marker: the same call may succeed later (after a wait, a requeue or a restart)."""


class TerminalError(LiveVoxError):
    """Marker: repeating the same request cannot succeed."""


# --- client-side validation -------------------------------------------------------------


class ClientValidationError(TerminalError):
    """The request was rejected by the client before anything was sent."""


class CustomFieldValueTooLongError(ClientValidationError):
    """A custom field value exceeds LiveVox's 255-character limit."""

    def __init__(self, field: str, length: int, limit: int) -> None:
        self.field = field
        self.length = length
        self.limit = limit
        super().__init__(f"custom field {field}: value has {length} characters, limit is {limit}")


class InvalidCustomFieldError(ClientValidationError):
    """A custom field name is not one of COL1..COL100."""

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(f"custom field name {field!r} is not one of COL1..COL100")


class PhoneOrdinalOutOfRangeError(ClientValidationError):
    """A phone ordinal lies outside 1..10."""

    def __init__(self, ordinal: int, low: int = 1, high: int = 10) -> None:
        self.ordinal = ordinal
        self.low = low
        self.high = high
        super().__init__(f"phone ordinal {ordinal} is outside {low}..{high}")


class InvalidDateRangeError(ClientValidationError):
    """An export start/end is neither a date, a datetime nor a 'CCYY-MM-DD' string."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"export {name}: {reason}")


class InvalidPageError(ClientValidationError):
    """A page request outside LiveVox's limits (count 1..1000, offset from 0)."""

    def __init__(self, *, offset: int, count: int) -> None:
        self.offset = offset
        self.count = count
        super().__init__(f"page offset={offset} count={count}: count must be 1..1000, "
                         "offset at least 0")


class UnknownExportFieldError(ClientValidationError):
    """A field requested for export is not an exportable field key."""

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(f"{field!r} is not an exportable field (nor 'allFields')")


# --- HTTP replies ---------------------------------------------------------------------


class ApiError(LiveVoxError):
    """LiveVox answered with a status the call does not accept.

    ``code`` and ``message`` come from the LiveVox error body ``{"code", "message"}`` when
    there is one; ``request_id`` is the reply's ``X-Request-Id`` or, failing that, the id the
    client sent; ``attempts`` counts the HTTP attempts the client made for this call.
    """

    status_hint: ClassVar[int | None] = None

    def __init__(
        self,
        *,
        endpoint: str,
        method: str,
        status: int,
        code: int | None = None,
        message: str | None = None,
        request_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.endpoint = endpoint
        self.method = method
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.attempts = attempts
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.method} {self.endpoint} -> HTTP {self.status}"]
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.message:
            parts.append(repr(self.message))
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        return ", ".join(parts)

    def __reduce__(self) -> tuple[object, ...]:
        # keyword-only __init__: keep the exception picklable (multiprocessing, logging).
        return (_rebuild_api_error, (type(self), self.__dict__.copy()))


def _rebuild_api_error(cls: type[ApiError], state: dict[str, object]) -> ApiError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error._describe())
    return error


class BadRequestError(ApiError, TerminalError):
    """400: LiveVox rejected the request; ``message`` explains why."""

    status_hint = 400


class UnauthorizedError(ApiError, TerminalError):
    """401 even after logging in again once."""

    status_hint = 401


class LoginFailedError(ApiError, TerminalError):
    """The session login was refused (wrong token, client name, user or password)."""


class ForbiddenError(ApiError, TerminalError):
    """403: the user's role may not call this endpoint."""

    status_hint = 403


class NotFoundError(ApiError, TerminalError):
    """404 (LiveVox code 203): the contact, group, note or field does not exist."""

    status_hint = 404


class MethodNotAllowedError(ApiError, TerminalError):
    """405: the method is not served on this path."""

    status_hint = 405


class ConflictError(ApiError, TerminalError):
    """409: the request conflicts with the current state."""

    status_hint = 409


class ContactExistsError(ConflictError):
    """Create met 202 "already exists" on its first attempt: the contact was there before."""


class RateLimitedError(ApiError, TransientError):
    """429: too many requests; ``retry_after`` is the server's wait in seconds, if given."""

    status_hint = 429

    def __init__(
        self,
        *,
        endpoint: str,
        method: str,
        status: int = 429,
        code: int | None = None,
        message: str | None = None,
        request_id: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            endpoint=endpoint,
            method=method,
            status=status,
            code=code,
            message=message,
            request_id=request_id,
            attempts=attempts,
        )


class ServerError(ApiError, TransientError):
    """5xx: LiveVox or a gateway failed."""


class InternalServerError(ServerError):
    """500."""

    status_hint = 500


class BadGatewayError(ServerError):
    """502."""

    status_hint = 502


class ServiceUnavailableError(ServerError):
    """503."""

    status_hint = 503


class GatewayTimeoutError(ServerError):
    """504."""

    status_hint = 504


class UnexpectedStatusError(ApiError, TerminalError):
    """A status the spec does not document for this call (3xx, other 4xx)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    cls.status_hint: cls
    for cls in (
        BadRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        MethodNotAllowedError,
        ConflictError,
        RateLimitedError,
        InternalServerError,
        BadGatewayError,
        ServiceUnavailableError,
        GatewayTimeoutError,
    )
    if cls.status_hint is not None
}


def error_class_for_status(status: int) -> type[ApiError]:
    """The ``ApiError`` subclass that stands for an HTTP status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return UnexpectedStatusError


# --- transport ------------------------------------------------------------------------


class NetworkError(TransientError):
    """No complete HTTP reply: timeout, refused or dropped connection."""

    def __init__(self, *, endpoint: str, method: str, request_id: str, reason: str,
                 attempts: int = 1) -> None:
        self.endpoint = endpoint
        self.method = method
        self.request_id = request_id
        self.reason = reason
        self.attempts = attempts
        super().__init__(
            f"{method} {endpoint}: {reason} (request_id={request_id}, attempts={attempts})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_network_error,
            (type(self), self.__dict__.copy(), str(self)),
        )


def _rebuild_network_error(
    cls: type[NetworkError], state: dict[str, object], text: str
) -> NetworkError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, text)
    return error


class ConnectFailedError(NetworkError):
    """The request never reached LiveVox (connect failed or timed out): nothing was applied."""


class OutcomeUnknownError(NetworkError):
    """The request was (or may have been) sent but no reply arrived: it may have been applied."""


# --- reply shape, paging --------------------------------------------------------------


class ClientClosedError(TerminalError):
    """A call on a client that was already closed (its session logged out)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"{endpoint}: the LiveVox client is closed")


class FieldTableError(TerminalError):
    """The field data file, or a label override from config, is invalid."""


class ResponseFormatError(TerminalError):
    """A success reply whose body does not have the shape the spec documents."""

    def __init__(self, *, endpoint: str, status: int, reason: str) -> None:
        self.endpoint = endpoint
        self.status = status
        self.reason = reason
        super().__init__(f"{endpoint} -> HTTP {status}: unexpected reply: {reason}")


class PagingError(TerminalError):
    """A paged listing's ``next`` link repeats a page already read (it would loop forever)."""

    def __init__(self, *, endpoint: str, next_link: str) -> None:
        self.endpoint = endpoint
        self.next_link = next_link
        super().__init__(f"{endpoint}: next link {next_link!r} does not advance")


# --- bulk export ----------------------------------------------------------------------


class ExportError(LiveVoxError):
    """Base of errors while reading a bulk CSV export."""


class ExportTruncatedError(ExportError, TransientError):
    """The export stream ended before its end: nothing read from it may be used as complete."""

    def __init__(self, reason: str, *, bytes_received: int) -> None:
        self.reason = reason
        self.bytes_received = bytes_received
        super().__init__(f"export truncated after {bytes_received} bytes: {reason}")


class ExportCorruptError(ExportError, TransientError):
    """The compressed export stream is not valid gzip (bad header or checksum)."""

    def __init__(self, reason: str, *, bytes_received: int) -> None:
        self.reason = reason
        self.bytes_received = bytes_received
        super().__init__(f"export corrupt after {bytes_received} bytes: {reason}")


class ExportConsumedError(ExportError, TerminalError):
    """An export stream is single-pass and its data was already read."""

    def __init__(self) -> None:
        super().__init__("export stream already consumed; start a new export")


class ExportHeaderError(ExportError, TerminalError):
    """The export's CSV header cannot be mapped onto field keys."""


class UnknownExportColumnError(ExportHeaderError):
    """A CSV header is neither a field key, a known label nor a custom field's label."""

    def __init__(self, header: str, position: int) -> None:
        self.header = header
        self.position = position
        super().__init__(f"export column {position + 1} header {header!r} matches no field")


class AmbiguousExportColumnError(ExportHeaderError):
    """A CSV header matches several fields and its position does not settle which."""

    def __init__(self, header: str, position: int, candidates: tuple[str, ...]) -> None:
        self.header = header
        self.position = position
        self.candidates = candidates
        super().__init__(
            f"export column {position + 1} header {header!r} matches several fields: "
            + ", ".join(candidates)
        )


class ExportRowError(ExportError, TerminalError):
    """``iter_rows``: a row is malformed or a value does not parse as its field's type.

    The offending value is deliberately not part of the message (it may be an SSN).
    """

    def __init__(self, *, line: int, column: str | None, reason: str) -> None:
        self.line = line
        self.column = column
        self.reason = reason
        where = f"line {line}" + (f", column {column}" if column else "")
        super().__init__(f"export {where}: {reason}")
