"""The emulator's search trees and sort lists ("Find Matching Contact")."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.emulator.search import (
    CONDITIONS,
    SEARCH_FIELDS,
    SORT_FIELDS,
    FieldKind,
    Record,
    SearchError,
    compile_search,
    sort_records,
)

TODAY = date(2024, 6, 15)


def matching(tree: dict[str, Any], records: Iterable[Record], today: date = TODAY) -> set[int]:
    predicate = compile_search(tree, today=today)
    return {record["lvAccountId"] for record in records if predicate(record)}


def cond(field: str, condition: str, criteria: Any, **extra: Any) -> dict[str, Any]:
    return {"field": field, "condition": condition, "criteria": criteria, **extra}


def negated_condition(condition: dict[str, Any]) -> dict[str, Any]:
    """The spec's way to negate one condition: wrap it in a rule."""
    return {"rule": "AND", "left": {**condition, "isNegated": True}}


def negated_rule(condition: dict[str, Any]) -> dict[str, Any]:
    return {"rule": "OR", "left": condition, "isNegated": True}


def records(field: str, values: list[Any]) -> list[Record]:
    """One record per value, lvAccountId 1..n; a None value leaves the key out."""
    return [
        {"lvAccountId": i, **({} if value is None else {field: value})}
        for i, value in enumerate(values, start=1)
    ]


# ---------------------------------------------------------------- operators by kind

TEXT_RECORDS = records("account", ["1001", "1002abc", "ABC-99", "xyz", None])
TEXT_CASES = [
    ("EQUALS", "abc-99", {3}),
    ("STARTS_WITH", "100", {1, 2}),
    ("ENDS_WITH", "ABC", {2}),
    ("CONTAINS", "b", {2, 3}),
    ("LESS", "2", {1, 2}),
    ("GREATER", "abc-99", {4}),
    ("GREATER_EQUAL", "abc-99", {3, 4}),
]

NUMBER_RECORDS = records("balance", [Decimal("100.50"), Decimal("99"), Decimal("1000"), 0, None])
NUMBER_CASES = [
    ("EQUALS", "100.5", {1}),
    ("LESS", "100", {2, 4}),
    ("GREATER", "100", {1, 3}),
    ("GREATER_EQUAL", "99", {1, 2, 3}),
    ("STARTS_WITH", "10", {1, 3}),
    ("ENDS_WITH", "50", {1}),
    ("CONTAINS", "9", {2}),
]

DATE_RECORDS = records(
    "dueDate", [date(2024, 1, 15), date(2024, 3, 1), date(2023, 12, 31), None]
)
DATE_CASES = [
    ("EQUALS", "2024-01-15", {1}),
    ("EQUALS", "01/15/2024", {1}),
    ("EQUALS", "1705320000000", {1}),  # 2024-01-15T12:00:00Z in epoch milliseconds
    ("LESS", "2024-01-15", {3}),
    ("GREATER", "01/15/2024", {2}),
    ("GREATER_EQUAL", "2024-01-15", {1, 2}),
]

FLAG_RECORDS = records("accountBlock", [True, False, None])
FLAG_CASES = [
    ("EQUALS", "true", {1}),
    ("EQUALS", "TRUE", {1}),
    ("EQUALS", "1", {1}),
    ("EQUALS", "Y", {1}),
    ("EQUALS", "false", {2, 3}),
    ("EQUALS", "0", {2, 3}),
    ("EQUALS", "n", {2, 3}),
]

OPERATOR_CASES = (
    [("account", TEXT_RECORDS, *case) for case in TEXT_CASES]
    + [("paymentbalance", NUMBER_RECORDS, *case) for case in NUMBER_CASES]
    + [("account_due_date", DATE_RECORDS, *case) for case in DATE_CASES]
    + [("do_not_dial", FLAG_RECORDS, *case) for case in FLAG_CASES]
)


@pytest.mark.parametrize(("field", "population", "condition", "criteria", "expected"),
                         OPERATOR_CASES)
