"""Request bodies of the contact endpoints, parsed into patches on the flat record.

A contact details object (create, update, bulk rows) is validated completely before anything
is applied: an invalid value anywhere makes the whole object invalid, with an `InvalidValue`
whose field path says where (`createContactDetails[2].phone[0].ordinal`). Unknown keys are
rejected too *(our choice)*: a misspelt key silently ignored would hide a client bug.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import coerce
from .dnd import DndAction
from .errors import InvalidValue

MAX_ORDINAL = 10
_CUSTOM_RE = re.compile(r"COL(\d{1,3})")
_PHONE_RE = re.compile(r"\+?\d{4,15}")


@dataclass(frozen=True)
class PhonePatch:
    ordinal: int
    phone: str | None = None
    phone_sent: bool = False
    block: DndAction | None = None
    sms_consent: bool | None = None
    cell_consent: bool | None = None
    where: str = "phone"


@dataclass
class ContactPatch:
    """Changes to one contact: plain field values, DND actions and per-ordinal phone edits."""

    values: dict[str, Any] = field(default_factory=dict)
    account_block: DndAction | None = None
    phones: list[PhonePatch] = field(default_factory=list)


@dataclass(frozen=True)
class ContactDetails:
    """A parsed details object: how it addresses a contact, and what it changes."""

    account: str | None
    lv_id: int | None
    patch: ContactPatch


Coercer = Callable[[str, Any], Any]

# JSON key at the top of a details object -> (flat record key, coercer)
_TOP_FIELDS: dict[str, tuple[str, Coercer]] = {
    "balance": ("balance", coerce.to_decimal),
    "amountToSpeak": ("amountToSpeak", coerce.to_decimal),
    "accountToSpeak": ("accountToSpeak", coerce.to_text),
    "originalAccountNumber": ("originalAccountNumber", coerce.to_text),
    "address1": ("address1", coerce.to_text),
    "address2": ("address2", coerce.to_text),
    "city": ("city", coerce.to_text),
    "state": ("state", coerce.to_text),
    "country": ("countryId", coerce.to_text),
    "dueDate": ("dueDate", coerce.to_date),
    "groupId": ("groupId", coerce.to_int),
    "active": ("active", coerce.to_bool),
    "primaryEmailConsent": ("primaryEmailConsent", coerce.to_bool),
    "agentId": ("agentId", coerce.to_int),
    "department": ("department", coerce.to_text),
    "salutation": ("salutation", coerce.to_text),
    "title": ("title", coerce.to_text),
}
_PERSON_FIELDS: dict[str, tuple[str, Coercer]] = {
    "firstName": ("firstName", coerce.to_text),
    "lastName": ("lastName", coerce.to_text),
    "email": ("email", coerce.to_text),
    "dateOfBirth": ("dateOfBirth", coerce.to_date),
    "ssn": ("ssn", coerce.to_text),
    "zipCode": ("zipCode", coerce.to_text),
}
_GUARANTOR_FIELDS: dict[str, tuple[str, Coercer]] = {
    "firstName": ("guarantorFirstName", coerce.to_text),
    "lastName": ("guarantorLastName", coerce.to_text),
}
_SPECIAL = frozenset({"account", "accountBlock", "person", "guarantor", "phone", "customFields"})
_PHONE_KEYS = frozenset({"phone", "ordinal", "phoneBlock", "smsConsent", "cellConsent"})


def require_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidValue(where, f"expected an object, got {_kind(value)}")
    return value


def require_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidValue(where, f"expected an array, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _reject_unknown(obj: dict[str, Any], allowed: frozenset[str] | set[str], where: str) -> None:
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise InvalidValue(f"{where}.{unknown[0]}", "unknown field")


def dnd_action(value: Any, where: str) -> DndAction:
    if isinstance(value, str):
        try:
            return DndAction(value.strip().upper())
        except ValueError:
            pass
    allowed = ", ".join(a.value for a in DndAction)
    raise InvalidValue(where, f"unknown value {value!r} (expected one of {allowed})")


def ordinal(value: Any, where: str) -> int:
    number = coerce.to_int(where, value, nullable=False)
    assert number is not None
    if not 1 <= number <= MAX_ORDINAL:
        raise InvalidValue(where, f"ordinal {number} is outside 1..{MAX_ORDINAL}")
    return number


def phone_number(value: Any, where: str) -> str | None:
    text = coerce.to_text(where, value)
    if text is None:
        return None
    text = text.strip()
    if not _PHONE_RE.fullmatch(text):
        raise InvalidValue(where, f"{text!r} is not a phone number (4-15 digits)")
    return text


def custom_field_name(value: Any, where: str) -> str:
    if isinstance(value, str):
        match = _CUSTOM_RE.fullmatch(value.strip().upper())
        if match and 1 <= int(match.group(1)) <= 100 and not match.group(1).startswith("0"):
            return f"COL{int(match.group(1))}"
    raise InvalidValue(where, f"{value!r} is not a custom field (COL1..COL100)")


def parse_phone_entry(entry: Any, where: str, *, phone_required: bool) -> PhonePatch:
    obj = require_object(entry, where)
    _reject_unknown(obj, _PHONE_KEYS, where)
    if "ordinal" not in obj:
        raise InvalidValue(f"{where}.ordinal", "is required")
    if phone_required and obj.get("phone") in (None, ""):
        raise InvalidValue(f"{where}.phone", "is required")
    return PhonePatch(
        ordinal=ordinal(obj["ordinal"], f"{where}.ordinal"),
        phone=phone_number(obj.get("phone"), f"{where}.phone"),
        phone_sent="phone" in obj,
        block=(
            dnd_action(obj["phoneBlock"], f"{where}.phoneBlock")
            if obj.get("phoneBlock") is not None
            else None
        ),
        sms_consent=_opt_bool(obj, "smsConsent", where),
        cell_consent=_opt_bool(obj, "cellConsent", where),
        where=where,
    )


def _opt_bool(obj: dict[str, Any], key: str, where: str) -> bool | None:
    if obj.get(key) is None:
        return None
    return coerce.to_bool(f"{where}.{key}", obj[key])


def _apply_fields(
    obj: dict[str, Any],
    table: dict[str, tuple[str, Coercer]],
    where: str,
    values: dict[str, Any],
) -> None:
    for key, raw in obj.items():
        if key in table:
            flat, coercer = table[key]
            values[flat] = coercer(f"{where}.{key}", raw)


def parse_contact_details(
    obj: Any, where: str, *, account_required: bool, allow_id: bool = False
) -> ContactDetails:
    """Validate a create/update details object into a `ContactDetails`."""
    details = require_object(obj, where)
    allowed = set(_TOP_FIELDS) | _SPECIAL | ({"id"} if allow_id else set())
    _reject_unknown(details, allowed, where)
    patch = ContactPatch()

    account = coerce.to_text(f"{where}.account", details.get("account"))
    if account is not None:
        account = account.strip() or None
    if account_required and account is None:
        raise InvalidValue(f"{where}.account", "is required")
    lv_id = coerce.to_int(f"{where}.id", details.get("id")) if allow_id else None

    _apply_fields(details, _TOP_FIELDS, where, patch.values)
    for nested, table in (("person", _PERSON_FIELDS), ("guarantor", _GUARANTOR_FIELDS)):
        if details.get(nested) is not None:
            sub = require_object(details[nested], f"{where}.{nested}")
            _reject_unknown(sub, set(table), f"{where}.{nested}")
            _apply_fields(sub, table, f"{where}.{nested}", patch.values)
    if details.get("accountBlock") is not None:
        patch.account_block = dnd_action(details["accountBlock"], f"{where}.accountBlock")
    if details.get("phone") is not None:
        entries = require_list(details["phone"], f"{where}.phone")
        patch.phones = [
            parse_phone_entry(e, f"{where}.phone[{i}]", phone_required=False)
            for i, e in enumerate(entries)
        ]
    if details.get("customFields") is not None:
        entries = require_list(details["customFields"], f"{where}.customFields")
        for i, entry in enumerate(entries):
            at = f"{where}.customFields[{i}]"
            item = require_object(entry, at)
            _reject_unknown(item, {"field", "value"}, at)
            if "field" not in item:
                raise InvalidValue(f"{at}.field", "is required")
            if "value" not in item:
                raise InvalidValue(f"{at}.value", "is required")
            name = custom_field_name(item["field"], f"{at}.field")
            patch.values[name] = coerce.custom_value(f"{at}.value", item["value"])
    return ContactDetails(account=account, lv_id=lv_id, patch=patch)


def parse_dnd_update(obj: dict[str, Any], where: str) -> ContactPatch:
    """The DND part shared by the single and multi DND endpoints.

    `accountBlock` is read at the contact level (as the multi example sends it) and, leniently,
    inside a phone entry (where the single endpoint's table lists it).
    """
    patch = ContactPatch()
    if obj.get("accountBlock") is not None:
        patch.account_block = dnd_action(obj["accountBlock"], f"{where}.accountBlock")
    if obj.get("updateContactDND") is not None:
        entries = require_list(obj["updateContactDND"], f"{where}.updateContactDND")
        for i, entry in enumerate(entries):
            at = f"{where}.updateContactDND[{i}]"
            item = require_object(entry, at)
            _reject_unknown(item, _PHONE_KEYS | {"accountBlock"}, at)
            if item.get("accountBlock") is not None:
                patch.account_block = dnd_action(item["accountBlock"], f"{at}.accountBlock")
            phone_item = {k: v for k, v in item.items() if k != "accountBlock"}
            patch.phones.append(parse_phone_entry(phone_item, at, phone_required=True))
    return patch


def parse_single_dnd(body: Any) -> ContactPatch:
    obj = require_object(body, "body")
    _reject_unknown(obj, {"updateContactDND", "accountBlock"}, "body")
    return parse_dnd_update(obj, "body")


def parse_multi_dnd(body: Any) -> list[tuple[str, ContactPatch]]:
    obj = require_object(body, "body")
    _reject_unknown(obj, {"contactDnd"}, "body")
    if "contactDnd" not in obj:
        raise InvalidValue("contactDnd", "is required")
    out = []
    for i, entry in enumerate(require_list(obj["contactDnd"], "contactDnd")):
        at = f"contactDnd[{i}]"
        item = require_object(entry, at)
        _reject_unknown(item, {"account", "accountBlock", "updateContactDND"}, at)
        account = coerce.to_text(f"{at}.account", item.get("account"))
        if account is None:
            raise InvalidValue(f"{at}.account", "is required")
        out.append((account, parse_dnd_update(item, at)))
    return out


@dataclass(frozen=True)
class CustomFieldUpdate:
    field: str
    label: str
    data_type: str
    list_values: tuple[str, ...] | None


DATA_TYPES = ("NUMBER", "STRING", "DATE", "BOOLEAN", "LIST")


def parse_custom_field_updates(body: Any) -> list[CustomFieldUpdate]:
    obj = require_object(body, "body")
    _reject_unknown(obj, {"customFields"}, "body")
    if "customFields" not in obj:
        raise InvalidValue("customFields", "is required")
    out = []
    for i, entry in enumerate(require_list(obj["customFields"], "customFields")):
        at = f"customFields[{i}]"
        item = require_object(entry, at)
        _reject_unknown(item, {"field", "label", "dataType", "listValues"}, at)
        if "field" not in item:
            raise InvalidValue(f"{at}.field", "is required")
        name = custom_field_name(item["field"], f"{at}.field")
        label = coerce.to_text(f"{at}.label", item.get("label"))
        if label is None or not label.strip():
            raise InvalidValue(f"{at}.label", "is required")
        data_type = item.get("dataType")
        if data_type is None:
            data_type = "NUMBER"  # the spec's default when dataType is missing
        elif not isinstance(data_type, str) or data_type.strip().upper() not in DATA_TYPES:
            raise InvalidValue(
                f"{at}.dataType",
                f"unknown value {data_type!r} (expected one of {', '.join(DATA_TYPES)})",
            )
        else:
            data_type = data_type.strip().upper()
        list_values = None
        if item.get("listValues") is not None:
            values = require_list(item["listValues"], f"{at}.listValues")
            list_values = tuple(
                coerce.to_text(f"{at}.listValues[{j}]", v) or "" for j, v in enumerate(values)
            )
        out.append(CustomFieldUpdate(name, label.strip(), data_type, list_values))
    return out
