"""Find Matching Contact: every operator, negation, AND/OR trees, nesting and sort.

Six contacts with known values (accounts `SX01`..`SX06`) are created for the module; every
search is wrapped as `AND(account STARTS_WITH "SX", <tree>)` so the seeded contacts cannot
disturb the expected result, which is therefore exact. Negation is exercised the way the spec
allows it: "isNegated is applied at the rule level so it does not work for searches with only
a condition", so every negated condition sits under a rule.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.conftest import Emulator, LiveVoxApi

CONTACTS: dict[str, dict[str, Any]] = {
    "SX01": {
        "first": "Ann",
        "last": "Lee",
        "city": "Boston",
        "state": "MA",
        "zip": "02110",
        "balance": 10,
        "col5": "alpha-one",
    },
    "SX02": {
        "first": "Bob",
        "last": "Stone",
        "city": "Austin",
        "state": "TX",
        "zip": "73301",
        "balance": 50.5,
        "col5": "beta",
    },
    "SX03": {
        "first": "Cara",
        "last": "Bell",
        "city": "Trenton",
        "state": "NJ",
        "zip": "08601",
        "balance": 100,
        "col5": "alphabet",
    },
    "SX04": {
        "first": "Dan",
        "last": "Lake",
        "city": "Boise",
        "state": "ID",
        "zip": "83701",
        "balance": 150.25,
        "col5": "gamma",
    },
    "SX05": {
        "first": "Eve",
        "last": "Moss",
        "city": "Bostonia",
        "state": "CA",
        "zip": "92020",
        "balance": 200,
        "col5": "delta-alpha",
    },
    "SX06": {
        "first": "Finn",
        "last": "Ray",
        "city": "Stockton",
        "state": "CA",
        "zip": "95202",
        "balance": 1000,
        "col5": "omega",
    },
}
ALL = frozenset(CONTACTS)
PREFIX = {"field": "account", "criteria": "SX", "condition": "STARTS_WITH"}


def cond(field: str, condition: str, criteria: str, negated: bool = False) -> dict[str, Any]:
    node: dict[str, Any] = {"field": field, "criteria": criteria, "condition": condition}
    if negated:
        node["isNegated"] = True
    return node


def rule(
    op: str, left: dict[str, Any], right: dict[str, Any], negated: bool = False
) -> dict[str, Any]:
    node: dict[str, Any] = {"rule": op, "left": left, "right": right}
    if negated:
        node["isNegated"] = True
    return node


def within_prefix(tree: dict[str, Any]) -> dict[str, Any]:
    return rule("AND", PREFIX, tree)


def ids(*numbers: int) -> frozenset[str]:
    return frozenset(f"SX{n:02d}" for n in numbers)


@pytest.fixture(scope="module")
def search_api(emulator: Emulator, admin: LiveVoxApi) -> LiveVoxApi:
    for account, c in CONTACTS.items():
        admin.recreate_contact(
            {
                "account": account,
                "person": {"firstName": c["first"], "lastName": c["last"], "zipCode": c["zip"]},
                "city": c["city"],
                "state": c["state"],
                "balance": c["balance"],
                "customFields": [{"field": "COL5", "value": c["col5"]}],
            }
        )
    return admin


# Every operator once, on text and on a number; (field, condition, criteria, matches).
OPERATOR_CASES = [
    ("city", "STARTS_WITH", "Bos", ids(1, 5)),
    ("city", "ENDS_WITH", "ton", ids(1, 3, 6)),
    ("state", "EQUALS", "CA", ids(5, 6)),
    ("COL5", "CONTAINS", "alpha", ids(1, 3, 5)),
    ("postalcode", "STARTS_WITH", "0", ids(1, 3)),
    ("paymentbalance", "EQUALS", "50.5", ids(2)),
    ("paymentbalance", "LESS", "100", ids(1, 2)),
    # 1000 > 150: a text comparison would put "1000" before "150".
    ("paymentbalance", "GREATER", "150", ids(4, 5, 6)),
    ("paymentbalance", "GREATER_EQUAL", "100", ids(3, 4, 5, 6)),
    ("paymentbalance", "GREATER_EQUAL", "150.25", ids(4, 5, 6)),
]


@pytest.mark.parametrize(
    ("field", "condition", "criteria", "matches"),
    OPERATOR_CASES,
    ids=[f"{f}-{c}-{v}" for f, c, v, _ in OPERATOR_CASES],
)
@pytest.mark.parametrize("negated", [False, True], ids=["plain", "negated"])
def test_condition(
    search_api: LiveVoxApi,
    field: str,
    condition: str,
    criteria: str,
    matches: frozenset[str],
    negated: bool,
) -> None:
    found = search_api.search_accounts(within_prefix(cond(field, condition, criteria, negated)))
    assert len(found) == len(set(found)), found
    assert set(found) == (ALL - matches if negated else matches)


def test_every_operator_of_the_spec_is_exercised() -> None:
    operators = {
        "STARTS_WITH",
        "ENDS_WITH",
        "EQUALS",
        "LESS",
        "GREATER",
        "GREATER_EQUAL",
        "CONTAINS",
    }
    assert {case[1] for case in OPERATOR_CASES} == operators


def test_negated_greater_equal_is_less_than(search_api: LiveVoxApi) -> None:
    """The spec's advice for "less than or equal": GREATER_EQUAL with isNegated.

    NOT (x >= c) is x < c, so what it gives is strictly "less than" (the value equal to the
    criteria, SX03's 100, is excluded) — the same contacts as LESS.
    """
    negated_ge = search_api.search_accounts(
        within_prefix(cond("paymentbalance", "GREATER_EQUAL", "100", negated=True))
    )
    less = search_api.search_accounts(within_prefix(cond("paymentbalance", "LESS", "100")))
    assert set(negated_ge) == set(less) == ids(1, 2)


BOS = cond("city", "STARTS_WITH", "Bos")
OVER_100 = cond("paymentbalance", "GREATER", "100")
CA = cond("state", "EQUALS", "CA")
ALPHA = cond("COL5", "CONTAINS", "alpha")

RULE_CASES: dict[str, tuple[dict[str, Any], frozenset[str]]] = {
    "and": (rule("AND", BOS, OVER_100), ids(5)),
    "or": (rule("OR", CA, ALPHA), ids(1, 3, 5, 6)),
    "and-negated": (rule("AND", BOS, OVER_100, negated=True), ALL - ids(5)),
    "or-negated": (rule("OR", CA, ALPHA, negated=True), ids(2, 4)),
    "and-with-negated-condition": (
        rule("AND", CA, cond("COL5", "CONTAINS", "alpha", True)),
        ids(6),
    ),
    "or-with-negated-condition": (
        rule("OR", BOS, cond("paymentbalance", "LESS", "1000", True)),
        ids(1, 5, 6),
    ),
    # A negated rule over a negated condition: NOT(NOT Bos AND >=100) = Bos OR <100.
    "negated-rule-over-negated-condition": (
        rule(
            "AND",
            cond("city", "STARTS_WITH", "Bos", True),
            cond("paymentbalance", "GREATER_EQUAL", "100"),
            negated=True,
        ),
        ids(1, 2, 5),
    ),
    "nested": (
        rule(
            "OR",
            rule("AND", cond("city", "ENDS_WITH", "ton"), cond("paymentbalance", "LESS", "500")),
            rule("AND", CA, cond("COL5", "CONTAINS", "alpha", True)),
        ),
        ids(1, 3, 6),
    ),
    "nested-negated-outer": (
        rule(
            "OR",
            rule("AND", cond("city", "ENDS_WITH", "ton"), cond("paymentbalance", "LESS", "500")),
            rule("AND", CA, cond("COL5", "CONTAINS", "alpha", True)),
            negated=True,
        ),
        ids(2, 4, 5),
    ),
    "nested-negated-inner": (
        rule("AND", rule("OR", CA, ALPHA, negated=True), cond("paymentbalance", "LESS", "100")),
        ids(2),
    ),
    "three-levels": (
        rule(
            "AND",
            rule("OR", BOS, rule("AND", CA, cond("paymentbalance", "GREATER_EQUAL", "1000"))),
            rule("OR", cond("postalcode", "STARTS_WITH", "9"), cond("state", "EQUALS", "MA")),
        ),
        ids(1, 5, 6),
    ),
}


@pytest.mark.parametrize("name", list(RULE_CASES))
def test_rule(search_api: LiveVoxApi, name: str) -> None:
    tree, matches = RULE_CASES[name]
    found = search_api.search_accounts(within_prefix(tree))
    assert len(found) == len(set(found)), found
    assert set(found) == matches


def test_a_negated_rule_is_the_complement_of_the_rule(search_api: LiveVoxApi) -> None:
    for name, (tree, _) in RULE_CASES.items():
        plain = set(search_api.search_accounts(within_prefix(tree)))
        negated = set(
            search_api.search_accounts(
                within_prefix({**tree, "isNegated": not tree.get("isNegated")})
            )
        )
        assert plain | negated == ALL and not plain & negated, name


def test_a_single_condition_search(search_api: LiveVoxApi) -> None:
    assert set(search_api.search_accounts(PREFIX)) == ALL


SORT_CASES = [
    ([{"field": "PAYMENTBALANCE", "order": "ASC"}], [1, 2, 3, 4, 5, 6]),
    ([{"field": "PAYMENTBALANCE", "order": "DESC"}], [6, 5, 4, 3, 2, 1]),
    ([{"field": "FIRST_NAME", "order": "DESC"}], [6, 5, 4, 3, 2, 1]),
    ([{"field": "LAST_NAME", "order": "ASC"}], [3, 4, 1, 5, 6, 2]),
    ([{"field": "CITY", "order": "ASC"}], [2, 4, 1, 5, 6, 3]),
    ([{"field": "CITY", "order": "DESC"}], [3, 6, 5, 1, 4, 2]),
    ([{"field": "ACCOUNT", "order": "DESC"}], [6, 5, 4, 3, 2, 1]),
    ([{"field": "account", "order": "ASC"}], [1, 2, 3, 4, 5, 6]),  # as the spec's example
    (
        [{"field": "STATE", "order": "ASC"}, {"field": "PAYMENTBALANCE", "order": "DESC"}],
        [6, 5, 4, 1, 3, 2],
    ),
]


@pytest.mark.parametrize(
    ("sort", "order"),
    SORT_CASES,
    ids=["-".join(f"{s['field']}:{s['order']}" for s in sort) for sort, _ in SORT_CASES],
)
def test_sort(search_api: LiveVoxApi, sort: list[dict[str, str]], order: list[int]) -> None:
    found = search_api.search_accounts(PREFIX, sort=sort)
    assert found == [f"SX{n:02d}" for n in order]


@pytest.mark.parametrize(
    "body",
    [
        {"search": cond("account", "SOUNDS_LIKE", "SX")},
        {"search": cond("no_such_field", "EQUALS", "SX")},
        {"search": PREFIX, "sort": [{"field": "ACCOUNT", "order": "UP"}]},
        {"search": rule("XOR", PREFIX, CA)},
        {"search": cond("paymentbalance", "GREATER", "lots")},
        {},
    ],
    ids=[
        "unknown-condition",
        "unknown-field",
        "unknown-order",
        "unknown-rule",
        "number-criteria-not-a-number",
        "no-search",
    ],
)
def test_an_invalid_search_is_a_400(search_api: LiveVoxApi, body: dict[str, Any]) -> None:
    response = search_api.post("/contact/contacts/search?offset=0&count=10", json=body)
    assert response.status_code == 400, response.text
    assert isinstance(response.json().get("message"), str)


def test_is_negated_on_a_lone_condition_does_not_work(search_api: LiveVoxApi) -> None:
    """ "isNegated is applied at the rule level so it does not work for searches with only a
    condition": a lone negated condition finds what the plain one finds."""
    negated = {**PREFIX, "isNegated": True}
    assert set(search_api.search_accounts(negated)) == ALL
