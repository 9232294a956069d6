"""A tiny structural checker for JSON replies: "keys and JSON types", nothing more.

A shape is a JSON type (`str`, `int`, `float`, `bool`, `NUMBER`, `dict`, `list`), a dict of
key → shape (an object; extra keys are allowed since the spec's examples show a subset),
a one-element list `[shape]` (an array whose every item has that shape), or `Opt(shape)`
for a key that may be missing or null. `check_shape` returns every mismatch with its path,
so one failing assertion names all deviations at once.

`bool` is never accepted where a number is expected, although Python's bool is an int.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NUMBER = (int, float)


@dataclass(frozen=True)
class Opt:
    """The key may be absent or null; when present and not null it has `shape`."""

    shape: Any


def _type_name(shape: Any) -> str:
    if isinstance(shape, tuple):
        return " or ".join(t.__name__ for t in shape)
    return getattr(shape, "__name__", repr(shape))


def _is_type(value: Any, shape: type | tuple[type, ...]) -> bool:
    types = shape if isinstance(shape, tuple) else (shape,)
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


def check_shape(value: Any, shape: Any, path: str = "$") -> list[str]:
    """Every place where `value` does not have `shape` (empty list: it conforms)."""
    if isinstance(shape, Opt):
        return [] if value is None else check_shape(value, shape.shape, path)
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected object, got {type(value).__name__} {value!r:.80}"]
        problems: list[str] = []
        for key, sub in shape.items():
            if key not in value:
                if not isinstance(sub, Opt):
                    problems.append(f"{path}.{key}: missing")
                continue
            problems += check_shape(value[key], sub, f"{path}.{key}")
        return problems
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{path}: expected array, got {type(value).__name__} {value!r:.80}"]
        problems = []
        for index, item in enumerate(value):
            problems += check_shape(item, shape[0], f"{path}[{index}]")
        return problems
    if not _is_type(value, shape):
        return [f"{path}: expected {_type_name(shape)}, got {type(value).__name__} {value!r:.80}"]
    return []


def assert_shape(value: Any, shape: Any) -> None:
    problems = check_shape(value, shape)
    assert not problems, "reply does not have the documented shape:\n" + "\n".join(problems)


# -- documented reply shapes shared by several modules -----------------------------------------
# A key is required when the spec's table marks it mandatory, when it is an identifier, a DND
# state or a date the sync relies on, or when it is the reply's envelope; every other key
# the spec documents is optional but type-checked when present.

DND_ENUM = str  # NONE / DAILY / PERMANENT / BOTH; values are checked where they matter

PERSON = {
    "firstName": Opt(str),
    "lastName": Opt(str),
    "email": Opt(str),
    "dateOfBirth": Opt((int, str)),
    "ssn": Opt(str),
    "zipCode": Opt(str),
}
GUARANTOR = {"firstName": Opt(str), "lastName": Opt(str)}
CUSTOM_VALUE = {"field": str, "value": Opt(str)}
CONTACT_PHONE = {
    "phone": str,
    "ordinal": int,
    "phoneBlock": Opt(DND_ENUM),
    "smsConsent": Opt(bool),
    "cellConsent": Opt(bool),
}

# "List Contacts for a Client" (listContactDetails items).
LIST_CONTACT = {
    "person": Opt(PERSON),
    "guarantor": Opt(GUARANTOR),
    "phone": [CONTACT_PHONE],
    "customFields": Opt([CUSTOM_VALUE]),
    "account": str,
    "active": bool,
    "balance": Opt(NUMBER),
    "accountBlock": DND_ENUM,
    "accountToSpeak": Opt(str),
    "originalAccountNumber": Opt(str),
    "address1": Opt(str),
    "address2": Opt(str),
    "city": Opt(str),
    "state": Opt(str),
    "country": Opt(str),
    "amountToSpeak": Opt(NUMBER),
    "dueDate": Opt(int),
    "groupId": Opt(int),
    "callAttemptsToday": Opt(int),
    "callAttemptsTotal": Opt(int),
    "initialLoad": Opt(int),
    "lastLoad": Opt(int),
    "createDate": int,
    "modifyDate": int,
}

# "Read Contact" (readContactDetails).
READ_CONTACT = {
    **{k: v for k, v in LIST_CONTACT.items() if k not in ("createDate", "modifyDate")},
    "createdDate": int,
    "modifiedDate": int,
    "primaryEmailConsent": Opt(bool),
}

# "Find Matching Contact" items: a phone array of ten slots with DND bits.
SEARCH_PHONE = {
    "phone": Opt(str),
    "smsConsent": bool,
    "cellConsent": bool,
    "ordinal": int,
    "position": int,
    "dnd": bool,
    "dndDaily": bool,
    "callAttemptsTotal": int,
    "callAttemptsToday": int,
}
SEARCH_CONTACT = {
    "id": int,
    "person": Opt(PERSON),
    "phone": [SEARCH_PHONE],
    "account": str,
    "active": bool,
    "balance": Opt(NUMBER),
    "accountBlock": DND_ENUM,
    "city": Opt(str),
    "country": Opt(str),
    "postalCode": Opt(str),
    "amountToSpeak": Opt(NUMBER),
    "groupId": Opt(int),
    "primaryEmailConsent": Opt(bool),
    "agentId": Opt(int),
    "createdDate": int,
    "modifiedDate": int,
    "lastLoad": Opt(int),
    "initialLoad": Opt(int),
    "callAttemptsToday": Opt(int),
    "callAttemptsLifetime": Opt(int),
}

CONTACT_GROUP = {
    "id": int,
    "name": str,
    "createdBy": Opt(str),
    "modifiedBy": Opt(str),
    "createdAt": Opt(int),
    "modifiedAt": Opt(int),
}

ADDRESS = {
    "street": Opt(str),
    "city": Opt(str),
    "state": Opt(str),
    "postalCode": Opt(str),
    "country": Opt(str),
}
# "List Accounts Associated with the Contact" (listAccount items; mandatory per its table).
ACCOUNT = {
    "id": int,
    "createdDate": int,
    "createdBy": str,
    "modifiedDate": int,
    "modifiedBy": str,
    "name": str,
    "description": Opt(str),
    "industry": Opt(str),
    "annualRevenue": Opt(int),
    "phoneFax": Opt(str),
    "billingAddress": Opt(ADDRESS),
    "rating": Opt(str),
    "phoneOffice": Opt(str),
    "phoneAlternate": Opt(str),
    "website": Opt(str),
    "ownershipType": Opt(str),
    "numOfEmployees": Opt(int),
    "tickerSymbol": Opt(str),
    "shippingAddress": Opt(ADDRESS),
    "campaignId": Opt((int, str)),
    "accountNumber": Opt(str),
    "originalAccountNumber": Opt(str),
    "agentId": Opt(int),
    "agentTeamId": Opt(int),
    "location": Opt(str),
    "accountSource": Opt(str),
    "sicCode": Opt(str),
    "sicDesc": Opt(str),
    "classificationId": Opt(int),
    "customFields": Opt([CUSTOM_VALUE]),
    "typeId": Opt(int),
    "classificationName": Opt(str),
    "typeName": Opt(str),
    "agentName": Opt(str),
    "agentTeamName": Opt(str),
}

CUSTOM_FIELD = {"field": str, "label": str, "dataType": str, "listValues": Opt([str])}
NOTE_SUMMARY = {"id": int, "note": str}
NOTE = {
    "id": int,
    "note": str,
    "sessionId": str,
    "transactionId": int,
    "createDate": int,
    "modifiedDate": int,
}
ERROR = {"code": int, "message": str}
BULK_MESSAGE = {"message": str}
