"""Request bodies: the spec's lenient value forms are accepted, bad ones named precisely."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from syncd.emulator.dnd import DndAction
from syncd.emulator.errors import InvalidValue
from syncd.emulator.payloads import (
    parse_contact_details,
    parse_custom_field_updates,
    parse_multi_dnd,
    parse_single_dnd,
)


def create(details: dict[str, Any]) -> Any:
    return parse_contact_details(details, "createContactDetails", account_required=True)


def test_the_spec_examples_lenient_forms_are_coerced() -> None:
    parsed = create(
        {
            "account": "1246583",
            "active": "true",
            "balance": "1000.00",
            "groupId": "12371",
            "dueDate": 1641963600000,
            "person": {"dateOfBirth": "621057600000", "zipCode": 10010},
            "phone": [{"phone": "4085553593", "ordinal": "1", "phoneBlock": "NONE"}],
            "customFields": [{"field": "COL1", "value": 123}, {"field": "COL2", "value": True}],
            "country": "UNITED_STATES_OF_AMERICA",
        }
    )

    values = parsed.patch.values
    assert parsed.account == "1246583"
    assert values["active"] is True
    assert values["balance"] == Decimal("1000.00")
    assert values["groupId"] == 12371
    assert values["dueDate"] == date(2022, 1, 12)
    assert values["dateOfBirth"] == date(1989, 9, 6)  # 04:00 UTC = midnight US Eastern
    assert values["zipCode"] == "10010"
    assert (values["COL1"], values["COL2"]) == ("123", "true")
    assert values["countryId"] == "UNITED_STATES_OF_AMERICA"
    phone = parsed.patch.phones[0]
    assert (phone.ordinal, phone.phone, phone.block) == (1, "4085553593", DndAction.NONE)


def test_dates_accept_iso_days_and_amounts_round_to_cents() -> None:
    values = create(
        {"account": "A", "dueDate": "2026-02-28", "balance": Decimal("10.005")}
    ).patch.values

    assert values["dueDate"] == date(2026, 2, 28)
    assert values["balance"] == Decimal("10.01")


@pytest.mark.parametrize(
    ("details", "where", "reason"),
    [
        ({}, "createContactDetails.account", "is required"),
        ({"account": "A", "accountBlock": "SOMETIMES"}, "accountBlock", "unknown value"),
        (
            {"account": "A", "phone": [{"phone": "6505551234", "ordinal": 11}]},
            "phone[0].ordinal",
            "outside 1..10",
        ),
        (
            {"account": "A", "phone": [{"phone": "6505551234", "ordinal": 0}]},
            "phone[0].ordinal",
            "outside 1..10",
        ),
        (
            {"account": "A", "phone": [{"phone": "6505551234", "ordinal": 1, "phoneBlock": "X"}]},
            "phone[0].phoneBlock",
            "unknown value",
        ),
        (
            {"account": "A", "customFields": [{"field": "COL1", "value": "x" * 256}]},
            "customFields[0].value",
            "longer than 255",
        ),
        (
            {"account": "A", "customFields": [{"field": "COL101", "value": "x"}]},
            "customFields[0].field",
            "COL1..COL100",
        ),
        ({"account": "A", "active": "maybe"}, "active", "true or false"),
        ({"account": "A", "balance": "lots"}, "balance", "expected a number"),
        ({"account": "A", "balance": True}, "balance", "boolean"),
        ({"account": "A", "groupId": "12a"}, "groupId", "integer"),
        ({"account": "A", "dueDate": "01/12/2022"}, "dueDate", "YYYY-MM-DD"),
        ({"account": "A", "person": ["x"]}, "person", "expected an object"),
        ({"account": "A", "nickname": "x"}, "nickname", "unknown field"),
        ({"account": "A", "phone": [{"phone": "12", "ordinal": 1}]}, "phone", "not a phone"),
        ({"account": "x" * 256}, "account", "longer than 255"),
    ],
)
def test_invalid_values_name_the_field(details: dict[str, Any], where: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        create(details)

    assert where in caught.value.field
    assert reason in caught.value.reason


def test_bulk_update_rows_may_address_by_id() -> None:
    parsed = parse_contact_details(
        {"id": "1500000000000", "city": "Reno"},
        "updateContactDetails[0]",
        account_required=False,
        allow_id=True,
    )

    assert (parsed.account, parsed.lv_id) == (None, 1500000000000)
    with pytest.raises(InvalidValue, match="unknown field"):
        parse_contact_details({"id": 1}, "updateContactDetails", account_required=False)


def test_dnd_bodies() -> None:
    single = parse_single_dnd(
        {
            "accountBlock": "DAILY",
            "updateContactDND": [{"phone": "6505551234", "ordinal": "1", "phoneBlock": "BOTH"}],
        }
    )
    assert single.account_block is DndAction.DAILY
    assert single.phones[0].block is DndAction.BOTH

    many = parse_multi_dnd(
        {"contactDnd": [{"account": "A", "accountBlock": "NONE"}, {"account": "B"}]}
    )
    assert [(account, p.account_block) for account, p in many] == [
        ("A", DndAction.NONE),
        ("B", None),
    ]
    with pytest.raises(InvalidValue, match="phone: is required"):
        parse_single_dnd({"updateContactDND": [{"ordinal": 1, "phoneBlock": "DAILY"}]})
    with pytest.raises(InvalidValue, match="contactDnd: is required"):
        parse_multi_dnd({})
    with pytest.raises(InvalidValue, match="account: is required"):
        parse_multi_dnd({"contactDnd": [{"accountBlock": "NONE"}]})


def test_custom_field_updates() -> None:
    updates = parse_custom_field_updates(
        {
            "customFields": [
                {"field": "COL11", "label": "Balance Due After Date"},
                {"field": "COL30", "label": "Colour", "dataType": "LIST", "listValues": ["red"]},
            ]
        }
    )

    assert [(u.field, u.data_type, u.list_values) for u in updates] == [
        ("COL11", "NUMBER", None),  # the spec's default when dataType is missing
        ("COL30", "LIST", ("red",)),
    ]
    with pytest.raises(InvalidValue, match="dataType"):
        parse_custom_field_updates({"customFields": [{"field": "COL1", "label": "x",
                                                      "dataType": "MONEY"}]})
    with pytest.raises(InvalidValue, match="label: is required"):
        parse_custom_field_updates({"customFields": [{"field": "COL1"}]})
    with pytest.raises(InvalidValue, match=r"COL1\.\.COL100"):
        parse_custom_field_updates({"customFields": [{"field": "COL0", "label": "x"}]})
