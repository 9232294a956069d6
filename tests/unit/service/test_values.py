"""Canonical values (`syncd.domain.values`): both directions, lenient SoR parsing, reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.domain.values import (
    MASK,
    InvalidValueError,
    audit_text,
    canonical_decimal,
    check_account,
    check_custom_value,
    from_canonical,
    masked,
    parse_value,
    to_canonical,
)

PLUS_TWO = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("kind", "value", "canonical"),
    [
        ("string", "Ann", "Ann"),
        ("string", "", None),
        ("integer", 42, 42),
        ("decimal", Decimal("100.50"), "100.5"),
        ("decimal", Decimal("1E+2"), "100"),
        ("decimal", Decimal("-0.00"), "0"),
        ("decimal", 7, "7"),
        ("boolean", True, True),
        ("date", date(2024, 2, 29), "2024-02-29"),
        ("datetime", datetime(2024, 2, 29, 13, 5, 7, 999, tzinfo=UTC), "2024-02-29T13:05:07Z"),
        ("datetime", datetime(2024, 2, 29, 15, 5, tzinfo=PLUS_TWO), "2024-02-29T13:05:00Z"),
        ("datetime", datetime(2024, 2, 29, 13, 5), "2024-02-29T13:05:00Z"),
        ("date", None, None),
    ],
)
def test_typed_values_have_one_canonical_form(kind: str, value: object, canonical: object) -> None:
    assert to_canonical(kind, value) == canonical  # type: ignore[arg-type]


def test_phone_numbers_lose_their_formatting() -> None:
    assert to_canonical("string", "(555) 010-20.30", phone=True) == "5550102030"
    assert to_canonical("string", " ", phone=True) is None


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**9,
                   min_value=-(10**9)))  # fmt: skip
def test_amounts_round_trip_and_never_carry_trailing_zeros(value: Decimal) -> None:
    text = canonical_decimal(value)
    assert from_canonical("decimal", text) == value
    assert "E" not in text and not (("." in text) and text.endswith("0"))


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, max_value=10**9,
                   min_value=-(10**9)))  # fmt: skip
def test_more_places_round_to_the_cent_half_away_from_zero(value: Decimal) -> None:
    text = canonical_decimal(value)
    cents = value.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert from_canonical("decimal", text) == cents
    assert canonical_decimal(from_canonical("decimal", text)) == text  # stable


@pytest.mark.parametrize(
    ("value", "canonical"),
    [("10.005", "10.01"), ("-2.675", "-2.68"), ("0.004", "0"), ("-0.005", "-0.01"),
     ("1.2E+30", "1200000000000000000000000000000")],
)  # fmt: skip
def test_amount_rounding_examples(value: str, canonical: str) -> None:
    assert canonical_decimal(Decimal(value)) == canonical


@pytest.mark.parametrize(
    ("kind", "raw", "canonical"),
    [
        ("integer", " 12 ", 12),
        ("integer", "12.0", 12),
        ("decimal", "0100.500", "100.5"),
        ("decimal", "12.3456", "12.35"),
        ("decimal", 3, "3"),
        ("boolean", "Yes", True),
        ("boolean", "0", False),
        ("date", "2/3/2024", "2024-02-03"),
        ("date", "2024-02-03", "2024-02-03"),
        ("datetime", "2024-02-03 04:05:06", "2024-02-03T04:05:06Z"),
        ("datetime", "02/03/2024 04:05:06", "2024-02-03T04:05:06Z"),
        ("string", "  kept as is ", "  kept as is "),
        ("date", "   ", None),
    ],
)
def test_sor_values_are_parsed_leniently(kind: str, raw: object, canonical: object) -> None:
    assert parse_value("f", kind, raw) == canonical  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "kind", "raw", "reason"),
    [
        ("dueDate", "date", "2024-02-30", "not a calendar date: '2024-02-30'"),
        ("dueDate", "date", "next week", "not a date (YYYY-MM-DD or MM/DD/YYYY): 'next week'"),
        ("balance", "decimal", "12,50", "not a number: '12,50'"),
        ("agentId", "integer", "12.5", "not a whole number: '12.5'"),
        ("active", "boolean", "maybe", "not true/false: 'maybe'"),
        ("dateOfBirth", "date", "1990-13-01", f"not a calendar date: {MASK}"),
    ],
)
def test_unparsable_values_say_why_without_showing_pii(
    key: str, kind: str, raw: str, reason: str
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        parse_value(key, kind, raw)  # type: ignore[arg-type]
    assert caught.value.key == key
    assert caught.value.reason == reason


def test_phone_numbers_must_have_four_to_fifteen_digits() -> None:
    assert parse_value("phone1", "string", "+1 555 010 2030", phone=True) == "+15550102030"
    with pytest.raises(InvalidValueError, match="not a phone number"):
        parse_value("phone1", "string", "call me", phone=True)


def test_custom_values_follow_livevox_rules() -> None:
    check_custom_value("COL1", "x" * 255)
    with pytest.raises(InvalidValueError, match="256 characters"):
        check_custom_value("COL1", "x" * 256)
    check_custom_value("COL6", "Gold", data_type="LIST", list_values=("Gold", "Silver"))
    with pytest.raises(InvalidValueError, match="'Platinum' is not one of the list values"):
        check_custom_value("COL6", "Platinum", data_type="LIST", list_values=("Gold", "Silver"))
    with pytest.raises(InvalidValueError, match="not a number"):
        check_custom_value("COL2", "lots", data_type="NUMBER")
    with pytest.raises(InvalidValueError, match="not a custom field"):
        check_custom_value("COL101", "x")


def test_accounts_must_exist_and_fit() -> None:
    assert check_account("A1") == "A1"
    for bad in (None, "", "  ", "x" * 256):
        with pytest.raises(InvalidValueError):
            check_account(bad)


def test_audit_text_masks_pii_and_writes_json_for_non_text() -> None:
    assert audit_text("ssn", "123-45-6789") == MASK
    assert audit_text("dateOfBirth", "1990-01-01") == MASK
    assert audit_text("firstName", "Ann") == "Ann"
    assert audit_text("accountBlock", True) == "true"
    assert audit_text("phones", [True, False]) == "[true,false]"
    assert audit_text("firstName", None) is None
    assert masked("ssn", "123") == MASK and masked("ssn", None) is None
