"""Every endpoint: method, path (unversioned and versioned), body sent, reply parsed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from syncd.livevox import (
    AssociatedAccount,
    BulkResult,
    ContactCreate,
    ContactDnd,
    ContactExistsError,
    ContactUpdate,
    CreateOutcome,
    CustomFieldDataType,
    CustomFieldUpdate,
    CustomFieldValue,
    CustomFieldValueTooLongError,
    InvalidCustomFieldError,
    InvalidPageError,
    LiveVoxClient,
    PagingError,
    PhoneDnd,
    ResponseFormatError,
    SearchCondition,
    SortSpec,
)
from tests.unit.livevox.conftest import FakeLiveVox, body_of, json_response, raw_path

Factory = Callable[..., tuple[LiveVoxClient, FakeLiveVox]]


def routed(routes: dict[tuple[str, str], Any]) -> Callable[[httpx.Request], httpx.Response]:
    """Handler answering (method, path) pairs; values are responses or request -> response."""

    def handler(request: httpx.Request) -> httpx.Response:
        key = (request.method, raw_path(request))
        if key not in routes:
            return json_response(404, {"code": 203, "message": f"no route {key}"})
        answer = routes[key]
        return answer(request) if callable(answer) else answer

    return handler


@pytest.mark.parametrize("version", [None, "v6.0"])
def test_every_endpoint_hits_its_path(make_client: Factory, version: str | None) -> None:
    p = f"/contact/{version}" if version else "/contact"
    contact = {"account": "A 1", "active": True, "phone": None}
    routes: dict[tuple[str, str], Any] = {
        ("POST", f"{p}/contacts/"): json_response(201, {"id": "3456782"}),
        ("POST", f"{p}/contacts/bulk"): json_response(
            200, {"message": "Successfully updated contacts 2"}
        ),
        ("DELETE", f"{p}/contacts/A%201"): json_response(204),
        ("POST", f"{p}/contacts/search"): json_response(
            200, {"findMatchingContactsDetails": [contact]}
        ),
        ("GET", f"{p}/contacts"): json_response(200, {"listContactDetails": [contact]}),
        ("GET", f"{p}/contacts/A%201"): json_response(200, {"readContactDetails": contact}),
        ("PUT", f"{p}/contacts/A%201"): json_response(204),
        ("PUT", f"{p}/contacts/bulk"): json_response(
            200, {"message": "Successfully updated contacts 1"}
        ),
        ("PUT", f"{p}/contacts/A%201/dnd"): json_response(204),
        ("POST", f"{p}/contacts/dnd"): json_response(200, {"updated": 2}),
        ("GET", f"{p}/contacts/777/accounts"): json_response(
            200, {"listAccount": [{"id": 53939, "name": "n", "campaignId": 28569800}]}
        ),
        ("POST", f"{p}/contactGroups"): json_response(201, {"id": 2200}),
        ("GET", f"{p}/contactGroups"): json_response(
            200, {"contactGroup": [{"id": 1120, "name": "Old Group", "createdAt": 1427119248000}]}
        ),
        ("GET", f"{p}/contactGroups/2200"): json_response(200, {"id": 2200, "name": "Client BOA"}),
        ("PUT", f"{p}/contactGroups/2200"): json_response(204),
        ("GET", f"{p}/contacts/A%201/notes/"): json_response(
            200, {"listContactNotes": [{"id": 1489384, "note": "Caller was hostile"}]}
        ),
        ("GET", f"{p}/contacts/A%201/notes/1489384"): json_response(
            200,
            {"id": 1489384, "note": "n", "transactionId": 5534420908,
             "sessionId": "U1FF238B4736@10.201.17.196", "createDate": 1502285778000},
        ),
        ("GET", f"{p}/contacts/customFields"): json_response(
            200, {"customFields": [{"field": "COL9", "label": "Company", "dataType": "STRING"}]}
        ),
        ("GET", f"{p}/contacts/customFields/COL7"): json_response(
            200, {"listValues": ["blue"], "field": "COL7", "label": "Test", "dataType": "LIST"}
        ),
        ("PUT", f"{p}/contacts/customFields"): json_response(204),
    }
    client, fake = make_client(routed(routes), api_version=version)

    created = client.create_contact(ContactCreate(account="A 1"))
    assert (created.outcome, created.id, created.ok) == (CreateOutcome.CREATED, 3456782, True)
    bulk = client.bulk_create_contacts([ContactCreate(account="x"), ContactCreate(account="y")])
    assert bulk == BulkResult(2, 2, 200, "Successfully updated contacts 2")
    client.delete_contact("A 1")
    search = client.search_contacts(
        SearchCondition(field="account", criteria="A", condition="STARTS_WITH"),
        sort=[SortSpec(field="ACCOUNT")], count=5,
    )
    assert [c.account for c in search.items] == ["A 1"] and search.next_link is None
    assert client.list_contacts().items[0].active is True
    assert client.read_contact("A 1").account == "A 1"
    client.update_contact(ContactUpdate(account="A 1", city="Paris"))
    assert client.bulk_update_contacts([ContactUpdate(account="A 1", id=5)]).applied == 1
    client.update_contact_dnd("A 1", [PhoneDnd(phone="1", ordinal=1, phone_block="BOTH")])
    assert client.update_contacts_dnd(
        [ContactDnd(account="a", account_block="DAILY"), ContactDnd(account="b")]
    ) == BulkResult(2, 2, 200, None)
    accounts = client.list_contact_accounts(777)
    assert isinstance(accounts.items[0], AssociatedAccount)
    assert accounts.items[0].campaign_id == "28569800"
    assert client.create_contact_group("Client BOA") == 2200
    assert client.list_contact_groups().items[0].name == "Old Group"
    assert client.read_contact_group(2200).name == "Client BOA"
    client.update_contact_group(2200, "BOA Group Agents")
    assert client.list_contact_notes("A 1")[0].note == "Caller was hostile"
    assert client.read_contact_note("A 1", 1489384).transaction_id == 5534420908
    assert client.list_custom_fields()[0].label == "Company"
    assert client.read_custom_field("COL7").data_type is CustomFieldDataType.LIST
    client.update_custom_fields([CustomFieldUpdate(field="COL11", label="Due After")])

    sent = {(r.method, raw_path(r)): r for r in fake.api_requests()}
    assert body_of(sent[("POST", f"{p}/contacts/")]) == {"createContactDetails": {"account": "A 1"}}
    bulk_req = next(r for r in fake.api_requests() if r.url.path.endswith("/contacts/bulk"))
    assert bulk_req.headers["Accept-Encoding"] == "application/json"
    assert body_of(bulk_req) == {"createContactDetails": [{"account": "x"}, {"account": "y"}]}
    search_req = sent[("POST", f"{p}/contacts/search")]
    assert dict(search_req.url.params) == {"offset": "0", "count": "5"}
    assert body_of(search_req) == {
        "search": {"field": "account", "criteria": "A", "condition": "STARTS_WITH"},
        "sort": [{"field": "ACCOUNT", "order": "ASC"}],
    }
    assert dict(sent[("GET", f"{p}/contacts")].url.params) == {"offset": "0", "count": "1000"}
    assert body_of(sent[("PUT", f"{p}/contacts/A%201")]) == {
        "updateContactDetails": {"account": "A 1", "city": "Paris"}
    }
    assert body_of(sent[("PUT", f"{p}/contacts/bulk")]) == {
        "updateContactDetails": [{"account": "A 1", "id": 5}]
    }
    assert body_of(sent[("PUT", f"{p}/contacts/A%201/dnd")]) == {
        "updateContactDND": [{"phone": "1", "ordinal": 1, "phoneBlock": "BOTH"}]
    }
    assert body_of(sent[("POST", f"{p}/contacts/dnd")]) == {
        "contactDnd": [{"account": "a", "accountBlock": "DAILY"}, {"account": "b"}]
    }
    assert body_of(sent[("POST", f"{p}/contactGroups")]) == {"name": "Client BOA"}
    assert body_of(sent[("PUT", f"{p}/contactGroups/2200")]) == {"name": "BOA Group Agents"}
    assert body_of(sent[("PUT", f"{p}/contacts/customFields")]) == {
        "customFields": [{"field": "COL11", "label": "Due After"}]
    }
    login = next(r for r in fake.requests if r.url.path.endswith("/login"))
    assert login.url.path == (f"/session/{version}/login" if version else "/session/login")
    assert body_of(login) == {
        "clientName": "demo", "userName": "admin", "password": "pw-SECRET-456", "agent": False
    }
    for request in fake.api_requests():
        assert request.headers["LV-Access"] == "tok-SECRET-123"
        assert request.headers["LV-Session"] == "SID-SECRET-1"
        assert request.headers["X-Request-Id"]


def test_create_already_exists(make_client: Factory) -> None:
    reply = json_response(202, {"code": 202, "message": "Contact already exists!"})
    client, _ = make_client(lambda r: reply)
    with pytest.raises(ContactExistsError) as info:
        client.create_contact(ContactCreate(account="1246583"))
    assert info.value.message == "Contact already exists!"
    assert info.value.status == 202
    result = client.create_contact(ContactCreate(account="1246583"), exist_ok=True)
    assert (result.outcome, result.ok, result.id) == (CreateOutcome.ALREADY_EXISTS, False, None)


def test_create_replay_that_meets_already_exists_counts_as_success(make_client: Factory) -> None:
    replies = iter([
        json_response(502, {"code": 502, "message": "bad gateway"}),
        json_response(202, {"code": 202, "message": "Contact already exists!"}),
    ])
    client, fake = make_client(lambda r: next(replies))
    result = client.create_contact(ContactCreate(account="A"))
    assert result.outcome is CreateOutcome.ALREADY_EXISTS_AFTER_RETRY
    assert result.ok and result.attempts == 2
    assert len(fake.api_requests()) == 2


def test_create_202_after_a_429_retry_is_not_a_replay(make_client: Factory) -> None:
    # 429 means the first attempt was not processed: the contact existed before
    replies = iter([
        json_response(429, {"code": 429, "message": "slow"}, **{"Retry-After": "0"}),
        json_response(202, {"code": 202, "message": "Contact already exists!"}),
    ])
    client, _ = make_client(lambda r: next(replies))
    with pytest.raises(ContactExistsError):
        client.create_contact(ContactCreate(account="A"))


def test_delete_404_after_a_lost_reply_counts_as_deleted(make_client: Factory) -> None:
    replies = iter([
        json_response(504, {"code": 504, "message": "timeout"}),
        json_response(404, {"code": 203, "message": "No Record Found"}),
    ])
    client, _ = make_client(lambda r: next(replies))
    client.delete_contact("gone")


def test_bulk_replies(make_client: Factory) -> None:
    replies = iter([
        json_response(200, {"message": "Successfully updated contacts 7"}),
        json_response(204),
        json_response(204, {"message": "Successfully updated contacts 10"}),
        json_response(200, {"message": "done"}),
        json_response(200, {}),
    ])
    client, _ = make_client(lambda r: next(replies))
    updates = [ContactUpdate(account=str(i)) for i in range(10)]
    short = client.bulk_update_contacts(updates)
    assert (short.applied, short.short, short.confirmed) == (7, True, False)
    unknown = client.bulk_update_contacts(updates)
    assert (unknown.applied, unknown.short, unknown.confirmed) == (None, False, False)
    full = client.bulk_update_contacts(updates)
    assert (full.applied, full.confirmed, full.status) == (10, True, 204)
    assert client.bulk_update_contacts(updates).applied is None
    assert client.bulk_update_contacts(updates).applied is None


def test_batched_helpers_split_and_report_per_batch(make_client: Factory) -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = body_of(request)
        items = body.get("updateContactDetails") or body.get("createContactDetails") or body.get(
            "contactDnd"
        )
        sizes.append(len(items))
        if len(sizes) == 2:
            return json_response(400, {"code": 400, "message": "bad row"})
        if "contactDnd" in body:
            return json_response(200, {"updated": len(items)})
        return json_response(200, {"message": f"Successfully updated contacts {len(items)}"})

    client, _ = make_client(handler, bulk_update_batch_size=3)
    outcomes = client.bulk_update_contacts_batched(
        ContactUpdate(account=str(i)) for i in range(7)
    )
    assert sizes == [3, 3, 1]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].error is not None and outcomes[1].result is None
    assert [len(o.items) for o in outcomes] == [3, 3, 1]
    sizes.clear()
    client.bulk_create_contacts_batched([ContactCreate(account="a")] * 5, batch_size=2)
    assert sizes == [2, 2, 1]
    sizes.clear()
    client.update_contacts_dnd_batched([ContactDnd(account="a")] * 4, batch_size=4)
    assert sizes == [4]


def test_paging_follows_every_next_form_lazily(make_client: Factory) -> None:
    pages = {
        "0": ({"listContactDetails": [{"account": "a"}, {"account": "b"}],
               "next": "contact/contacts?offset=2&count=2"}),
        "2": ({"listContactDetails": [{"account": "c"}, {"account": "d"}],
               "next": "/contact/v6.0/contacts?offset=4"}),
        "4": ({"listContactDetails": [{"account": "e"}], "next": ""}),
    }
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/contact/v6.0/contacts"
        assert request.url.params["count"] == "2"
        seen.append(request.url.params["offset"])
        return json_response(200, pages[request.url.params["offset"]])

    client, _ = make_client(handler, api_version="v6.0", page_size=2)
    iterator = client.iter_contacts()
    assert next(iterator).account == "a"
    assert seen == ["0"]  # lazy: one page fetched so far
    assert [c.account for c in iterator] == ["b", "c", "d", "e"]
    assert seen == ["0", "2", "4"]


def test_paging_search_resends_body_and_groups_trailing_slash(make_client: Factory) -> None:
    calls: list[tuple[str, str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.url.path, str(request.url.params), body_of(request)))
        offset = request.url.params["offset"]
        if request.url.path.endswith("/search"):
            nxt = "/contact/contacts/search?offset=5" if offset == "0" else None
            return json_response(
                200, {"findMatchingContactsDetails": [{"account": offset}], "next": nxt}
            )
        nxt = "contact/contactGroups/?offset=10&count=10" if offset == "0" else None
        return json_response(200, {"contactGroup": [{"id": int(offset), "name": "g"}],
                                   "next": nxt})

    client, _ = make_client(handler, page_size=5)
    tree = SearchCondition(field="account", criteria="1", condition="EQUALS")
    assert [c.account for c in client.iter_search_contacts(tree)] == ["0", "5"]
    assert calls[1] == ("/contact/contacts/search", "offset=5&count=5", calls[0][2])
    calls.clear()
    assert [g.id for g in client.iter_contact_groups(page_size=10)] == [0, 10]
    assert calls[1][0] == "/contact/contactGroups"


def test_paging_accounts_accepts_both_reply_keys(make_client: Factory) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["offset"] == "0":
            return json_response(200, {"listAccount": [{"id": 1}],
                                       "next": "contact/contacts/qa123/accounts?offset=2&count=2"})
        return json_response(200, {"listAccounts": [{"id": 2}]})

    client, fake = make_client(handler)
    assert [a.id for a in client.iter_contact_accounts("qa123", page_size=2)] == [1, 2]
    assert [r.url.path for r in fake.api_requests()] == ["/contact/contacts/qa123/accounts"] * 2


def test_paging_stops_on_a_next_that_does_not_advance(make_client: Factory) -> None:
    reply = {"listContactDetails": [{"account": "a"}], "next": "contact/contacts?offset=0&count=1"}
    client, _ = make_client(lambda r: json_response(200, reply), page_size=1)
    with pytest.raises(PagingError):
        list(client.iter_contacts())


def test_paging_ends_on_an_empty_page_even_with_next(make_client: Factory) -> None:
    reply = {"listContactDetails": [], "next": "contact/contacts?offset=9&count=1"}
    client, fake = make_client(lambda r: json_response(200, reply), page_size=1)
    assert list(client.iter_contacts()) == []
    assert len(fake.api_requests()) == 1


def test_client_side_validation_happens_before_any_request(make_client: Factory) -> None:
    client, fake = make_client(lambda r: json_response(500))
    with pytest.raises(CustomFieldValueTooLongError):
        client.update_contact(
            ContactUpdate(
                account="a", custom_fields=[CustomFieldValue(field="COL1", value="x" * 256)]
            )
        )
    with pytest.raises(InvalidCustomFieldError):
        client.read_custom_field("COL0")
    with pytest.raises(InvalidPageError):
        client.list_contacts(count=1001)
    with pytest.raises(InvalidPageError):
        client.list_contact_groups(offset=-1)
    assert fake.requests == []


def test_malformed_replies_raise_response_format_error(make_client: Factory) -> None:
    replies = iter([
        httpx.Response(200, text="<html>"),
        json_response(200, [1, 2]),
        json_response(200, {"readContactDetails": {"active": True}}),
        json_response(200, {"listContactDetails": {"account": "x"}}),
        json_response(201, {"name": "no id"}),
    ])
    client, _ = make_client(lambda r: next(replies))
    for call in (
        lambda: client.read_contact("a"),
        lambda: client.read_contact("a"),
        lambda: client.read_contact("a"),
        lambda: client.list_contacts(),
        lambda: client.create_contact_group("g"),
    ):
        with pytest.raises(ResponseFormatError):
            call()
