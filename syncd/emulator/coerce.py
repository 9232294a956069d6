"""Lenient coercion of request values into the store's Python types.

The spec's own examples send `"active": "true"`, `"balance": "1000.00"`, `"ordinal": "1"`,
`"groupId": "12371"`, custom values as numbers or booleans, and dates as epoch milliseconds
(number or numeric string); we accept all of those, plus `YYYY-MM-DD` dates. Anything else is
an `InvalidValue` naming the field, which the API answers with a 400.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .errors import InvalidValue
from .fields import FieldDef

MAX_TEXT = 255
_CENT = Decimal("0.01")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT_RE = re.compile(r"-?\d+")
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def to_text(field: str, value: Any, *, max_len: int = MAX_TEXT) -> str | None:
    """A string field; numbers become their text, "" becomes None (absent)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidValue(field, "expected a string, got a boolean")
    if isinstance(value, int | Decimal):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidValue(field, f"expected a string, got {_kind(value)}")
    if len(value) > max_len:
        raise InvalidValue(field, f"longer than {max_len} characters ({len(value)})")
    return value or None


def to_bool(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue(field, f"expected true or false, got {value!r}")


def to_int(field: str, value: Any, *, nullable: bool = True) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool):
        raise InvalidValue(field, "expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip())
    raise InvalidValue(field, f"expected an integer, got {value!r}")


def to_decimal(field: str, value: Any) -> Decimal | None:
    """Money: any finite number or numeric string, rounded half-up to cents."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidValue(field, "expected a number, got a boolean")
    if isinstance(value, int | Decimal | str):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise InvalidValue(field, f"expected a number, got {value!r}") from None
        if not number.is_finite():
            raise InvalidValue(field, f"expected a finite number, got {value!r}")
        if abs(number) >= Decimal("1e15"):
            raise InvalidValue(field, f"number out of range: {value!r}")
        return number.quantize(_CENT, rounding=ROUND_HALF_UP)
    raise InvalidValue(field, f"expected a number, got {_kind(value)}")


def _epoch_ms(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def to_instant(field: str, value: Any) -> datetime | None:
    """Epoch milliseconds (number or numeric string), `YYYY-MM-DD` (midnight UTC) or ISO 8601."""
    if value is None:
        return None
    ms = _epoch_ms(value)
    if ms is not None:
        try:
            return _EPOCH + timedelta(milliseconds=ms)
        except OverflowError:
            raise InvalidValue(field, f"timestamp out of range: {value!r}") from None
    if isinstance(value, str):
        text = value.strip()
        try:
            if _ISO_DATE_RE.fullmatch(text):
                return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            if _ISO_DATETIME_RE.fullmatch(text):
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        except ValueError:
            pass
    raise InvalidValue(
        field, f"expected epoch milliseconds or a YYYY-MM-DD date, got {value!r}"
    )


def to_date(field: str, value: Any) -> date | None:
    """A calendar date; a timestamp gives its UTC date (the time part is ignored)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    instant = to_instant(field, value)
    return None if instant is None else instant.date()


def to_datetime(field: str, value: Any) -> datetime | None:
    instant = to_instant(field, value)
    return None if instant is None else truncate_ms(instant)


def truncate_ms(instant: datetime) -> datetime:
    """Instants are kept to the millisecond, the precision the JSON views carry."""
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def custom_value(field: str, value: Any) -> str | None:
    """A custom column's value: numbers and booleans become text; at most 255 characters."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return to_text(field, value)


def flat_value(field: FieldDef, value: Any) -> Any:
    """Coerce a value for a flat record field according to the data file's type."""
    key = field.key
    kind = field.type
    if kind == "boolean":
        return to_bool(key, value)
    if kind == "integer":
        return to_int(key, value)
    if kind == "decimal":
        return to_decimal(key, value)
    if kind == "date":
        return to_date(key, value)
    if kind == "datetime":
        return to_datetime(key, value)
    if field.group == "custom":
        return custom_value(key, value)
    return to_text(key, value)