def test_operator_with_and_without_negation(
    field: str, population: list[Record], condition: str, criteria: str, expected: set[int]
) -> None:
    everyone = {record["lvAccountId"] for record in population}
    plain = cond(field, condition, criteria)

    assert matching(plain, population) == expected
    assert matching({"rule": "AND", "left": plain}, population) == expected
    assert matching(negated_condition(plain), population) == everyone - expected
    assert matching(negated_rule(plain), population) == everyone - expected


def test_every_operator_is_covered() -> None:
    assert {case[0] for case in TEXT_CASES} == CONDITIONS
    assert {case[0] for case in NUMBER_CASES} == CONDITIONS


def test_less_or_equal_is_negated_greater_equal_as_the_spec_says() -> None:
    population = records("balance", [Decimal(5), Decimal(10), Decimal(15)])
    greater_equal = cond("paymentbalance", "GREATER", "10")

    assert matching(negated_condition(greater_equal), population) == {1, 2}


def test_top_level_condition_ignores_is_negated_like_livevox() -> None:
    plain = cond("account", "STARTS_WITH", "100")

    assert matching({**plain, "isNegated": True}, TEXT_RECORDS) == {1, 2}


def test_negated_condition_under_negated_rule_is_plain_again() -> None:
    tree = {"rule": "AND", "isNegated": True,
            "left": cond("account", "STARTS_WITH", "100", isNegated=True)}

    assert matching(tree, TEXT_RECORDS) == {1, 2}


def test_criteria_may_arrive_as_json_numbers_and_booleans() -> None:
    assert matching(cond("paymentbalance", "EQUALS", 99), NUMBER_RECORDS) == {2}
    assert matching(cond("paymentbalance", "EQUALS", 100.5), NUMBER_RECORDS) == {1}
    assert matching(cond("do_not_dial", "EQUALS", True), FLAG_RECORDS) == {1}


def test_text_values_of_other_types_compare_as_text() -> None:
    population = records("COL7", ["Gold", 42, None])

    assert matching(cond("COL7", "EQUALS", "gold"), population) == {1}
    assert matching(cond("COL7", "EQUALS", "42"), population) == {2}


# ---------------------------------------------------------------- every field family


