"""The LiveVox client against the emulator over real HTTP (uvicorn in a thread).

Shows every client method working end to end, paging to the end, re-login after the
session expires, 429 + Retry-After honoured, 5xx bursts survived within the deadline, a cut
gzip export surfacing as ExportTruncatedError, a dropped reply to a create resolved by the
202 replay rule, and every documented error status arriving as its exception class.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.livevox import (
    BadGatewayError,
    BadRequestError,
    ClientConfig,
    ConflictError,
    ContactCreate,
    ContactDnd,
    ContactExistsError,
    ContactUpdate,
    CreateOutcome,
    CustomFieldUpdate,
    CustomFieldValue,
    DndAction,
    DndState,
    Endpoint,
    ExportTruncatedError,
    ForbiddenError,
    GatewayTimeoutError,
    InternalServerError,
    LiveVoxClient,
    LoginFailedError,
    MethodNotAllowedError,
    NotFoundError,
    OutcomeUnknownError,
    Person,
    PhoneDnd,
    PhoneInput,
    RateLimitedError,
    Safety,
    SearchCondition,
    ServerError,
    ServiceUnavailableError,
    SortSpec,
    UnauthorizedError,
)

CONTACTS = 200


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[Any, str]]:
    app = create_app(EmulatorConfig(contacts=CONTACTS, seed=1))
    with ServerThread(app) as server:
        yield app, server.base_url


@pytest.fixture
def faults(emulator: tuple[Any, str]) -> Iterator[Callable[[str], None]]:
    app, _ = emulator
    yield app.state.emulator.faults.configure
    app.state.emulator.faults.configure("")


@pytest.fixture
def make_client(emulator: tuple[Any, str]) -> Iterator[Callable[..., LiveVoxClient]]:
    _, base_url = emulator
    clients: list[LiveVoxClient] = []

    def factory(**overrides: Any) -> LiveVoxClient:
        values: dict[str, Any] = {
            "base_url": base_url,
            "api_version": "v6.0",
            "access_token": "demo-token",
            "client_name": "demo",
            "username": "admin",
            "password": "admin",
            "timeout": 10,
            "retry_deadline": 15,
            "max_attempts": 6,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
        }
        values.update(overrides)
        client = LiveVoxClient(ClientConfig(**values))
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


def test_every_method_over_http(make_client: Callable[..., LiveVoxClient]) -> None:
    client = make_client()
    info = client.login()
    assert info.user_id is not None and client.validate_session()

    # create, read, already exists
    created = client.create_contact(
        ContactCreate(
            account="IT-CREATE-1",
            active=True,
            person=Person(first_name="Ada", last_name="Lovelace"),
            phone=[PhoneInput(phone="6505550101", ordinal=1, phone_block=DndAction.NONE)],
            custom_fields=[CustomFieldValue(field="COL1", value="Initech")],
        )
    )
    assert created.outcome is CreateOutcome.CREATED and created.id is not None
    contact = client.read_contact("IT-CREATE-1")
    assert contact.person is not None and contact.person.first_name == "Ada"
    with pytest.raises(ContactExistsError):
        client.create_contact(ContactCreate(account="IT-CREATE-1"))
    again = client.create_contact(ContactCreate(account="IT-CREATE-1"), exist_ok=True)
    assert again.outcome is CreateOutcome.ALREADY_EXISTS

    # bulk create counts what was applied (a duplicate is skipped)
    bulk = client.bulk_create_contacts(
        [ContactCreate(account="IT-BULK-1"), ContactCreate(account="IT-BULK-2"),
         ContactCreate(account="IT-CREATE-1")]
    )
    assert (bulk.requested, bulk.applied, bulk.short) == (3, 2, True)

    # update, bulk update (by id and account), read back
    client.update_contact(ContactUpdate(account="IT-CREATE-1", city="London"))
    assert client.read_contact("IT-CREATE-1").city == "London"
    result = client.bulk_update_contacts(
        [ContactUpdate(account="IT-CREATE-1", id=created.id, state="LDN"),
         ContactUpdate(account="IT-BULK-1", city="Paris"),
         ContactUpdate(account="IT-NOPE", city="Nowhere")]
    )
    assert (result.applied, result.short) == (2, True)
    assert client.read_contact("IT-BULK-1").city == "Paris"

    # DND: single contact, then several
    client.update_contact_dnd(
        "IT-CREATE-1", [PhoneDnd(phone="6505550101", ordinal=1, phone_block=DndAction.BOTH)]
    )
    phone = client.read_contact("IT-CREATE-1").phone[0]
    assert phone.dnd_state == DndState(permanent=True, daily=True)
    dnd = client.update_contacts_dnd(
        [ContactDnd(account="IT-CREATE-1", account_block=DndAction.PERMANENT),
         ContactDnd(account="IT-BULK-1", account_block=DndAction.DAILY),
         ContactDnd(account="IT-NOPE", account_block=DndAction.DAILY)]
    )
    assert (dnd.applied, dnd.short) == (2, True)
    assert client.read_contact("IT-CREATE-1").account_dnd == DndState(True, False)

    # list and search, one page each
    page = client.list_contacts(count=5)
    assert len(page.items) == 5 and page.next_link
    found = client.search_contacts(
        SearchCondition(field="account", criteria="IT-", condition="STARTS_WITH"),
        sort=[SortSpec(field="ACCOUNT")],
        count=10,
    )
    assert [c.account for c in found.items] == ["IT-BULK-1", "IT-BULK-2", "IT-CREATE-1"]
    lv_id = found.items[2].id
    assert lv_id == created.id

    # accounts of a generated contact (ids from the search reply)
    generated = client.search_contacts(
        SearchCondition(field="account", criteria="ACC", condition="STARTS_WITH"), count=20
    ).items
    accounts = [a for c in generated for a in client.iter_contact_accounts(str(c.id))]
    assert accounts and all(a.id for a in accounts)
    assert client.list_contact_accounts(str(generated[0].id), count=1).items is not None

    # groups
    group_id = client.create_contact_group("IT Group")
    assert client.read_contact_group(group_id).name == "IT Group"
    client.update_contact_group(group_id, "IT Group Renamed")
    assert client.read_contact_group(group_id).name == "IT Group Renamed"
    assert group_id in [g.id for g in client.iter_contact_groups(page_size=2)]
    assert client.list_contact_groups(count=1).items

    # notes (seeded on a share of generated contacts)
    with_notes = next(
        c.account for c in client.iter_contacts(page_size=50)
        if client.list_contact_notes(c.account)
    )
    notes = client.list_contact_notes(with_notes)
    assert client.read_contact_note(with_notes, notes[0].id).note == notes[0].note

    # custom fields
    fields = client.list_custom_fields()
    assert fields
    client.update_custom_fields([CustomFieldUpdate(field="COL42", label="IT Label",
                                                   data_type="STRING")])
    assert client.read_custom_field("COL42").label == "IT Label"

    # export (gzip), the relabelled custom column maps back to its key
    with client.export_contacts(fields=["account", "COL42", "city"]) as export:
        assert export.content_encoding == "gzip"
        assert export.header_labels == ["Account", "IT Label", "City"]
        assert export.columns == ["account", "COL42", "city"]
        rows = {r["account"]: r for r in export.iter_rows()}
    assert rows["IT-CREATE-1"]["city"] == "London"
    assert len(rows) == CONTACTS + 3

    # delete, then it is gone
    client.delete_contact("IT-BULK-2")
    with pytest.raises(NotFoundError):
        client.read_contact("IT-BULK-2")
    client.logout()
    assert not client.validate_session()


def test_paging_runs_to_the_end(make_client: Callable[..., LiveVoxClient]) -> None:
    client = make_client(page_size=7)
    accounts = [c.account for c in client.iter_contacts()]
    assert len(accounts) == len(set(accounts)) >= CONTACTS
    searched = list(
        client.iter_search_contacts(
            SearchCondition(field="account", criteria="ACC", condition="STARTS_WITH"),
            page_size=13,
        )
    )
    assert len(searched) == CONTACTS
    groups = list(client.iter_contact_groups(page_size=1))
    assert len({g.id for g in groups}) == len(groups) >= 2


def test_export_streams_every_contact_raw_and_typed(
    make_client: Callable[..., LiveVoxClient],
) -> None:
    client = make_client(export_chunk_bytes=4096)
    with client.export_contacts() as export:
        assert export.columns[:2] == ["account", "dueDate"] and len(export.columns) == 214
        raw = b"".join(export.iter_raw())
    assert raw.count(b"\n") >= CONTACTS
    with client.export_contacts(start="2000-01-01", end="2100-01-01") as export:
        rows = list(export.iter_rows())
    assert len(rows) >= CONTACTS
    with client.export_contacts(start="2100-01-01") as export:
        assert list(export.iter_rows()) == []


def test_expired_sessions_trigger_relogin(
    make_client: Callable[..., LiveVoxClient], faults: Callable[[str], None]
) -> None:
    client = make_client()
    client.read_contact("ACC0000001")
    faults("expire_sessions_every=3")
    for _ in range(9):
        assert client.read_contact("ACC0000001").account == "ACC0000001"
    assert client.logins >= 3


def test_logout_elsewhere_triggers_relogin(make_client: Callable[..., LiveVoxClient]) -> None:
    first, second = make_client(), make_client()
    first.read_contact("ACC0000002")
    second.login()  # the same user gets the same live session
    second.logout()  # ... and ends it for both
    assert first.read_contact("ACC0000002").account == "ACC0000002"
    assert first.logins == 2


def test_429_waits_for_retry_after(
    make_client: Callable[..., LiveVoxClient], faults: Callable[[str], None]
) -> None:
    client = make_client()
    client.login()
    faults("rate_limit=1.0,retry_after=1,burst=1")
    started = time.monotonic()
    assert client.read_contact("ACC0000003").account == "ACC0000003"
    assert time.monotonic() - started >= 1.0


def test_429_beyond_the_deadline_reaches_the_caller(
    make_client: Callable[..., LiveVoxClient], faults: Callable[[str], None]
) -> None:
    client = make_client(retry_deadline=0.5)
    client.login()
    faults("rate_limit=1.0,retry_after=1")
    with pytest.raises(RateLimitedError) as info:
        client.read_contact("ACC0000003")
    assert info.value.retry_after == 1.0 and info.value.attempts == 1


def test_5xx_bursts_are_survived_within_the_deadline(
    make_client: Callable[..., LiveVoxClient], faults: Callable[[str], None]
) -> None:
    client = make_client(retry_deadline=5)
    client.login()
    faults("error_rate=1.0,burst=4")  # 500, 502, 503, 504 in turn
    started = time.monotonic()
    assert client.read_contact("ACC0000004").account == "ACC0000004"
    assert time.monotonic() - started < 5
    faults("error_rate=1.0,error_status=503,burst=2")
    client.update_contact(ContactUpdate(account="ACC0000004", city="Burstville"))
    assert client.read_contact("ACC0000004").city == "Burstville"


def test_500_on_a_write_is_not_replayed(
    make_client: Callable[..., LiveVoxClient], faults: Callable[[str], None]
) -> None:
    client = make_client()
    client.login()
    faults("error_rate=1.0,error_status=500,burst=1")
    with pytest.raises(InternalServerError) as info:
        client.update_contact(ContactUpdate(account="ACC0000005", city="Never"))
    assert info.value.attempts == 1
    assert client.read_contact("ACC0000005").city != "Never"


def test_dropped_reply_to_a_create_resolves_as_replayed(
    make_client: Callable[..., LiveVoxClient], faults: Callable[[str], None]
) -> None:
    client = make_client()
    client.login()
    faults("drop_rate=1.0,burst=1")  # the create is applied, its reply is lost
    result = client.create_contact(ContactCreate(account="IT-DROPPED-1"))
    assert result.outcome is CreateOutcome.ALREADY_EXISTS_AFTER_RETRY and result.ok
    assert client.read_contact("IT-DROPPED-1").account == "IT-DROPPED-1"


def test_dropped_reply_to_a_bulk_create_is_not_replayed(
    make_client: Callable[..., LiveVoxClient], faults: Callable[[str], None]
) -> None:
    client = make_client()
    client.login()
    faults("drop_rate=1.0,burst=1")
    with pytest.raises(OutcomeUnknownError) as info:
        client.bulk_create_contacts([ContactCreate(account="IT-DROPPED-BULK")])
    assert info.value.attempts == 1
    # it was applied: the caller must reconcile, and knows so from the error class
    assert client.read_contact("IT-DROPPED-BULK").account == "IT-DROPPED-BULK"


def test_cut_gzip_export_raises_truncated(
    make_client: Callable[..., LiveVoxClient], faults: Callable[[str], None]
) -> None:
    client = make_client()
    client.login()
    faults("cut_export=1.0,cut_export_after=4096")
    with pytest.raises(ExportTruncatedError), client.export_contacts() as export:
        for _ in export.iter_raw():
            pass
    faults("")
    with client.export_contacts() as export:  # a fresh export succeeds
        assert sum(1 for _ in export.iter_rows()) >= CONTACTS


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, InternalServerError),
        (502, BadGatewayError),
        (503, ServiceUnavailableError),
        (504, GatewayTimeoutError),
    ],
)
def test_server_errors_map_to_classes(
    make_client: Callable[..., LiveVoxClient],
    faults: Callable[[str], None],
    status: int,
    error: type[ServerError],
) -> None:
    client = make_client(max_attempts=1)
    client.login()
    faults(f"error_rate=1.0,error_status={status}")
    with pytest.raises(error) as info:
        client.read_contact("ACC0000006")
    assert info.value.status == status and info.value.code == status


def test_client_errors_map_to_classes(make_client: Callable[..., LiveVoxClient]) -> None:
    admin = make_client()
    with pytest.raises(BadRequestError) as bad:
        admin.search_contacts(SearchCondition(field="shoe_size", criteria="9",
                                              condition="EQUALS"))
    assert bad.value.status == 400 and bad.value.message
    with pytest.raises(NotFoundError) as missing:
        admin.read_contact("NO-SUCH-ACCOUNT")
    assert missing.value.code == 203
    with pytest.raises(NotFoundError):
        admin.update_contact_group(99999999, "x")

    manager = make_client(username="manager", password="manager")
    with pytest.raises(ForbiddenError) as forbidden, manager.export_contacts():
        pass
    assert forbidden.value.status == 403
    ituser = make_client(username="ituser", password="ituser")
    with pytest.raises(ForbiddenError):
        ituser.list_contacts()

    with pytest.raises(LoginFailedError) as refused:
        make_client(password="wrong").read_contact("ACC0000001")
    assert refused.value.status == 401
    with pytest.raises(LoginFailedError):
        make_client(access_token="not-the-token").login()


class _FixedClock:
    """A clock the emulator cannot move: its clock control answers 409."""

    def now(self) -> datetime:
        return datetime(2024, 6, 1, tzinfo=UTC)


def test_405_and_409_map_to_classes() -> None:
    # No client method can provoke these two, so they go through the client's request
    # machinery with a deliberately wrong method (405), and against the emulator's control
    # route for moving a clock that cannot move (409).
    app = create_app(EmulatorConfig(contacts=1, seed=1), clock=_FixedClock())
    with ServerThread(app) as server:
        config = ClientConfig(
            base_url=server.base_url, access_token="demo-token", client_name="demo",
            username="admin", password="admin", max_attempts=1,
        )
        with LiveVoxClient(config) as client:
            wrong = Endpoint("test.patch", "PATCH", "contact", "contacts/{account}", Safety.READ)
            with pytest.raises(MethodNotAllowedError) as not_allowed:
                client._request(wrong, path_params={"account": "ACC0000001"})
            assert not_allowed.value.status == 405
            clock = Endpoint("test.clock", "POST", "_emulator", "clock", Safety.UNSAFE)
            with pytest.raises(ConflictError) as conflict:
                client._request(clock, body={"advance_seconds": 1})
            assert (conflict.value.status, conflict.value.code) == (409, 409)


def test_401_twice_is_unauthorized(
    make_client: Callable[..., LiveVoxClient], faults: Callable[[str], None]
) -> None:
    client = make_client()
    client.login()
    faults("expire_sessions_every=1")  # every request finds its session gone
    with pytest.raises(UnauthorizedError) as info:
        client.read_contact("ACC0000007")
    assert info.value.status == 401
    assert client.logins == 2
