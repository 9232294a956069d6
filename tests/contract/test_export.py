"""Bulk Contact Download: CSV header labels, values, the modifyDate range, compression.

The date-range tests move the emulator's clock two days between two sets of changes, so
"changed on day A" and "changed on day B" are far apart; the expected rows of each range
come from the unfiltered export's own `modifyDate` column, and the two change sets pin
where they must fall. Ranges are given both as "CCYY-MM-DD" (whole UTC days, inclusive at
both ends: "same or after" / "same or before this date") and as epoch milliseconds.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.contract.conftest import Emulator, LiveVoxApi, assert_error_body

# Labels DESIGN.md gives for the CSV header (LiveVox Contact Manager labels).
KNOWN_LABELS = {
    "account": "Account",
    "accountToSpeak": "Account To Speak",
    "originalAccountNumber": "Original Account Number",
    "balance": "Payment Balance",
    "amountToSpeak": "Amount To Speak",
    "dueDate": "Account Due Date",
    "zipCode": "Zip/Postal Code",
}


@pytest.fixture(scope="module")
def emulator_config() -> dict[str, Any]:
    return {"contacts": 40, "seed": 23}


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def export(api: LiveVoxApi, fields: list[str], **dates: Any) -> list[list[str]]:
    return rows_of(api.export_csv({"exportableFields": fields, **dates}))


def test_header_uses_labels(admin: LiveVoxApi) -> None:
    assert export(admin, ["account", "dueDate"])[0] == ["Account", "Account Due Date"]
    header = export(admin, list(KNOWN_LABELS))[0]
    assert header == list(KNOWN_LABELS.values())


def test_all_fields_exports_every_field_once(admin: LiveVoxApi) -> None:
    rows = export(admin, ["allFields"])
    header = rows[0]
    assert header[:2] == ["Account", "Account Due Date"]  # the spec's field order
    assert len(header) == len(set(header)) == 215 - 1  # data-file rows without its header line
    assert all(len(row) == len(header) for row in rows[1:])
    for key, label in KNOWN_LABELS.items():
        assert label in header, key


# The spec's list of valid fields to export, in its order ("allFields" exports them so).
SPEC_FIELD_ORDER: list[str] = [
    "account",
    "dueDate",
    "accountToSpeak",
    "address1",
    "address2",
    "agentId",
    "agentTeamId",
    "amountToSpeak",
    "active",
    "callAttemptsTotal",
    "callAttemptsToday",
    "city",
    "clientId",
    "countryId",
    "createDate",
    "createUser",
    "department",
    "description",
    "dateOfBirth",
    "accountBlock",
    "accountBlockDaily",
    "accountEmailBlock",
    "email",
    "firstName",
    "groupId",
    "guarantorFirstName",
    "guarantorLastName",
    "initialLoadCampaignId",
    "initialLoadDate",
    "lastLoadCampaignId",
    "lastLoadDate",
    "lastName",
    "lvAccountId",
    "modifyDate",
    "modifyUser",
    "originalAccountNumber",
    "balance",
    *(
        f"phone{n}{suffix}"
        for n in range(1, 11)
        for suffix in (
            "",
            "AttemptsTotal",
            "AttemptsToday",
            "CellConsent",
            "Block",
            "BlockDaily",
            "SmsConsent",
        )
    ),
    *["zipCode", "primaryEmailConsent", "salutation", "primarySMSConsent", "ssn", "state", "title"],
    *(f"COL{n}" for n in range(1, 101)),
]


def test_all_fields_follows_the_spec_order(admin: LiveVoxApi) -> None:
    assert len(SPEC_FIELD_ORDER) == 214
    assert export(admin, ["allFields"])[0] == export(admin, SPEC_FIELD_ORDER)[0]


def test_columns_follow_the_request_order(admin: LiveVoxApi) -> None:
    assert export(admin, ["dueDate", "account"])[0] == ["Account Due Date", "Account"]


def test_values_are_formatted_as_documented(admin: LiveVoxApi) -> None:
    admin.recreate_contact(
        {
            "account": "EXP-values",
            "dueDate": "2031-03-04",
            "balance": 12.5,
            "accountBlock": "PERMANENT",
            "city": 'Paris, "TX"',  # a comma and quotes: RFC 4180 quoting must round-trip
            "person": {"firstName": "Zed"},
            "phone": [{"phone": "6175550100", "ordinal": 2, "phoneBlock": "DAILY"}],
        }
    )
    fields = [
        "account",
        "dueDate",
        "balance",
        "accountBlock",
        "accountBlockDaily",
        "city",
        "firstName",
        "phone2",
        "phone2Block",
        "phone2BlockDaily",
        "modifyDate",
    ]
    rows = export(admin, fields)
    row = dict(zip(fields, next(r for r in rows[1:] if r[0] == "EXP-values"), strict=True))
    assert row["dueDate"] == "03/04/2031"
    assert Decimal(row["balance"]) == Decimal("12.5")
    assert (row["accountBlock"], row["accountBlockDaily"]) == ("true", "false")
    assert (row["phone2Block"], row["phone2BlockDaily"]) == ("false", "true")
    assert row["city"] == 'Paris, "TX"'
    assert (row["firstName"], row["phone2"]) == ("Zed", "6175550100")
    datetime.strptime(row["modifyDate"], "%m/%d/%Y %H:%M:%S")


def test_deleted_contacts_are_not_exported(admin: LiveVoxApi) -> None:
    admin.recreate_contact({"account": "EXP-deleted"})
    assert "EXP-deleted" in {r[0] for r in export(admin, ["account"])[1:]}
    assert admin.delete("/contact/contacts/EXP-deleted").status_code == 204
    assert "EXP-deleted" not in {r[0] for r in export(admin, ["account"])[1:]}


def test_unknown_exportable_field_is_400(admin: LiveVoxApi) -> None:
    response = admin.post(
        "/contact/contacts/bulk", json={"exportableFields": ["account", "shoeSize"]}
    )
    assert "shoesize" in assert_error_body(response, 400)["message"].lower()


def test_custom_field_label_becomes_the_header(admin: LiveVoxApi) -> None:
    admin.recreate_contact(
        {"account": "EXP-custom", "customFields": [{"field": "COL12", "value": "gold"}]}
    )
    response = admin.put(
        "/contact/contacts/customFields",
        json={"customFields": [{"field": "COL12", "label": "Loyalty Tier", "dataType": "STRING"}]},
    )
    assert response.status_code == 204, response.text
    rows = export(admin, ["account", "COL12"])
    assert rows[0] == ["Account", "Loyalty Tier"]
    assert ["EXP-custom", "gold"] in rows[1:]
    all_header = export(admin, ["allFields"])[0]
    assert "Loyalty Tier" in all_header and "COL12" not in all_header


# -- compression -------------------------------------------------------------------------------


def _raw_export(api: LiveVoxApi, accept_encoding: str | None) -> tuple[httpx.Headers, bytes]:
    headers = {"Accept-Encoding": accept_encoding} if accept_encoding else {}
    with api.http.stream(
        "POST",
        "/contact/contacts/bulk",
        headers=headers,
        json={"exportableFields": ["account", "dueDate"]},
    ) as response:
        raw = b"".join(response.iter_raw())
        assert response.status_code == 200, raw[:300]
        return response.headers, raw


def test_gzip_when_asked(admin: LiveVoxApi) -> None:
    headers, raw = _raw_export(admin, "gzip")
    assert headers.get("content-encoding") == "gzip"
    assert headers.get("content-type", "").startswith("text/csv")
    _, plain = _raw_export(admin, "identity")
    assert gzip.decompress(raw) == plain


def test_gzip_among_other_encodings(admin: LiveVoxApi) -> None:
    headers, raw = _raw_export(admin, "deflate, gzip;q=0.8")
    assert headers.get("content-encoding") == "gzip"
    assert gzip.decompress(raw).startswith(b"Account,Account Due Date")


@pytest.mark.parametrize("accept_encoding", [None, "identity", "application/json"])
def test_identity_otherwise(admin: LiveVoxApi, accept_encoding: str | None) -> None:
    headers, raw = _raw_export(admin, accept_encoding)
    assert headers.get("content-encoding") in (None, "identity")
    assert headers.get("content-type", "").startswith("text/csv")
    assert raw.startswith(b"Account,Account Due Date")


# -- the modifyDate range ----------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    modified: dict[str, datetime]  # account -> modifyDate, from the unfiltered export
    day_a: date
    day_b: date
    set_a: frozenset[str]
    set_b: frozenset[str]


def _modified(api: LiveVoxApi) -> dict[str, datetime]:
    rows = export(api, ["account", "modifyDate"])
    assert rows[0] == ["Account", "Modify Date"]
    return {
        account: datetime.strptime(text, "%m/%d/%Y %H:%M:%S").replace(tzinfo=UTC)
        for account, text in rows[1:]
    }


@pytest.fixture(scope="module")
def history(emulator: Emulator, admin: LiveVoxApi) -> History:
    set_a = frozenset({"EXP-A1", "EXP-A2"})
    set_b = frozenset({"EXP-B1", "EXP-B2"})
    for account in sorted(set_a | set_b):
        admin.recreate_contact({"account": account})
    emulator.control.advance_clock(2 * 86400)
    emulator.relogin_all()  # two days idle: every session has expired
    for account in sorted(set_b):
        response = admin.put(
            f"/contact/contacts/{account}", json={"updateContactDetails": {"city": "Day B"}}
        )
        assert response.status_code == 204, response.text
    modified = _modified(admin)
    day_a = modified["EXP-A1"].date()
    day_b = modified["EXP-B1"].date()
    assert (day_b - day_a).days == 2, (day_a, day_b)
    return History(modified, day_a, day_b, set_a, set_b)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _clear_of_rows(history: History, moment: datetime) -> datetime:
    """A whole second no exported modifyDate falls on: the CSV shows seconds only."""
    seconds = {m.replace(microsecond=0) for m in history.modified.values()}
    while moment.replace(microsecond=0) in seconds:
        moment += timedelta(seconds=1)
    return moment.replace(microsecond=0)


@dataclass(frozen=True)
class RangeCase:
    name: str
    a_inside: bool  # the day-A changes fall inside the range
    b_inside: bool  # the day-B changes fall inside the range


RANGE_CASES = [
    RangeCase("start-day-b", False, True),
    RangeCase("end-day-a", True, False),
    RangeCase("day-a-only", True, False),
    RangeCase("start-ms", False, True),
    RangeCase("start-ms-as-number", False, True),
    RangeCase("end-ms", True, False),
    RangeCase("both-ms", True, False),
    RangeCase("after-everything", False, False),
]


def _range(history: History, name: str) -> tuple[dict[str, Any], datetime | None, datetime | None]:
    """The request's dates and the [start, end] instants they mean (None: open)."""
    a_time, b_time = history.modified["EXP-A2"], history.modified["EXP-B1"]
    middle = _clear_of_rows(history, a_time + (b_time - a_time) / 2)
    before_a = _clear_of_rows(history, a_time - timedelta(hours=1))
    end_of_day_a = _day_start(history.day_a + timedelta(days=1)) - timedelta(microseconds=1)
    later = history.day_b + timedelta(days=30)
    ranges: dict[str, tuple[dict[str, Any], datetime | None, datetime | None]] = {
        "start-day-b": ({"startDate": history.day_b.isoformat()}, _day_start(history.day_b), None),
        "end-day-a": ({"endDate": history.day_a.isoformat()}, None, end_of_day_a),
        "day-a-only": (
            {"startDate": history.day_a.isoformat(), "endDate": history.day_a.isoformat()},
            _day_start(history.day_a),
            end_of_day_a,
        ),
        "start-ms": ({"startDate": str(_ms(middle))}, middle, None),
        "start-ms-as-number": ({"startDate": _ms(middle)}, middle, None),
        "end-ms": ({"endDate": str(_ms(middle))}, None, middle),
        "both-ms": (
            {"startDate": str(_ms(before_a)), "endDate": str(_ms(middle))},
            before_a,
            middle,
        ),
        "after-everything": ({"startDate": later.isoformat()}, _day_start(later), None),
    }
    return ranges[name]


