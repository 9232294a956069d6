"""The planner, per contact, on the default profile (pure: no database, no LiveVox)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from syncd.domain.merge import NO_BASE
from syncd.service.plan import (
    CandidateRow,
    ConflictState,
    CustomFieldDef,
    Planner,
    count_plan,
)
from syncd.service.sor import build_mapping, load_rules
from syncd.settings import SorSettings
from syncd.store.catalog import CatalogColumn, Relation
from syncd.store.field_columns import FIELDS

RULES = load_rules(Path("config/profiles/default.toml"))
_NATIVE = {"string": ("text", "text"), "integer": ("bigint", "int8"),
           "decimal": ("numeric", "numeric"), "boolean": ("boolean", "bool"),
           "date": ("date", "date"), "datetime": ("timestamptz", "timestamptz")}  # fmt: skip


def _fields(*, without: tuple[str, ...] = (), rules: Mapping[str, Any] = RULES) -> Any:
    columns = [
        CatalogColumn(f.column, *_NATIVE[f.type], False, True)
        for f in FIELDS
        if f.sor_writable and f.key not in without
    ]
    relation = Relation("sor", "contacts", "table", tuple(columns), frozenset({"account"}))
    return build_mapping(relation, SorSettings(), rules).fields


FIELDS_DEFAULT = _fields()
CUSTOM = {"COL6": CustomFieldDef("LIST", ("Gold", "Silver")), "COL2": CustomFieldDef("NUMBER")}


def _planner(**kwargs: Any) -> Planner:
    return Planner(kwargs.pop("fields", FIELDS_DEFAULT), custom_fields=CUSTOM, **kwargs)


def _row(diff: dict[str, tuple[Any, Any, Any]], **kwargs: Any) -> CandidateRow:
    defaults: dict[str, Any] = {
        "account": "A1",
        "sor_present": True,
        "mirror_live": True,
        "base_present": True,
        "lv_account_id": 1001,
        "mirror_active": True,
        "mirror_dnd": {"phone1": "5550001111", "accountBlock": False},
    }
    defaults.update(kwargs)
    return CandidateRow(diff=diff, **defaults)


def test_sor_owned_fields_become_one_update_with_expected_mirror_values() -> None:
    plan = _planner().plan(
        _row({"firstName": ("Ann", "Anne", "Anne"), "balance": ("10.5", "10", "10")})
    )
    (op,) = plan.ops
    assert op.operation == "update"
    assert op.payload == {"fields": {"firstName": "Ann", "balance": "10.5"}, "lv_account_id": 1001}
    assert op.expected == {"firstName": "Anne", "balance": "10"}
    assert [(c.key, c.old, c.new) for c in op.changes] == [
        ("firstName", "Anne", "Ann"),
        ("balance", "10", "10.5"),
    ]


def test_a_livevox_dnd_is_written_back_and_a_sor_dnd_goes_through_the_dnd_operation() -> None:
    planner = _planner()
    written = planner.plan(_row({"accountBlock": (False, True, False)}))
    assert written.ops == []
    assert written.write_back == {"accountBlock": True}
    assert written.base_patch == {"accountBlock": True}

    pushed = planner.plan(
        _row({"accountBlockDaily": (True, False, False), "phone1SmsConsent": (False, True, True)})
    )
    (op,) = pushed.ops
    assert op.operation == "dnd"
    assert op.payload == {
        "account": {"to": [False, True]},
        "phones": {"1": {"phone": "5550001111", "sms_consent": False}},
    }
    assert op.expected == {
        "account": [False, False],
        "phones": {
            "1": {
                "phone": "5550001111",
                "bits": [False, False],
                "sms_consent": False,
                "cell_consent": False,
            }
        },
    }


def test_both_sides_restricting_differently_keeps_the_most_restrictive() -> None:
    # base: blocked; SoR cleared it, LiveVox still blocked: the SoR's change wins (one side)
    plan = _planner().plan(_row({"phone1Block": (False, True, True)}))
    assert plan.ops[0].payload["phones"]["1"]["to"] == [False, False]
    # first contact (no base): a block on either side is kept
    first = _planner().plan(_row({"phone1Block": (False, True, None)}, base_present=False))
    assert first.write_back == {"phone1Block": True} and first.ops == []


def test_a_new_number_and_its_dnd_expect_the_new_number() -> None:
    plan = _planner().plan(
        _row({"phone2": ("555-000-2222", None, None), "phone2Block": (True, False, False)})
    )
    update, dnd = plan.ops
    assert update.payload["fields"] == {"phone2": "5550002222"}
    assert dnd.payload["phones"]["2"] == {"phone": "5550002222", "to": [True, False]}
    assert dnd.expected["phones"]["2"]["phone"] == "5550002222"


def test_flags_of_a_phone_without_a_number_are_invalid() -> None:
    plan = _planner().plan(_row({"phone5Block": (True, False, False)}))
    assert plan.ops == []
    assert [(i.key, i.reason) for i in plan.invalid] == [
        ("phone5Block", "no phone number at ordinal 5")
    ]


def test_invalid_values_are_left_out_and_the_rest_goes_on() -> None:
    plan = _planner().plan(
        _row(
            {
                "COL6": ("Platinum", "Gold", "Gold"),
                "COL1": ("x" * 300, None, None),
                "COL2": ("lots", "1", "1"),
                "phone3": ("call me", None, None),
                "accountBlock": (True, False, False),
                "city": ("Oslo", "Rome", "Rome"),
            }
        )
    )
    reasons = {i.key: i.reason for i in plan.invalid}
    assert set(reasons) == {"COL6", "COL1", "COL2", "phone3"}
    assert "not one of the list values" in reasons["COL6"]
    assert "300 characters" in reasons["COL1"]
    ops = {op.operation: op for op in plan.ops}
    assert ops["update"].payload["fields"] == {"city": "Oslo"}
    assert ops["dnd"].payload["account"] == {"to": [True, False]}


def test_clearing_a_number_livevox_cannot_clear_is_invalid_but_text_clears() -> None:
    plan = _planner().plan(_row({"balance": (None, "12", "12"), "city": (None, "Rome", "Rome")}))
    assert plan.ops[0].payload["fields"] == {"city": None}
    assert [i.key for i in plan.invalid] == ["balance"]


def test_text_kept_values_equal_once_parsed_only_refresh_the_base() -> None:
    plan = _planner().plan(_row({"balance": ("100.50", "100.5", NO_BASE)}))
    assert plan.ops == [] and plan.base_patch == {"balance": "100.5"}


def test_creates_carry_sor_owned_and_flag_fields_but_not_livevox_owned_ones() -> None:
    plan = _planner().plan(
        _row(
            {
                "firstName": ("New", None, None),
                "phone1": ("5551112222", None, None),
                "phone1Block": (True, False, None),
                "phone4CellConsent": (True, False, None),  # no phone 4: dropped, invalid
            },
            mirror_live=False,
            base_present=False,
            mirror_active=None,
            mirror_dnd={},
        )
    )
    (op,) = plan.ops
    assert op.operation == "create" and op.expected is None
    assert op.payload == {
        "fields": {"firstName": "New", "phone1": "5551112222", "phone1Block": True}
    }
    assert [i.key for i in plan.invalid] == ["phone4CellConsent"]


@pytest.mark.parametrize(
    ("on_removed", "operation"), [("deactivate", "deactivate"), ("delete", "delete")]
)
def test_removed_rows_follow_on_removed(on_removed: str, operation: str) -> None:
    row = _row({}, sor_present=False)
    (op,) = _planner(on_removed=on_removed).plan(row).ops
    assert op.operation == operation
    if operation == "deactivate":
        assert op.payload == {"fields": {"active": False}, "lv_account_id": 1001}
        assert op.expected == {"active": True}
    assert _planner(on_removed="ignore").plan(row).empty
    assert _planner().plan(_row({}, sor_present=False, mirror_active=False)).empty
    assert _planner().plan(_row({}, sor_present=False, mirror_live=False)).empty


def test_a_returning_row_reactivates_when_the_sor_does_not_map_active() -> None:
    planner = _planner(fields=_fields(without=("active",)))
    plan = planner.plan(
        _row({"firstName": ("Back", "Gone", "Gone")}, base_removed=True, mirror_active=False)
    )
    assert plan.ops[0].payload["fields"] == {"firstName": "Back", "active": True}
    assert plan.ops[0].expected == {"firstName": "Gone", "active": False}


def test_manual_fields_open_conflicts_and_resolutions_are_carried_out() -> None:
    rules = {**RULES}
    from syncd.domain.merge import FieldRule, Ownership, Policy

    rules["email"] = FieldRule(Ownership.BOTH, policy=Policy.MANUAL, write_back=True)
    planner = _planner(fields=_fields(rules=rules))
    both_changed = {"email": ("s@x", "l@x", "old@x")}
    plan = planner.plan(_row(both_changed))
    assert plan.ops == [] and [(c.key, c.sor, c.mirror) for c in plan.conflicts] == [
        ("email", "s@x", "l@x")
    ]
    open_ = planner.plan(_row(both_changed), {"email": ConflictState(7, "email", "open")})
    assert open_.ops == [] and len(open_.conflicts) == 1

    use_sor = planner.plan(
        _row(both_changed), {"email": ConflictState(7, "email", "resolved", "sor")}
    )
    assert use_sor.ops[0].payload["fields"] == {"email": "s@x"}
    assert use_sor.applied_conflicts == [7]

    use_lv = planner.plan(
        _row(both_changed), {"email": ConflictState(7, "email", "resolved", "livevox")}
    )
    assert use_lv.ops == [] and use_lv.write_back == {"email": "l@x"}

    use_value = planner.plan(
        _row(both_changed), {"email": ConflictState(7, "email", "resolved", "value", "v@x")}
    )
    assert use_value.ops[0].payload["fields"] == {"email": "v@x"}
    assert use_value.write_back == {"email": "v@x"}


def test_plan_counts_are_contacts_per_operation() -> None:
    planner = _planner()
    plans = [
        planner.plan(_row({"firstName": ("A", "B", "B"), "accountBlock": (True, False, False)})),
        planner.plan(_row({}, sor_present=False)),
    ]
    counts = count_plan(plans)
    assert (counts.updates, counts.dnd_changes, counts.deactivations, counts.total) == (1, 1, 1, 3)
