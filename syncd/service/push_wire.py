"""Outbox payloads (flat canonical values per field key) -> the client's request models.

Creates and updates carry flat keys (`firstName`, `phone3`, `COL7`, ...); the API nests them
(`person.firstName`, `phone[{ordinal: 3}]`, `customFields[{field: COL7}]`). A create also
carries the DND bits and consents of the new contact: from a new contact's state (no
blocks), every DND state is one action away. DND rows of existing contacts become ordered
*steps* of multi-contact DND entries: `plan_dnd_actions(current, desired)` per flag pair,
step k holding every pair's k-th action, consents with the first step.

Clearing: the client's models leave None out of the body, so a text value is cleared by
sending "" (LiveVox stores "" as absent); a number, date or flag cannot be cleared through
the API, and a change asking for that is refused here (`UnsendableChangeError`) rather than
reported as applied while nothing changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.livevox import (
    ContactCreate,
    ContactDnd,
    ContactUpdate,
    CustomFieldValue,
    DndAction,
    DndState,
    Guarantor,
    Person,
    PhoneDnd,
    PhoneInput,
    plan_dnd_actions,
)
from syncd.service.push_values import typed_value
from syncd.store.push_apply import field_for

NO_DND = DndState(permanent=False, daily=False)

# flat key -> attribute of the create/update model
_TOP: dict[str, str] = {
    "balance": "balance",
    "amountToSpeak": "amount_to_speak",
    "accountToSpeak": "account_to_speak",
    "originalAccountNumber": "original_account_number",
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "state": "state",
    "countryId": "country",
    "dueDate": "due_date",
    "groupId": "group_id",
    "active": "active",
    "primaryEmailConsent": "primary_email_consent",
    "agentId": "agent_id",
    "department": "department",
    "salutation": "salutation",
    "title": "title",
}
_PERSON: dict[str, str] = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "dateOfBirth": "date_of_birth",
    "ssn": "ssn",
    "zipCode": "zip_code",
}
_GUARANTOR: dict[str, str] = {"guarantorFirstName": "first_name", "guarantorLastName": "last_name"}
_PHONE_FLAGS: dict[str, str] = {"SmsConsent": "sms_consent", "CellConsent": "cell_consent"}


class UnsendableChangeError(ValueError):
    """A change the LiveVox API cannot express (or that belongs to another operation)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass
class _Parts:
    top: dict[str, Any] = field(default_factory=dict)
    person: dict[str, Any] = field(default_factory=dict)
    guarantor: dict[str, Any] = field(default_factory=dict)
    phones: dict[int, dict[str, Any]] = field(default_factory=dict)
    custom: list[CustomFieldValue] = field(default_factory=list)
    account_bits: list[bool | None] = field(default_factory=lambda: [None, None])
    phone_bits: dict[int, list[bool | None]] = field(default_factory=dict)

    def model_fields(self) -> dict[str, Any]:
        out = dict(self.top)
        if self.person:
            out["person"] = Person(**self.person)
        if self.guarantor:
            out["guarantor"] = Guarantor(**self.guarantor)
        if self.custom:
            out["custom_fields"] = self.custom
        return out


def _phone_part(key: str) -> tuple[int, str] | None:
    """(ordinal, suffix) of a phone key such as `phone3BlockDaily`."""
    spec = field_for(key)
    if spec.group != "phone" or spec.ordinal is None:
        return None
    return spec.ordinal, key[len(f"phone{spec.ordinal}") :]


def _split(fields: Mapping[str, Any], *, create: bool) -> _Parts:
    parts = _Parts()
    for key, canonical in fields.items():
        if key == "account":
            continue
        spec = field_for(key)
        value = typed_value(key, canonical)
        if value is None:
            if create:
                continue  # a new contact has nothing to clear
            if spec.type != "string":
                raise UnsendableChangeError(key, "LiveVox's API cannot clear a non-text value")
            value = ""
        phone = _phone_part(key)
        if key in _TOP:
            parts.top[_TOP[key]] = value
        elif key in _PERSON:
            parts.person[_PERSON[key]] = value
        elif key in _GUARANTOR:
            parts.guarantor[_GUARANTOR[key]] = value
        elif spec.group == "custom":
            parts.custom.append(CustomFieldValue(field=key, value=value))
        elif key in ("accountBlock", "accountBlockDaily") and create:
            parts.account_bits[key == "accountBlockDaily"] = bool(value)
        elif phone is not None and phone[1] == "":
            parts.phones.setdefault(phone[0], {})["phone"] = value
        elif phone is not None and phone[1] in ("Block", "BlockDaily") and create:
            parts.phone_bits.setdefault(phone[0], [None, None])[phone[1] == "BlockDaily"] = bool(
                value
            )
        elif phone is not None and phone[1] in _PHONE_FLAGS and create:
            parts.phones.setdefault(phone[0], {})[_PHONE_FLAGS[phone[1]]] = value
        elif key.startswith(("accountBlock", "phone")) and not create:
            raise UnsendableChangeError(key, "DND and consent changes go through the dnd operation")
        else:
            raise UnsendableChangeError(key, "not writable through the Contact API")
    return parts


def _first_action(bits: list[bool | None]) -> DndAction | None:
    desired = DndState(permanent=bool(bits[0]), daily=bool(bits[1]))
    actions = plan_dnd_actions(NO_DND, desired)
    return actions[0] if actions else None


