"""The bad-input corpus of the reliability suite, as data: one entry per input class.

Three families, each read by its own test module:

* `CSV_CASES` — export records (raw bytes) the pull must reject row by row, or load
  (`test_bad_csv.py`). Each case's records are placed between good rows of one export; the
  expected rejections name the record, the reason text and the raw text stored.
* `SOR_CASES` — `sor.contacts` rows with invalid values (`test_bad_sor.py`); each names the
  dead letter (kind and reason) it must produce.
* `API_CASES` — malformed bodies for the emulator's and the admin HTTP's JSON endpoints
  (`test_openapi_fuzz.py`); each names the 4xx and the message it must produce.

Records are built with the same CSV writer as LiveVox exports (RFC 4180, minimal quoting) over
every exportable field (`allFields`), then damaged where the class needs raw bytes. Building
them is pure computation: importing this module does no I/O.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from syncd.store.field_columns import FIELDS

COLUMNS: tuple[str, ...] = tuple(f.key for f in FIELDS)
"""The export's field keys in CSV order (`allFields`)."""

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
"""modifyDate of the baseline contacts (before the export under test)."""
T1 = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
"""modifyDate of the newest good row of every export under test: the expected watermark."""
OLD = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
"""modifyDate of the bad rows: older than every good row, so only good rows move the
watermark and a wrong watermark shows a bad row was taken for a good one."""

MEGABYTE = 1024 * 1024


def lv_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%m/%d/%Y %H:%M:%S")


def record(account: str, **values: str | None) -> bytes:
    """One export record (no line ending): field key → CSV text, absent = empty."""
    row = {"account": account, **values}
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(
        ["" if row.get(k) is None else row[k] for k in COLUMNS]
    )
    return out.getvalue().encode()


# --- the good rows ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GoodRow:
    """A valid contact of an export, with the typed mirror values it must load as."""

    account: str
    first_name: str
    balance: str
    due_date: str
    phone1: str
    modify: datetime

    def csv(self) -> bytes:
        return record(
            self.account,
            firstName=self.first_name,
            balance=self.balance,
            dueDate=self.due_date,
            phone1=self.phone1,
            phone1Block="false",
            active="true",
            modifyDate=lv_datetime(self.modify),
        )

    def mirror(self) -> dict[str, Any]:
        """The mirror columns this row must produce (`livevox.contacts`)."""
        month, day, year = (int(p) for p in self.due_date.split("/"))
        return {
            "first_name": self.first_name,
            "balance": Decimal(self.balance),
            "due_date": date(year, month, day),
            "phone1": self.phone1,
            "active": True,
            "modify_date": self.modify,
        }


def _good(account: str, n: int, modify: datetime, name: str | None = None) -> GoodRow:
    return GoodRow(
        account=account,
        first_name=name or f"Name{n}",
        balance=f"{n}.25",
        due_date=f"0{1 + n % 9}/1{n % 10}/2027",
        phone1=f"555010{n:04d}",
        modify=modify,
    )


BASELINE: tuple[GoodRow, ...] = tuple(
    _good(f"G-{i:02d}", i, T0.replace(hour=6 + i)) for i in range(1, 7)
)
"""What a non-empty mirror holds before the export under test (loaded by an earlier pull)."""

EXPORT_HEAD: tuple[GoodRow, ...] = (
    _good("G-01", 101, T1.replace(minute=10), name="Changed1"),
    _good("N-01", 201, T1.replace(minute=20)),
)
"""Good rows before the records under test: a changed baseline contact and a new one."""

EXPORT_TAIL: tuple[GoodRow, ...] = (
    _good("G-02", 102, T1, name="Changed2"),
    _good("N-02", 202, T1.replace(minute=0)),
)
"""Good rows after the records under test (T1, the newest, is among them)."""

UNTOUCHED: tuple[str, ...] = ("G-03", "G-04", "G-05", "G-06")
"""Baseline contacts the export does not carry: a load must leave their rows alone."""


# --- CSV input classes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rejection:
    """One expected `syncd.rejected_rows` row."""

    record: int | None
    """Index into the case's `records` (None: the header line, line 1)."""
    reason: str
    """Exact reason; `{lines[i]}` stands for the line number of `records[i]`."""
    raw: str | None = None
    """Exact raw text stored; None: the record's own text."""