def _field_cases() -> list[tuple[str, str, str, Record, Record]]:
    """(field, condition, criteria, a record that matches, one that does not)."""
    dt = datetime(2024, 6, 14, 23, 30, tzinfo=UTC)
    cases: list[tuple[str, str, str, Record, Record]] = [
        ("account", "EQUALS", "A-1", {"account": "a-1"}, {"account": "A-2"}),
        ("account_due_date", "EQUALS", "06/01/2024",
         {"dueDate": date(2024, 6, 1)}, {"dueDate": date(2024, 6, 2)}),
        # due today + 3 days
        ("account_due_date_basedon_option", "EQUALS", "3",
         {"dueDate": date(2024, 6, 18)}, {"dueDate": date(2024, 6, 17)}),
        # loaded within the last 7 days (a datetime value reads as its UTC date)
        ("last_load_date_basedon_option", "GREATER_EQUAL", "-7",
         {"lastLoadDate": dt}, {"lastLoadDate": date(2024, 6, 7)}),
        ("original_account_number", "STARTS_WITH", "OR",
         {"originalAccountNumber": "or-55"}, {"originalAccountNumber": "55-or"}),
        ("city", "EQUALS", "boston", {"city": "Boston"}, {"city": "Bostonia"}),
        ("state", "EQUALS", "ma", {"state": "MA"}, {"state": "NY"}),
        ("country", "EQUALS", "UNITED_STATES_OF_AMERICA",
         {"countryId": "UNITED_STATES_OF_AMERICA"}, {"countryId": "CANADA"}),
        ("group", "EQUALS", "7", {"groupId": 7}, {"groupId": 8}),
        ("do_not_dial", "EQUALS", "true", {"accountBlock": True}, {"accountBlock": False}),
        ("do_not_dial_daily", "EQUALS", "Y",
         {"accountBlockDaily": True}, {"accountBlockDaily": False}),
        ("sms", "EQUALS", "true", {"primarySMSConsent": True}, {"primarySMSConsent": False}),
        ("email", "EQUALS", "true",
         {"primaryEmailConsent": True, "email": "x@example.com"},
         {"primaryEmailConsent": False, "email": "x@example.com"}),
        ("email_address", "ENDS_WITH", "@EXAMPLE.com",
         {"email": "ann@example.com", "primaryEmailConsent": False},
         {"email": "ann@example.org", "primaryEmailConsent": True}),
        ("primary_email_consent", "EQUALS", "1",
         {"primaryEmailConsent": True}, {"primaryEmailConsent": False}),
        ("postalcode", "STARTS_WITH", "021", {"zipCode": "02139"}, {"zipCode": "10021"}),
        ("name", "EQUALS", "ann", {"firstName": "Ann", "lastName": "Lee"},
         {"firstName": "Anne", "lastName": "Lee"}),
        ("name", "EQUALS", "lee", {"firstName": "Ann", "lastName": "Lee"},
         {"firstName": "Lee-Ann", "lastName": "Smith"}),
        ("name", "EQUALS", "Ann Lee", {"firstName": "Ann", "lastName": "Lee"},
         {"firstName": "Ann", "lastName": "Leeds"}),
        ("dob", "LESS", "1990-01-01",
         {"dateOfBirth": date(1985, 5, 5)}, {"dateOfBirth": date(1995, 5, 5)}),
        ("phone", "EQUALS", "(555) 123-4567",
         {"phone1": "5550000000", "phone7": "555-123-4567"}, {"phone1": "5551234568"}),
        ("phone", "STARTS_WITH", "555", {"phone10": "5559"}, {"phone2": "4555"}),
        ("address", "CONTAINS", "suite",
         {"address1": "1 Main St", "address2": "Suite 4"}, {"address1": "1 Main St"}),
        ("address", "STARTS_WITH", "1 main",
         {"address1": "1 Main St"}, {"address2": "21 Main St"}),
        ("guarantor_name", "EQUALS", "bob",
         {"guarantorFirstName": "Bob", "guarantorLastName": "Ray"},
         {"firstName": "Bob", "guarantorFirstName": "Rob"}),
        ("guarantor_name", "EQUALS", "bob ray",
         {"guarantorFirstName": "Bob", "guarantorLastName": "Ray"},
         {"guarantorFirstName": "Bob", "guarantorLastName": "Roy"}),
        ("paymentbalance", "GREATER", "100", {"balance": Decimal("100.01")},
         {"balance": Decimal("100")}),
        ("amount_to_speak", "EQUALS", "25.00", {"amountToSpeak": Decimal("25")},
         {"amountToSpeak": Decimal("25.01")}),
        ("account_dial_today", "EQUALS", "true",
         {"callAttemptsToday": 2}, {"callAttemptsToday": 0}),
        ("account_dial_today", "EQUALS", "true",
         {"lastDialDate": TODAY}, {"lastDialDate": TODAY - timedelta(days=1)}),
        ("account_dial_yesterday", "EQUALS", "true",
         {"lastDialDate": TODAY - timedelta(days=1)}, {"lastDialDate": TODAY}),
        ("account_dial_yesterday", "EQUALS", "false",
         {"callAttemptsToday": 3}, {"lastDialDate": dt}),
        ("phone_sms_consent", "EQUALS", "true",
         {"phone9SmsConsent": True}, {"phone9CellConsent": True}),
        ("phone_sms_consent", "EQUALS", "false",
         {"phone1SmsConsent": False}, {"phone4SmsConsent": True}),
        ("phone_cell_consent", "EQUALS", "true",
         {"phone2CellConsent": True}, {"phone2SmsConsent": True}),
        ("callattemptstoday", "GREATER_EQUAL", "3",
         {"callAttemptsToday": 3}, {"callAttemptsToday": 2, "callAttemptsTotal": 9}),
        ("callattemptslifetime", "GREATER", "10",
         {"callAttemptsTotal": 11}, {"callAttemptsTotal": 10, "callAttemptsToday": 20}),
    ]
    for n in range(1, 11):
        other = n % 10 + 1
        cases.append((f"phone{n}_sms_consent", "EQUALS", "true",
                      {f"phone{n}SmsConsent": True},
                      {f"phone{n}CellConsent": True, f"phone{other}SmsConsent": True}))
        cases.append((f"phone{n}_cell_consent", "EQUALS", "true",
                      {f"phone{n}CellConsent": True},
                      {f"phone{n}SmsConsent": True, f"phone{other}CellConsent": True}))
    for n in range(1, 101):
        other = n % 100 + 1
        cases.append((f"COL{n}", "EQUALS", "gold",
                      {f"COL{n}": "Gold"}, {f"COL{n}": "silver", f"COL{other}": "gold"}))
    return cases


