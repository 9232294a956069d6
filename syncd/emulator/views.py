"""JSON views of flat records, shaped after the spec's response examples.

Read and list show every documented key (null when absent, as the examples do); the search
view follows the "Find Matching Contact" example: absent values are left out, `phone` always
lists all ten ordinals with dnd/dndDaily flags. Instants and dates are epoch milliseconds
(dates at midnight UTC); amounts are JSON numbers; a missing balance, amount, group or agent
reads 0 as in the examples.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .dnd import DndState, state_name
from .generator import Note
from .reference import CustomFieldDef, Group

Record = dict[str, Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_PHONES = range(1, 11)
_CUSTOM = tuple(f"COL{n}" for n in range(1, 101))


def epoch_ms(value: date | datetime | None) -> int | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return (value - _EPOCH) // _MS


def _number(value: Decimal | None) -> float | int:
    return 0 if value is None else float(value)


def _block(record: Record, prefix: str) -> str:
    return state_name(DndState(record[prefix + "Block"], record[prefix + "BlockDaily"]))


def _person(record: Record) -> dict[str, Any]:
    return {
        "firstName": record["firstName"],
        "lastName": record["lastName"],
        "dateOfBirth": epoch_ms(record["dateOfBirth"]),
        "email": record["email"],
        "ssn": record["ssn"],
        "zipCode": record["zipCode"],
    }


def _guarantor(record: Record) -> dict[str, Any]:
    return {"firstName": record["guarantorFirstName"], "lastName": record["guarantorLastName"]}


def _phones(record: Record) -> list[dict[str, Any]]:
    out = []
    for n in _PHONES:
        key = f"phone{n}"
        if record[key] is None:
            continue
        out.append(
            {
                "phone": record[key],
                "ordinal": n,
                "phoneBlock": _block(record, key),
                "smsConsent": record[key + "SmsConsent"],
                "cellConsent": record[key + "CellConsent"],
            }
        )
    return out


def custom_values(record: Record) -> list[dict[str, str]]:
    return [{"field": f, "value": record[f]} for f in _CUSTOM if record.get(f) is not None]


def _common(record: Record) -> dict[str, Any]:
    return {
        "person": _person(record),
        "guarantor": _guarantor(record),
        "phone": _phones(record),
        "customFields": custom_values(record) or None,
        "account": record["account"],
        "active": record["active"],
        "balance": _number(record["balance"]),
        "accountBlock": state_name(
            DndState(record["accountBlock"], record["accountBlockDaily"])
        ),
        "accountToSpeak": record["accountToSpeak"],
        "originalAccountNumber": record["originalAccountNumber"],
        "address1": record["address1"],
        "address2": record["address2"],
        "city": record["city"],
        "state": record["state"],
        "country": record["countryId"],
        "amountToSpeak": _number(record["amountToSpeak"]),
        "dueDate": epoch_ms(record["dueDate"]),
        "groupId": record["groupId"] or 0,
        "callAttemptsToday": record["callAttemptsToday"] or 0,
        "callAttemptsTotal": record["callAttemptsTotal"] or 0,
        "initialLoad": epoch_ms(record["initialLoadDate"]),
        "lastLoad": epoch_ms(record["lastLoadDate"]),
        "primaryEmailConsent": record["primaryEmailConsent"],
    }


def read_view(record: Record) -> dict[str, Any]:
    """The object under `readContactDetails`."""
    view = _common(record)
    view["customFields"] = custom_values(record)
    view["createdDate"] = epoch_ms(record["createDate"])
    view["modifiedDate"] = epoch_ms(record["modifyDate"])
    return view


def list_view(record: Record) -> dict[str, Any]:
    """One item of `listContactDetails`."""
    view = _common(record)
    view["createDate"] = epoch_ms(record["createDate"])
    view["modifyDate"] = epoch_ms(record["modifyDate"])
    return view


def _without_none(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


def search_view(record: Record) -> dict[str, Any]:
    """One item of `findMatchingContactsDetails`."""
    phones = []
    for n in _PHONES:
        key = f"phone{n}"
        entry: dict[str, Any] = {
            "smsConsent": record[key + "SmsConsent"],
            "cellConsent": record[key + "CellConsent"],
        }
        if record[key] is not None:
            entry["phone"] = record[key]
        entry.update(
            ordinal=n,
            position=n,
            dnd=record[key + "Block"],
            dndDaily=record[key + "BlockDaily"],
            callAttemptsTotal=record[key + "AttemptsTotal"] or 0,
            callAttemptsToday=record[key + "AttemptsToday"] or 0,
        )
        phones.append(entry)
    view: dict[str, Any] = {"id": record["lvAccountId"]}
    person = _without_none(_person(record))
    if person:
        view["person"] = person
    guarantor = _without_none(_guarantor(record))
    if guarantor:
        view["guarantor"] = guarantor
    view["phone"] = phones
    view.update(
        _without_none(
            {
                "account": record["account"],
                "active": record["active"],
                "balance": _number(record["balance"]),
                "accountBlock": state_name(
                    DndState(record["accountBlock"], record["accountBlockDaily"])
                ),
                "originalAccountNumber": record["originalAccountNumber"],
                "accountToSpeak": record["accountToSpeak"],
                "address1": record["address1"],
                "address2": record["address2"],
                "city": record["city"],
                "state": record["state"],
                "country": record["countryId"] or "",
                "postalCode": record["zipCode"],
                "amountToSpeak": _number(record["amountToSpeak"]),
                "dueDate": epoch_ms(record["dueDate"]),
                "groupId": record["groupId"] or 0,
                "primaryEmailConsent": record["primaryEmailConsent"],
                "agentId": record["agentId"] or 0,
                "createdDate": epoch_ms(record["createDate"]),
                "modifiedDate": epoch_ms(record["modifyDate"]),
                "lastLoad": epoch_ms(record["lastLoadDate"]),
                "initialLoad": epoch_ms(record["initialLoadDate"]),
                "callAttemptsToday": record["callAttemptsToday"] or 0,
                "callAttemptsLifetime": record["callAttemptsTotal"] or 0,
            }
        )
    )
    return view


def note_summary(note: Note) -> dict[str, Any]:
    return {"id": note.id, "note": note.note}


def note_view(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "note": note.note,
        "transactionId": note.transaction_id,
        "sessionId": note.session_id,
        "createDate": epoch_ms(note.create_date),
        "modifiedDate": epoch_ms(note.modified_date),
    }


def group_view(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "createdBy": group.created_by,
        "modifiedBy": group.modified_by,
        "createdAt": epoch_ms(group.created_at),
        "modifiedAt": epoch_ms(group.modified_at),
    }


def custom_field_view(definition: CustomFieldDef) -> dict[str, Any]:
    view: dict[str, Any] = {
        "field": definition.field,
        "label": definition.label,
        "dataType": definition.data_type,
    }
    if definition.data_type == "LIST":
        view["listValues"] = list(definition.list_values)
    return view


def flat_json(record: Record) -> dict[str, Any]:
    """The flat record for the control route: dates ISO 8601, amounts as exact strings."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, datetime | date):
            out[key] = value.isoformat()
        elif isinstance(value, Decimal):
            out[key] = str(value)
        else:
            out[key] = value
    return out
