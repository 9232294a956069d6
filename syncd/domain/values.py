"""Canonical field values: the one JSON form every side of the sync core compares and stores.

`syncd.base.agreed`, `syncd.outbox.payload` / `expected` and `syncd.conflicts.*_value` hold
one JSON value per LiveVox field key, in the form below, so a value read from the SoR, one read
from the mirror and one agreed earlier compare equal exactly when they mean the same thing.

| field type | canonical JSON | example |
|---|---|---|
| string   | string; `''` is null; phones without spaces, dots, dashes, brackets | `"5551230001"` |
| integer  | number | `42` |
| decimal  | string, rounded to the cent, trailing zeros trimmed, never an exponent | `"100.5"` |
| boolean  | true / false | `true` |
| date     | `"YYYY-MM-DD"` | `"2024-02-29"` |
| datetime | ISO-8601 UTC to the second, `Z` suffix | `"2024-02-29T13:05:00Z"` |
| missing  | null | `null` |

Three directions: `to_canonical` (typed Python value from the database or the client →
canonical), `from_canonical` (canonical → typed Python value for a model or a SQL parameter)
and `parse_value` (a value as a system of record may hold it — text in a number column's
place, `MM/DD/YYYY` dates, `yes`/`no` flags — → canonical, or `InvalidValueError` with a
reason). The SQL of the diff builds the same forms from typed columns (`syncd.store.sor_sql`);
a unit test keeps the two in step. Pure code: no I/O.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, Literal

FieldKind = Literal["string", "integer", "decimal", "boolean", "date", "datetime"]
JsonScalar = str | int | bool | None

MASK = "***"
"""What audit rows, dead letters and messages show instead of a PII value."""

PII_KEYS: frozenset[str] = frozenset({"ssn", "dateOfBirth"})
"""Field keys whose values never leave the SoR and LiveVox (audit rows get `***`)."""

CUSTOM_VALUE_MAX = 255
"""LiveVox's limit on a custom field value (and on `account`), in characters."""

PHONE_FORMATTING = r"[\s().-]"
"""Characters removed from phone numbers before comparing or sending them (SQL and Python)."""

_PHONE_FORMATTING = re.compile(PHONE_FORMATTING)
_PHONE = re.compile(r"\+?\d{4,15}")
_INTEGER = re.compile(r"[+-]?\d{1,18}")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off"})
_CUSTOM_KEY = re.compile(r"COL([1-9]\d?|100)")


class InvalidValueError(ValueError):
    """A value that cannot be sent to LiveVox; `reason` says why without showing PII."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


# --- typed Python -> canonical ---------------------------------------------------------------


AMOUNT_STEP = Decimal("0.01")
"""LiveVox keeps amounts to the cent, rounding half away from zero (as the emulator models it).
Decimals are compared, stored as agreed and sent rounded the same way: an amount with more
places (a SoR accruing interest to 1/10000) is sent once, rounded, instead of on every cycle
because LiveVox's copy never equals it. `canonical_sql` rounds alike (SQL `round`)."""
# Enough digits to round any amount a bigint-sized ledger holds without an InvalidOperation.
_ROUNDING = Context(prec=60, rounding=ROUND_HALF_UP)


def canonical_decimal(value: Decimal) -> str:
    """`Decimal('100.50')` → `"100.5"`; `Decimal('1E+2')` → `"100"`; `Decimal('10.005')` →
    `"10.01"` (see `AMOUNT_STEP`); zero is `"0"`."""
    if not value.is_finite():
        raise ValueError(f"not a finite number: {value}")
    value = value.quantize(AMOUNT_STEP, context=_ROUNDING)
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def canonical_datetime(value: datetime) -> str:
    """UTC to the second with a `Z`; a naive datetime is read as UTC."""
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise_phone(text: str) -> str | None:
    """A phone number without formatting characters; empty → None."""
    return _PHONE_FORMATTING.sub("", text) or None


def to_canonical(kind: FieldKind, value: Any, *, phone: bool = False) -> JsonScalar:
    """The canonical JSON value of a typed Python value (as the database or client holds it)."""
    if value is None:
        return None
    match kind:
        case "string":
            text = str(value)
            if phone:
                return normalise_phone(text)
            return text or None
        case "integer":
            if isinstance(value, bool):
                raise TypeError("a boolean is not an integer")
            return int(value)
        case "decimal":
            if isinstance(value, bool):
                raise TypeError("a boolean is not a decimal")
            return canonical_decimal(value if isinstance(value, Decimal) else Decimal(str(value)))
        case "boolean":
            return bool(value)
        case "date":
            if isinstance(value, datetime):
                value = (value if value.tzinfo is None else value.astimezone(UTC)).date()
            return value.isoformat() if isinstance(value, date) else str(value)
        case "datetime":
            if isinstance(value, datetime):
                return canonical_datetime(value)
            if isinstance(value, date):
                return canonical_datetime(datetime(value.year, value.month, value.day))
            return str(value)
    raise ValueError(f"unknown field type {kind!r}")


# --- canonical -> typed Python ---------------------------------------------------------------


def from_canonical(kind: FieldKind, value: JsonScalar) -> Any:
    """The typed Python value of a canonical JSON value (str, int, Decimal, bool, date,
    aware datetime, or None)."""
    if value is None:
        return None
    match kind:
        case "string":
            return str(value)
        case "integer":
            return int(value)
        case "decimal":
            return Decimal(str(value))
        case "boolean":
            return bool(value)
        case "date":
            return date.fromisoformat(str(value))
        case "datetime":
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    raise ValueError(f"unknown field type {kind!r}")