FIELD_CASES = _field_cases()
UNSUPPORTED_FIELDS = {"accountForTodaysResult", "accountsFor30daysResult"}


@pytest.mark.parametrize(("field", "condition", "criteria", "hit", "miss"), FIELD_CASES,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(FIELD_CASES)])
def test_search_field(
    field: str, condition: str, criteria: str, hit: Record, miss: Record
) -> None:
    population = [{"lvAccountId": 1, **hit}, {"lvAccountId": 2, **miss}]
    tree = cond(field, condition, criteria)

    assert matching(tree, population) == {1}
    assert matching(negated_condition(tree), population) == {2}


def test_every_search_field_of_the_spec_is_tested() -> None:
    spec_fields = {
        "account", "account_due_date", "account_due_date_basedon_option",
        "last_load_date_basedon_option", "original_account_number", "city", "state",
        "country", "group", "do_not_dial", "do_not_dial_daily", "sms", "email", "postalcode",
        "name", "dob", "phone", "address", "guarantor_name", "paymentbalance",
        "amount_to_speak", "account_dial_yesterday", "account_dial_today",
        "phone_sms_consent", "phone_cell_consent", "primary_email_consent",
        "callattemptstoday", "callattemptslifetime", "accountForTodaysResult",
        "accountsFor30daysResult", "email_address",
        *(f"phone{n}_{kind}_consent" for n in range(1, 11) for kind in ("sms", "cell")),
        *(f"COL{n}" for n in range(1, 101)),
    }

    assert set(SEARCH_FIELDS) == spec_fields
    assert {case[0] for case in FIELD_CASES} == spec_fields - UNSUPPORTED_FIELDS


@pytest.mark.parametrize("field", sorted(UNSUPPORTED_FIELDS))
def test_call_result_fields_are_refused_clearly(field: str) -> None:
    with pytest.raises(SearchError, match="not supported by the emulator") as caught:
        compile_search({"rule": "AND", "right": cond(field, "EQUALS", "x")})

    assert caught.value.path == "search.right"


def test_relative_due_date_reads_days_from_today() -> None:
    population = records("dueDate", [TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=5)])
    field = "account_due_date_basedon_option"

    assert matching(cond(field, "LESS", "0"), population) == {1}  # overdue
    assert matching(cond(field, "EQUALS", "0"), population) == {2}  # due today
    assert matching(cond(field, "GREATER", "+4"), population) == {3}
    assert matching(cond(field, "EQUALS", "0"), population, today=TODAY + timedelta(5)) == {3}


def test_missing_values_never_match_and_negation_is_the_complement() -> None:
    population: list[Record] = [{"lvAccountId": 1}, {"lvAccountId": 2, "city": "Boston"}]
    in_boston = cond("city", "EQUALS", "Boston")

    assert matching(in_boston, population) == {2}
    assert matching(negated_condition(in_boston), population) == {1}
    assert matching(cond("city", "STARTS_WITH", ""), population) == {2}


def test_the_spec_example_with_multiple_conditions() -> None:
    tree = {
        "rule": "OR",
        "right": {"rule": "AND",
                  "right": cond("account", "STARTS_WITH", "10"),
                  "left": cond("postalcode", "STARTS_WITH", "10")},
        "left": {"rule": "AND",
                 "right": cond("paymentbalance", "GREATER", "100"),
                 "left": {"rule": "AND",
                          "left": cond("account", "STARTS_WITH", "123"),
                          "right": cond("postalcode", "STARTS_WITH", "10")}},
    }
    population = [
        {"lvAccountId": 1, "account": "1000", "zipCode": "10010"},
        {"lvAccountId": 2, "account": "1234", "zipCode": "10010", "balance": Decimal(150)},
        {"lvAccountId": 3, "account": "1234", "zipCode": "10010", "balance": Decimal(50)},
        {"lvAccountId": 4, "account": "1234", "zipCode": "20010", "balance": Decimal(150)},
        {"lvAccountId": 5, "account": "2000", "zipCode": "10010"},
    ]

    assert matching(tree, population) == {1, 2}