@dataclass(frozen=True, slots=True)
class CsvCase:
    name: str
    """Row label in docs/reliability.md (`CSV: invalid UTF-8`)."""
    what: str
    records: tuple[bytes, ...]
    """The records under test (no line endings), placed between the good rows."""
    rejections: tuple[Rejection, ...] = ()
    loads: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Accounts of `records` that must load, with mirror column → typed value."""
    extra_header: tuple[str, ...] = ()
    """Header names appended to the export's columns (every record gets a value for them)."""
    at_end: bool = False
    """Put the records after every good row (an unterminated quote swallows what follows)."""


def _bad(account: str, **values: str) -> bytes:
    values.setdefault("firstName", "Bad")
    values.setdefault("modifyDate", lv_datetime(OLD))
    return record(account, **values)


def _replace(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1, (data[:80], old)
    return data.replace(old, new)


_OPEN = _replace(_bad("X-QUOTE", firstName="Open"), b",Open,", b',"Open,')
_HUGE_TEXT = "h" * MEGABYTE
_HUGE_ACCOUNT = "A" * MEGABYTE
_NUL = _replace(_bad("X-NUL", firstName="Nul"), b"Nul", b"N\x00ul")
_UTF8 = _replace(_bad("X-UTF8", firstName="Utf"), b"Utf", b"U\xfft\xc3f")
_WIDTH = len(COLUMNS)
# A misaligned row's raw text has every date- or SSN-shaped token masked (it may be PII).
_OLD_DATE = lv_datetime(OLD)[:10]


def _masked(data: bytes) -> str:
    return data.decode().replace(_OLD_DATE, "***")

CSV_CASES: tuple[CsvCase, ...] = (
    CsvCase(
        "CSV: unbalanced quote (last row)",
        "a value opens a quote that never closes, in the export's last row",
        (_OPEN,),
        # Everything after the open quote is its value, the CR of the last CRLF included.
        (Rejection(0, "unterminated quoted field", raw=_masked(_OPEN) + "\r"),),
        at_end=True,
    ),
    CsvCase(
        "CSV: embedded newlines in a quoted field",
        "a quoted value holding CRLF and LF line breaks and doubled quotes (valid CSV)",
        (
            record(
                "X-LINES",
                address1='1 "Main" St\r\nFloor 2\nApt 4',
                firstName="Lines",
                modifyDate=lv_datetime(OLD),
            ),
        ),
        loads={"X-LINES": {"address1": '1 "Main" St\r\nFloor 2\nApt 4', "first_name": "Lines"}},
    ),
    CsvCase(
        "CSV: too few columns",
        "a row cut short after three values",
        (b"X-FEW,Few,values",),
        (Rejection(0, f"wrong column count: expected {_WIDTH}, got 3"),),
    ),
    CsvCase(
        "CSV: too many columns",
        "a row with two values more than the header",
        (_bad("X-MORE") + b",extra,values",),
        (
            Rejection(
                0,
                f"wrong column count: expected {_WIDTH}, got {_WIDTH + 2}",
                raw=_masked(_bad("X-MORE") + b",extra,values"),
            ),
        ),
    ),
    CsvCase(
        "CSV: invalid UTF-8",
        "a row holding bytes that are not UTF-8 (0xFF, a cut 2-byte sequence)",
        (_UTF8,),
        (Rejection(0, "invalid UTF-8", raw=_UTF8.decode("utf-8", errors="replace")),),
    ),
    CsvCase(
        "CSV: NUL byte",
        "a row holding a NUL byte inside a value",
        (_NUL,),
        (Rejection(0, "NUL byte in row", raw=_NUL.replace(b"\x00", b"").decode()),),
    ),
    CsvCase(
        "CSV: huge text field (1 MiB)",
        "a 1 MiB address in an otherwise valid row (mirror text columns have no limit)",
        (record("X-HUGE", address1=_HUGE_TEXT, modifyDate=lv_datetime(OLD)),),
        loads={"X-HUGE": {"address1": _HUGE_TEXT}},
    ),
    CsvCase(
        "CSV: huge account (1 MiB)",
        "a 1 MiB account (LiveVox allows 255 characters)",
        (_bad(_HUGE_ACCOUNT),),
        (Rejection(0, "account longer than 255 characters"),),
    ),
    CsvCase(
        "CSV: bad date",
        "a due date that is no date at all",
        (_bad("X-DATE", dueDate="03/01/27 or so"),),
        (Rejection(0, "dueDate: not a date MM/DD/YYYY: 03/01/27 or so"),),
    ),
    CsvCase(
        "CSV: date special word",
        "a due date of 'today' (Postgres' date input takes it; it names no fixed day)",
        (_bad("X-TODAY", dueDate="today"),),
        (Rejection(0, "dueDate: not a date MM/DD/YYYY: today"),),
    ),
    CsvCase(
        "CSV: impossible date",
        "a due date of February 30th",
        (_bad("X-FEB30", dueDate="02/30/2027"),),
        (Rejection(0, "dueDate: not a date MM/DD/YYYY: 02/30/2027"),),
    ),
    CsvCase(
        "CSV: bad datetime",
        "a modifyDate with hour 25 (and a year that would win the watermark if taken)",
        (_bad("X-TIME", modifyDate="12/31/2099 25:61:00"),),
        (
            Rejection(
                0,
                "modifyDate: not a datetime MM/DD/YYYY HH:MM:SS or epoch milliseconds: "
                "12/31/2099 25:61:00",
            ),
        ),
    ),
    CsvCase(
        "CSV: bad integer",
        "an agent id spelt out",
        (_bad("X-INT", agentId="seven"),),
        (Rejection(0, "agentId: not an integer: seven"),),
    ),
    CsvCase(
        "CSV: bad decimal",
        "a balance with a decimal comma",
        (_bad("X-DEC", balance="12,50"),),
        (Rejection(0, "balance: not a decimal number: 12,50", raw=None),),
    ),
    CsvCase(
        "CSV: bad boolean",
        "an active flag that is neither true nor false",
        (_bad("X-BOOL", active="maybe"),),
        (Rejection(0, "active: not true or false: maybe"),),
    ),
    CsvCase(
        "CSV: NaN",
        "a balance of NaN (numeric accepts it; a balance cannot be one)",
        (_bad("X-NAN", balance="NaN"),),
        (Rejection(0, "balance: not a decimal number: NaN"),),
    ),
    CsvCase(
        "CSV: several bad values in one row",
        "one row with a bad date, integer and boolean: one rejection naming all three",
        (_bad("X-MANY", dueDate="13/01/2027", agentId="1.5", accountBlock="no way"),),
        (
            Rejection(
                0,
                "dueDate: not a date MM/DD/YYYY: 13/01/2027; agentId: not an integer: 1.5; "
                "accountBlock: not true or false: no way",
            ),
        ),
    ),
    CsvCase(
        "CSV: bad PII value",
        "an impossible date of birth: rejected without quoting the value, masked in the raw text",
        (_bad("X-DOB", dateOfBirth="31/12/1980"),),
        (
            Rejection(
                0,
                "dateOfBirth: not a date MM/DD/YYYY",
                raw=_bad("X-DOB", dateOfBirth="***").decode(),
            ),
        ),
    ),
    CsvCase(
        "CSV: unknown header",
        "a column the field table and custom labels do not know (its values are ignored)",
        (record("X-EXTRA", firstName="Extra", modifyDate=lv_datetime(OLD)),),
        (
            Rejection(
                None,
                f"unknown column 'Favourite Colour' (position {_WIDTH + 1}) ignored",
                raw=",".join((*COLUMNS, "Favourite Colour")),
            ),
        ),
        loads={"X-EXTRA": {"first_name": "Extra"}},
        extra_header=("Favourite Colour",),
    ),
    CsvCase(
        "CSV: duplicate account",
        "the same account twice in one export: the last line wins",
        (_bad("X-DUP", firstName="First"), _bad("X-DUP", firstName="Second")),
        (Rejection(0, "duplicate account (last occurrence on line {lines[1]} used)"),),
        loads={"X-DUP": {"first_name": "Second"}},
    ),
    CsvCase(
        "CSV: empty account",
        "a row whose account is empty",
        (_bad("", firstName="Nobody"),),
        (Rejection(0, "missing account"),),
    ),
)
"""Classes driven through the pull into an empty and a non-empty mirror (same rejections)."""

MIDFILE_QUOTE = _replace(_bad("X-OPEN", firstName="Open"), b",Open,", b',"Open,')
"""An unterminated quote with good rows after it: CSV reads them as part of its value."""

CUT_GZIP_AFTER = 6000
"""Bytes of the gzip export the emulator sends before dropping the connection."""


# --- SoR input classes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SorCase:
    """A `crm.people` row (text columns) whose values the sync must refuse."""

    name: str
    what: str
    row: Mapping[str, str | None]
    """Column → value of the SoR row (its account is `row['acct']`)."""
    reasons: tuple[str, ...]
    """Expected parts of the contact's `invalid` dead letter reason (or the key problem)."""
    kind: str = "invalid"
    """Dead letter kind: `invalid` (planner) or `rejected` (LiveVox refused the row)."""
    pushed: Mapping[str, Any] = field(default_factory=dict)
    """LiveVox fields the rest of the row must still set (the contact's valid changes)."""


SOR_CASES: tuple[SorCase, ...] = (
    SorCase(
        "SoR: text in a number column",
        "a balance kept as text that is not a number",
        {"acct": "S-NUM", "given": "Num", "owed": "ten dollars"},
        ("balance: not a number: 'ten dollars'",),
        pushed={"firstName": "Num"},
    ),
    SorCase(
        "SoR: impossible date",
        "a due date of February 30th in a text column",
        {"acct": "S-DATE", "given": "Date", "due": "2027-02-30"},
        ("dueDate: not a calendar date: '2027-02-30'",),
        pushed={"firstName": "Date"},
    ),
    SorCase(
        "SoR: date out of range",
        "a due date in year 99999 (no calendar holds it)",
        {"acct": "S-RANGE", "given": "Range", "due": "12/31/99999"},
        ("dueDate: not a date (YYYY-MM-DD or MM/DD/YYYY): '12/31/99999'",),
        pushed={"firstName": "Range"},
    ),
    SorCase(
        "SoR: invalid phone",
        "a phone number with letters in it",
        {"acct": "S-PHONE", "given": "Phone", "mobile": "call me maybe"},
        ("phone1: not a phone number (4-15 digits): 'call me maybe'",),
        pushed={"firstName": "Phone"},
    ),
    SorCase(
        "SoR: unknown DND value",
        "a DND flag of 'sometimes' (flags read yes/no/true/false/1/0)",
        {"acct": "S-DND", "given": "Dnd", "mobile": "5550170001", "mobile_dnd": "sometimes"},
        ("phone1Block: not true/false: 'sometimes'",),
        pushed={"firstName": "Dnd", "phone1": "5550170001"},
    ),
    SorCase(
        "SoR: DND flag without a phone",
        "a phone DND flag for an ordinal that has no number",
        {"acct": "S-NOPHONE", "given": "NoPhone", "mobile_dnd": "yes"},
        ("phone1Block: no phone number at ordinal 1",),
        pushed={"firstName": "NoPhone"},
    ),
    SorCase(
        "SoR: bad list value",
        "a custom LIST field value that is not one of the list's values (bad enum)",
        {"acct": "S-ENUM", "given": "Enum", "segment": "Platinum"},
        ("COL6: 'Platinum' is not one of the list values (Gold, Silver, Bronze)",),
        pushed={"firstName": "Enum"},
    ),
    SorCase(
        "SoR: over-long custom value",
        "a custom value of 300 characters (LiveVox allows 255)",
        {"acct": "S-LONG", "given": "Long", "company": "c" * 300},
        ("COL1: custom value of 300 characters (LiveVox allows 255)",),
        pushed={"firstName": "Long"},
    ),
    SorCase(
        "SoR: over-long standard value",
        "a last name of 300 characters: LiveVox refuses the row, which becomes a dead letter",
        {"acct": "S-LONGNAME", "given": "LongName", "family": "f" * 300},
        ("lastName: longer than 255 characters (300)",),
        kind="rejected",
    ),
    SorCase(
        "SoR: bad email",
        "an email without an @ (the spec types email as a free string)",
        {"acct": "S-EMAIL", "given": "Email", "mail": "not-an-email"},
        (),
        kind="none",
        pushed={"firstName": "Email", "email": "not-an-email"},
    ),
    SorCase(
        "SoR: NULL account",
        "a SoR row without an account",
        {"acct": None, "given": "NoKey"},
        ("missing account",),
    ),
    SorCase(
        "SoR: over-long account",
        "an account of 300 characters",
        {"acct": "K" * 300, "given": "LongKey"},
        ("account of 300 characters (LiveVox allows 255)",),
    ),
    SorCase(
        "SoR: duplicate account",
        "two SoR rows holding the same account",
        {"acct": "S-TWICE", "given": "Twice"},
        ("account appears 2 times in the SoR",),
    ),
)


# --- API input classes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiCase:
    """A malformed request body and the 4xx answer it must get."""

    name: str
    what: str
    body: bytes
    message: str
    """A part of the error message that must be in the answer."""


EMULATOR_CASES: tuple[ApiCase, ...] = (
    ApiCase("API: empty body", "no body at all", b"", "a JSON request body is required"),
    ApiCase(
        "API: malformed JSON",
        "a truncated JSON object",
        b'{"a": ',
        "malformed JSON body: Expecting value",
    ),
    ApiCase(
        "API: trailing comma",
        "a JSON object with a trailing comma",
        b'{"a": 1,}',
        "malformed JSON body",
    ),
    ApiCase("API: NaN in JSON", "a bare NaN constant", b'{"a": NaN}', "NaN is not valid JSON"),
    ApiCase(
        "API: invalid UTF-8 body",
        "bytes that are not UTF-8",
        b'{"a": "\xff"}',
        "malformed JSON body",
    ),
    ApiCase(
        "API: lone surrogate escape",
        "a \\udc00 escape: valid JSON syntax, but no character (UTF-8 cannot encode it)",
        b'{"a": "x\\udc00y"}',
        "lone surrogate escape",
    ),
    ApiCase(
        "API: array for an object",
        "a JSON array where an object is expected",
        b"[1, 2]",
        "body: expected an object, got an array",
    ),
    ApiCase(
        "API: string for an object",
        "a JSON string where an object is expected",
        b'"contacts"',
        "body: expected an object, got a string",
    ),
    ApiCase(
        "API: JSON null",
        "the JSON literal null",
        b"null",
        "body: expected an object, got null",
    ),
    ApiCase(
        "API: deeply nested JSON",
        "100,000 nested arrays (a parser recursion bomb)",
        b"[" * 100_000 + b"]" * 100_000,
        "malformed JSON body: nested too deeply",
    ),
)
"""Sent to every JSON-body route of the emulator with a valid session."""

ADMIN_CASES: tuple[ApiCase, ...] = (
    ApiCase("admin: malformed JSON", "a truncated JSON object", b'{"full": ', "JSON decode error"),
    ApiCase("admin: wrong type", "full as a list", b'{"full": [1]}', "full"),
    ApiCase("admin: unknown key", "a key the body does not have", b'{"fulll": true}', "fulll"),
    ApiCase("admin: bad since", "since that is not a date", b'{"since": "yesterday"}', "since"),
    ApiCase(
        "admin: NUL in a string",
        "a NUL character in requested_by (Postgres text cannot hold it)",
        b'{"requested_by": "ops\\u0000x"}',
        "must not contain NUL characters",
    ),
    ApiCase(
        "admin: number for since",
        "since as a number (pydantic would read epoch seconds)",
        b'{"since": 1700000000}',
        "since must be an ISO 8601 date-time string",
    ),
    ApiCase(
        "admin: NaN in JSON",
        "a bare NaN (FastAPI's JSON reader accepts it; the 422 that echoed it could not render)",
        b'{"full": NaN}',
        "Input should be a valid boolean",
    ),
    ApiCase(
        "admin: lone surrogate escape",
        "a \\udc00 escape in requested_by (the 422 that echoed it could not render)",
        b'{"requested_by": "ops\\udc00"}',
        "unable to parse raw data as a unicode string",
    ),
    ApiCase(
        "admin: since beyond the calendar",
        "since at 9999-12-31 23:59 with a negative offset: year 10000 in UTC (unloadable)",
        b'{"since": "9999-12-31T23:59:59-05:00"}',
        "since is outside the years 1 to 9999 in UTC",
    ),
    ApiCase(
        "admin: empty account", "an empty account in the list", b'{"accounts": [""]}', "accounts"
    ),
)
"""Sent to `POST /resync` with the right bearer token."""