def canonical_text(value: JsonScalar) -> str | None:
    """A canonical value as text, for a SQL `CAST(:v AS type)` parameter (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- loose SoR value -> canonical (validation) -----------------------------------------------


def parse_value(key: str, kind: FieldKind, raw: Any, *, phone: bool = False) -> JsonScalar:
    """Canonical form of a value as a system of record may hold it, or `InvalidValueError`.

    `raw` is what the diff read: usually already canonical; text when the SoR keeps a number,
    flag or date in a text column. Reasons never quote a PII value.
    """
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.strip() if kind != "string" else raw
        if raw == "":
            return None
    match kind:
        case "string":
            text = raw if isinstance(raw, str) else json.dumps(raw)
            if phone:
                number = normalise_phone(text)
                if number is not None and not _PHONE.fullmatch(number):
                    raise InvalidValueError(
                        key, f"not a phone number (4-15 digits): {_show(key, text)}"
                    )
                return number
            return text
        case "integer":
            return _parse_integer(key, raw)
        case "decimal":
            return _parse_decimal(key, raw)
        case "boolean":
            return _parse_boolean(key, raw)
        case "date":
            return _parse_date(key, raw)
        case "datetime":
            return _parse_datetime(key, raw)
    raise ValueError(f"unknown field type {kind!r}")


def _parse_integer(key: str, raw: Any) -> int:
    if isinstance(raw, bool):
        raise InvalidValueError(key, "not a number: a true/false value")
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        number = Decimal(text)
        if number == number.to_integral_value() and abs(number) < 10**18:
            return int(number)
    raise InvalidValueError(key, f"not a whole number: {_show(key, text)}")


def _parse_decimal(key: str, raw: Any) -> str:
    if isinstance(raw, bool):
        raise InvalidValueError(key, "not a number: a true/false value")
    text = str(raw).strip()
    if not _DECIMAL.fullmatch(text):
        raise InvalidValueError(key, f"not a number: {_show(key, text)}")
    try:
        return canonical_decimal(Decimal(text))
    except (InvalidOperation, ValueError):
        raise InvalidValueError(key, f"not a number: {_show(key, text)}") from None


def _parse_boolean(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidValueError(key, f"not true/false: {_show(key, str(raw))}")


def _parse_date(key: str, raw: Any) -> str:
    text = str(raw).strip()
    iso, us = _ISO_DATE.fullmatch(text), _US_DATE.fullmatch(text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3])).isoformat()
        if us:
            return date(int(us[3]), int(us[1]), int(us[2])).isoformat()
    except ValueError:
        raise InvalidValueError(key, f"not a calendar date: {_show(key, text)}") from None
    raise InvalidValueError(key, f"not a date (YYYY-MM-DD or MM/DD/YYYY): {_show(key, text)}")


def _parse_datetime(key: str, raw: Any) -> str:
    text = str(raw).strip()
    try:
        return canonical_datetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y"):
        try:
            return canonical_datetime(datetime.strptime(text, fmt))
        except ValueError:
            pass
    raise InvalidValueError(key, f"not a date and time: {_show(key, text)}")


def check_custom_value(
    key: str,
    value: JsonScalar,
    *,
    data_type: str | None = None,
    list_values: tuple[str, ...] | None = None,
) -> None:
    """LiveVox's rules for a custom field value (COL1..COL100): at most 255 characters, and
    the configured type: NUMBER, DATE, BOOLEAN, or one of the LIST's values."""
    if not _CUSTOM_KEY.fullmatch(key):
        raise InvalidValueError(key, "not a custom field (COL1..COL100)")
    if value is None:
        return
    text = canonical_text(value) or ""
    if len(text) > CUSTOM_VALUE_MAX:
        raise InvalidValueError(
            key, f"custom value of {len(text)} characters (LiveVox allows {CUSTOM_VALUE_MAX})"
        )
    match (data_type or "STRING").upper():
        case "NUMBER":
            _parse_decimal(key, text)
        case "DATE":
            _parse_date(key, text)
        case "BOOLEAN":
            _parse_boolean(key, text)
        case "LIST" if list_values:
            if text not in list_values:
                shown = ", ".join(list_values[:10]) + (", ..." if len(list_values) > 10 else "")
                raise InvalidValueError(key, f"{text!r} is not one of the list values ({shown})")


def check_account(account: Any) -> str:
    """The account as text, or `InvalidValueError` when it is missing or too long."""
    text = "" if account is None else str(account)
    if not text.strip():
        raise InvalidValueError("account", "missing account")
    if len(text) > CUSTOM_VALUE_MAX:
        raise InvalidValueError(
            "account", f"account of {len(text)} characters (LiveVox allows {CUSTOM_VALUE_MAX})"
        )
    return text


# --- display ---------------------------------------------------------------------------------


def _show(key: str, text: str) -> str:
    return MASK if key in PII_KEYS else repr(text[:80])


def audit_text(key: str | None, value: Any) -> str | None:
    """A canonical value as `audit_log.old_value` / `new_value` text; PII fields → `***`.

    Strings as they are, everything else as JSON (`true`, `42`, `[true, false]`); null → NULL.
    """
    if value is None:
        return None
    if key in PII_KEYS:
        return MASK
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def masked(key: str, value: JsonScalar) -> JsonScalar:
    """The value, or `***` for a PII field (for dead-letter payloads and conflict listings)."""
    return MASK if key in PII_KEYS and value is not None else value