def test_nested_negated_rule_is_de_morgan() -> None:
    population = [
        {"lvAccountId": 1, "city": "Boston", "state": "MA"},
        {"lvAccountId": 2, "city": "Boston", "state": "NY"},
        {"lvAccountId": 3, "city": "Albany", "state": "NY"},
        {"lvAccountId": 4, "city": "Albany", "state": "MA"},
    ]
    boston_ma = {"rule": "AND", "left": cond("city", "EQUALS", "Boston"),
                 "right": cond("state", "EQUALS", "MA")}
    not_boston_ma = {**boston_ma, "isNegated": True}

    assert matching(boston_ma, population) == {1}
    assert matching(not_boston_ma, population) == {2, 3, 4}
    assert matching({"rule": "OR", "left": not_boston_ma,
                     "right": cond("city", "EQUALS", "Boston")}, population) == {1, 2, 3, 4}
    assert matching({"rule": "AND", "left": not_boston_ma,
                     "right": cond("state", "EQUALS", "NY", isNegated=True)},
                    population) == {4}


def test_single_sided_rules() -> None:
    right_only = {"rule": "OR", "right": cond("account", "STARTS_WITH", "100")}
    no_rule_one_side = {"left": cond("account", "STARTS_WITH", "100")}

    assert matching(right_only, TEXT_RECORDS) == {1, 2}
    assert matching(no_rule_one_side, TEXT_RECORDS) == {1, 2}
    assert matching({**no_rule_one_side, "isNegated": True}, TEXT_RECORDS) == {3, 4, 5}


# ---------------------------------------------------------------- De Morgan, generated

ATOMS = st.one_of(
    st.builds(cond, st.just("account"), st.sampled_from(sorted(CONDITIONS)),
              st.sampled_from(["a", "b", "ab", "10"])),
    st.builds(cond, st.just("paymentbalance"), st.sampled_from(sorted(CONDITIONS)),
              st.sampled_from(["0", "5", "10"])),
    st.builds(cond, st.just("do_not_dial"), st.just("EQUALS"), st.sampled_from(["true", "N"])),
    st.builds(cond, st.just("dob"), st.sampled_from(["LESS", "EQUALS", "GREATER_EQUAL"]),
              st.sampled_from(["2000-01-01", "01/02/2000"])),
)


