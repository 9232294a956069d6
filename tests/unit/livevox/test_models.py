"""Request bodies use the spec's names and omit None; replies accept the spec's variants."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from syncd.livevox import (
    Contact,
    ContactCreate,
    ContactDnd,
    ContactUpdate,
    CustomFieldUpdate,
    CustomFieldValue,
    CustomFieldValueTooLongError,
    DndAction,
    DndState,
    Guarantor,
    InvalidCustomFieldError,
    Person,
    PhoneDnd,
    PhoneInput,
    PhoneOrdinalOutOfRangeError,
    SearchCondition,
    SearchOperator,
)
from syncd.livevox._models import parse_lv_timestamp, to_epoch_ms


def test_create_body_has_spec_keys_and_no_nones() -> None:
    contact = ContactCreate(
        account="1234556",
        active=True,
        balance=Decimal("100.0"),
        account_block=DndAction.DAILY_OFF,
        person=Person(first_name="James", last_name="22", date_of_birth=621057600000),
        guarantor=Guarantor(first_name="aa"),
        phone=[PhoneInput(phone="6503517500", ordinal=1, phone_block="DAILY_OFF",
                          sms_consent=True)],
        custom_fields=[CustomFieldValue(field="COL1", value=123)],
        due_date=date(2022, 1, 12),
        group_id=12371,
        primary_email_consent=True,
    )
    assert contact.to_wire() == {
        "account": "1234556",
        "active": True,
        "balance": 100.0,
        "accountBlock": "DAILY_OFF",
        "person": {"firstName": "James", "lastName": "22", "dateOfBirth": 621057600000},
        "guarantor": {"firstName": "aa"},
        "phone": [{"phone": "6503517500", "ordinal": 1, "phoneBlock": "DAILY_OFF",
                   "smsConsent": True}],
        "customFields": [{"field": "COL1", "value": "123"}],
        "dueDate": 1641945600000,
        "groupId": 12371,
        "primaryEmailConsent": True,
    }


def test_update_body_only_names_set_fields() -> None:
    update = ContactUpdate(account="A1", id=99, city="Paris")
    assert update.to_wire() == {"account": "A1", "id": 99, "city": "Paris"}


def test_dnd_bodies_use_the_specs_odd_key() -> None:
    dnd = ContactDnd(
        account="31576555260000",
        account_block="DAILY",
        update_contact_dnd=[PhoneDnd(phone="4565553748", ordinal=1, phone_block="NONE")],
    )
    assert dnd.to_wire() == {
        "account": "31576555260000",
        "accountBlock": "DAILY",
        "updateContactDND": [{"phone": "4565553748", "ordinal": 1, "phoneBlock": "NONE"}],
    }


def test_custom_field_update_and_search_serialise() -> None:
    assert CustomFieldUpdate(field="COL11", label="Balance Due After Date").to_wire() == {
        "field": "COL11", "label": "Balance Due After Date"
    }
    tree = SearchCondition(field="account", criteria="10", condition="STARTS_WITH") | (
        SearchCondition(field="postalcode", criteria="10", condition=SearchOperator.EQUALS)
    )
    assert tree.to_wire() == {
        "rule": "OR",
        "left": {"field": "account", "criteria": "10", "condition": "STARTS_WITH"},
        "right": {"field": "postalcode", "criteria": "10", "condition": "EQUALS"},
    }


@pytest.mark.parametrize(
    ("value", "wire"),
    [(Decimal("100.10"), 100.1), (Decimal("0"), 0.0), (Decimal("12345678901234567.89"),
                                                       "12345678901234567.89")],
)
def test_decimals_go_out_as_numbers_unless_a_float_would_lose_digits(
    value: Decimal, wire: float | str
) -> None:
    assert ContactUpdate(account="a", balance=value).to_wire()["balance"] == wire


def test_epoch_ms() -> None:
    assert to_epoch_ms(date(1970, 1, 2)) == 86_400_000
    assert to_epoch_ms(datetime(2020, 1, 1, 4, tzinfo=UTC)) == 1577851200000
    assert to_epoch_ms(datetime(2020, 1, 1, 4)) == 1577851200000  # naive = UTC
    assert to_epoch_ms(datetime(2020, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC)) == 1577836800999
    assert to_epoch_ms(5) == 5
    with pytest.raises(TypeError):
        to_epoch_ms(True)


def test_custom_value_over_255_fails_with_a_specific_error() -> None:
    CustomFieldValue(field="COL100", value="x" * 255)
    with pytest.raises(CustomFieldValueTooLongError) as info:
        CustomFieldValue(field="COL2", value="x" * 256)
    assert (info.value.field, info.value.length, info.value.limit) == ("COL2", 256, 255)
    # nested inside a whole contact, from plain dicts, the same error surfaces
    with pytest.raises(CustomFieldValueTooLongError):
        ContactCreate.model_validate(
            {"account": "a", "customFields": [{"field": "COL3", "value": "y" * 300}]}
        )


@pytest.mark.parametrize("field", ["COL0", "COL101", "col1", "COLX", "account"])
def test_custom_field_names_are_checked(field: str) -> None:
    with pytest.raises(InvalidCustomFieldError):
        CustomFieldValue(field=field, value="v")


@pytest.mark.parametrize("ordinal", [0, 11, -1])
def test_phone_ordinal_outside_1_to_10_fails(ordinal: int) -> None:
    with pytest.raises(PhoneOrdinalOutOfRangeError):
        PhoneInput(ordinal=ordinal, phone="1")
    with pytest.raises(PhoneOrdinalOutOfRangeError):
        PhoneDnd(ordinal=ordinal, phone="1")
    PhoneInput(ordinal=10)


def test_other_bad_input_is_a_pydantic_error() -> None:
    with pytest.raises(ValidationError):
        ContactCreate(account="")
    with pytest.raises(ValidationError):
        ContactCreate(account="a", account_block="SOMETIMES")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ContactCreate.model_validate({"account": "a", "shoeSize": 3})


def test_ssn_not_in_repr() -> None:
    assert "123-45-6789" not in repr(Person(ssn="123-45-6789"))


def test_contact_reply_variants_from_the_spec() -> None:
    listed = Contact.model_validate({
        "person": {"firstName": "Agent", "dateOfBirth": 1187841600000, "ssn": "0095"},
        "guarantor": {"firstName": None},
        "phone": [{"phone": "4158149720", "ordinal": 1, "phoneBlock": "PERMANENT"}],
        "customFields": None,
        "account": "2222",
        "balance": 100,
        "accountBlock": "NONE",
        "dueDate": 0,
        "groupId": "12371",
        "callAttemptsTotal": 8,
        "initialLoad": 0,
        "lastLoad": None,
        "createDate": 1500954412000,
        "modifyDate": 1509550250000,
    })
    assert listed.custom_fields == []
    assert listed.due_date is None and listed.initial_load is None
    assert listed.group_id == 12371
    assert listed.create_date == datetime(2017, 7, 25, 3, 46, 52, tzinfo=UTC)
    assert listed.phone[0].dnd_state == DndState(permanent=True, daily=False)
    assert listed.account_dnd == DndState(permanent=False, daily=False)
    searched = Contact.model_validate({
        "id": 1500034846256,
        "phone": [{"ordinal": 1, "position": 1, "dnd": False, "dndDaily": True}],
        "account": "100",
        "createdDate": 1700087145000,
        "modifiedDate": 1700087145000,
        "callAttemptsLifetime": 4,
        "happinessIndex": 0,
    })
    assert searched.call_attempts_total == 4
    assert searched.modify_date is not None
    assert searched.phone[0].dnd_state == DndState(permanent=False, daily=True)
    assert searched.model_extra == {"happinessIndex": 0}


def test_reply_timestamps() -> None:
    assert parse_lv_timestamp(None) is None
    assert parse_lv_timestamp(0) is None
    assert parse_lv_timestamp("1577836800000") == datetime(2020, 1, 1, tzinfo=UTC)
    assert parse_lv_timestamp("08/27/2018") == datetime(2018, 8, 27, tzinfo=UTC)
    assert parse_lv_timestamp("2020-01-01") == datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_lv_timestamp("yesterday")
