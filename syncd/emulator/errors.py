"""Exceptions of the emulator.

    EmulatorError
    ├── ApiError                 an HTTP error answered with the LiveVox body {"code", "message"}
    │   ├── BadRequest           400, code 400
    │   ├── Unauthorized         401, code 401
    │   ├── Forbidden            403, code 403
    │   └── NotFound             404, code 203 (LiveVox's "No Record Found" code)
    ├── InvalidValue             a value that cannot be coerced; names the field (-> 400)
    ├── ContactNotFound          no live contact with that account or id (-> 404)
    ├── ContactExists            create of an account that exists (-> 202)
    ├── PhoneMismatch            a DND entry names a number not stored at that ordinal
    └── ExportCut                raised inside an export stream to cut the connection
"""

from __future__ import annotations

from typing import Any


class EmulatorError(Exception):
    """Base of every emulator error."""


class ApiError(EmulatorError):
    """An error the API answers with `status` and the LiveVox body `{"code", "message"}`."""

    status: int = 500
    code: int = 500

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class BadRequest(ApiError):
    status = 400
    code = 400


class Unauthorized(ApiError):
    status = 401
    code = 401


class Forbidden(ApiError):
    status = 403
    code = 403


class NotFound(ApiError):
    status = 404
    code = 203


class InvalidValue(EmulatorError, ValueError):
    """A request value that cannot be accepted; `field` names where it was found."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ContactNotFound(EmulatorError, LookupError):
    def __init__(self, key: str | int) -> None:
        super().__init__(f"no contact {key!r}")
        self.key = key


class ContactExists(EmulatorError):
    def __init__(self, account: str) -> None:
        super().__init__(f"contact {account!r} already exists")
        self.account = account


class PhoneMismatch(EmulatorError):
    def __init__(self, account: str, ordinal: int, sent: str, stored: str) -> None:
        super().__init__(
            f"phone at ordinal {ordinal} of account {account!r} is not {sent!r}"
        )
        self.account = account
        self.ordinal = ordinal
        self.sent = sent
        self.stored = stored


class ExportCut(EmulatorError):
    """Raised inside the export generator so the server drops the connection mid-body."""

    def __init__(self, after_bytes: int) -> None:
        super().__init__(f"export cut after {after_bytes} bytes (fault injection)")
        self.after_bytes = after_bytes
