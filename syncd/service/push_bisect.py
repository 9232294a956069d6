"""Find the rows a bulk call did not apply, in few requests, and get LiveVox's reasons.

A bulk reply only counts what it applied. On a short count the batch is halved and only the
left half is sent again, as a probe: bulk update and multi-contact DND are idempotent, so
re-applying rows that already went through changes nothing, and the probe's own count says
how many missing rows lie on the left, hence how many on the right. A right half with none
missing is settled without a request (its rows were applied by the parent's call); one with
some is halved in turn. One bad row in n costs about log2(n) probes. A lone missing row is
replayed through the single-contact endpoint, whose error reply carries LiveVox's reason;
when every row of a part is missing, each is replayed at once (bisecting would only add
requests). A 400 on the bulk request itself applied nothing, so both halves are sent.

Transient failures (the client's `TransientError` family, `OutcomeUnknownError` included)
fail just the rows of that request; a terminal error that is not about rows (403, 401, an
unreadable reply) aborts the batch (`BatchAbortedError`): every further request would meet it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from syncd.errors import SyncdError
from syncd.livevox import (
    ApiError,
    BadRequestError,
    BulkResult,
    ClientValidationError,
    ConflictError,
    LiveVoxError,
    NotFoundError,
    RateLimitedError,
    TransientError,
    UnexpectedStatusError,
)

T = TypeVar("T")


class RowStatus(StrEnum):
    APPLIED = "applied"
    REJECTED = "rejected"  # LiveVox refused the row: a dead letter with its reason
    FAILED = "failed"  # transient: retry later
    INVALID = "invalid"  # refused before sending (the client's own validation)


@dataclass(frozen=True, slots=True)
class RowOutcome:
    status: RowStatus
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    note: str | None = None


APPLIED = RowOutcome(RowStatus.APPLIED)


class BatchAbortedError(SyncdError):
    """A bulk request failed for a reason that is not about its rows; stop sending."""

    def __init__(self, error: LiveVoxError) -> None:
        super().__init__(f"push batch aborted: {error}", error=type(error).__name__)
        self.error = error


def _message(error: LiveVoxError) -> str:
    if isinstance(error, ApiError) and error.message:
        return error.message
    return str(error)


# Terminal errors that speak about the row sent (anything else terminal is about the setup:
# role, login, a reply the client cannot read, and aborts the batch).
_ROW_ERRORS = (BadRequestError, NotFoundError, ConflictError, UnexpectedStatusError)


def outcome_of_error(error: LiveVoxError) -> RowOutcome:
    """The row outcome a client error stands for; raises `BatchAbortedError` when it is not
    about the row."""
    status = error.status if isinstance(error, ApiError) else None
    if isinstance(error, TransientError):
        retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
        return RowOutcome(RowStatus.FAILED, status, f"{type(error).__name__}: {error}", retry_after)
    if isinstance(error, ClientValidationError):
        return RowOutcome(RowStatus.INVALID, None, str(error))
    if isinstance(error, _ROW_ERRORS):
        return RowOutcome(RowStatus.REJECTED, status, _message(error))
    raise BatchAbortedError(error) from error


@dataclass
class BulkSender(Generic[T]):
    """Bulk sends with bisection; `send` is the bulk call, `replay` the single-contact one."""

    send: Callable[[Sequence[T]], BulkResult]
    replay: Callable[[T], RowOutcome]

    def resolve(self, items: Sequence[T]) -> list[RowOutcome]:
        """One outcome per item, in order."""
        if not items:
            return []
        outcomes, _ = self._resolve(list(items), None)
        return outcomes

    def _replay(self, item: T) -> RowOutcome:
        try:
            return self.replay(item)
        except LiveVoxError as exc:
            return outcome_of_error(exc)

    def _resolve(
        self, items: list[T], missing: int | None, status: int | None = None
    ) -> tuple[list[RowOutcome], int | None]:
        """Outcomes, and how many rows this call's own bulk request left unapplied.

        `missing` (with the `status` of the request that told it) is known when a parent's
        count settles this part without sending it.
        """
        counted: int | None = None
        if missing is None:
            try:
                result = self.send(items)
            except TransientError as exc:
                return [outcome_of_error(exc)] * len(items), None
            except BadRequestError:
                if len(items) == 1:
                    return [self._replay(items[0])], None
                middle = len(items) // 2
                left, _ = self._resolve(items[:middle], None)
                right, _ = self._resolve(items[middle:], None)
                return left + right, None
            except LiveVoxError as exc:
                raise BatchAbortedError(exc) from exc
            applied = len(items) if result.applied is None else result.applied
            missing = counted = min(len(items), max(0, len(items) - applied))
            status = result.status
        if missing == 0:
            return [RowOutcome(RowStatus.APPLIED, status)] * len(items), counted
        if len(items) == 1 or missing >= len(items):
            return [self._replay(item) for item in items], counted
        middle = len(items) // 2
        left, left_missing = self._resolve(items[:middle], None)
        right_missing = None
        if left_missing is not None:
            right_missing = min(len(items) - middle, max(0, missing - left_missing))
        right, _ = self._resolve(items[middle:], right_missing, status)
        return left + right, counted
