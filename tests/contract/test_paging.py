"""Paging of list, search, contact groups and a contact's accounts.

Each walk starts at offset 0 and follows the reply's `next` until it is absent or blank,
and is checked against an independent source (the CSV export for contacts, one large page
for groups and accounts): no duplicates, no gaps, every page but the last full. The module
runs on more than 1000 contacts and more than 1000 groups, so asking for 5000 shows the
hard cap of 1000. `count` and `offset` are mandatory wherever the spec lists them.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.contract.conftest import Emulator, LiveVoxApi, assert_error_body

CONTACTS = 1100
CAP = 1000

# Matches every contact: the spec's advice is that a negated condition must sit under a rule.
MATCH_ALL = {
    "rule": "AND",
    "left": {"field": "account", "criteria": "#none#", "condition": "EQUALS", "isNegated": True},
    "right": {"field": "account", "criteria": "#nil#", "condition": "EQUALS", "isNegated": True},
}


@pytest.fixture(scope="module")
def emulator_config() -> dict[str, Any]:
    return {"contacts": CONTACTS, "seed": 11}


def follow(next_uri: str, count: int) -> str:
    """The request path for a `next` URI as the spec prints them.

    The spec's forms are relative without a leading slash ("contact/contacts?offset=10&count=10")
    and, for search, without `count` ("/contact/contacts/search?offset=5"); count is
    mandatory, so the walk keeps its page size when `next` leaves it out.
    """
    path = next_uri if next_uri.startswith("/") else "/" + next_uri
    if "count" not in parse_qs(urlsplit(path).query):
        path += ("&" if "?" in path else "?") + f"count={count}"
    return path


def walk(
    api: LiveVoxApi, method: str, path: str, key: str, count: int, body: Any = None
) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    for _ in range(10_000):
        response = api.request(method, path, json=body)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        data = response.json()
        pages.append(data.get(key) or [])
        if not data.get("next"):
            return pages
        path = follow(data["next"], count)
    raise AssertionError("next never ended")


def assert_pages(pages: list[list[dict[str, Any]]], count: int) -> None:
    assert all(len(page) == count for page in pages[:-1]), [len(p) for p in pages]
    assert 0 < len(pages[-1]) <= count or len(pages) == 1, [len(p) for p in pages]


def exported_accounts(api: LiveVoxApi) -> list[str]:
    text = api.export_csv({"exportableFields": ["account"]})
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Account"]
    return [row[0] for row in rows[1:]]


@pytest.fixture(scope="module")
def all_accounts(emulator: Emulator, admin: LiveVoxApi) -> set[str]:
    accounts = exported_accounts(admin)
    assert len(accounts) == len(set(accounts)) > CAP
    return set(accounts)


def test_list_walk_has_no_duplicates_and_no_gaps(admin: LiveVoxApi, all_accounts: set[str]) -> None:
    count = 97
    pages = walk(
        admin, "GET", f"/contact/contacts?offset=0&count={count}", "listContactDetails", count
    )
    assert_pages(pages, count)
    walked = [c["account"] for page in pages for c in page]
    assert len(walked) == len(set(walked)), "duplicates across pages"
    assert set(walked) == all_accounts


@pytest.mark.parametrize(
    "sort", [None, [{"field": "ACCOUNT", "order": "DESC"}]], ids=["unsorted", "account-desc"]
)
def test_search_walk_has_no_duplicates_and_no_gaps(
    admin: LiveVoxApi, all_accounts: set[str], sort: list[dict[str, str]] | None
) -> None:
    count = 89
    body: dict[str, Any] = {"search": MATCH_ALL}
    if sort:
        body["sort"] = sort
    pages = walk(
        admin,
        "POST",
        f"/contact/contacts/search?offset=0&count={count}",
        "findMatchingContactsDetails",
        count,
        body,
    )
    assert_pages(pages, count)
    walked = [c["account"] for page in pages for c in page]
    assert len(walked) == len(set(walked)), "duplicates across pages"
    assert set(walked) == all_accounts
    if sort:  # the spec does not say whether text sorts by case; either order is taken
        assert walked in (
            sorted(walked, reverse=True),
            sorted(walked, key=str.lower, reverse=True),
        )


@pytest.fixture(scope="module")
def many_groups(emulator: Emulator, admin: LiveVoxApi) -> list[int]:
    """More groups than one page can hold; returns every group id (one page of 1000 max)."""
    response = admin.get("/contact/contactGroups?offset=0&count=1000")
    assert response.status_code == 200, response.text
    existing = len(response.json().get("contactGroup") or [])
    for n in range(existing, CAP + 25):
        created = admin.post("/contact/contactGroups", json={"name": f"Paging group {n:04d}"})
        assert created.status_code == 201, created.text
    ids: list[int] = []
    offset = 0
    while True:  # independent of `next`: step the offset until a short page
        page = admin.get(f"/contact/contactGroups?offset={offset}&count=500").json()
        items = page.get("contactGroup") or []
        ids += [g["id"] for g in items]
        if len(items) < 500:
            return ids
        offset += 500


def test_group_walk_has_no_duplicates_and_no_gaps(
    admin: LiveVoxApi, many_groups: list[int]
) -> None:
    count = 150
    pages = walk(
        admin, "GET", f"/contact/contactGroups?offset=0&count={count}", "contactGroup", count
    )
    assert_pages(pages, count)
    walked = [g["id"] for page in pages for g in page]
    assert len(walked) == len(set(walked)) == len(many_groups) > CAP
    assert set(walked) == set(many_groups)


@pytest.fixture(scope="module")
def contact_with_accounts(emulator: Emulator, admin: LiveVoxApi) -> tuple[int, list[str]]:
    """The LiveVox id of a seeded contact with three accounts, and those account names."""
    for account in sorted(exported_accounts(admin))[:200]:
        record = emulator.control.record(account)
        assert record is not None
        contact_id = int(record["lvAccountId"])
        response = admin.get(f"/contact/contacts/{contact_id}/accounts?offset=0&count=1000")
        assert response.status_code == 200, response.text
        names = [a["name"] for a in response.json().get("listAccount") or []]
        if len(names) >= 3:
            return contact_id, names
    raise AssertionError("no seeded contact among the first 200 has three accounts")


@pytest.mark.parametrize("count", [1, 2])
@pytest.mark.parametrize("method", ["GET", "POST"])  # the method line says GET, the example POST
def test_accounts_walk(
    admin: LiveVoxApi, contact_with_accounts: tuple[int, list[str]], count: int, method: str
) -> None:
    contact_id, names = contact_with_accounts
    pages = walk(
        admin,
        method,
        f"/contact/contacts/{contact_id}/accounts?offset=0&count={count}",
        "listAccount",
        count,
    )
    assert_pages(pages, count)
    walked = [a["name"] for page in pages for a in page]
    assert walked == names == sorted(names)


# -- the hard cap ------------------------------------------------------------------------------


def test_list_count_is_capped_at_1000(admin: LiveVoxApi, all_accounts: set[str]) -> None:
    response = admin.get("/contact/contacts?offset=0&count=5000")
    assert response.status_code == 200, response.text
    assert len(response.json()["listContactDetails"]) == CAP
    assert response.json().get("next")


def test_search_count_is_capped_at_1000(admin: LiveVoxApi, all_accounts: set[str]) -> None:
    response = admin.post(
        "/contact/contacts/search?offset=0&count=5000", json={"search": MATCH_ALL}
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["findMatchingContactsDetails"]) == CAP
    assert response.json().get("next")


def test_group_count_is_capped_at_1000(admin: LiveVoxApi, many_groups: list[int]) -> None:
    response = admin.get("/contact/contactGroups?offset=0&count=5000")
    assert response.status_code == 200, response.text
    assert len(response.json()["contactGroup"]) == CAP
    assert response.json().get("next")


def test_accounts_count_5000_is_accepted(
    admin: LiveVoxApi, contact_with_accounts: tuple[int, list[str]]
) -> None:
    # A contact has at most a handful of accounts, so the cap itself cannot show here; what
    # can is that a count above the cap is capped rather than refused.
    contact_id, names = contact_with_accounts
    response = admin.get(f"/contact/contacts/{contact_id}/accounts?offset=0&count=5000")
    assert response.status_code == 200, response.text
    assert [a["name"] for a in response.json()["listAccount"]] == names


# -- count and offset are mandatory ------------------------------------------------------------


def _paged_requests(contact_id: int) -> dict[str, tuple[str, str, Any]]:
    return {
        "list": ("GET", "/contact/contacts", None),
        "search": ("POST", "/contact/contacts/search", {"search": MATCH_ALL}),
        "groups": ("GET", "/contact/contactGroups", None),
        "accounts": ("GET", f"/contact/contacts/{contact_id}/accounts", None),
    }


@pytest.mark.parametrize(
    "query",
    ["", "?offset=0", "?count=10", "?count=ten&offset=0", "?count=10&offset=zero"],
    ids=["neither", "no-count", "no-offset", "count-not-integer", "offset-not-integer"],
)
@pytest.mark.parametrize("endpoint", ["list", "search", "groups", "accounts"])
def test_count_and_offset_are_mandatory(
    admin: LiveVoxApi, contact_with_accounts: tuple[int, list[str]], endpoint: str, query: str
) -> None:
    method, path, body = _paged_requests(contact_with_accounts[0])[endpoint]
    response: httpx.Response = admin.request(method, path + query, json=body)
    message = assert_error_body(response, 400)["message"].lower()
    assert "count" in message or "offset" in message, message


def test_an_offset_past_the_end_is_an_empty_last_page(
    admin: LiveVoxApi, all_accounts: set[str]
) -> None:
    response = admin.get(f"/contact/contacts?offset={len(all_accounts) + 50}&count=10")
    assert response.status_code == 200, response.text
    assert not response.json().get("listContactDetails")
    assert not response.json().get("next")