@pytest.mark.parametrize("case", RANGE_CASES, ids=lambda c: c.name)
def test_date_range_on_modify_date(admin: LiveVoxApi, history: History, case: RangeCase) -> None:
    body, start, end = _range(history, case.name)
    expected = {
        account
        for account, moment in history.modified.items()
        if (start is None or moment >= start) and (end is None or moment <= end)
    }
    got = [row[0] for row in export(admin, ["account", "modifyDate"], **body)[1:]]
    assert len(got) == len(set(got)), "an account exported twice"
    assert set(got) == expected, (body, sorted(set(got) ^ expected)[:10])
    assert (history.set_a <= set(got), not history.set_a & set(got)) == (
        case.a_inside,
        not case.a_inside,
    )
    assert (history.set_b <= set(got), not history.set_b & set(got)) == (
        case.b_inside,
        not case.b_inside,
    )


def test_range_ignores_seeded_history_before_it(admin: LiveVoxApi, history: History) -> None:
    """Seeded contacts were last modified before the server started: a range from day A on
    holds only what this module changed since (or the clock moved, e.g. daily DND clears)."""
    got = {row[0] for row in export(admin, ["account"], startDate=history.day_a.isoformat())[1:]}
    assert history.set_a | history.set_b <= got
    seeded = {a for a in history.modified if a.startswith("ACC")}
    assert not (got & seeded)


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"startDate": "2020-01-01"}, "exportablefields"),
        ({"exportableFields": ["account"], "startDate": "yesterday"}, "startdate"),
        ({"exportableFields": ["account"], "endDate": "2020-13-45"}, "enddate"),
        ({"exportableFields": []}, "exportablefields"),
    ],
    ids=["no-fields", "start-not-a-date", "end-not-a-date", "empty-fields"],
)
def test_an_invalid_export_request_is_400(
    admin: LiveVoxApi, body: dict[str, Any], word: str
) -> None:
    response = admin.post("/contact/contacts/bulk", json=body)
    assert word in assert_error_body(response, 400)["message"].lower()


def test_an_empty_export_still_has_its_header(admin: LiveVoxApi) -> None:
    rows = export(admin, ["account", "dueDate"], startDate="2999-01-01")
    assert rows == [["Account", "Account Due Date"]]