def _negatable(node: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(node, st.booleans()).map(
        lambda pair: {**pair[0], "isNegated": True} if pair[1] else pair[0]
    )


TREES = st.recursive(
    _negatable(ATOMS),
    lambda children: _negatable(
        st.builds(lambda rule, left, right: {"rule": rule, "left": left, "right": right},
                  st.sampled_from(["AND", "OR"]), children, children)
    ),
    max_leaves=12,
)
RULES = TREES.filter(lambda tree: "rule" in tree)
RECORDS = st.fixed_dictionaries(
    {"lvAccountId": st.just(1)},
    optional={
        "account": st.sampled_from(["a", "ab", "B", "10", "ba"]),
        "balance": st.sampled_from([Decimal(0), Decimal(5), Decimal("10.0"), Decimal(-1)]),
        "accountBlock": st.booleans(),
        "dateOfBirth": st.sampled_from([date(1999, 12, 31), date(2000, 1, 1), date(2000, 1, 2)]),
    },
)


def reference(node: dict[str, Any], record: Record, top: bool = True) -> bool:
    """NOT applied where it stands (no push-down): the reading De Morgan must agree with."""
    negated = bool(node.get("isNegated"))
    if "field" in node:
        atom = {key: value for key, value in node.items() if key != "isNegated"}
        value = compile_search(atom, today=TODAY)(record)
        return value != (negated and not top)
    left = reference(node["left"], record, top=False)
    right = reference(node["right"], record, top=False)
    value = (left and right) if node["rule"] == "AND" else (left or right)
    return value != negated


@settings(max_examples=300)
@given(tree=RULES, record=RECORDS)
def test_negating_a_rule_equals_not_of_the_rule(tree: dict[str, Any], record: Record) -> None:
    negated = compile_search({**tree, "isNegated": True}, today=TODAY)
    plain = compile_search({**tree, "isNegated": False}, today=TODAY)

    assert negated(record) == (not plain(record))


@settings(max_examples=300)
@given(tree=TREES, record=RECORDS)
def test_push_down_negation_agrees_with_direct_negation(
    tree: dict[str, Any], record: Record
) -> None:
    assert compile_search(tree, today=TODAY)(record) == reference(tree, record)


# ---------------------------------------------------------------- refused searches


@pytest.mark.parametrize(
    ("tree", "path", "message"),
    [
        ([], "search", "rule or condition object"),
        ({}, "search", "must be a rule"),
        ({"rule": "AND", "field": "account"}, "search", "not both"),
        ({"rule": "XOR", "left": cond("account", "EQUALS", "1"),
          "right": cond("account", "EQUALS", "2")}, "search", "'XOR' is not AND or OR"),
        ({"rule": "and", "left": cond("account", "EQUALS", "1")}, "search", "not AND or OR"),
        ({"left": cond("account", "EQUALS", "1"), "right": cond("account", "EQUALS", "2")},
         "search", "rule (AND or OR) is required"),
        ({"rule": "AND"}, "search", "needs a left or a right"),
        ({"rule": "AND", "left": None, "right": None}, "search", "needs a left or a right"),
        ({"rule": "AND", "left": "account"}, "search.left", "rule or condition object"),
        ({"rule": "AND", "isNegated": "yes", "left": cond("account", "EQUALS", "1")},
         "search", "isNegated must be true or false"),
        ({"rule": "OR", "left": cond("account", "EQUALS", "1"),
          "right": {"rule": "AND", "right": cond("acount", "EQUALS", "1")}},
         "search.right.right", "unknown search field 'acount'"),
        (cond("Account", "EQUALS", "1"), "search", "unknown search field 'Account'"),
        (cond("col1", "EQUALS", "1"), "search", "unknown search field 'col1'"),
        (cond("COL101", "EQUALS", "1"), "search", "unknown search field 'COL101'"),
        ({"condition": "EQUALS", "criteria": "1"}, "search", "field is required"),
        ({"field": "account", "criteria": "1"}, "search", "condition None is not one of"),
        (cond("account", "LIKE", "1"), "search", "condition 'LIKE' is not one of"),
        (cond("account", "equals", "1"), "search", "condition 'equals' is not one of"),
        ({"field": "account", "condition": "EQUALS"}, "search", "criteria is required"),
        (cond("account", "EQUALS", None), "search", "criteria is required"),
        (cond("account", "EQUALS", ["1"]), "search", "criteria must be a string, not list"),
        (cond("paymentbalance", "GREATER", "lots"), "search",
         "'lots' is not a valid number for field 'paymentbalance'"),
        (cond("paymentbalance", "EQUALS", "NaN"), "search", "not a valid number"),
        (cond("group", "CONTAINS", "x1"), "search", "not a valid number"),
        (cond("callattemptstoday", "LESS", ""), "search", "not a valid number"),
        (cond("dob", "EQUALS", "1990-13-01"), "search", "YYYY-MM-DD, MM/DD/YYYY or epoch"),
        (cond("account_due_date", "EQUALS", "yesterday"), "search", "not a valid date"),
        (cond("dob", "STARTS_WITH", "1990"), "search",
         "condition STARTS_WITH does not apply to date field 'dob'"),
        (cond("account_due_date_basedon_option", "EQUALS", "1.5"), "search",
         "whole number of days"),
        (cond("last_load_date_basedon_option", "CONTAINS", "1"), "search",
         "does not apply to relative date field"),
        (cond("do_not_dial", "EQUALS", "maybe"), "search", "use true/false, 1/0 or Y/N"),
        (cond("sms", "GREATER", "true"), "search", "does not apply to boolean field 'sms'"),
        (cond("phone", "EQUALS", "n/a"), "search", "a phone criteria needs digits"),
    ],
)
def test_refused_search(tree: Any, path: str, message: str) -> None:
    with pytest.raises(SearchError) as caught:
        compile_search(tree, today=TODAY)

    assert caught.value.path == path
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_overly_deep_tree_is_refused() -> None:
    tree: dict[str, Any] = cond("account", "EQUALS", "1")
    for _ in range(150):
        tree = {"rule": "AND", "left": tree}

    with pytest.raises(SearchError, match="deeper than"):
        compile_search(tree)


def test_default_today_is_the_utc_date() -> None:
    due_today = {"lvAccountId": 1, "dueDate": datetime.now(UTC).date()}

    assert compile_search(cond("account_due_date_basedon_option", "EQUALS", "0"))(due_today)


# ---------------------------------------------------------------- the data file


def _data_file_types() -> dict[str, str]:
    text = (resources.files("syncd") / "data" / "livevox_fields.csv").read_text("utf-8")
    return {row["key"]: row["type"] for row in csv.DictReader(io.StringIO(text))}


KIND_TYPES = {
    FieldKind.TEXT: {"string"},
    FieldKind.PHONE: {"string"},
    FieldKind.NUMBER: {"integer", "decimal"},
    FieldKind.DATE: {"date"},
    FieldKind.RELATIVE_DATE: {"date"},
    FieldKind.BOOLEAN: {"boolean"},
}


def test_search_fields_read_keys_of_the_data_file_with_matching_types() -> None:
    types = _data_file_types()
    for name, field in SEARCH_FIELDS.items():
        for key in field.keys:
            if key == "lastDialDate":  # the optional dial-history key, not exported
                continue
            assert key in types, (name, key)
            if not field.derived:
                assert types[key] in KIND_TYPES[field.kind], (name, key, types[key])


def test_sort_fields_read_keys_of_the_data_file() -> None:
    types = _data_file_types()

    assert set(SORT_FIELDS.values()) <= set(types)


# ---------------------------------------------------------------- sort


SPEC_SORT_FIELDS = [
    "LVACCOUNT_ID", "CLIENT_ID", "ACCOUNT", "B_ACTIVE", "ACCOUNT_TO_SPEAK", "FIRST_NAME",
    "LAST_NAME", "DOB", "EMAIL_ADDRESS", "SSN", *(f"PHONE{n}" for n in range(1, 11)),
    "ADDRESS1", "ADDRESS2", "CITY", "STATE", "POSTALCODE", "COUNTRY_ID", "GUARANTOR_FIRSTNAME",
    "GUARANTOR_LASTNAME", "PAYMENTBALANCE", "AMOUNT_TO_SPEAK", "ACCOUNT_DUE_DATE",
    "CALLATTEMPTSTODAY", "CALLATTEMPTSLIFETIME", "CREATEDATE", "CREATEUSER", "MODIFYDATE",
    "MODIFYUSER", "INITIAL_LOAD_DATE", "INITIAL_LOAD_CAMPAIGNID", "LAST_LOAD_DATE",
    "LAST_LOAD_CAMPAIGNID", "DO_NOT_DIAL", "DO_NOT_DIAL_DAILY", "GROUP_ID",
    "ORIGINAL_ACCOUNT_NUMBER",
    *(f"PHONE{n}_{suffix}" for n in range(1, 11)
      for suffix in ("ATTEMPTS_TODAY", "ATTEMPTS_LIFETIME", "DND", "DND_DAILY")),
    "SMS", "EMAIL",
    *(f"PHONE{n}_{kind}_CONSENT" for n in range(1, 11) for kind in ("SMS", "CELL")),
    "PRIMARY_EMAIL_CONSENT", *(f"COL{n}" for n in range(1, 101)),
]


def test_every_sort_field_of_the_spec_is_accepted() -> None:
    assert set(SORT_FIELDS) == set(SPEC_SORT_FIELDS)


def _three_values(data_type: str) -> list[Any]:
    """Three values of a data-file type in the order: middle, low, high."""
    values: dict[str, list[Any]] = {
        "string": ["m", "a", "z"],
        "integer": [5, 1, 9],
        "decimal": [Decimal("5.5"), Decimal("-1"), Decimal("10")],
        "date": [date(2020, 5, 5), date(2019, 1, 1), date(2021, 9, 9)],
        "datetime": [datetime(2020, 5, 5, tzinfo=UTC), datetime(2019, 1, 1, tzinfo=UTC),
                     datetime(2021, 9, 9, tzinfo=UTC)],
        "boolean": [True, False, True],
    }
    return values[data_type]


@pytest.mark.parametrize("name", SPEC_SORT_FIELDS)
def test_sort_by_each_field(name: str) -> None:
    key = SORT_FIELDS[name]
    data_type = _data_file_types()[key]
    values = _three_values(data_type)
    # "tag" names the record, as lvAccountId is itself one of the sort fields.
    population = [
        {"tag": i, "lvAccountId": i, key: value} for i, value in enumerate(values, start=1)
    ]

    ascending = [r["tag"] for r in sort_records(population, [{"field": name, "order": "ASC"}])]
    descending = [r["tag"] for r in sort_records(population, [{"field": name, "order": "DESC"}])]

    assert ascending == [2, 1, 3]
    if data_type == "boolean":  # false first; the two trues keep lvAccountId order
        assert descending == [1, 3, 2]
    else:
        assert descending == [3, 1, 2]


def test_sort_field_names_are_case_insensitive_as_in_the_spec_example() -> None:
    population = records("account", ["b", "C", "a"])

    ordered = sort_records(population, [{"field": "account", "order": "ASC"}])

    assert [r["account"] for r in ordered] == ["a", "b", "C"]


def test_missing_values_sort_last_ascending_and_first_descending() -> None:
    population = records("balance", [Decimal(2), None, Decimal(1)])

    ascending = sort_records(population, [{"field": "PAYMENTBALANCE", "order": "ASC"}])
    descending = sort_records(population, [{"field": "PAYMENTBALANCE", "order": "DESC"}])

    assert [r["lvAccountId"] for r in ascending] == [3, 1, 2]
    assert [r["lvAccountId"] for r in descending] == [2, 1, 3]


def test_missing_flags_sort_as_false() -> None:
    population = records("accountBlock", [True, None, False])

    ordered = sort_records(population, [{"field": "DO_NOT_DIAL", "order": "ASC"}])

    assert [r["lvAccountId"] for r in ordered] == [2, 3, 1]


def test_multi_key_sort_is_stable_and_ties_go_by_lv_account_id() -> None:
    population = [
        {"lvAccountId": 4, "state": "NY", "city": "Albany"},
        {"lvAccountId": 1, "state": "MA", "city": "Boston"},
        {"lvAccountId": 3, "state": "ny", "city": "Buffalo"},
        {"lvAccountId": 2, "state": "MA", "city": "Boston"},
        {"lvAccountId": 5, "state": "MA", "city": "Amherst"},
    ]

    ordered = sort_records(population, [{"field": "STATE", "order": "DESC"},
                                        {"field": "city", "order": "ASC"}])

    assert [r["lvAccountId"] for r in ordered] == [4, 3, 5, 1, 2]


def test_no_sort_means_lv_account_id_ascending() -> None:
    population = [{"lvAccountId": n} for n in (3, 1, 2)]

    assert [r["lvAccountId"] for r in sort_records(population, None)] == [1, 2, 3]
    assert [r["lvAccountId"] for r in sort_records(iter(population), [])] == [1, 2, 3]


@pytest.mark.parametrize(
    ("sort", "path", "message"),
    [
        ({"field": "ACCOUNT", "order": "ASC"}, "sort", "must be a list"),
        (["ACCOUNT"], "sort[0]", "must be an object"),
        ([{"field": "ACCOUNT", "order": "ASC"}, {"field": "NOPE", "order": "ASC"}],
         "sort[1].field", "unknown sort field 'NOPE'"),
        ([{"order": "ASC"}], "sort[0].field", "unknown sort field None"),
        ([{"field": "ACCOUNT"}], "sort[0].order", "order None is not ASC or DESC"),
        ([{"field": "ACCOUNT", "order": "asc"}], "sort[0].order", "'asc' is not ASC or DESC"),
        ([{"field": "ACCOUNT", "order": "UP"}], "sort[0].order", "'UP' is not ASC or DESC"),
    ],
)
def test_refused_sort(sort: Any, path: str, message: str) -> None:
    with pytest.raises(SearchError) as caught:
        sort_records([], sort)

    assert caught.value.path == path
    assert message in str(caught.value)
