"""Apply a parsed patch to a flat contact record (pure: returns a new record).

DND fields move by the spec's transition table (`dnd.apply_action`), never by assignment.
On the DND endpoints a phone entry must name the number stored at its ordinal, or the ordinal
must be empty (then the number is stored); anything else is a `PhoneMismatch`.
"""

from __future__ import annotations

from typing import Any

from .dnd import DndState, apply_action
from .errors import InvalidValue, PhoneMismatch
from .payloads import ContactPatch

_PHONE_SUFFIXES = (
    "", "AttemptsTotal", "AttemptsToday", "CellConsent", "Block", "BlockDaily", "SmsConsent",
)


def apply_patch(
    record: dict[str, Any],
    patch: ContactPatch,
    *,
    defaults: dict[str, Any],
    match_phones: bool = False,
) -> dict[str, Any]:
    new = dict(record)
    new.update(patch.values)
    if patch.account_block is not None:
        state = apply_action(
            DndState(new["accountBlock"], new["accountBlockDaily"]), patch.account_block
        )
        new["accountBlock"], new["accountBlockDaily"] = state.permanent, state.daily
    for phone in patch.phones:
        key = f"phone{phone.ordinal}"
        stored = new[key]
        if match_phones:
            if stored is None:
                new[key] = phone.phone
            elif phone.phone != stored:
                raise PhoneMismatch(str(new["account"]), phone.ordinal, phone.phone or "", stored)
        elif phone.phone_sent:
            if phone.phone is None:
                # Clearing a number clears everything kept for that ordinal (our choice).
                for suffix in _PHONE_SUFFIXES:
                    new[key + suffix] = defaults[key + suffix]
            else:
                new[key] = phone.phone
        if new[key] is None and (
            phone.block is not None
            or phone.sms_consent is not None
            or phone.cell_consent is not None
        ):
            raise InvalidValue(
                f"{phone.where}.phone", f"is required: no phone stored at ordinal {phone.ordinal}"
            )
        if phone.block is not None:
            state = apply_action(
                DndState(new[key + "Block"], new[key + "BlockDaily"]), phone.block
            )
            new[key + "Block"], new[key + "BlockDaily"] = state.permanent, state.daily
        if phone.sms_consent is not None:
            new[key + "SmsConsent"] = phone.sms_consent
        if phone.cell_consent is not None:
            new[key + "CellConsent"] = phone.cell_consent
    return new
