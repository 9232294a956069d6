"""Request plumbing shared by the routes: state, strict JSON bodies, sessions, paging."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import Request

from .errors import BadRequest, Forbidden, Unauthorized
from .sessions import Session
from .state import Emulator

MAX_COUNT = 1000


def emulator(request: Request) -> Emulator:
    state: Emulator = request.app.state.emulator
    return state


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON (no trailing commas, NaN or Infinity, text that is Unicode); numbers with a
    fraction become Decimal so amounts keep their exact value."""
    if not raw.strip():
        raise BadRequest("a JSON request body is required")
    try:
        value = json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"malformed JSON body: {exc}") from None
    except RecursionError:
        raise BadRequest("malformed JSON body: nested too deeply") from None
    _require_unicode(value)
    return value


def _require_unicode(value: Any) -> None:
    """Refuse strings holding a lone surrogate (`"\\udc00"`): JSON's escapes can spell one,
    but UTF-8 cannot encode it, so a contact storing it would break every later read and
    export of that contact."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
            texts: Any = item.keys()
        elif isinstance(item, list):
            stack.extend(item)
            continue
        elif isinstance(item, str):
            texts = (item,)
        else:
            continue
        for text in texts:
            if not text.isascii():
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise BadRequest(
                        "malformed JSON body: a string holds a lone surrogate escape, "
                        "which is not a character"
                    ) from None


async def json_body(request: Request) -> Any:
    return parse_json(await request.body())


def require_roles(*roles: str) -> Callable[[Request], Session]:
    """A dependency admitting a live session whose user has one of `roles`."""
    allowed = frozenset(roles)

    def dependency(request: Request) -> Session:
        state = emulator(request)
        if state.faults.should_expire_sessions():
            state.sessions.drop_all()
        session = state.sessions.touch(request.headers.get("LV-Session"))
        if session is None:
            raise Unauthorized("Session is missing, invalid or expired; log in again")
        if session.user.role not in allowed:
            raise Forbidden(
                f"User role {session.user.role} is not allowed to call this method "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
        return session

    return dependency


def _query_int(request: Request, name: str, minimum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        raise BadRequest(f"query parameter {name} is required")
    # The spec's own example writes `count={10}&offset={0}`; the braces are forgiven.
    text = raw.strip().removeprefix("{").removesuffix("}").strip()
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"query parameter {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise BadRequest(f"query parameter {name} must be at least {minimum}, got {value}")
    return value


def paging(request: Request) -> tuple[int, int]:
    """(count, offset) from the mandatory query parameters; count is capped at 1000."""
    count = min(_query_int(request, "count", 1), MAX_COUNT)
    offset = _query_int(request, "offset", 0)
    return count, offset