def build_create(account: str, fields: Mapping[str, Any]) -> ContactCreate:
    """The create body of a new contact from its flat canonical fields."""
    parts = _split(fields, create=True)
    model = parts.model_fields()
    block = _first_action(parts.account_bits)
    if block is not None:
        model["account_block"] = block
    ordinals = sorted(set(parts.phones) | set(parts.phone_bits))
    phones = []
    for ordinal in ordinals:
        entry = dict(parts.phones.get(ordinal, {}))
        phone_block = _first_action(parts.phone_bits.get(ordinal, [None, None]))
        if phone_block is not None:
            entry["phone_block"] = phone_block
        phones.append(PhoneInput(ordinal=ordinal, **entry))
    if phones:
        model["phone"] = phones
    return ContactCreate(account=account, **model)


def build_update(
    account: str, fields: Mapping[str, Any], lv_account_id: int | None
) -> ContactUpdate:
    """The update body of an existing contact (field changes only, no DND)."""
    parts = _split(fields, create=False)
    model = parts.model_fields()
    if parts.phones:
        model["phone"] = [PhoneInput(ordinal=n, **parts.phones[n]) for n in sorted(parts.phones)]
    return ContactUpdate(account=account, id=lv_account_id, **model)


def single_update(update: ContactUpdate) -> ContactUpdate:
    """The same update for the single-contact endpoint, which addresses by account only."""
    return update.model_copy(update={"id": None})


# --- DND ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DndTarget:
    """What one DND row wants for the account's flags (ordinal None) or one phone's."""

    ordinal: int | None
    phone: str | None = None
    desired: DndState | None = None
    sms_consent: bool | None = None
    cell_consent: bool | None = None


def _state(bits: Any, where: str) -> DndState:
    if (
        not isinstance(bits, list | tuple)
        or len(bits) != 2
        or not all(b is None or isinstance(b, bool) for b in bits)
    ):
        raise UnsendableChangeError(where, "DND bits must be [permanent, daily] booleans")
    return DndState(permanent=bool(bits[0]), daily=bool(bits[1]))


def _optional_bool(value: Any, where: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise UnsendableChangeError(where, "consent must be a boolean")
    return value


def dnd_targets(payload: Mapping[str, Any]) -> list[DndTarget]:
    """The targets of a `dnd` payload, account first, then phones by ordinal."""
    targets: list[DndTarget] = []
    account = payload.get("account")
    if isinstance(account, Mapping) and account.get("to") is not None:
        targets.append(DndTarget(None, desired=_state(account["to"], "accountBlock")))
    phones = payload.get("phones") or {}
    if not isinstance(phones, Mapping):
        raise UnsendableChangeError("phones", "must be an object keyed by ordinal")
    for text, spec in sorted(phones.items(), key=lambda item: int(item[0])):
        ordinal = int(text)
        if not 1 <= ordinal <= 10 or not isinstance(spec, Mapping):
            raise UnsendableChangeError(f"phone{text}", "not a phone ordinal 1..10")
        targets.append(
            DndTarget(
                ordinal,
                phone=spec.get("phone"),
                desired=None if spec.get("to") is None else _state(spec["to"], f"phone{text}"),
                sms_consent=_optional_bool(spec.get("sms_consent"), f"phone{text}SmsConsent"),
                cell_consent=_optional_bool(spec.get("cell_consent"), f"phone{text}CellConsent"),
            )
        )
    return targets


@dataclass(frozen=True, slots=True)
class DndCurrent:
    """What the mirror shows for one target right now."""

    state: DndState
    phone: str | None = None
    sms_consent: bool | None = None
    cell_consent: bool | None = None


def dnd_steps(
    account: str, targets: list[DndTarget], current: Mapping[int | None, DndCurrent]
) -> list[ContactDnd]:
    """Ordered multi-DND entries taking `current` to the targets (empty: nothing to do)."""
    plans: list[tuple[DndTarget, list[DndAction], DndCurrent]] = []
    for target in targets:
        now = current[target.ordinal]
        actions = [] if target.desired is None else plan_dnd_actions(now.state, target.desired)
        plans.append((target, actions, now))
    steps: list[ContactDnd] = []
    for k in range(max([len(a) for _, a, _ in plans] + [1])):
        account_block: DndAction | None = None
        phones: list[PhoneDnd] = []
        for target, actions, now in plans:
            action = actions[k] if k < len(actions) else None
            if target.ordinal is None:
                account_block = action
                continue
            sms = target.sms_consent if k == 0 and target.sms_consent != now.sms_consent else None
            cell = (
                target.cell_consent if k == 0 and target.cell_consent != now.cell_consent else None
            )
            if action is None and sms is None and cell is None:
                continue
            number = now.phone or target.phone  # the number as LiveVox stores it
            if not number:
                raise UnsendableChangeError(
                    f"phone{target.ordinal}", "no phone number at this ordinal to address"
                )
            phones.append(
                PhoneDnd(
                    phone=number,
                    ordinal=target.ordinal,
                    phone_block=action,
                    sms_consent=sms,
                    cell_consent=cell,
                )
            )
        if account_block is None and not phones:
            continue
        steps.append(
            ContactDnd(
                account=account, account_block=account_block, update_contact_dnd=phones or None
            )
        )
    return steps
