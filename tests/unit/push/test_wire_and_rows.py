"""Outbox payloads -> request models, and what a row means next to its mirror row."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from syncd.livevox import DndAction, DndState, apply_dnd_actions
from syncd.service.push import BACKOFF_MAX, backoff
from syncd.service.push_rows import audited_changes, sent_values, shows_applied, stale_keys
from syncd.service.push_values import same_value
from syncd.service.push_wire import (
    DndCurrent,
    UnsendableChangeError,
    build_create,
    build_update,
    dnd_steps,
    dnd_targets,
)
from syncd.store.audit_writer import mask_payload, scrub_pii
from syncd.store.outbox_drain import OutboxRow
from syncd.store.push_apply import MirrorRow

NONE = DndState(permanent=False, daily=False)
DAILY = DndState(permanent=False, daily=True)
PERMANENT = DndState(permanent=True, daily=False)
BOTH = DndState(permanent=True, daily=True)


def _row(operation: str, payload: dict[str, Any], expected: dict[str, Any] | None) -> OutboxRow:
    return OutboxRow(1, 1, "A1", operation, payload, expected, "NEW", 0, None)


def _mirror(**values: Any) -> MirrorRow:
    return MirrorRow("A1", False, {"account": "A1", **values})


def test_create_nests_flat_fields_and_sets_dnd_with_one_action() -> None:
    model = build_create(
        "A1",
        {
            "firstName": "Ada", "guarantorLastName": "Byron", "balance": "100.5",
            "dueDate": "2025-03-01", "countryId": "UNITED_KINGDOM", "COL12": "x",
            "accountBlock": True, "accountBlockDaily": True, "phone2": "3125550100",
            "phone2BlockDaily": True, "phone2SmsConsent": False, "ssn": None,
        },
    )
    wire = model.to_wire()
    assert wire["person"] == {"firstName": "Ada"}
    assert wire["guarantor"] == {"lastName": "Byron"}
    assert (model.balance, model.due_date) == (Decimal("100.5"), date(2025, 3, 1))
    assert wire["country"] == "UNITED_KINGDOM"
    assert wire["customFields"] == [{"field": "COL12", "value": "x"}]
    assert wire["accountBlock"] == "BOTH"
    assert wire["phone"] == [
        {"ordinal": 2, "phone": "3125550100", "phoneBlock": "DAILY", "smsConsent": False}
    ]


def test_update_clears_text_with_empty_strings_and_refuses_what_it_cannot_express() -> None:
    wire = build_update("A1", {"city": None, "COL3": None, "phone4": None}, 77).to_wire()
    assert wire == {"account": "A1", "id": 77, "city": "", "customFields": [
        {"field": "COL3", "value": ""}], "phone": [{"ordinal": 4, "phone": ""}]}
    with pytest.raises(UnsendableChangeError, match="cannot clear"):
        build_update("A1", {"balance": None}, None)
    with pytest.raises(UnsendableChangeError, match="dnd operation"):
        build_update("A1", {"phone1Block": True}, None)
    with pytest.raises(UnsendableChangeError, match="not writable"):
        build_update("A1", {"modifyDate": "2024-01-01T00:00:00Z"}, None)


@pytest.mark.parametrize("start", [NONE, DAILY, PERMANENT, BOTH])
@pytest.mark.parametrize("goal", [NONE, DAILY, PERMANENT, BOTH])
def test_dnd_steps_reach_the_desired_state_in_order(start: DndState, goal: DndState) -> None:
    targets = dnd_targets({
        "account": {"to": [goal.permanent, goal.daily]},
        "phones": {"2": {"phone": "5551234", "to": [goal.permanent, goal.daily],
                         "sms_consent": False}},
    })
    current = {None: DndCurrent(start), 2: DndCurrent(start, "5551234", True, None)}
    steps = dnd_steps("A1", targets, current)
    account_actions = [s.account_block for s in steps if s.account_block is not None]
    assert apply_dnd_actions(start, account_actions) == goal
    phone_entries = [p for s in steps for p in (s.update_contact_dnd or [])]
    assert apply_dnd_actions(start, [p.phone_block for p in phone_entries if p.phone_block]) == (
        goal
    )
    assert phone_entries[0].sms_consent is False  # the consent goes with the first step
    assert all(p.sms_consent is None for p in phone_entries[1:])


def test_two_step_move_is_permanent_first_then_daily_off() -> None:
    targets = dnd_targets({"account": {"to": [True, False]}})
    steps = dnd_steps("A1", targets, {None: DndCurrent(DAILY)})
    assert [s.account_block for s in steps] == [DndAction.PERMANENT, DndAction.DAILY_OFF]


def test_update_is_stale_when_an_expected_value_moved() -> None:
    row = _row("update", {"fields": {"city": "B"}}, {"city": "A", "balance": "100.5"})
    assert stale_keys(row, _mirror(city="A", balance=Decimal("100.50"))) == []
    assert stale_keys(row, _mirror(city="Z", balance=Decimal("100.5"))) == ["city"]
    assert stale_keys(row, None) == ["account"]
    assert stale_keys(_row("create", {"fields": {}}, None), _mirror()) == ["account"]
    assert stale_keys(_row("create", {"fields": {}}, None), None) == []


def test_dnd_accepts_its_own_intermediate_state_but_not_a_foreign_one() -> None:
    row = _row("dnd", {"account": {"to": [True, False]}}, {"account": [False, True]})
    assert stale_keys(row, _mirror(accountBlock=False, accountBlockDaily=True)) == []
    assert stale_keys(row, _mirror(accountBlock=True, accountBlockDaily=True)) == []  # step 1
    assert stale_keys(row, _mirror(accountBlock=False, accountBlockDaily=False)) == [
        "accountBlock"
    ]
    assert shows_applied(row, _mirror(accountBlock=True, accountBlockDaily=False))
    assert not shows_applied(row, _mirror(accountBlock=True, accountBlockDaily=True))


def test_a_dnd_phone_replaced_in_livevox_is_stale() -> None:
    row = _row(
        "dnd",
        {"phones": {"1": {"phone": "5551234", "to": [True, False]}}},
        {"phones": {"1": {"phone": "5551234", "bits": [False, False], "sms_consent": None,
                          "cell_consent": None}}},
    )
    assert stale_keys(row, _mirror(phone1="555-1234")) == []  # formatting is no change
    assert stale_keys(row, _mirror(phone1="5559999")) == ["phone1"]


def test_dnd_audits_one_entry_per_flag_moved_and_agrees_on_the_targets() -> None:
    row = _row(
        "dnd",
        {"account": {"to": [True, False]},
         "phones": {"3": {"phone": "5551234", "sms_consent": False}}},
        {"account": [False, True], "phones": {"3": {"phone": "5551234", "sms_consent": True}}},
    )
    assert audited_changes(row) == [
        ("accountBlock", False, True),
        ("accountBlockDaily", True, False),
        ("phone3SmsConsent", True, False),
    ]
    typed, agreed = sent_values(row, _mirror(phone3="5551234"))
    assert agreed == {"accountBlock": True, "accountBlockDaily": False, "phone3SmsConsent": False}
    assert typed == agreed


def test_values_compare_by_meaning() -> None:
    assert same_value("balance", "100.5", Decimal("100.50"))
    assert same_value("phone1", "5551234", "(555) 1234")
    assert same_value("city", None, "")
    assert not same_value("city", "A", "B")
    assert not same_value("active", "true", True)  # a string is not a canonical boolean


def test_backoff_doubles_to_a_cap() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (30, 60, 120)]
    assert backoff(40) == BACKOFF_MAX


def test_dead_letter_payloads_are_masked() -> None:
    assert mask_payload({"fields": {"ssn": "123", "dateOfBirth": None, "city": "X"}}) == {
        "fields": {"ssn": "***", "dateOfBirth": None, "city": "X"}
    }


def test_pii_quoted_back_in_an_error_is_masked() -> None:
    payload = {"fields": {"ssn": "078051120", "dateOfBirth": "1980-02-29", "city": "Paris"}}
    text = (
        "person.ssn: '078051120' refused; person.dateOfBirth: got 320630400000 "
        "(02/29/1980); city 'Paris' fine"
    )
    assert scrub_pii(text, payload) == (
        "person.ssn: '***' refused; person.dateOfBirth: got *** (***); city 'Paris' fine"
    )
    assert scrub_pii(None, payload) is None


def test_the_base_takes_no_pii_from_a_sent_update() -> None:
    """The mirror takes every sent value; `base.agreed` never an SSN or a date of birth."""
    row = _row(
        "update",
        {"fields": {"firstName": "Ann", "ssn": "123-45-6789", "dateOfBirth": "1980-01-02"}},
        None,
    )
    typed, agreed = sent_values(row, None)
    assert {"firstName", "ssn", "dateOfBirth"} <= typed.keys()
    assert agreed == {"firstName": "Ann"}
