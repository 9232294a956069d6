"""The exception tree: markers, status mapping, context carried, docstring drawing."""

from __future__ import annotations

import pickle

import pytest

import syncd.livevox as lv
from syncd.livevox import _errors
from syncd.livevox._errors import error_class_for_status


@pytest.mark.parametrize(
    ("status", "cls", "marker"),
    [
        (400, lv.BadRequestError, lv.TerminalError),
        (401, lv.UnauthorizedError, lv.TerminalError),
        (403, lv.ForbiddenError, lv.TerminalError),
        (404, lv.NotFoundError, lv.TerminalError),
        (405, lv.MethodNotAllowedError, lv.TerminalError),
        (409, lv.ConflictError, lv.TerminalError),
        (418, lv.UnexpectedStatusError, lv.TerminalError),
        (429, lv.RateLimitedError, lv.TransientError),
        (500, lv.InternalServerError, lv.TransientError),
        (502, lv.BadGatewayError, lv.TransientError),
        (503, lv.ServiceUnavailableError, lv.TransientError),
        (504, lv.GatewayTimeoutError, lv.TransientError),
        (599, lv.ServerError, lv.TransientError),
    ],
)
def test_status_maps_to_class_with_marker(status: int, cls: type, marker: type) -> None:
    assert error_class_for_status(status) is cls
    assert issubclass(cls, marker)
    assert issubclass(cls, lv.ApiError)


def test_every_concrete_error_has_exactly_one_marker() -> None:
    for name in lv.__all__:
        value = getattr(lv, name)
        if not (isinstance(value, type) and issubclass(value, lv.LiveVoxError)):
            continue
        if value in (lv.LiveVoxError, lv.TransientError, lv.TerminalError, lv.ApiError,
                     lv.ExportError, lv.ExportHeaderError, lv.ServerError, lv.NetworkError):
            continue
        markers = [m for m in (lv.TransientError, lv.TerminalError) if issubclass(value, m)]
        assert len(markers) == 1, name


def test_docstring_draws_every_error_class() -> None:
    doc = _errors.__doc__ or ""
    for name in lv.__all__:
        value = getattr(lv, name)
        if isinstance(value, type) and issubclass(value, lv.LiveVoxError):
            assert name in doc, name


def test_docstring_tree_matches_the_real_inheritance() -> None:
    lines = [ln for ln in (_errors.__doc__ or "").splitlines() if "Error" in ln and (
        ln.strip().startswith(("LiveVoxError", "├", "│", "└")))]
    stack: list[tuple[int, type]] = []
    checked = 0
    for line in lines:
        name = line.replace("│", " ").replace("├──", "   ").replace("└──", "   ").split()[0]
        depth = len(line) - len(line.replace("│", " ").replace("├──", "   ")
                                .replace("└──", "   ").lstrip())
        cls = getattr(_errors, name)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            assert issubclass(cls, stack[-1][1]), (name, stack[-1][1].__name__)
            checked += 1
        stack.append((depth, cls))
    assert checked >= 40


def test_api_error_carries_context_and_survives_pickling() -> None:
    error = lv.RateLimitedError(
        endpoint="/contact/contacts/{account}", method="GET", code=429,
        message="slow down", request_id="rid-1", attempts=3, retry_after=2.0,
    )
    text = str(error)
    for part in ("GET", "/contact/contacts/{account}", "429", "slow down", "rid-1", "3"):
        assert part in text
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is lv.RateLimitedError
    assert (clone.status, clone.retry_after, clone.request_id) == (429, 2.0, "rid-1")
    assert str(clone) == text
    network = lv.OutcomeUnknownError(endpoint="/x", method="POST", request_id="r", reason="Read")
    assert str(pickle.loads(pickle.dumps(network))) == str(network)


def test_export_row_error_never_carries_the_value() -> None:
    error = lv.ExportRowError(line=3, column="ssn", reason="not a valid date")
    assert "line 3" in str(error) and "ssn" in str(error)
    assert not hasattr(error, "value")
